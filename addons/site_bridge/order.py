"""From the hub to the site: a site order follows the hub's changes.

Every change of an order that came from the site (status, lines, prices,
totals) enqueues one coalesced outbox message; its handler reads the site's
order over REST and sends only what differs, so a retry or a late message
sends the latest state once.  Changes made by the importer (context
``hub_source`` = 'site') are the site's own and are not echoed.
"""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, Unique, fields
from trytond.modules.hub_sync.errors import PermanentError
from trytond.modules.order_hub.pricing import format_money
from trytond.modules.order_hub.promotion_rules import round_money
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction


SYSTEM = 'site'
OPERATION = 'site_push_order'

# Hub order status -> the site's order status id (b_sale_status.ID).  Only
# N «Принят, ожидается оплата», P «Оплачен, формируется к отправке» and
# F «Выполнен» are the default install's (bitrix_site.md A.7); other ids are
# created by each site's administrator: DS «Передан в службу доставки» is
# the sandbox's custom status — check the real site's list
# (sale.status.list or mode=info) before going live (unconfirmed).  The
# default install has no status for assembly: assembling stays P.
# Cancellation is not a status on the site but the order's ``canceled``
# flag, sent as canceled = Y with a reason; the status is left as it is.
SITE_STATUSES = {
    'awaiting_payment': 'N',
    'paid': 'P',
    'assembling': 'P',
    'delivering': 'DS',
    'issued': 'F',
    'cancelled': None,
    }
# order fields whose change the site must hear of
SYNCED_FIELDS = {
    'state', 'promo_code', 'total', 'total_without_discount',
    'discount_total', 'delivery_cost'}
SYNCED_LINE_FIELDS = {'product', 'quantity', 'unit_price', 'discount'}
# sale.basketitem.update fields the hub sets (b24restdocs)
BASKET_UPDATE_FIELDS = ('quantity', 'basePrice', 'price', 'discountPrice')
# bookkeeping of the exchange, written in any state of the order
SITE_FIELDS = {'site_order_id', 'site_snapshot', 'site_unmapped',
    'site_version', 'site_changed', 'site_exported'}


