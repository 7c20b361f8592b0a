"""The mirror of free stock per warehouse.

1C UT11 owns stock: the hub keeps, per product variant and warehouse, the
free quantity 1C last reported and the quantity the hub itself has reserved
since.  Free for the hub = quantity − reserved_quantity.
"""
import datetime as dt
from decimal import Decimal

from sql import For, Literal, Null
from sql.aggregate import Max, Sum
from sql.conditionals import Coalesce

from trytond import backend
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from trytond.modules.hub_common import utcnow

from .bulk import (
    batched, clear_cache, in_, insert_values, update_column, update_rows)

# the hub's own sources; each integration appends its system in __setup__
SOURCES = [
    ('demo', "Demo Data"),
    ('manual', "Entered by Hand"),
    ]


class _Alias:
    "A table in FOR UPDATE OF: by its alias in the query (python-sql gives the name)"
    def __init__(self, table):
        self.table = table

    def __str__(self):
        return f'"{self.table.alias}"'


class StockLevel(ModelSQL, ModelView):
    "Stock per Warehouse"
    __name__ = 'order_hub.stock'

    product = fields.Many2One(
        'product.product', "Product", required=True, readonly=True,
        ondelete='CASCADE')
    warehouse = fields.Many2One(
        'stock.location', "Warehouse", required=True, readonly=True,
        ondelete='CASCADE', domain=[('type', '=', 'warehouse')])
    quantity = fields.Numeric(
        "Free in 1C", digits=(16, 0), required=True, readonly=True,
        help="Free quantity as 1C UT11 last reported it.")
    reserved_quantity = fields.Numeric(
        "Reserved by the Hub", digits=(16, 0), required=True, readonly=True,
        help="Reserved in the hub and not yet reflected in 1C's figures.")
    free_quantity = fields.Function(
        fields.Numeric("Free", digits=(16, 0)), 'get_free_quantity')
    updated_at = fields.DateTime("Updated", required=True, readonly=True)
    # to the microsecond: compared with when a load read 1C's figures
    adjusted_at = fields.Timestamp(
        "Adjusted by the Hub", readonly=True,
        help="When the hub last anticipated 1C's figure (an order 1C "
        "reserved since its last report).")
    source = fields.Selection(SOURCES, "Source", required=True, readonly=True)
    load_mark = fields.Integer(
        "Full Load", readonly=True,
        help="The number of the source's last full load that reported "
        "this level.")
    city = fields.Function(
        fields.Many2One('order_hub.city', "City"), 'get_city')
    distance = fields.Function(
        fields.Integer("Distance, km",
            help="From the order's delivery city."), 'get_distance')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('product_warehouse_unique', Unique(t, t.product, t.warehouse),
                'order_hub.msg_stock_level_unique'),
            ]
        if backend.name == 'sqlite':
            # the unique constraint is this index elsewhere; SQLite gets
            # no SQL constraint from Tryton
            cls._sql_indexes.add(Index(
                    t, (t.product, Index.Equality()),
                    (t.warehouse, Index.Equality())))
        cls._order = [('product', 'ASC'), ('warehouse', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_reserved_quantity(cls):
        return Decimal(0)

    def get_free_quantity(self, name):
        # Never below zero: when 1C's figure fell under what the hub holds
        # (refused or short orders), nothing is free, not "minus" something
        return max(self.quantity - self.reserved_quantity, Decimal(0))

    @staticmethod
    def order_free_quantity(tables):
        table, _ = tables[None]
        return [table.quantity - table.reserved_quantity]

    def get_city(self, name):
        return self.warehouse.hub_city

    def get_distance(self, name):
        City = Pool().get('order_hub.city')
        city = Transaction().context.get('hub_city')
        if not city or city < 0 or not self.warehouse.hub_city:
            return None
        return round(City(city).distance_to(self.warehouse.hub_city))

    @classmethod
    def set_levels(cls, rows, source='ut11', when=None, batch=2000,
            read_at=None, mark=None):
        """Record free quantities reported by 1C, in bulk.

        rows: iterable of (product id, warehouse id, quantity), streamed in
        batches; existing levels are updated (the hub's reserved quantities
        are kept), missing ones created.  Plain SQL: a full load from 1C
        writes millions of rows.  Returns the number of rows written.

        read_at: when the figures were read from 1C.  A level the hub
        adjusted since (``shift_quantities``: 1C took an order's reserve
        after the read) keeps the hub's figure — 1C's figure read before
        would count that reserve as free again.  The next refresh brings
        1C's figure with the reserve in it.

        mark: the number of a full load (``next_load_mark``), stored on
        every level written, for ``zero_unreported`` afterwards.
        """
        when = when or utcnow()
        written = 0
        for chunk in batched(rows, batch):
            levels = {(int(p), int(w)): Decimal(q) for p, w, q in chunk}
            existing, adjusted = cls._existing_levels(levels, read_at)
            cls._update_levels(
                [(levels[k], id_) for k, id_ in existing.items()
                    if id_ not in adjusted],
                source, when, mark)
            cls._insert_levels(
                [(k, q) for k, q in levels.items() if k not in existing],
                source, when, mark)
            written += len(levels) - len(adjusted)
        cls._clear_cache(None)
        return written

    @classmethod
    def next_load_mark(cls):
        "A number for a new full load, greater than every stored one"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(Max(table.load_mark)))
        last, = cursor.fetchone()
        return (last or 0) + 1

    @classmethod
    def zero_unreported(cls, source, warehouses, mark, read_at, when=None):
        """Zero the levels of these warehouses from source that the full
        load numbered mark did not report: a source that lists only what
        it holds says "none" by leaving a row out.

        Kept: a level the hub adjusted after read_at (as in set_levels) and
        one written by anybody since the load read its figures (a refresh
        of changed stock is newer than the load's snapshot).  Stored times
        may be rounded to the second (PostgreSQL's timestamp(0)), so
        "since" counts from a second before read_at: in doubt, keep the
        figure; the next refresh or full load corrects it.  Returns the
        number of levels zeroed."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        # PostgreSQL rounds a timestamp(0) to the nearest second: a write
        # just after read_at may be stored up to half a second before it
        since = read_at - dt.timedelta(seconds=1)
        where = ((table.source == source)
            & in_(table.warehouse, list(warehouses))
            & (table.quantity != 0)
            & ((table.load_mark == Null) | (table.load_mark != mark))
            & (table.updated_at < since)
            & ((table.adjusted_at == Null) | (table.adjusted_at <= read_at)))
        cursor.execute(*table.select(table.id, where=where))
        ids = [i for i, in cursor]
        if ids:
            update_rows(cls, ['quantity', 'updated_at'],
                [(i, [Decimal(0), when or utcnow()]) for i in ids])
            cls._clear_cache(None)
        return len(ids)

    @classmethod
    def _existing_levels(cls, levels, read_at=None):
        """{(product, warehouse): id} of the levels that exist, and the ids
        of those the hub adjusted after read_at"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        # both filters: 1C sends a warehouse at a time, products alone
        # would read every warehouse of them
        cursor.execute(*table.select(table.id, table.product, table.warehouse,
                table.adjusted_at,
                where=in_(table.product, {p for p, _ in levels})
                & in_(table.warehouse, {w for _, w in levels})))
        existing, adjusted = {}, set()
        for id_, p, w, adjusted_at in cursor:
            if (p, w) in levels:
                existing[p, w] = id_
                if read_at and adjusted_at and adjusted_at > read_at:
                    adjusted.add(id_)
        return existing, adjusted

    @classmethod
    def _update_levels(cls, values, source, when, mark=None):
        if mark is None:
            update_rows(cls, ['quantity', 'updated_at', 'source'],
                [(id_, [quantity, when, source]) for quantity, id_ in values])
        else:
            update_rows(cls, ['quantity', 'updated_at', 'source', 'load_mark'],
                [(id_, [quantity, when, source, mark])
                    for quantity, id_ in values])

    @classmethod
    def _insert_levels(cls, values, source, when, mark=None):
        insert_values(cls, ['product', 'warehouse', 'quantity',
                'reserved_quantity', 'updated_at', 'source', 'load_mark'],
            ((p, w, q, 0, when, source, mark) for (p, w), q in values))

    @classmethod
    def shift_quantities(cls, deltas):
        """Add delta to the quantity of each (product, warehouse, delta):
        the hub anticipates what 1C's next figures will say."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        now = utcnow()
        for product, warehouse, delta in deltas:
            cursor.execute(*table.update([table.quantity, table.adjusted_at],
                    [table.quantity + delta, now],
                    where=(table.product == product)
                    & (table.warehouse == warehouse)))
        if deltas:
            cls._clear_cache(None)

    @classmethod
    def lock_products(cls, product_ids):
        """Lock every level of the products, in id order, until commit.

        A waiting lock taken in a fixed order: two reservations of the same
        goods run one after the other instead of failing or deadlocking.
        """
        transaction = Transaction()
        if transaction.database.has_select_for():
            table = cls.__table__()
            cursor = transaction.connection.cursor()
            cursor.execute(*table.select(table.id,
                    where=table.product.in_(sorted(product_ids)),
                    order_by=table.id, for_=For('UPDATE')))
            cursor.fetchall()

    @classmethod
    def free_by_warehouse(cls, product_ids):
        """{(product, warehouse): free quantity} from a fresh reservation sum,
        and {level id: reserved quantity} where the stored one differs"""
        pool = Pool()
        Reservation = pool.get('order_hub.reservation')
        level = cls.__table__()
        reservation = Reservation.__table__()
        reserved = reservation.select(
            reservation.product, reservation.warehouse,
            Sum(reservation.quantity).as_('reserved'),
            where=Reservation.counted_condition(reservation)
            & reservation.product.in_(list(product_ids)),
            group_by=[reservation.product, reservation.warehouse])
        cursor = Transaction().connection.cursor()
        cursor.execute(*level.join(reserved, 'LEFT',
                condition=(reserved.product == level.product)
                & (reserved.warehouse == level.warehouse)
                ).select(level.id, level.product, level.warehouse,
                level.quantity, Coalesce(reserved.reserved, Literal(0)),
                level.reserved_quantity,
                where=level.product.in_(list(product_ids))))
        free, changed = {}, {}
        for id_, product, warehouse, quantity, reserved, stored in cursor:
            free[product, warehouse] = Decimal(quantity) - Decimal(reserved)
            if Decimal(reserved) != Decimal(stored):
                changed[id_] = Decimal(reserved)
        return free, changed

    @classmethod
    def lock_free(cls, product_ids):
        """lock_products and free_by_warehouse in one statement, for
        reserving: {(product, warehouse): free quantity} and the levels
        {(product, warehouse): (id, stored reserved quantity, reserved
        quantity counted now)} for store_counted.

        The rows are locked in id order as lock_products does; PostgreSQL
        runs in REPEATABLE READ, so the sum read with the lock is the one a
        later statement of the transaction would read."""
        pool = Pool()
        Reservation = pool.get('order_hub.reservation')
        level = cls.__table__()
        reservation = Reservation.__table__()
        products = sorted(product_ids)
        reserved = reservation.select(
            reservation.product, reservation.warehouse,
            Sum(reservation.quantity).as_('reserved'),
            where=Reservation.counted_condition(reservation)
            & in_(reservation.product, products),
            group_by=[reservation.product, reservation.warehouse])
        transaction = Transaction()
        for_ = (For('UPDATE', _Alias(level))
            if transaction.database.has_select_for() else None)
        cursor = transaction.connection.cursor()
        cursor.execute(*level.join(reserved, 'LEFT',
                condition=(reserved.product == level.product)
                & (reserved.warehouse == level.warehouse)
                ).select(level.id, level.product, level.warehouse,
                level.quantity, Coalesce(reserved.reserved, Literal(0)),
                level.reserved_quantity,
                where=in_(level.product, products),
                order_by=level.id, for_=for_))
        free, levels = {}, {}
        for id_, product, warehouse, quantity, reserved, stored in cursor:
            free[product, warehouse] = Decimal(quantity) - Decimal(reserved)
            levels[product, warehouse] = (
                id_, Decimal(stored), Decimal(reserved))
        return free, levels

    @classmethod
    def store_counted(cls, levels, added):
        """store_reserved without reading again: levels as lock_free gave
        them, added [(product, warehouse, quantity)] reserved since"""
        reserved = {k: counted for k, (_, _, counted) in levels.items()}
        for product, warehouse, quantity in added:
            reserved[product, warehouse] += quantity
        cls._write_reserved({levels[k][0]: q for k, q in reserved.items()
                if q != levels[k][1]})

    @classmethod
    def store_reserved(cls, product_ids):
        """Write the hub's reserved quantity on each level of the products.

        Writing the locked rows also makes a concurrent transaction that read
        them earlier fail to serialize and retry, instead of overselling.
        """
        _, changed = cls.free_by_warehouse(product_ids)
        cls._write_reserved(changed)

    @classmethod
    def _write_reserved(cls, changed):
        "Store {level id: reserved quantity} with one statement"
        update_column(cls, 'reserved_quantity', changed)
        if changed:
            cls._clear_cache(cls.browse(list(changed)))

    @classmethod
    def _clear_cache(cls, levels):
        "Drop what the transaction cached of levels (all when None)"
        clear_cache(cls, None if levels is None else [l.id for l in levels])
