"""What shipments add to the order, its lines, transfer requests, the item
movement log, warehouses and the «Запросить товар» dialog."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import ShipmentError
from .shipment import DELIVERY_TYPES

# the site's delivery service → (delivery type, carrier code)
DELIVERY_OF_SERVICE = {
    'pickup': ('shop_pickup', None),
    'cdek_pickup': ('pickup_point', 'cdek'),
    'cdek_courier': ('courier', 'cdek'),
    'russian_post': ('post_office', 'russian_post'),
    }


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    shipments = fields.One2Many(
        'order_shipments.shipment', 'order', "Shipments", readonly=True)

    def all_handed_over(self):
        "Every line's goods are in shipments, and all of those issued"
        shipments = [s for s in self.shipments if s.state != 'cancelled']
        return bool(shipments) and all(
            s.state == 'issued' for s in shipments) and all(
            l.unshipped_quantity <= 0 for l in self.lines)


class OrderLine(metaclass=PoolMeta):
    __name__ = 'order_hub.order.line'

    shipment_lines = fields.One2Many(
        'order_shipments.shipment.line', 'order_line', "Shipments",
        readonly=True)
    shipped_quantity = fields.Function(
        fields.Numeric("In Shipments", digits=(16, 0)), 'get_shipped')
    unshipped_quantity = fields.Function(
        fields.Numeric("Not in a Shipment", digits=(16, 0)), 'get_shipped')
    shipment_names = fields.Function(
        fields.Char("Shipment"), 'get_shipment_names')

    def active_shipment_lines(self):
        return [l for l in self.shipment_lines
            if l.shipment.state != 'cancelled']

    @classmethod
    def get_shipped(cls, lines, names):
        result = {n: {} for n in names}
        for line in lines:
            shipped = sum((l.quantity for l in line.active_shipment_lines()),
                Decimal(0))
            values = {'shipped_quantity': shipped,
                'unshipped_quantity': max(
                    (line.quantity or 0) - shipped, Decimal(0))}
            for name in names:
                result[name][line.id] = values[name]
        return result

    def get_shipment_names(self, name):
        return ', '.join(f'{l.shipment.number} ({l.shipment.state_string})'
            for l in self.active_shipment_lines()) or None


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    def hub_is_manager(self):
        "E-shop managers and administrators act on every shop"
        ModelData = Pool().get('ir.model.data')
        managers = {ModelData.get_id('order_hub', 'group_manager'),
            ModelData.get_id('order_hub', 'group_admin')}
        return bool(managers & {g.id for g in self.groups})


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection.append(('shipment', "Shipment"))


class Transfer(metaclass=PoolMeta):
    __name__ = 'order_hub.transfer'

    shipment = fields.Many2One(
        'order_shipments.shipment', "Shipment", readonly=True,
        ondelete='RESTRICT')
    open_since = fields.Function(
        fields.DateTime("Open Since"), 'get_open_since')
    sent_by_my_shop = fields.Function(
        fields.Boolean("Sent by My Shop"), 'get_mine',
        searcher='search_mine')
    received_by_my_shop = fields.Function(
        fields.Boolean("Received by My Shop"), 'get_mine',
        searcher='search_mine')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'shop_ship': {
                    'invisible': ((Eval('state') != 'requested')
                        | Eval('refusal')),
                    'depends': ['state', 'refusal'],
                    },
                'shop_receive': {
                    'invisible': Eval('state') != 'in_transit',
                    'depends': ['state'],
                    },
                })

    _mine_sides = {'sent_by_my_shop': 'from_warehouse',
        'received_by_my_shop': 'to_warehouse'}

    def get_mine(self, name):
        shops = Pool().get('res.user').get_hub_shops()
        warehouse = getattr(self, self._mine_sides[name])
        return not shops or bool(warehouse and warehouse.id in shops)

    @classmethod
    def search_mine(cls, name, clause):
        "The user's shops' side; everything for a user without shops"
        shops = Pool().get('res.user').get_hub_shops()
        return [(cls._mine_sides[name], 'in', shops)] if shops else []

    def get_open_since(self, name):
        return self.date if self.state in {'requested', 'in_transit'} \
            else None

    @classmethod
    @ModelView.button
    def shop_ship(cls, transfers):
        "«Отправлено»: the sending shop has handed the goods over"
        cls.check_my_shop(transfers, 'from_warehouse')
        cls.ship(transfers)

    @classmethod
    @ModelView.button
    def shop_receive(cls, transfers):
        "«Получено»: the receiving shop has the goods"
        cls.check_my_shop(transfers, 'to_warehouse')
        cls.receive(transfers)

    @classmethod
    def check_my_shop(cls, transfers, side):
        User = Pool().get('res.user')
        shops = User.get_hub_shops()
        user = Transaction().user
        if not user or not shops or User(user).hub_is_manager():
            return
        for transfer in transfers:
            warehouse = getattr(transfer, side)
            if warehouse.id not in shops:
                raise ShipmentError(gettext(
                        'order_shipments.msg_transfer_not_your_shop',
                        transfer=transfer.rec_name, shop=warehouse.rec_name))

    @classmethod
    def ship(cls, transfers):
        pool = Pool()
        Shipment = pool.get('order_shipments.shipment')
        Order = pool.get('order_hub.order')
        super().ship(transfers)
        for transfer in transfers:
            shipment = transfer.shipment
            if not shipment or shipment.state == 'cancelled':
                continue
            pickup = shipment.delivery_type == 'shop_pickup'
            Shipment.set_items([shipment],
                'to_pickup' if pickup else 'to_central',
                'order_shipments.msg_movement_transfer_shipped',
                location=transfer.from_warehouse)
            if pickup and shipment.order.state == 'assembling':
                # the goods go to the customer's pickup shop
                Order.deliver([shipment.order])

    @classmethod
    def receive(cls, transfers):
        Shipment = Pool().get('order_shipments.shipment')
        super().receive(transfers)
        arrived = []
        for transfer in transfers:
            shipment = transfer.shipment
            if not shipment or shipment.state != 'assembling':
                continue
            Shipment.write_movements(shipment.lines, transfer.to_warehouse,
                'order_shipments.msg_movement_transfer_received')
            if all(t.state in {'received', 'cancelled'}
                    for t in shipment.transfers):
                arrived.append(shipment)
        if not arrived:
            return
        Shipment.set_items(
            [s for s in arrived if s.delivery_type != 'shop_pickup'],
            'assembling', 'order_shipments.msg_movement_ready')
        # a pickup shipment's goods are in the pickup shop: sell them
        Shipment.release_goods(
            [s for s in arrived if s.delivery_type == 'shop_pickup'])


class Movement(metaclass=PoolMeta):
    __name__ = 'order_hub.item.movement'

    shipment = fields.Many2One(
        'order_shipments.shipment', "Shipment", readonly=True,
        ondelete='CASCADE')
    shipment_line = fields.Many2One(
        'order_shipments.shipment.line', "Shipment Line", readonly=True,
        ondelete='CASCADE')
    order_line = fields.Many2One(
        'order_hub.order.line', "Order Line", readonly=True,
        ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # shipped goods may never have been reserved by the hub
        cls.reservation.required = False


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'

    hub_opening_hours = fields.Char(
        "Opening Hours", states={'invisible': Eval('type') != 'warehouse'},
        help="Told to customers whose order waits in this shop.")
    hub_phone = fields.Char(
        "Phone", states={'invisible': Eval('type') != 'warehouse'})
    hub_full_address = fields.Function(
        fields.Char("Address"), 'get_hub_full_address')

    def get_hub_full_address(self, name):
        city = self.hub_city.name if self.hub_city else None
        street = self.hub_street or ''
        if city and city not in street:
            street = ', '.join(p for p in (city, street) if p)
        return street or self.name


class RequestGoodsStart(metaclass=PoolMeta):
    __name__ = 'order_hub.order.request_goods.start'

    delivery_type = fields.Selection(
        DELIVERY_TYPES, "Delivery Type", required=True)
    carrier = fields.Selection('get_carriers', "Carrier",
        states={'invisible': Eval('delivery_type') == 'shop_pickup'},
        help="May be chosen later, on the shipment.")
    stock_levels = fields.One2Many(
        'order_hub.stock', None, "Stock per Warehouse", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # a carrier may collect from the sending shop itself
        cls.to_warehouse.required = False
        cls.to_warehouse.states = {
            'required': Eval('delivery_type') == 'shop_pickup'}
        cls.to_warehouse.help = ("The pickup shop; for a carrier, the "
            "warehouse it collects from (empty: the sending one).")

    @classmethod
    def get_carriers(cls):
        return Pool().get('order_shipments.shipment').get_carriers()


class RequestGoodsDone(metaclass=PoolMeta):
    __name__ = 'order_hub.order.request_goods.done'

    shipment = fields.Many2One(
        'order_shipments.shipment', "Shipment", readonly=True)


class RequestGoods(metaclass=PoolMeta):
    """«Запросить товар» makes the transfer request and the shipment of
    the goods together"""
    __name__ = 'order_hub.order.request_goods'

    def default_start(self, fields):
        pool = Pool()
        StockLevel = pool.get('order_hub.stock')
        Shipment = pool.get('order_shipments.shipment')
        values = super().default_start(fields)
        order = self.record
        values['lines'] = [{'product': l.product.id,
                'quantity': l.unshipped_quantity, 'order_line': l.id}
            for l in order.lines if l.unshipped_quantity > 0]
        delivery_type, carrier = DELIVERY_OF_SERVICE.get(
            order.delivery_service, ('shop_pickup', None))
        carriers = {c for c, _ in Shipment.get_carriers()}
        values['delivery_type'] = delivery_type
        values['carrier'] = carrier if carrier in carriers else None
        values['stock_levels'] = [s.id for s in StockLevel.search([
                    ('product', 'in', [l['product']
                            for l in values['lines']]),
                    ])]
        return values

    def transition_request(self):
        Shipment = Pool().get('order_shipments.shipment')
        start = self.start
        if any(not l.order_line for l in start.lines):
            raise ShipmentError(gettext(
                    'order_shipments.msg_request_line_not_in_order'))
        goods = [(l.order_line, l.quantity) for l in start.lines]
        shipment = Shipment.request_goods(self.record, goods,
            start.from_warehouse, start.to_warehouse, start.delivery_type,
            carrier=start.carrier, comment=start.comment)
        self.done.shipment = shipment
        self.done.transfer = shipment.transfers[0] \
            if shipment.transfers else None
        return 'done'

    def default_done(self, fields):
        shipment = self.done.shipment
        transfers = ', '.join(f'{t.number} ({t.state_string})'
            for t in shipment.transfers) or '—'
        return {'shipment': shipment.id,
            'transfer': self.done.transfer.id if self.done.transfer
            else None,
            'message': gettext('order_shipments.msg_request_done',
                shipment=shipment.number, goods=shipment.describe_goods(),
                source=shipment.from_warehouse.rec_name,
                delivery=shipment.delivery_type_string,
                transfers=transfers, state=shipment.state_string)}