def same_number(a, b):
    return a is not None and b is not None and abs(
        Decimal(str(a)) - Decimal(str(b))) < Decimal('0.005')


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    site_order_id = fields.Char("Website Order ID", readonly=True,
        help="The order's ID on the website (CommerceML Документ/Ид): "
        "set only for orders that came from the website.")
    site_snapshot = fields.Text("Website Data", readonly=True,
        help="The website's customer, delivery and payment data as last "
        "received.")
    site_unmapped = fields.Char("Needs Mapping", readonly=True,
        help="The website's delivery service or payment system the hub has "
        "no mapping for, as the website named it. Have it added to the "
        "website connection (Exchange → Connections), then press \"Apply "
        "Mapping\".")
    site_version = fields.Integer("Website Version", readonly=True,
        help="The website's version of the order the hub holds.")
    site_changed = fields.DateTime("Changed on the Website", readonly=True)
    site_exported = fields.DateTime("Exported by the Website", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # two queue workers applying two exports of a new site order at
        # once both find no order: the second insert must fail (and be
        # retried as an update) instead of making a second order
        cls._sql_constraints += [
            ('site_order_id_unique', Unique(t, t.site_order_id),
                'site_bridge.msg_site_order_unique'),
            ]
        cls._system_fields |= SITE_FIELDS
        cls._buttons.update({
                'site_apply_mapping': {
                    'invisible': ~Eval('site_unmapped'),
                    'depends': ['site_unmapped'],
                    },
                })

    @classmethod
    def copy(cls, orders, default=None):
        default = dict(default or {}, **dict.fromkeys(SITE_FIELDS))
        return super().copy(orders, default=default)

    @classmethod
    @ModelView.button
    def site_apply_mapping(cls, orders):
        "The website's delivery and payment mapped again, now it can be"
        Pool().get('site_bridge.importer').apply_mapping(orders)

    @classmethod
    def on_modification(cls, mode, orders, field_names=None):
        super().on_modification(mode, orders, field_names=field_names)
        if mode == 'write' and field_names & SYNCED_FIELDS:
            cls.site_enqueue(orders)

    @classmethod
    def site_enqueue(cls, orders):
        "Send the site orders' current state to the site after the commit"
        if Transaction().context.get('hub_source') == SYSTEM:
            return      # the site's own change: no echo
        orders = [o for o in orders if o.site_order_id]
        if orders:
            Pool().get('hub_sync.outbox').enqueue(SYSTEM, OPERATION, orders)

    def get_site_order_fields(self, remote):
        "sale.order.update fields that differ from the site's order"
        values = {}
        status = SITE_STATUSES.get(self.state)
        if status and remote.get('statusId') != status:
            values['statusId'] = status
        if self.state == 'cancelled' and remote.get('canceled') != 'Y':
            values['canceled'] = 'Y'
            values['reasonCanceled'] = gettext(
                'site_bridge.msg_site_cancel_reason', order=self.number)
        return values

    def get_site_shipment_fields(self, shipment):
        """sale.shipment.update fields for one of the site's shipments.

        The hub has no shipments yet.  The shipment module extends this
        method and returns {'trackingNumber': …} (and allowDelivery /
        deducted when it is handed over) for the site's shipment; the
        handler already sends whatever it returns."""
        return {}

    def get_site_basket_changes(self, items):
        """What makes the site's basket equal the order's lines:
        (adds [(line, fields)], updates [(item id, fields)], deletes [ids]).

        Rows are matched by the basket id the order came with, or by the
        xmlId the hub gave a row it added (a retry finds it).  Another
        product is a new row: sale.basketitem.update takes no productId."""
        kept, adds, updates = set(), [], []
        for line in self.lines:
            wanted = line.get_site_basket_fields()
            item = line.find_site_item(items, wanted['productXmlId'])
            if item is None:
                adds.append((line, line.get_site_new_item(
                            self.site_order_id, wanted)))
                continue
            kept.add(str(item['id']))
            changed = {k: wanted[k] for k in BASKET_UPDATE_FIELDS
                if not same_number(item.get(k), wanted[k])}
            if changed:
                updates.append((item['id'], changed))
        deletes = [i['id'] for i in items if str(i['id']) not in kept]
        return adds, updates, deletes

    # -- the outbox handler ----------------------------------------------
    def site_push(self, message):
        "Outbox handler: the site's order takes the hub order's current state"
        client = message.get_system().site_rest_client()
        remote = client.get_order(self.site_order_id)
        sent = self.site_push_basket(client, remote['basketItems'])
        values = self.get_site_order_fields(remote)
        if values:
            client.update_order(self.site_order_id, values)
            sent += 1
        for shipment in remote.get('shipments') or []:
            values = self.get_site_shipment_fields(shipment)
            if values:
                client.update_shipment(shipment['id'], values)
                sent += 1
        total = client.get_order(self.site_order_id)['price'] if sent else (
            remote['price'])
        self.site_check_total(total)
        return gettext('site_bridge.msg_site_updated',
            number=remote.get('accountNumber') or self.site_order_id,
            calls=sent, total=format_money(Decimal(str(total))))

    def site_push_basket(self, client, items):
        "Add, update, then delete rows (never an empty basket); calls made"
        Line = Pool().get('order_hub.order.line')
        adds, updates, deletes = self.get_site_basket_changes(items)
        for line, values in adds:
            item = client.add_basket_item(values)
            Line.write([line], {'site_basket_id': int(item['id'])})
        for item_id, values in updates:
            client.update_basket_item(item_id, values)
        for item_id in deletes:
            client.delete_basket_item(item_id)
        return len(adds) + len(updates) + len(deletes)

    def site_check_total(self, total):
        """The site computes its own total; a difference (e.g. the site
        re-priced a row from its catalogue) is told on the order"""
        if self.total is None or same_number(total, self.total):
            return
        ActionLog = Pool().get('order_hub.action_log')
        with Transaction().set_context(hub_source=SYSTEM):
            ActionLog.add([(self, 'exchange', gettext(
                            'site_bridge.msg_site_total_differs',
                            site=format_money(Decimal(str(total))),
                            hub=format_money(self.total)))])


class OrderLine(metaclass=PoolMeta):
    __name__ = 'order_hub.order.line'

    site_basket_id = fields.Integer("Website Basket Row", readonly=True)

    @classmethod
    def copy(cls, lines, default=None):
        default = dict(default or {}, site_basket_id=None)
        return super().copy(lines, default=default)

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        if mode == 'write':
            values = {k: v for k, v in values.items()
                if k != 'site_basket_id'}
        super().check_modification(
            mode, lines, values=values, external=external)

    @classmethod
    def on_modification(cls, mode, lines, field_names=None):
        super().on_modification(mode, lines, field_names=field_names)
        if mode != 'write' or field_names & SYNCED_LINE_FIELDS:
            Order = Pool().get('order_hub.order')
            Order.site_enqueue(list({l.order for l in lines}))

    @property
    def site_item_key(self):
        "xmlId of a basket row the hub adds"
        return f'hub-line-{self.id}'

    def find_site_item(self, items, xml_id):
        for item in items:
            # the site answers ids as JSON strings ("255")
            if (str(item['id']) == str(self.site_basket_id)
                    or item.get('xmlId') == self.site_item_key) and (
                    item.get('productXmlId') == xml_id):
                return item

    def get_site_basket_fields(self):
        """The line as a basket row: prices per unit, basePrice = price +
        discountPrice (a line discount that does not divide by the quantity
        is rounded per unit to the kopeck)"""
        xml_id = self.product.external_offer_id
        if not xml_id:
            raise PermanentError(gettext('site_bridge.msg_product_not_sent',
                    product=self.product.rec_name))
        discount = round_money((self.discount or 0) / self.quantity)
        base = self.unit_price or Decimal(0)
        return {'productXmlId': xml_id, 'quantity': float(self.quantity),
            'basePrice': float(base), 'price': float(base - discount),
            'discountPrice': float(discount)}

    def get_site_new_item(self, order_id, wanted):
        """sale.basketitem.add fields.  The hub knows the site's offer by its
        XML_ID, not its catalogue id: the row is added with productId 0 and
        the hub's prices (customPrice Y).  Whether the site then binds it to
        its catalogue element by productXmlId is unconfirmed."""
        return {**wanted, 'orderId': order_id, 'productId': 0,
            'currency': 'RUB', 'customPrice': 'Y',
            'name': self.product.rec_name, 'xmlId': self.site_item_key}


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            OPERATION: 'site_bridge.msg_operation_order'}

    def send_site_push_order(self):
        return self.record.site_push(self)
