"""Shipments: the goods of an order on their way to the customer.

A shipment is made by «Запросить товар» together with the transfer requests
that bring its goods together; it is handed over in our pickup shop or
through a carrier.  Carriers plug in through the carrier-neutral interface
described in README.md: ``carrier_<step>_<code>`` methods of this model,
and the neutral methods below that they call back.
"""
import datetime
import json
from decimal import Decimal

from sql import Cast, Literal, Null, Union
from sql.aggregate import Count, Min
from sql.conditionals import Case

from trytond.i18n import gettext
import trytond.config as config
from trytond.model import (
    Index, ModelSingleton, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.hub_common import utcnow
from trytond.modules.order_hub.action_log import format_number
from trytond.modules.order_hub.promotion_rules import round_money
from trytond.modules.order_hub.status import ITEM_STATES, SHIPMENT_STATES
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import CarrierError, ShipmentError

STATES = SHIPMENT_STATES + [('cancelled', "Cancelled")]
# the order of the states: a shipment never goes back
RANK = {'assembling': 0, 'sent': 1, 'delivered': 2, 'issued': 3}
RETURN_RANK = {None: 0, 'returning': 1, 'returned': 2}
DELIVERY_TYPES = [
    ('shop_pickup', "Pickup from Our Shop"),
    ('pickup_point', "Carrier Pickup Point"),
    ('courier', "Courier"),
    ('post_office', "Post Office"),
    ]
CARRIER_STATES = [
    (None, ""),
    ('pending', "Sending"),
    ('created', "Created"),
    ('refused', "Refused"),
    ('cancelled', "Cancelled"),
    ]
MAPPED_STATES = [(None, "")] + SHIPMENT_STATES


def parse_date(value):
    "A carrier's date (datetime or ISO text, with or without zone) in UTC"
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(
            value.strip().replace('Z', '+00:00'))
    elif isinstance(value, datetime.date) and not isinstance(
            value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if value.tzinfo:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


class Shipment(Workflow, ModelSQL, ModelView):
    "Shipment"
    __name__ = 'order_shipments.shipment'
    _rec_name = 'number'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    number = fields.Char("Number", readonly=True)
    date = fields.DateTime("Created", readonly=True)
    order = fields.Many2One(
        'order_hub.order', "Order", required=True, readonly=True,
        ondelete='RESTRICT')
    customer_name = fields.Function(
        fields.Char("Customer"), 'get_order_field')
    state = fields.Selection(
        STATES, "Status", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    state_date = fields.DateTime(
        "Status Since", readonly=True,
        help="When the shipment reached its current status.")
    delivery_type = fields.Selection(
        DELIVERY_TYPES, "Delivery Type", required=True, readonly=True)
    delivery_type_string = delivery_type.translated('delivery_type')
    carrier = fields.Selection(
        [(None, "")], "Carrier",
        states={
            'readonly': ((Eval('state') != 'assembling')
                | (Eval('delivery_type') == 'shop_pickup')
                | Eval('carrier_state')),
            },
        help="Empty: handed over in our own shop.")
    carrier_string = carrier.translated('carrier')
    from_warehouse = fields.Many2One(
        'stock.location', "Ships From", required=True, readonly=True,
        ondelete='RESTRICT',
        help="The warehouse or shop the goods leave for the customer.")
    to_warehouse = fields.Many2One(
        'stock.location', "Pickup Shop", readonly=True, ondelete='RESTRICT',
        states={'invisible': Eval('delivery_type') != 'shop_pickup'})
    lines = fields.One2Many(
        'order_shipments.shipment.line', 'shipment', "Goods", readonly=True)
    transfers = fields.One2Many(
        'order_hub.transfer', 'shipment', "Transfer Requests", readonly=True)
    amount = fields.Function(fields.Numeric(
            "Amount", digits=(16, 2)), 'get_amount')
    carrier_state = fields.Selection(
        CARRIER_STATES, "Carrier Request", readonly=True, sort=False,
        states={'invisible': ~Eval('carrier')})
    carrier_state_string = carrier_state.translated('carrier_state')
    carrier_ref = fields.Char(
        "Carrier's ID", readonly=True, states={'invisible': ~Eval('carrier')})
    track_number = fields.Char(
        "Track Number", readonly=True,
        states={'invisible': ~Eval('carrier')})
    carrier_error = fields.Text(
        "Refusal", readonly=True, states={'invisible': ~Eval('carrier_error')})
    attention = fields.Boolean(
        "Needs Attention", readonly=True,
        help="The carrier sent a status the hub does not know: see the "
        "events and add it to the carrier statuses.")
    returned = fields.Boolean(
        "Returned", readonly=True,
        help="The carrier reports a return or a refusal by the customer.")
    return_state = fields.Selection([
            (None, ""),
            ('returning', "Returning to Sender"),
            ('returned', "Returned to Sender"),
            ], "Return", readonly=True, sort=False,
        states={'invisible': ~Eval('return_state')},
        help="The carrier's return of the parcel: on its way back, or "
        "handed back to us (a final status marked as a return).")
    return_state_string = return_state.translated('return_state')
    events = fields.One2Many(
        'order_shipments.shipment.event', 'shipment', "Events",
        readonly=True)
    slip_url = fields.Function(fields.Char("Slip Link"), 'get_slip_url')
    at_my_shop = fields.Function(fields.Boolean("At My Shop"),
        'get_at_my_shop', searcher='search_at_my_shop')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.state, Index.Equality())))
        cls._transitions |= {
            ('assembling', 'sent'),
            ('sent', 'delivered'),
            ('delivered', 'issued'),
            # a carrier may report the hand-over straight away
            ('sent', 'issued'),
            ('assembling', 'cancelled'),
            ('sent', 'cancelled'),
            }
        pickup = Eval('delivery_type') == 'shop_pickup'
        cls._buttons.update({
                'request_carrier': {
                    'invisible': (pickup | (Eval('state') != 'assembling')
                        | Eval('carrier_state').in_(['pending', 'created'])),
                    'depends': ['delivery_type', 'state', 'carrier_state'],
                    },
                'release_button': {
                    'invisible': (~pickup | (Eval('state') != 'assembling')),
                    'depends': ['delivery_type', 'state'],
                    },
                'arrive': {
                    'invisible': ~pickup | (Eval('state') != 'sent'),
                    'depends': ['delivery_type', 'state'],
                    },
                'hand_over': {
                    'invisible': ~pickup | (Eval('state') != 'delivered'),
                    'depends': ['delivery_type', 'state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['assembling', 'sent']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def get_carriers(cls):
        """The carriers, translated: carrier modules append (code, name)
        to ``carrier.selection`` in __setup__ of this model"""
        return cls.fields_get(['carrier'])['carrier']['selection']

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'assembling'

    @classmethod
    def default_date(cls):
        return utcnow()

    @classmethod
    def default_attention(cls):
        return False

    @classmethod
    def default_returned(cls):
        return False

    def get_order_field(self, name):
        return self.order.customer_name

    def get_amount(self, name):
        return sum((l.amount for l in self.lines), Decimal(0))

    def get_at_my_shop(self, name):
        shops = Pool().get('res.user').get_hub_shops()
        return not shops or bool({self.from_warehouse.id,
                self.to_warehouse.id if self.to_warehouse else None}
            & set(shops))

    @classmethod
    def search_at_my_shop(cls, name, clause):
        "The user's shops' shipments; everything for a user without shops"
        shops = Pool().get('res.user').get_hub_shops()
        if not shops:
            return []
        return ['OR', ('to_warehouse', 'in', shops),
            ('from_warehouse', 'in', shops)]

    def check_my_shop(self):
        "Shop staff act on their own shops' shipments only"
        pool = Pool()
        User = pool.get('res.user')
        user = Transaction().user
        if not user or self.at_my_shop or User(user).hub_is_manager():
            return
        raise ShipmentError(gettext('order_shipments.msg_not_your_shop',
                shipment=self.rec_name,
                shop=(self.to_warehouse or self.from_warehouse).rec_name))

    def get_slip_url(self, name):
        Configuration = Pool().get('order_shipments.configuration')
        return Configuration(1).shipment_url(self)

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('number'):
            with without_check_access():
                values['number'] = Sequence(ModelData.get_id(
                        'order_shipments', 'sequence_shipment')).get()
        if mode == 'create' or 'state' in values:
            values.setdefault('state_date', utcnow())
        return values

    @classmethod
    def check_modification(cls, mode, shipments, values=None,
            external=False):
        super().check_modification(
            mode, shipments, values=values, external=external)
        if not external or mode not in {'create', 'write', 'delete'}:
            return
        # shipments change through their buttons and «Запросить товар»;
        # a carrier is chosen until its request is made
        if mode == 'write' and set(values) <= {'carrier'} and all(
                s.state == 'assembling' and s.delivery_type != 'shop_pickup'
                and not s.carrier_state for s in shipments):
            return
        raise ShipmentError(gettext(
                'order_shipments.msg_shipment_use_actions'))

    @classmethod
    def copy(cls, shipments, default=None):
        "Only the goods are copied: no transfers, carrier order or events"
        default = dict(default or {}, number=None, state='assembling',
            state_date=None, transfers=None, events=None, carrier_state=None,
            carrier_ref=None, track_number=None, carrier_error=None,
            attention=False, returned=False, return_state=None)
        return super().copy(shipments, default=default)

    # -- creating ----------------------------------------------------------
    @classmethod
    def request_goods(cls, order, goods, source, target, delivery_type,
            carrier=None, comment=None):
        """«Запросить товар»: the transfer request (when the goods must move)
        and the shipment holding them, in one go.

        goods: [(order line, quantity)]; target: the pickup shop, or for a
        carrier the warehouse it collects from (empty: the source)."""
        pool = Pool()
        Transfer = pool.get('order_hub.transfer')
        Order = pool.get('order_hub.order')
        cls.check_request(order, goods, source, target, delivery_type,
            carrier)
        target = target or source
        transfers = []
        if target != source:
            transfers, = Transfer.create([{
                        'company': order.company.id, 'order': order.id,
                        'from_warehouse': source.id,
                        'to_warehouse': target.id, 'comment': comment,
                        'lines': [('create', [{
                                        'product': l.product.id,
                                        'quantity': q, 'order_line': l.id}
                                    for l, q in goods])],
                        }]),
        pickup = delivery_type == 'shop_pickup'
        with without_check_access():
            # made by this method only (check_modification)
            shipment, = cls.create([{
                        'company': order.company.id, 'order': order.id,
                        'delivery_type': delivery_type,
                        'carrier': None if pickup else carrier,
                        'from_warehouse': (source if pickup else target).id,
                        'to_warehouse': target.id if pickup else None,
                        'lines': [('create', [
                                    cls.line_values(l, q, transfers)
                                    for l, q in goods])],
                        }])
        if transfers:
            Transfer.write(transfers, {'shipment': shipment.id})
            Transfer.request(transfers)
        cls.log_on_order([shipment], 'order_shipments.msg_log_shipment_created')
        cls.write_movements(shipment.lines, source,
            'order_shipments.msg_movement_requested' if transfers
            else 'order_shipments.msg_movement_assembling')
        Order.assemble([order] if order.state == 'paid' else [])
        if pickup and not transfers:
            # the goods are already in the pickup shop
            cls.release_goods([shipment])
        return shipment

    @classmethod
    def check_request(cls, order, goods, source, target, delivery_type,
            carrier):
        if order.state not in {'paid', 'assembling', 'delivering'}:
            raise ShipmentError(gettext(
                    'order_shipments.msg_request_order_state',
                    order=order.rec_name, state=order.state_string))
        # a carrier delivery may wait for its carrier (chosen on the
        # shipment before «Создать заявку в службу доставки»)
        if delivery_type == 'shop_pickup' and (
                not target or not target.hub_is_shop):
            raise ShipmentError(gettext(
                    'order_shipments.msg_request_no_pickup_shop'))
        if not goods:
            raise ShipmentError(gettext('order_shipments.msg_request_no_goods',
                    order=order.rec_name))
        too_many = [(l, q) for l, q in goods
            if q is None or q <= 0 or q != int(q) or q > l.unshipped_quantity]
        if too_many:
            raise ShipmentError(gettext(
                    'order_shipments.msg_request_quantity',
                    lines='; '.join(gettext(
                            'order_shipments.msg_request_quantity_line',
                            product=l.product.rec_name,
                            quantity=format_number(q or 0),
                            left=format_number(l.unshipped_quantity))
                        for l, q in too_many)))

    @classmethod
    def line_values(cls, order_line, quantity, transfers):
        share = quantity / order_line.quantity
        return {'order_line': order_line.id,
            'product': order_line.product.id, 'quantity': quantity,
            'unit_price': round_money(order_line.amount / order_line.quantity),
            'list_price': order_line.unit_price,
            'discount': round_money((order_line.discount or 0) * share),
            'state': 'requested' if transfers else 'assembling'}

    # -- what a carrier reads ----------------------------------------------
    def get_carrier_items(self):
        "Neutral list of the goods for carrier forms"
        return [line.get_carrier_item() for line in self.lines]

    def get_recipient(self):
        order = self.order
        city = order.delivery_city
        return {'name': order.customer_name, 'phone': order.phone,
            'email': order.email, 'city': city.name if city else None,
            'address': order.delivery_address,
            'postal_code': self.get_postal_code()}

    def get_postal_code(self):
        "The order keeps no postal code; the site bridge may know one"
        return None

    # -- workflow ------------------------------------------------------------
    @classmethod
    @ModelView.button
    def request_carrier(cls, shipments):
        "«Создать заявку в службу доставки»: the carrier's own form"
        if not shipments:
            return None
        shipment = shipments[0]
        shipment.check_carrier('request')
        return cls.action_value(
            getattr(shipment, f'carrier_request_{shipment.carrier}')())

    @staticmethod
    def action_value(action):
        "An action as a button returns it: xml id 'module.id' → its id"
        if isinstance(action, str):
            pool = Pool()
            ModelData = pool.get('ir.model.data')
            Action = pool.get('ir.action')
            module, fs_id = action.split('.', 1)
            return Action.get_action_id(ModelData.get_id(module, fs_id))
        return action

    def check_carrier(self, step):
        if not self.carrier or not hasattr(
                type(self), f'carrier_{step}_{self.carrier}'):
            raise CarrierError(gettext(
                    'order_shipments.msg_carrier_not_installed',
                    shipment=self.rec_name,
                    carrier=self.carrier_string or '—'))

    @classmethod
    def submit_carrier_request(cls, shipments):
        """The carrier's form was submitted: the sale of the goods first
        (in 1C when the bridge is installed), then the carrier order; after
        a refusal by the carrier, the goods already sold go to it at once"""
        for shipment in shipments:
            shipment.check_carrier('send')
            if shipment.state not in {'assembling', 'sent'} \
                    or shipment.carrier_state in {'pending', 'created'} \
                    or (shipment.state == 'sent'
                        and shipment.carrier_state != 'refused'):
                raise CarrierError(gettext(
                        'order_shipments.msg_carrier_already',
                        shipment=shipment.rec_name,
                        state=shipment.carrier_state_string
                        or shipment.state_string))
            if shipment.state == 'assembling':
                shipment.check_goods_here()
        cls.write(shipments, {'carrier_state': 'pending',
                'carrier_error': None})
        cls.log_on_order(shipments,
            'order_shipments.msg_log_carrier_submitted')
        sold = [s for s in shipments if s.state == 'sent']
        for code, group in cls.by_carrier(sold).items():
            getattr(cls, f'carrier_send_{code}')(group)
        cls.release_goods([s for s in shipments if s.state == 'assembling'])

    def check_goods_here(self):
        "The goods must have reached the warehouse they leave from"
        waiting = [t for t in self.transfers
            if t.state in {'draft', 'requested', 'in_transit'}]
        if waiting:
            raise ShipmentError(gettext(
                    'order_shipments.msg_goods_not_arrived',
                    shipment=self.rec_name,
                    transfers=', '.join(t.number for t in waiting),
                    warehouse=self.sale_warehouse.rec_name))

    @classmethod
    @ModelView.button
    def release_button(cls, shipments):
        "«Отправить»: a pickup shipment whose goods are in the pickup shop"
        for shipment in shipments:
            shipment.check_goods_here()
        cls.release_goods(shipments)

    @property
    def sale_warehouse(self):
        "Where the goods are sold from: the pickup shop, else the sender"
        return self.to_warehouse or self.from_warehouse

    @classmethod
    def release_goods(cls, shipments):
        """Sell the goods to the customer.  Without an ERP the sale is done
        at once; the 1C bridge glue requests it in 1C and calls
        goods_released or release_refused when 1C answers."""
        cls.goods_released(shipments)

    @classmethod
    def goods_released(cls, shipments):
        "The sale is made: «Отправлено», and the carrier order is sent"
        Order = Pool().get('order_hub.order')
        shipments = [s for s in shipments if s.state == 'assembling']
        cls.send(shipments)
        pickups = [s for s in shipments if s.delivery_type == 'shop_pickup']
        Order.deliver([s.order for s in pickups
                if s.order.state == 'assembling'])
        for code, group in cls.by_carrier(shipments).items():
            getattr(cls, f'carrier_send_{code}')(group)

    @classmethod
    def release_refused(cls, shipments, reason):
        "The sale was refused: nothing else is done, the manager is told"
        carried = [s for s in shipments if s.carrier]
        for shipment in carried:
            cls.carrier_refused(shipment, reason)
        others = [s for s in shipments if not s.carrier]
        cls.write(others, {'carrier_error': reason})
        cls.log_on_order(others, 'order_shipments.msg_log_sale_refused', reason=reason)

    @classmethod
    def by_carrier(cls, shipments):
        groups = {}
        for shipment in shipments:
            if shipment.carrier:
                groups.setdefault(shipment.carrier, []).append(shipment)
        return groups

    @classmethod
    @Workflow.transition('sent')
    def send(cls, shipments):
        cls.write(shipments, {'carrier_error': None})
        cls.log_on_order(shipments, 'order_shipments.msg_log_shipment_sent')
        cls.set_items(shipments, 'to_pickup',
            'order_shipments.msg_movement_sent')

    @classmethod
    @ModelView.button
    @Workflow.transition('delivered')
    def arrive(cls, shipments):
        "«Доставлено»: the goods are at the pickup point"
        for shipment in shipments:
            shipment.check_my_shop()
        cls.log_on_order(shipments, 'order_shipments.msg_log_shipment_delivered')
        cls.write_movements([l for s in shipments for l in s.lines],
            None, 'order_shipments.msg_movement_arrived')
        cls.notify_arrival([s for s in shipments
                if s.delivery_type == 'shop_pickup'])

    @classmethod
    @ModelView.button
    def hand_over(cls, shipments):
        "«Выдан»: handed to the customer; the last one issues the order"
        for shipment in shipments:
            shipment.check_my_shop()
        cls.issue(shipments)
        cls.issue_orders({s.order for s in shipments})

    @classmethod
    @Workflow.transition('issued')
    def issue(cls, shipments):
        cls.log_on_order(shipments, 'order_shipments.msg_log_shipment_issued')
        cls.set_items(shipments, 'issued',
            'order_shipments.msg_movement_issued')

    @classmethod
    def issue_orders(cls, orders):
        """Orders whose goods are all handed over become «Выдан» (the
        payments module issues the full-settlement receipt then)"""
        Order = Pool().get('order_hub.order')
        done = [o for o in Order.browse([o.id for o in orders])
            if o.all_handed_over()]
        Order.deliver([o for o in done if o.state == 'assembling'])
        Order.issue([o for o in Order.browse(done)
                if o.state == 'delivering'])

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, shipments):
        "The carrier order and the transfers that can still be are cancelled"
        Transfer = Pool().get('order_hub.transfer')
        for code, group in cls.by_carrier([s for s in shipments
                    if s.carrier_state in {'pending', 'created'}]).items():
            getattr(cls, f'carrier_cancel_{code}')(group)
        transfers = [t for s in shipments for t in s.transfers]
        Transfer.cancel([t for t in transfers
                if t.state in {'draft', 'requested'}])
        cls.log_on_order(shipments, 'order_shipments.msg_log_shipment_cancelled',
            transfers=', '.join(t.number for t in transfers
                if t.state not in {'draft', 'requested', 'cancelled'})
            or '—')

    # -- carriers call these -------------------------------------------------
    @classmethod
    def carrier_created(cls, shipment, ref, track_number=None):
        "The carrier order exists: the order is on its way"
        Order = Pool().get('order_hub.order')
        cls.write([shipment], {'carrier_state': 'created',
                'carrier_ref': ref, 'track_number': track_number,
                'carrier_error': None})
        cls.log_on_order([shipment], 'order_shipments.msg_log_carrier_created',
            ref=ref, track=track_number or '—')
        order = shipment.order
        Order.deliver([order] if order.state == 'assembling' else [])

    @classmethod
    def carrier_refused(cls, shipment, reason):
        cls.write([shipment], {'carrier_state': 'refused',
                'carrier_error': reason})
        cls.log_on_order([shipment], 'order_shipments.msg_log_carrier_refused',
            reason=reason)

    @classmethod
    def carrier_cancelled(cls, shipment):
        cls.write([shipment], {'carrier_state': 'cancelled'})

    @classmethod
    def hub_sync_refused(cls, shipment, message, error):
        "The outbox's hook: a carrier refused one of its messages for good"
        cls.carrier_refused(shipment, message.last_error)

    @classmethod
    def carrier_events(cls, shipment, events):
        """Apply a carrier's status events; returns the new events.

        Known events are deduplicated by (source, code, date); only an
        event newer than the last applied one moves the shipment, and
        never backwards.  An unknown code is kept and flagged."""
        Event = Pool().get('order_shipments.shipment.event')
        source = shipment.carrier
        seen = {(e.source, e.code, e.date) for e in shipment.events}
        vlist = []
        for event in events:
            values = Event.values_from(source, event)
            key = (source, values['code'], values['date'])
            if key not in seen:
                seen.add(key)
                vlist.append({**values, 'shipment': shipment.id})
        new = Event.create(vlist)
        cls.apply_events(cls(shipment.id), new)
        return new

    @classmethod
    def apply_events(cls, shipment, new):
        applied = [e for e in shipment.events
            if e.state and e not in new]
        last = max((e.date for e in applied), default=None)
        for event in sorted(new, key=lambda e: e.date):
            if event.attention:
                cls.write([shipment], {'attention': True})
                cls.log_on_order([shipment], 'order_shipments.msg_log_unknown_status',
                    code=event.code, description=event.description or '—')
                continue
            if event.returned and not shipment.returned:
                cls.write([shipment], {'returned': True})
                cls.log_on_order([shipment], 'order_shipments.msg_log_returned',
                    description=event.description)
            if event.returned:
                cls.follow_return(cls(shipment.id), event)
                shipment = cls(shipment.id)
            if not event.state or (last and event.date < last):
                continue
            if shipment.return_state:
                # on its way back: the route's «arrived» is the sender's
                continue
            last = event.date
            cls.follow_carrier(cls(shipment.id), event)

    @classmethod
    def follow_return(cls, shipment, event):
        """A return event: «Возвращается», then, on a final one (handed
        back to the sender), «Возвращено отправителю»; never backwards.
        The shipment's state stays: what a returned parcel does to the
        order is the returns' business"""
        state = 'returned' if event.final else 'returning'
        if RETURN_RANK[state] <= RETURN_RANK[shipment.return_state]:
            return
        cls.write([shipment], {'return_state': state})
        if state == 'returned':
            cls.log_on_order([shipment],
                'order_shipments.msg_log_returned_to_sender',
                description=event.description or event.code)

    @classmethod
    def follow_carrier(cls, shipment, event):
        "Move the shipment to the event's state if it is ahead"
        if shipment.state == 'cancelled' or RANK[event.state] <= RANK[
                shipment.state]:
            return
        if shipment.state == 'assembling':
            cls.send([shipment])
            shipment = cls(shipment.id)
        if event.state == 'delivered' and shipment.state == 'sent':
            cls.arrive([shipment])
        elif event.state == 'issued':
            cls.hand_over([shipment])

    @classmethod
    def attach_document(cls, shipment, name, data):
        "A carrier's label or form, replacing the one of the same name"
        Attachment = Pool().get('ir.attachment')
        resource = str(shipment)
        with without_check_access():
            Attachment.delete(Attachment.search([
                        ('resource', '=', resource), ('name', '=', name)]))
            attachment, = Attachment.create([{'resource': resource,
                        'name': name, 'type': 'data', 'data': data}])
        return attachment

    @classmethod
    def carrier_track(cls):
        "Cron: carriers that poll follow their created shipments"
        shipments = cls.search([('carrier_state', '=', 'created'),
                ('state', 'in', ['sent', 'delivered'])])
        for code, group in cls.by_carrier(shipments).items():
            method = getattr(cls, f'carrier_track_{code}', None)
            if method:
                method(group)

    # -- item statuses, logs, notices --------------------------------------
    @classmethod
    def set_items(cls, shipments, state, message, location=None):
        Line = Pool().get('order_shipments.shipment.line')
        lines = [l for s in shipments for l in s.lines]
        with without_check_access():
            Line.write(lines, {'state': state})
        cls.write_movements(Line.browse(lines), location, message)

    @classmethod
    def write_movements(cls, lines, location, message):
        "One movement-log entry per line, at location (default: where it is)"
        Movement = Pool().get('order_hub.item.movement')
        Movement.add_rows({'order': l.shipment.order.id,
                'product': l.product.id, 'shipment': l.shipment.id,
                'shipment_line': l.id,
                'order_line': l.order_line.id if l.order_line else None,
                'location': (location or l.shipment.sale_warehouse).id,
                'status': l.state,
                'description': gettext(message, shipment=l.shipment.number,
                    quantity=format_number(l.quantity))}
            for l in lines)

    @classmethod
    def log_on_order(cls, shipments, message, **values):
        ActionLog = Pool().get('order_hub.action_log')
        ActionLog.add((s.order, 'shipment', gettext(message,
                    shipment=s.number, goods=s.describe_goods(),
                    carrier=s.carrier_string or '—',
                    delivery=s.delivery_type_string,
                    source=s.from_warehouse.rec_name,
                    shop=s.to_warehouse.rec_name if s.to_warehouse else '—',
                    **values))
            for s in shipments)

    def describe_goods(self):
        return '; '.join(gettext('order_hub.msg_line_description',
                product=l.product.rec_name,
                quantity=format_number(l.quantity)) for l in self.lines)

    @classmethod
    def notify_arrival(cls, shipments):
        "The customer is told the order waits in the shop (e-mail and SMS)"
        Message = Pool().get('hub_notify.message')
        vlist = []
        for shipment in shipments:
            vlist.extend(shipment.arrival_messages())
        if vlist:
            Message.send(vlist)

    def arrival_messages(self):
        order, shop = self.order, self.to_warehouse
        values = {'order': order.number, 'shipment': self.number,
            'shop': shop.name, 'address': shop.hub_full_address,
            'hours': shop.hub_opening_hours or '—'}
        text = gettext('order_shipments.msg_arrival_text', **values)
        messages = []
        if order.email:
            messages.append({'channel': 'email', 'recipient': order.email,
                    'subject': gettext(
                        'order_shipments.msg_arrival_subject', **values),
                    'text': text, 'origin': str(self)})
        if order.phone:
            messages.append({'channel': 'sms', 'recipient': order.phone,
                    'text': gettext('order_shipments.msg_arrival_sms',
                        **values), 'origin': str(self)})
        return messages


class ShipmentLine(ModelSQL, ModelView):
    "Shipment Line"
    __name__ = 'order_shipments.shipment.line'

    shipment = fields.Many2One(
        'order_shipments.shipment', "Shipment", required=True,
        ondelete='CASCADE', readonly=True)
    order_line = fields.Many2One(
        'order_hub.order.line', "Order Line", readonly=True,
        ondelete='SET NULL')
    product = fields.Many2One(
        'product.product', "Product", required=True, readonly=True,
        ondelete='RESTRICT')
    quantity = fields.Numeric(
        "Quantity", digits=(16, 0), required=True, readonly=True)
    list_price = fields.Numeric(
        "Price without Discount", digits=(16, 2), readonly=True)
    discount = fields.Numeric(
        "Discount", digits=(16, 2), readonly=True,
        help="The discount of these units.")
    unit_price = fields.Numeric(
        "Unit Price", digits=(16, 2), readonly=True,
        help="After discounts.")
    amount = fields.Function(fields.Numeric(
            "Amount", digits=(16, 2)), 'get_amount')
    state = fields.Selection(
        ITEM_STATES, "Item Status", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    shipment_state = fields.Function(fields.Selection(
            STATES, "Shipment Status"), 'get_shipment_state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('shipment')

    @classmethod
    def default_state(cls):
        return 'requested'

    def get_amount(self, name):
        return round_money((self.list_price or 0) * self.quantity
            - (self.discount or 0))

    def get_shipment_state(self, name):
        return self.shipment.state

    def get_rec_name(self, name):
        return f'{self.shipment.number}: {self.product.rec_name} × ' \
            f'{format_number(self.quantity)}'

    def get_carrier_item(self):
        product = self.product
        return {'product': product, 'name': product.rec_name,
            'article': product.code, 'quantity': self.quantity,
            'unit_price': self.unit_price, 'amount': self.amount,
            'vat_rate': self.get_vat_rate(),
            'weight': self.get_weight(),
            'marking_codes': (self.order_line.marking_codes()
                if self.order_line else [])}

    def get_vat_rate(self):
        "The VAT rate code of the goods (as the payments module configures)"
        Configuration = Pool().get('order_payment.configuration')
        return Configuration(1).vat_goods

    def get_weight(self):
        "Grams, when the product knows its weight"
        return None


class Event(ModelSQL, ModelView):
    "Shipment Event"
    __name__ = 'order_shipments.shipment.event'

    shipment = fields.Many2One(
        'order_shipments.shipment', "Shipment", required=True,
        ondelete='CASCADE', readonly=True)
    date = fields.DateTime("Date", required=True, readonly=True,
        help="When it happened at the carrier.")
    received = fields.DateTime("Received", readonly=True,
        help="When the hub learned of it.")
    source = fields.Char("Source", readonly=True)
    code = fields.Char("Code", readonly=True)
    description = fields.Char("Description", readonly=True)
    location = fields.Char("Location", readonly=True)
    state = fields.Selection(
        MAPPED_STATES, "Shipment Status", readonly=True, sort=False)
    returned = fields.Boolean("Return", readonly=True)
    final = fields.Boolean("Final", readonly=True)
    attention = fields.Boolean("Unknown Status", readonly=True)
    raw = fields.Text("Raw Data", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('shipment')
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def values_from(cls, source, event):
        "Values of an event dict, mapped through the status table"
        Status = Pool().get('order_shipments.carrier.status')
        code = str(event['code']).strip()
        status = Status.lookup(source, code)
        raw = event.get('raw')
        if raw is not None and not isinstance(raw, str):
            raw = json.dumps(raw, ensure_ascii=False, default=str)
        return {'source': source, 'code': code,
            'date': parse_date(event['date']), 'received': utcnow(),
            'description': event.get('description') or (
                status.description if status else None),
            'location': event.get('location'),
            'state': status.state if status else None,
            'returned': bool(status and status.returned),
            'final': bool(status and status.final),
            'attention': status is None, 'raw': raw}


class CarrierStatus(ModelSQL, ModelView):
    "Carrier Status"
    __name__ = 'order_shipments.carrier.status'

    carrier = fields.Char("Carrier", required=True,
        help="The carrier's code (cdek, russian_post…).")
    code = fields.Char("Code", required=True,
        help="The status code as the carrier sends it.")
    description = fields.Char("Description", required=True, translate=True)
    state = fields.Selection(
        MAPPED_STATES, "Shipment Status", sort=False,
        help="Empty: the event is shown, the shipment does not move.")
    returned = fields.Boolean("Return")
    final = fields.Boolean("Final")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('carrier_code_unique', Unique(t, t.carrier, t.code),
                'order_shipments.msg_carrier_status_unique'),
            ]
        cls._order = [('carrier', 'ASC'), ('code', 'ASC'), ('id', 'ASC')]

    @classmethod
    def lookup(cls, carrier, code):
        statuses = cls.search([('carrier', '=', carrier),
                ('code', '=', code)], limit=1)
        return statuses[0] if statuses else None


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Shipments Configuration"
    __name__ = 'order_shipments.configuration'

    portal_url = fields.Char("Portal Address",
        help="The address shop phones open, e.g. "
        "https://hub.example.ru/hub/shop/shipment/ (the shipment's "
        "number is added). It goes into the QR code of the pickup slip.")

    @classmethod
    def default_portal_url(cls):
        return config.get('order_shipments', 'portal_url',
            default='http://localhost:8000/hub/shop/shipment/')

    def shipment_url(self, shipment):
        base = self.portal_url or self.default_portal_url()
        return base.rstrip('/') + '/' + (shipment.number or '')


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('order_shipments.shipment|carrier_track',
                "Follow Carrier Shipments"))


class ShopOpen(ModelSQL, ModelView):
    "Open Work per Shop"
    __name__ = 'order_shipments.shop_open'

    warehouse = fields.Many2One('stock.location', "Shop")
    kind = fields.Selection([
            ('to_send', "Goods to Send"),
            ('arriving', "Goods Arriving"),
            ('to_hand_over', "Pickups to Hand Over"),
            ], "Work", sort=False)
    count = fields.Integer("Documents")
    since = fields.DateTime("Open Since",
        help="The oldest of them has waited since then.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('since', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        transfer = pool.get('order_hub.transfer').__table__()
        shipment = pool.get('order_shipments.shipment').__table__()
        parts = [
            transfer.select(transfer.from_warehouse.as_('warehouse'),
                Cast(Literal('to_send'), 'VARCHAR').as_('kind'),
                transfer.date.as_('date'),
                where=transfer.state == 'requested'),
            transfer.select(transfer.to_warehouse.as_('warehouse'),
                Cast(Literal('arriving'), 'VARCHAR').as_('kind'),
                transfer.date.as_('date'),
                where=transfer.state == 'in_transit'),
            shipment.select(shipment.to_warehouse.as_('warehouse'),
                Cast(Literal('to_hand_over'), 'VARCHAR').as_('kind'),
                shipment.state_date.as_('date'),
                where=(shipment.delivery_type == 'shop_pickup')
                & shipment.state.in_(['sent', 'delivered'])),
            ]
        work = Union(*parts, all_=True)
        grouped = work.select(work.warehouse, work.kind,
            Count(work.kind).as_('count'), Min(work.date).as_('since'),
            group_by=[work.warehouse, work.kind])
        kind_number = Case((grouped.kind == 'to_send', 1),
            (grouped.kind == 'arriving', 2), else_=3)
        return grouped.select(
            (grouped.warehouse * 10 + kind_number).as_('id'),
            Literal(0).as_('create_uid'), Literal(Null).as_('create_date'),
            Literal(0).as_('write_uid'), Literal(Null).as_('write_date'),
            grouped.warehouse, grouped.kind, grouped.count, grouped.since)
