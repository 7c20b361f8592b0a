"""Transfer requests: goods the manager asks a warehouse (usually a shop)
to send to another one (the pickup shop, the central warehouse).

The request is the hub's record of the move; the stock documents that
realise it belong to 1C UT11, whose bridge extends ``request`` to send them
and moves the request on with ``ship`` and ``receive`` as 1C reports.
Without a bridge the request is still kept, logged and scoped to its shops.

Extension point for shipments (a later issue): a shipment creates its
requests with ``create_for_order`` (or ``create``) and ``request``, and
follows them by their ``state``; ``ship``/``receive`` are the methods to
extend for item statuses and the movement log.
"""
import datetime
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.hub_common import is_whole_positive
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .action_log import format_number
from .exceptions import TransferError

TRANSFER_STATES = [
    ('draft', "Draft"),
    ('requested', "Requested"),
    ('in_transit', "In Transit"),
    ('received', "Received"),
    ('cancelled', "Cancelled"),
    ]
# what a user may still change once the request left the draft
AFTER_DRAFT_FIELDS = {'comment'}


class TransferRequest(Workflow, ModelSQL, ModelView):
    "Transfer Request"
    __name__ = 'order_hub.transfer'
    _rec_name = 'number'

    _states = {'readonly': Eval('state') != 'draft'}
    # a draft may wait for its warehouses; a request needs both
    _warehouse_states = {**_states, 'required': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    number = fields.Char("Number", readonly=True)
    date = fields.DateTime("Request Date", required=True, readonly=True)
    order = fields.Many2One(
        'order_hub.order', "Order", ondelete='RESTRICT', states=_states,
        help="The order the goods are for, if any.")
    from_warehouse = fields.Many2One(
        'stock.location', "From Warehouse", ondelete='RESTRICT',
        states=_warehouse_states,
        domain=[('type', '=', 'warehouse')],
        help="The shop or warehouse that sends the goods.")
    to_warehouse = fields.Many2One(
        'stock.location', "To Warehouse", ondelete='RESTRICT',
        states=_warehouse_states,
        domain=[('type', '=', 'warehouse')],
        help="The shop (pickup point) or warehouse that receives them.")
    lines = fields.One2Many(
        'order_hub.transfer.line', 'transfer', "Goods", states=_states)
    state = fields.Selection(
        TRANSFER_STATES, "Status", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    # Text, not Char: set by code, no read-back on validation
    refusal = fields.Text(
        "Refusal", readonly=True,
        states={'invisible': ~Eval('refusal')},
        help="Why the last attempt to make this transfer was refused.")
    comment = fields.Text("Comment")

    del _states, _warehouse_states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'requested'),
            # again, after a refusal
            ('requested', 'requested'),
            ('requested', 'in_transit'),
            ('in_transit', 'received'),
            ('draft', 'cancelled'),
            ('requested', 'cancelled'),
            }
        cls._buttons.update({
                'request': {
                    'invisible': ~((Eval('state') == 'draft')
                        | ((Eval('state') == 'requested') & Eval('refusal'))),
                    'depends': ['state', 'refusal'],
                    },
                'cancel': {
                    'invisible': ~((Eval('state') == 'draft')
                        | ((Eval('state') == 'requested') & Eval('refusal'))),
                    'depends': ['state', 'refusal'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_date(cls):
        return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('number'):
            with without_check_access():
                values['number'] = Sequence(ModelData.get_id(
                        'order_hub', 'sequence_transfer')).get()
        return values

    @classmethod
    def check_modification(cls, mode, transfers, values=None,
            external=False):
        super().check_modification(
            mode, transfers, values=values, external=external)
        if mode == 'delete':
            for transfer in transfers:
                if transfer.state not in {'draft', 'cancelled'}:
                    raise TransferError(gettext(
                            'order_hub.msg_transfer_delete',
                            transfer=transfer.rec_name))
        elif mode == 'write' and external:
            changed = set(values) - AFTER_DRAFT_FIELDS
            for transfer in transfers:
                if changed and transfer.state != 'draft':
                    raise TransferError(gettext(
                            'order_hub.msg_transfer_not_draft',
                            transfer=transfer.rec_name,
                            state=transfer.state_string))

    @classmethod
    def copy(cls, transfers, default=None):
        default = dict(default or {}, number=None, refusal=None,
            state='draft')
        default.setdefault('date', cls.default_date())
        return super().copy(transfers, default=default)

    def describe_goods(self):
        return '; '.join(gettext('order_hub.msg_line_description',
                product=l.product.rec_name,
                quantity=format_number(l.quantity)) for l in self.lines)

    def check_requestable(self):
        if not self.from_warehouse or not self.to_warehouse:
            raise TransferError(gettext(
                    'order_hub.msg_transfer_no_warehouse',
                    transfer=self.rec_name))
        if not self.lines:
            raise TransferError(gettext('order_hub.msg_transfer_no_lines',
                    transfer=self.rec_name))
        if self.from_warehouse == self.to_warehouse:
            raise TransferError(gettext(
                    'order_hub.msg_transfer_same_warehouse',
                    transfer=self.rec_name,
                    warehouse=self.from_warehouse.rec_name))
        for line in self.lines:
            line.check_quantity()

    # -- workflow ------------------------------------------------------------
    @classmethod
    @ModelView.button
    @Workflow.transition('requested')
    def request(cls, transfers):
        "Ask for the goods; bridges extend this to send the documents"
        for transfer in transfers:
            transfer.check_requestable()
        cls.write([t for t in transfers if t.refusal], {'refusal': None})
        cls.log_on_orders(transfers, 'order_hub.msg_log_transfer_requested')

    @classmethod
    @Workflow.transition('in_transit')
    def ship(cls, transfers):
        "The sender has shipped the goods"
        cls.log_on_orders(transfers, 'order_hub.msg_log_transfer_in_transit')

    @classmethod
    @Workflow.transition('received')
    def receive(cls, transfers):
        "The receiving warehouse has the goods"
        cls.log_on_orders(transfers, 'order_hub.msg_log_transfer_received')

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, transfers):
        cls.log_on_orders(transfers, 'order_hub.msg_log_transfer_cancelled')

    @classmethod
    def record_refusal(cls, transfers, reason):
        """Another system refused the transfer: the request keeps its goods
        and shows why; the order's log says so too"""
        cls.write(transfers, {'refusal': reason})
        cls.log_on_orders(transfers, 'order_hub.msg_log_transfer_refused',
            reason=reason)

    @classmethod
    def log_on_orders(cls, transfers, message, **values):
        ActionLog = Pool().get('order_hub.action_log')
        ActionLog.add((t.order, 'transfer', gettext(message,
                    number=t.number, goods=t.describe_goods(),
                    source=t.from_warehouse.rec_name,
                    target=t.to_warehouse.rec_name, **values))
            for t in transfers if t.order)

    # -- from an order -------------------------------------------------------
    @classmethod
    def create_for_order(cls, order):
        "A draft request pre-filled from the order's lines"
        return cls.create([cls.values_for_order(order)])[0]

    @classmethod
    def values_for_order(cls, order):
        """What the order misses (all of it when nothing is missing), to
        where the order is gathered, from the warehouse with the most of
        it free"""
        goods = ([(l, l.missing_quantity) for l in order.lines
                if l.missing_quantity > 0]
            or [(l, l.quantity) for l in order.lines])
        target = cls.best_target(order)
        source = cls.best_source([l.product for l, _ in goods], target)
        return {
            'company': order.company.id, 'order': order.id,
            'to_warehouse': target.id if target else None,
            'from_warehouse': source.id if source else None,
            'lines': [('create', [{'product': l.product.id, 'quantity': q,
                                'order_line': l.id} for l, q in goods])],
            }

    @classmethod
    def best_target(cls, order):
        """The pickup shop; else the warehouse that holds most of what the
        order has reserved (the goods gather there); else the one nearest
        the delivery city"""
        if order.delivery_service == 'pickup' and order.pickup_shop:
            return order.pickup_shop
        held = {}
        for reservation in order.reservations:
            if reservation.active:
                held[reservation.warehouse] = held.get(
                    reservation.warehouse, 0) + reservation.quantity
        if held:
            # the most held; as much: the nearest to the customer
            return max(held, key=lambda w: (held[w],
                    -(order.distance_to(w) or 0), -w.id))
        nearest = order.warehouses_by_distance()
        return nearest[0][0] if nearest else None

    @classmethod
    def best_source(cls, products, exclude=None):
        pool = Pool()
        StockLevel = pool.get('order_hub.stock')
        Location = pool.get('stock.location')
        if not products:
            return None
        free, _ = StockLevel.free_by_warehouse({p.id for p in products})
        totals = {}
        for (_, warehouse), quantity in free.items():
            if quantity > 0 and not (exclude and warehouse == exclude.id):
                totals[warehouse] = totals.get(warehouse, 0) + quantity
        if not totals:
            return None
        return Location(max(totals, key=lambda w: (totals[w], -w)))


class TransferLine(ModelSQL, ModelView):
    "Transfer Request Line"
    __name__ = 'order_hub.transfer.line'

    transfer = fields.Many2One(
        'order_hub.transfer', "Transfer Request", required=True,
        ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='RESTRICT')
    quantity = fields.Numeric("Quantity", digits=(16, 0), required=True)
    order_line = fields.Many2One(
        'order_hub.order.line', "Order Line", readonly=True,
        ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('transfer')

    @classmethod
    def default_quantity(cls):
        return Decimal(1)

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if external:
            for transfer in {l.transfer for l in lines}:
                if transfer.state != 'draft':
                    raise TransferError(gettext(
                            'order_hub.msg_transfer_not_draft',
                            transfer=transfer.rec_name,
                            state=transfer.state_string))

    def check_quantity(self):
        quantity = self.quantity
        if not is_whole_positive(quantity):
            raise TransferError(gettext(
                    'order_hub.msg_transfer_quantity',
                    product=self.product.rec_name,
                    quantity=format_number(quantity or 0)))


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    transfers = fields.One2Many(
        'order_hub.transfer', 'order', "Transfer Requests", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'request_goods': {
                    'invisible': ~Eval('state').in_(['paid', 'assembling']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    @ModelView.button_action('order_hub.wizard_order_request_goods')
    def request_goods(cls, orders):
        pass


class RequestGoodsStart(ModelView):
    "Request Goods"
    __name__ = 'order_hub.order.request_goods.start'

    order = fields.Many2One('order_hub.order', "Order", readonly=True)
    from_warehouse = fields.Many2One(
        'stock.location', "From Warehouse", required=True,
        domain=[
            ('type', '=', 'warehouse'),
            ('id', '!=', Eval('to_warehouse', -1)),
            ],
        help="The shop or warehouse that sends the goods.")
    to_warehouse = fields.Many2One(
        'stock.location', "To Warehouse", required=True,
        domain=[
            ('type', '=', 'warehouse'),
            ('id', '!=', Eval('from_warehouse', -1)),
            ],
        help="The shop (pickup point) or warehouse that receives them.")
    lines = fields.One2Many(
        'order_hub.order.request_goods.line', None, "Goods", required=True)
    comment = fields.Text("Comment")


class RequestGoodsLine(ModelView):
    "Request Goods Line"
    __name__ = 'order_hub.order.request_goods.line'

    product = fields.Many2One('product.product', "Product", required=True)
    quantity = fields.Numeric("Quantity", digits=(16, 0), required=True)
    order_line = fields.Many2One(
        'order_hub.order.line', "Order Line", readonly=True)


class RequestGoodsDone(ModelView):
    "Goods Requested"
    __name__ = 'order_hub.order.request_goods.done'

    transfer = fields.Many2One(
        'order_hub.transfer', "Transfer Request", readonly=True)
    message = fields.Text("Message", readonly=True)


class RequestGoods(Wizard):
    """The order's «Request Goods»: a dialog pre-filled from the order that
    creates the transfer request and requests it in one go"""
    __name__ = 'order_hub.order.request_goods'

    start = StateView('order_hub.order.request_goods.start',
        'order_hub.order_request_goods_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Request", 'request', 'tryton-ok', default=True),
            ])
    request = StateTransition()
    done = StateView('order_hub.order.request_goods.done',
        'order_hub.order_request_goods_done_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        Transfer = Pool().get('order_hub.transfer')
        values = Transfer.values_for_order(self.record)
        (_, lines), = values['lines']
        return {'order': self.record.id,
            'from_warehouse': values['from_warehouse'],
            'to_warehouse': values['to_warehouse'],
            'lines': lines}

    def transition_request(self):
        "Created and requested together: refused, nothing is left behind"
        Transfer = Pool().get('order_hub.transfer')
        transfer, = Transfer.create([{
                    'company': self.record.company.id,
                    'order': self.record.id,
                    'from_warehouse': self.start.from_warehouse.id,
                    'to_warehouse': self.start.to_warehouse.id,
                    'comment': self.start.comment,
                    'lines': [('create', [{
                                    'product': l.product.id,
                                    'quantity': l.quantity,
                                    'order_line': (l.order_line.id
                                        if l.order_line else None),
                                    } for l in self.start.lines])],
                    }])
        Transfer.request([transfer])
        self.done.transfer = transfer
        return 'done'

    def default_done(self, fields):
        transfer = self.done.transfer
        return {'transfer': transfer.id,
            'message': gettext('order_hub.msg_transfer_requested_done',
                number=transfer.number, goods=transfer.describe_goods(),
                source=transfer.from_warehouse.rec_name,
                target=transfer.to_warehouse.rec_name,
                state=transfer.state_string)}

    def end(self):
        return 'reload'
