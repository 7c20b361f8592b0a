"""Reservations of order lines on warehouses, nearest to the customer first,
and the movement log of the reserved items.

Every change of a reservation takes the stock locks of its products first
(``StockLevel.lock_products``), recomputes free stock from the reservation
records, and writes the movement log and the order's action log itself.
"""
from decimal import Decimal

from sql import Column, Literal, Null, Union
from sql.conditionals import Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.ir.lang import get_parent_language as get_translation_parent
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from trytond.modules.hub_common import is_whole_positive, utcnow

from .action_log import format_number
from .bulk import clear_cache, in_, insert_rows, insert_unnest, update_rows
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
        t = cls.__table__()
        # free stock sums the reservations of products per warehouse
        cls._sql_indexes.add(Index(t,
                (t.product, Index.Equality()),
                (t.warehouse, Index.Equality())))
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

        This runs on every payment and every edit, so it reads and writes
        with a fixed handful of SQL statements whatever the number of
        lines: what the lines miss and hold, the products' stock levels
        locked and read in one statement (``StockLevel.lock_free``), the
        new reservations, the levels' reserved quantities and the two logs.
        The values are made here, so the ORM's per-record checks are
        skipped (as for the logs): extend this method, not ``create``.
        """
        pool = Pool()
        Order = pool.get('order_hub.order')
        StockLevel = pool.get('order_hub.stock')
        records = {l.id: l for l in lines}
        if not records:     # an edit outside assembling: nothing to ask
            return {}
        wanted, held = cls._missing(records)
        orders = {}
        for order_id in dict.fromkeys(o for _, o, _, _ in wanted):
            order = Order(order_id)
            if order.reservation_city:
                orders[order_id] = (order, order.warehouses_by_distance())
        wanted = [w for w in wanted if w[1] in orders]
        if not wanted:
            return {}
        free, levels = StockLevel.lock_free({p for _, _, p, _ in wanted})
        vlist, shortages = [], {}
        for line, order_id, product, missing in wanted:
            order, warehouses = orders[order_id]
            taken, missing = order.allocate_quantity(
                line, product, missing, free, warehouses)
            vlist.extend(taken)
            if missing:
                shortages[records[line]] = missing
        reservations = cls._create_or_add(vlist, held)
        StockLevel.store_counted(levels, [
                (r['product'], r['warehouse'], q) for r, q in reservations
                if cls._reduces_free_stock(r)])
        cls._log_reserved(reservations)
        return shortages

    # reservations while reserving: plain dicts of column values (relations
    # as ids); ORM records of them would cost more than their SQL
    _COLUMNS = ['order', 'line', 'product', 'warehouse', 'quantity',
        'status', 'distance', 'reason', 'in_mirror']

    @classmethod
    def _missing(cls, lines):
        """What lines {id: line} miss and what they hold, in one query:
        [(line, order, product, missing quantity)] of the lines missing
        something, in the order of lines, and {(line, warehouse):
        reservation values} of the reservations new ones add to"""
        Line = Pool().get('order_hub.order.line')
        line, reservation = Line.__table__(), cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.join(reservation, 'LEFT',
                condition=(reservation.line == line.id)
                & (reservation.active == Literal(True))).select(
                line.id, line.order, line.product, line.quantity,
                reservation.id,
                *(Column(reservation, c) for c in cls._COLUMNS),
                where=in_(line.id, list(lines)),
                order_by=[reservation.id]))
        values, reserved, held = {}, {}, {}
        status = cls.default_status()
        for line_id, order, product, quantity, id_, *row in cursor:
            values[line_id] = (order, product, Decimal(quantity))
            if id_ is None:
                continue
            row = dict(zip(cls._COLUMNS, row), id=id_)
            row['quantity'] = Decimal(row['quantity'])
            reserved[line_id] = reserved.get(line_id, 0) + row['quantity']
            if row['status'] == status:
                # the last one, as a search in the order of ids gave it
                held[line_id, row['warehouse']] = row
        wanted = []
        for line_id in lines:
            if line_id not in values:
                continue
            order, product, quantity = values[line_id]
            missing = max(quantity - reserved.get(line_id, 0), Decimal(0))
            if missing > 0:
                wanted.append((line_id, order, product, missing))
        return wanted, held

    @classmethod
    def _reduces_free_stock(cls, values):
        "counted_condition for the values of an active reservation"
        return values['status'] in HELD_STATUSES and not values['in_mirror']

    @classmethod
    def _create_or_add(cls, vlist, held=None):
        """Create reservations, adding to a line's reservation already held
        at the same warehouse; returns [(reservation values, quantity just
        added)]

        held: {(line, warehouse): reservation values} (read when None)."""
        if held is None:
            held = {(r.line.id, r.warehouse.id): {
                    'id': r.id, **{c: getattr(r, c) for c in cls._COLUMNS},
                    'order': r.order.id, 'line': r.line.id,
                    'product': r.product.id, 'warehouse': r.warehouse.id}
                for r in cls.search([
                        ('line', 'in', list({v['line'] for v in vlist})),
                        ('status', '=', cls.default_status()),
                        ])}
        to_create, to_write, added = [], {}, []
        for values in vlist:
            reservation = held.get((values['line'], values['warehouse']))
            if reservation:
                reservation['quantity'] += values['quantity']
                to_write[reservation['id']] = reservation['quantity']
                added.append((reservation, values['quantity']))
            else:
                to_create.append(values)
        update_rows(cls, ['quantity'],
            [(id_, [quantity]) for id_, quantity in to_write.items()])
        created = cls._insert(to_create)
        if to_write or created:
            clear_cache(cls)
        return added + [(r, r['quantity']) for r in created]

    @classmethod
    def _insert(cls, vlist):
        """Insert reservations made by reserve_lines (one per line and
        warehouse) with one statement; returns their values with the id"""
        if not vlist:
            return []
        table = cls.__table__()
        transaction = Transaction()
        user, now = transaction.user, utcnow()
        vlist = [{'status': cls.default_status(),
                'in_mirror': cls.default_in_mirror(), **v} for v in vlist]
        columns = [*cls._COLUMNS, 'active', 'create_uid', 'create_date']
        rows = [[v[c] for c in cls._COLUMNS] + [True, user, now]
            for v in vlist]
        if backend.name == 'postgresql':
            # the new rows are told apart by line and warehouse
            ids = {(l, w): id_ for id_, l, w in insert_unnest(
                    cls, columns, rows, returning=['id', 'line', 'warehouse'])}
        else:
            ids = {}
            cursor = transaction.connection.cursor()
            for row, values in zip(rows, vlist):
                cursor.execute(*table.insert(
                        [Column(table, c) for c in columns], [row]))
                ids[values['line'], values['warehouse']] = cursor.lastrowid
        for values in vlist:
            values['id'] = ids[values['line'], values['warehouse']]
        return vlist

    @classmethod
    def _log_reserved(cls, reservations):
        "Log [(reservation values, quantity added)]"
        pool = Pool()
        Movement = pool.get('order_hub.item.movement')
        ActionLog = pool.get('order_hub.action_log')
        if not reservations:
            return
        # names read once, not per reservation
        products, warehouses = cls.rec_names(
            {r['product'] for r, _ in reservations},
            {r['warehouse'] for r, _ in reservations})
        # the messages' texts looked up once, filled in per reservation
        moved = gettext('order_hub.msg_movement_reserved')
        logged = gettext('order_hub.msg_log_reserved')
        Movement.add_rows({'reservation': r['id'], 'order': r['order'],
                'product': r['product'], 'location': r['warehouse'],
                'status': r['status'], 'description': moved % {
                    'quantity': format_number(q), 'reason': r['reason']}}
            for r, q in reservations)
        # one log entry per order for the whole reservation
        by_order = {}
        for r, q in reservations:
            by_order.setdefault(r['order'], []).append(logged % {
                    'product': products[r['product']],
                    'quantity': format_number(q),
                    'warehouse': warehouses[r['warehouse']],
                    'reason': r['reason']})
        ActionLog.add((order, 'reservation', '; '.join(parts))
            for order, parts in by_order.items())

    @classmethod
    def rec_names(cls, products, warehouses):
        """rec_name of products and of warehouses (ids), with one query:
        ({product id: name}, {warehouse id: name}).

        The ORM reads them a model at a time with every eager field and
        costs several times the rest of a reservation.  Same names as
        product.product's rec_name (with order_hub's size suffix) and
        stock.location's, the names translated as the ORM reads them; a
        module that changes those rec_names changes this too (a test
        compares them)."""
        pool = Pool()
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        Location = pool.get('stock.location')
        Translation = pool.get('ir.translation')
        language = Transaction().language
        product, template = Product.__table__(), Template.__table__()
        location = Location.__table__()

        def translated(table, name, query, id_):
            if get_translation_parent(language):
                # parent languages: the ORM's own lookup, below
                return query, Column(table, 'name')
            translation = Translation.__table__()
            query = query.join(translation, 'LEFT',
                condition=(translation.lang == language)
                & (translation.type == 'model')
                & (translation.name == name)
                & (translation.res_id == id_)
                & (translation.fuzzy == Literal(False))
                & (translation.value != '')
                & (translation.value != Null))
            return query, Coalesce(translation.value, Column(table, 'name'))
        query, name = translated(template, 'product.template,name',
            product.join(template,
                condition=product.template == template.id), template.id)
        products_query = query.select(Literal('p'), product.id,
            product.code, product.hub_size, name, template.id,
            where=in_(product.id, list(products)))
        query, name = translated(location, 'stock.location,name',
            location, location.id)
        warehouses_query = query.select(Literal('w'), location.id,
            location.code, Literal(None), name, location.id,
            where=in_(location.id, list(warehouses)))
        cursor = Transaction().connection.cursor()
        cursor.execute(*Union(products_query, warehouses_query, all_=True))
        rows = cursor.fetchall()
        if get_translation_parent(language):
            for kind, model in [('p', 'product.template'),
                    ('w', 'stock.location')]:
                names = Translation.get_ids(f'{model},name', 'model',
                    language, [r[5] for r in rows if r[0] == kind])
                rows = [(*r[:4], names.get(r[5]) or r[4], r[5])
                    if r[0] == kind else r for r in rows]
        product_names, warehouse_names = {}, {}
        for kind, id_, code, size, name, _ in rows:
            if code:
                name = f'[{code}] {name}'
            if kind == 'w':
                warehouse_names[id_] = name
                continue
            if size and not (code or '').endswith(size):
                name = f'{name}, {size}'
            product_names[id_] = name
        return product_names, warehouse_names

    @classmethod
    def orders_holding(cls, orders):
        "Ids of those orders that hold an active reservation, in one query"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.order,
                where=in_(table.order, [o.id for o in orders])
                & (table.active == Literal(True)),
                group_by=[table.order]))
        return {o for o, in cursor}

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
        cls.add_rows({
                'reservation': r.id, 'order': r.order.id,
                'product': r.product.id, 'location': location.id,
                'status': r.status, 'description': description,
                } for r, location, description in entries)

    @classmethod
    def add_rows(cls, rows):
        """Record entries given as values: an iterable of dicts of
        reservation, order, product, location (ids), status, description"""
        user = Transaction().user or None
        now = utcnow()
        insert_rows(cls, [{**row, 'user': user, 'date': now}
                for row in rows])


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
        """[(warehouse, km)] nearest first (coordinates of the warehouses
        and of the destination read in one query)"""
        pool = Pool()
        Location = pool.get('stock.location')
        City = pool.get('order_hub.city')
        location, city = Location.__table__(), City.__table__()
        destination = City.__table__()
        if not self.reservation_city:
            return []
        cursor = Transaction().connection.cursor()
        cursor.execute(*location.join(city,
                condition=location.hub_city == city.id).join(destination,
                condition=destination.id == self.reservation_city.id).select(
                location.id, location.name, city.latitude, city.longitude,
                destination.latitude, destination.longitude,
                where=(location.type == 'warehouse')
                & (location.active == Literal(True))))
        rows = sorted((round(distance_km(to_lat, to_lon, lat, lon)), name,
                id_) for id_, name, lat, lon, to_lat, to_lon in cursor)
        return [(Location(id_), km) for km, _, id_ in rows]

    def allocate(self, line, free, warehouses):
        """Values of new reservations for the line's missing quantity, taken
        from free {(product, warehouse): quantity} (which is updated), and
        the quantity still missing."""
        return self.allocate_quantity(line.id, line.product.id,
            line.missing_quantity, free, warehouses)

    def allocate_quantity(self, line, product, needed, free, warehouses):
        """allocate() for a line given by its id, product id and missing
        quantity"""
        vlist = []
        # gettext without values gives the text: looked up once a line
        nearest = next_ = None
        for warehouse, km in warehouses:
            if needed <= 0:
                break
            key = (product, warehouse.id)
            take = min(needed, free.get(key, Decimal(0)))
            if take <= 0:
                continue
            free[key] -= take
            needed -= take
            if vlist:
                next_ = next_ or gettext('order_hub.msg_reason_next')
                reason = next_ % {'km': km}
            else:
                nearest = nearest or gettext('order_hub.msg_reason_nearest')
                reason = nearest % {'km': km}
            vlist.append({
                    'order': self.id, 'line': line,
                    'product': product, 'warehouse': warehouse.id,
                    'quantity': take, 'distance': km, 'reason': reason,
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
