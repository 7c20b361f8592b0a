"""Reservations of order lines on warehouses, nearest to the customer first,
and the movement log of the reserved items.

Every change of a reservation takes the stock locks of its products first
(``StockLevel.lock_products``), recomputes free stock from the reservation
records, and writes the movement log and the order's action log itself.
"""
from decimal import Decimal

from sql import Literal

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from trytond.modules.hub_common import is_whole_positive, utcnow

from .action_log import format_number
from .bulk import insert_rows
from .exceptions import ReservationError, ReservationReadOnly
from .geo import distance_km
from .status import ITEM_STATES

# item statuses whose goods still sit in the warehouse's free stock figures
HELD_STATUSES = ('requested', 'assembling', 'relabeling')


class Reservation(DeactivableMixin, ModelSQL, ModelView):
    "Reserved Items"
    __name__ = 'order_hub.reservation'

    order = fields.Many2One(
        'order_hub.order', "Order", required=True, readonly=True,
        ondelete='RESTRICT')
    line = fields.Many2One(
        'order_hub.order.line', "Order Line", readonly=True,
        ondelete='SET NULL',
        help="Empty once the line was removed from the order.")
    product = fields.Many2One(
        'product.product', "Product", required=True, readonly=True,
        ondelete='RESTRICT')
    # set by the code only: no domain to validate on every reservation
    warehouse = fields.Many2One(
        'stock.location', "Warehouse", required=True, readonly=True,
        ondelete='RESTRICT')
    quantity = fields.Numeric(
        "Quantity", digits=(16, 0), required=True, readonly=True)
    status = fields.Selection(
        ITEM_STATES, "Item Status", required=True, readonly=True, sort=False)
    status_string = status.translated('status')
    distance = fields.Integer("Distance, km", readonly=True)
    # Text, not Char: validating a Char reads every eager field back
    reason = fields.Text("Why Here", readonly=True)
    in_mirror = fields.Boolean(
        "In 1C Figures", readonly=True,
        help="1C's free stock already accounts for this reservation.")
    movements = fields.One2Many(
        'order_hub.item.movement', 'reservation', "Movement Log",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # no __access__ from the order: its rules would widen the shop rule
        cls._order = [('order', 'DESC'), ('distance', 'ASC'), ('id', 'ASC')]
        cls._buttons.update({
                'release': {
                    'invisible': ~Eval('active', False),
                    'depends': ['active'],
                    },
                'move_wizard': {
                    'invisible': ~Eval('active', False),
                    'depends': ['active'],
                    },
                })

    @classmethod
    def default_status(cls):
        return 'assembling'

    @classmethod
    def default_in_mirror(cls):
        return False

    def get_rec_name(self, name):
        return gettext('order_hub.msg_reservation_rec_name',
            product=self.product.rec_name,
            quantity=format_number(self.quantity),
            warehouse=self.warehouse.rec_name)

    @classmethod
    def counted_condition(cls, table):
        "SQL condition of the reservations that reduce the hub's free stock"
        return ((table.active == Literal(True))
            & table.status.in_(HELD_STATUSES)
            & (table.in_mirror == Literal(False)))

    @classmethod
    def check_modification(cls, mode, reservations, values=None,
            external=False):
        super().check_modification(
            mode, reservations, values=values, external=external)
        if external and mode in {'create', 'write', 'delete'}:
            # only the methods below change reservations, with their locks
            raise ReservationReadOnly(gettext(
                    'order_hub.msg_reservation_use_actions'))

    # -- reserving ---------------------------------------------------------
    @classmethod
    def reserve_lines(cls, lines):
        """Reserve what each line misses, nearest warehouse first.

        Returns {line: missing quantity} for the lines that could not be
        fully reserved; what could be reserved stays reserved.
        """
        pool = Pool()
        StockLevel = pool.get('order_hub.stock')
        lines = [l for l in lines
            if l.missing_quantity > 0 and l.order.reservation_city]
        if not lines:
            return {}
        products = {l.product.id for l in lines}
        StockLevel.lock_products(products)
        free, _ = StockLevel.free_by_warehouse(products)
        vlist, shortages, nearest = [], {}, {}
        for line in lines:
            order = line.order
            if order not in nearest:
                nearest[order] = order.warehouses_by_distance()
            taken, missing = order.allocate(line, free, nearest[order])
            vlist.extend(taken)
            if missing:
                shortages[line] = missing
        reservations = cls._create_or_add(vlist)
        StockLevel.store_reserved(products)
        cls._log_reserved(reservations)
        return shortages

    @classmethod
    def _create_or_add(cls, vlist):
        """Create reservations, adding to a line's reservation already held
        at the same warehouse; returns them with the quantity just added"""
        held = {(r.line.id, r.warehouse.id): r for r in cls.search([
                    ('line', 'in', list({v['line'] for v in vlist})),
                    ('status', '=', cls.default_status()),
                    ])}
        to_create, to_write, added = [], [], []
        for values in vlist:
            reservation = held.get((values['line'], values['warehouse']))
            if reservation:
                to_write.extend([[reservation], {
                            'quantity': reservation.quantity
                            + values['quantity']}])
                added.append((reservation, values['quantity']))
            else:
                to_create.append(values)
        with without_check_access():
            if to_write:
                cls.write(*to_write)
            created = cls.create(to_create)
        return added + [(r, r.quantity) for r in created]

    @classmethod
    def _log_reserved(cls, reservations):
        "Log [(reservation, quantity added)]"
        Movement = Pool().get('order_hub.item.movement')
        ActionLog = Pool().get('order_hub.action_log')
        Movement.add((r, r.warehouse, gettext(
                    'order_hub.msg_movement_reserved',
                    quantity=format_number(q), reason=r.reason))
            for r, q in reservations)
        # one log entry per order for the whole reservation
        by_order = {}
        for r, q in reservations:
            by_order.setdefault(r.order, []).append(gettext(
                    'order_hub.msg_log_reserved', product=r.product.rec_name,
                    quantity=format_number(q),
                    warehouse=r.warehouse.rec_name, reason=r.reason))
        ActionLog.add((order, 'reservation', '; '.join(parts))
            for order, parts in by_order.items())

    # -- releasing and reducing --------------------------------------------
    @classmethod
    @ModelView.button
    def release(cls, reservations, reason=None):
        "Give the reserved items back to the warehouse's free stock"
        reservations = [r for r in reservations if r.active]
        cls.reduce({r: r.quantity for r in reservations}, reason=reason)

    @classmethod
    def reduce(cls, amounts, reason=None):
        "Release amounts {reservation: quantity}; a whole one is deactivated"
        pool = Pool()
        StockLevel = pool.get('order_hub.stock')
        Movement = pool.get('order_hub.item.movement')
        ActionLog = pool.get('order_hub.action_log')
        amounts = {r: q for r, q in amounts.items() if q > 0}
        if not amounts:
            return
        products = {r.product.id for r in amounts}
        StockLevel.lock_products(products)
        to_write, movements, entries = [], [], []
        for reservation, quantity in amounts.items():
            left = reservation.quantity - quantity
            values = {'quantity': left} if left > 0 else {'active': False}
            to_write.extend([[reservation], values])
            text = gettext('order_hub.msg_movement_released',
                quantity=format_number(quantity),
                reason=reason or gettext('order_hub.msg_release_by_manager'))
            movements.append((reservation, reservation.warehouse, text))
            entries.append((reservation.order, 'reservation', gettext(
                        'order_hub.msg_log_released',
                        product=reservation.product.rec_name,
                        warehouse=reservation.warehouse.rec_name,
                        text=text)))
        with without_check_access():
            cls.write(*to_write)
        StockLevel.store_reserved(products)
        Movement.add(movements)
        ActionLog.add(entries)

    # -- moving ------------------------------------------------------------
    @classmethod
    @ModelView.button_action('order_hub.wizard_reservation_move')
    def move_wizard(cls, reservations):
        pass

    def move(self, warehouse, quantity):
        """Move quantity of this reservation to warehouse, within its free
        stock; returns the reservation now holding it there."""
        pool = Pool()
        StockLevel = pool.get('order_hub.stock')
        Movement = pool.get('order_hub.item.movement')
        ActionLog = pool.get('order_hub.action_log')
        self.check_move(warehouse, quantity)
        StockLevel.lock_products([self.product.id])
        free, _ = StockLevel.free_by_warehouse([self.product.id])
        available = free.get((self.product.id, warehouse.id), Decimal(0))
        if available < quantity:
            raise ReservationError(gettext(
                    'order_hub.msg_move_not_enough',
                    warehouse=warehouse.rec_name,
                    product=self.product.rec_name,
                    free=format_number(max(available, Decimal(0))),
                    quantity=format_number(quantity)))
        source = self.warehouse
        left = self.quantity - quantity
        with without_check_access():
            self.write([self], {'quantity': left} if left > 0
                else {'active': False})
            target, = self.create([{
                        'order': self.order.id,
                        'line': self.line.id if self.line else None,
                        'product': self.product.id,
                        'warehouse': warehouse.id, 'quantity': quantity,
                        'status': self.status,
                        'distance': self.order.distance_to(warehouse),
                        'reason': gettext('order_hub.msg_reason_moved',
                            warehouse=source.rec_name),
                        }])
        StockLevel.store_reserved([self.product.id])
        text = gettext('order_hub.msg_movement_moved',
            quantity=format_number(quantity), source=source.rec_name,
            target=warehouse.rec_name)
        Movement.add([(self, source, text), (target, warehouse, text)])
        ActionLog.add([(self.order, 'reservation', gettext(
                        'order_hub.msg_log_moved',
                        product=self.product.rec_name, text=text))])
        return target

    def check_move(self, warehouse, quantity):
        if not self.active:
            raise ReservationError(gettext(
                    'order_hub.msg_move_inactive', reservation=self.rec_name))
        if warehouse == self.warehouse:
            raise ReservationError(gettext(
                    'order_hub.msg_move_same_warehouse',
                    warehouse=warehouse.rec_name))
        if not is_whole_positive(quantity) or quantity > self.quantity:
            raise ReservationError(gettext(
                    'order_hub.msg_move_bad_quantity',
                    quantity=format_number(quantity or 0),
                    reserved=format_number(self.quantity)))
        self.order.check_lines_editable()


class Movement(ModelSQL, ModelView):
    "Item Movement"
    __name__ = 'order_hub.item.movement'

    reservation = fields.Many2One(
        'order_hub.reservation', "Reserved Items", required=True,
        readonly=True, ondelete='CASCADE')
    order = fields.Many2One(
        'order_hub.order', "Order", required=True, readonly=True,
        ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.DateTime("Date", required=True, readonly=True)
    location = fields.Many2One(
        'stock.location', "Location", required=True, readonly=True,
        ondelete='RESTRICT')
    user = fields.Many2One('res.user', "User", readonly=True)
    status = fields.Selection(
        ITEM_STATES, "Item Status", required=True, readonly=True, sort=False)
    description = fields.Char("What Happened", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def check_modification(cls, mode, movements, values=None,
            external=False):
        super().check_modification(
            mode, movements, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise ReservationReadOnly(gettext(
                    'order_hub.msg_movement_read_only'))

    @classmethod
    def add(cls, entries):
        "Record entries: an iterable of (reservation, location, description)"
        user = Transaction().user or None
        now = utcnow()
        vlist = [{
                'reservation': r.id, 'order': r.order.id,
                'product': r.product.id, 'location': location.id,
                'status': r.status, 'description': description,
                'user': user, 'date': now,
                } for r, location, description in entries]
        insert_rows(cls, vlist)


class OrderReservationMixin:
    "How an order places its lines on warehouses"
    __slots__ = ()

    @property
    def reservation_city(self):
        "Where the goods go: the pickup shop's city, else the delivery city"
        if self.delivery_service == 'pickup' and self.pickup_shop:
            return self.pickup_shop.hub_city
        return self.delivery_city

    def distance_to(self, warehouse):
        city = self.reservation_city
        if not city or not warehouse.hub_city:
            return None
        return round(city.distance_to(warehouse.hub_city))

    def warehouses_by_distance(self):
        "[(warehouse, km)] nearest first (coordinates read in one query)"
        pool = Pool()
        Location = pool.get('stock.location')
        City = pool.get('order_hub.city')
        location, city = Location.__table__(), City.__table__()
        destination = self.reservation_city
        if not destination:
            return []
        cursor = Transaction().connection.cursor()
        cursor.execute(*location.join(city,
                condition=location.hub_city == city.id).select(
                location.id, location.name, city.latitude, city.longitude,
                where=(location.type == 'warehouse')
                & (location.active == Literal(True))))
        rows = sorted((round(distance_km(destination.latitude,
                        destination.longitude, lat, lon)), name, id_)
            for id_, name, lat, lon in cursor)
        return [(Location(id_), km) for km, _, id_ in rows]

    def allocate(self, line, free, warehouses):
        """Values of new reservations for the line's missing quantity, taken
        from free {(product, warehouse): quantity} (which is updated), and
        the quantity still missing."""
        needed = line.missing_quantity
        vlist = []
        for warehouse, km in warehouses:
            if needed <= 0:
                break
            key = (line.product.id, warehouse.id)
            take = min(needed, free.get(key, Decimal(0)))
            if take <= 0:
                continue
            free[key] -= take
            needed -= take
            vlist.append({
                    'order': self.id, 'line': line.id,
                    'product': line.product.id, 'warehouse': warehouse.id,
                    'quantity': take, 'distance': km,
                    'reason': gettext(
                        'order_hub.msg_reason_next' if vlist
                        else 'order_hub.msg_reason_nearest', km=km),
                    })
        return vlist, needed



class MoveStart(ModelView):
    "Move Reservation"
    __name__ = 'order_hub.reservation.move.start'

    reservation = fields.Many2One(
        'order_hub.reservation', "Reserved Items", readonly=True)
    product = fields.Many2One('product.product', "Product", readonly=True)
    warehouse = fields.Many2One(
        'stock.location', "To Warehouse", required=True,
        domain=[('type', '=', 'warehouse'),
            ('id', '!=', Eval('current_warehouse', -1))])
    current_warehouse = fields.Many2One(
        'stock.location', "From Warehouse", readonly=True)
    quantity = fields.Numeric("Quantity", digits=(16, 0), required=True)
    stock_levels = fields.One2Many(
        'order_hub.stock', None, "Stock per Warehouse", readonly=True)


class Move(Wizard):
    "Move Reservation"
    __name__ = 'order_hub.reservation.move'

    start = StateView('order_hub.reservation.move.start',
        'order_hub.reservation_move_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Move", 'move', 'tryton-ok', default=True),
            ])
    move = StateTransition()

    def default_start(self, fields):
        StockLevel = Pool().get('order_hub.stock')
        reservation = self.record
        return {
            'reservation': reservation.id,
            'product': reservation.product.id,
            'current_warehouse': reservation.warehouse.id,
            'quantity': reservation.quantity,
            'stock_levels': [s.id for s in StockLevel.search(
                    [('product', '=', reservation.product.id)])],
            }

    def transition_move(self):
        self.record.move(self.start.warehouse, self.start.quantity)
        return 'end'
