"""The mirror of free stock per warehouse.

1C UT11 owns stock: the hub keeps, per product variant and warehouse, the
free quantity 1C last reported and the quantity the hub itself has reserved
since.  Free for the hub = quantity − reserved_quantity.
"""
import datetime as dt
from decimal import Decimal

from sql import For, Literal
from sql.aggregate import Sum
from sql.conditionals import Coalesce

from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

SOURCES = [
    ('demo', "Demo Data"),
    ('ut11', "1C UT11"),
    ('manual', "Entered by Hand"),
    ]


def utcnow():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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
    source = fields.Selection(SOURCES, "Source", required=True, readonly=True)
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
        # the reservation reads every warehouse of a few products
        cls._sql_indexes.add(Index(
                t, (t.product, Index.Equality()),
                (t.warehouse, Index.Equality())))
        cls._order = [('product', 'ASC'), ('warehouse', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_reserved_quantity(cls):
        return Decimal(0)

    def get_free_quantity(self, name):
        return self.quantity - self.reserved_quantity

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
    def set_levels(cls, rows, source='ut11', when=None):
        """Record free quantities reported by 1C.

        rows: iterable of (product id, warehouse id, quantity).  Existing
        levels are updated, missing ones created; the hub's own reserved
        quantities are kept.
        """
        when = when or utcnow()
        rows = {(p, w): Decimal(q) for p, w, q in rows}
        existing = {(l.product.id, l.warehouse.id): l
            for l in cls.search([('product', 'in', list({p for p, _ in rows}))])
            if (l.product.id, l.warehouse.id) in rows}
        to_write = []
        for key, level in existing.items():
            to_write.extend([[level], {'quantity': rows.pop(key),
                        'updated_at': when, 'source': source}])
        if to_write:
            cls.write(*to_write)
        cls.create([{'product': p, 'warehouse': w, 'quantity': q,
                    'updated_at': when, 'source': source}
                for (p, w), q in rows.items()])

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
        "{(product, warehouse): free quantity} from a fresh reservation sum"
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
                where=level.product.in_(list(product_ids))))
        free, counted = {}, {}
        for id_, product, warehouse, quantity, reserved in cursor:
            free[product, warehouse] = Decimal(quantity) - Decimal(reserved)
            counted[id_] = Decimal(reserved)
        return free, counted

    @classmethod
    def store_reserved(cls, product_ids):
        """Write the hub's reserved quantity on each level of the products.

        Writing the locked rows also makes a concurrent transaction that read
        them earlier fail to serialize and retry, instead of overselling.
        """
        _, counted = cls.free_by_warehouse(product_ids)
        levels = cls.browse(list(counted))
        changed = [l for l in levels
            if l.reserved_quantity != counted[l.id]]
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for level in changed:
            cursor.execute(*table.update([table.reserved_quantity],
                    [counted[level.id]], where=table.id == level.id))
        if changed:
            cls._clear_cache(changed)

    @classmethod
    def _clear_cache(cls, levels):
        # written with SQL above: drop what the transaction cached
        for cache in Transaction().cache.values():
            for level in levels:
                cache.get(cls.__name__, {}).pop(level.id, None)
