"""Stock: a small ledger of on-hand stock and reserves standing in for the
accumulation registers, read through their Balance and Turnovers virtual
tables (ТоварыНаСкладах, СвободныеОстатки in 11.4, ЗапасыИПотребности in
11.5)."""
import collections

from .metadata import UNDEFINED_TYPE, ZERO
from .odata import EMPTY_DATE, EMPTY_REF, alternatives, equalities

# register -> the Stock method giving its Balance rows for a ledger key
BALANCE_ROWS = {
    'AccumulationRegister_ТоварыНаСкладах': '_goods_row',
    'AccumulationRegister_СвободныеОстатки': '_free_row',
    'AccumulationRegister_ЗапасыИПотребности': '_needs_rows',
    }
# register -> the Stock method turning a ledger movement into
# (register dimensions, {resource: change}) pairs
TURNOVER_ROWS = {
    'AccumulationRegister_ТоварыНаСкладах': '_goods_movement',
    'AccumulationRegister_СвободныеОстатки': '_free_movement',
    'AccumulationRegister_ЗапасыИПотребности': '_needs_movement',
    }


class Movement(collections.namedtuple('Movement',
        'time key order onhand reserve')):
    """One change of the ledger: when (the base's local time, to the
    second), which (item, characteristic, warehouse), for which order (a
    reserve) and by how much on hand and reserved"""


class Ledger:
    """Stock on hand and reserves, the simulator's stand-in for registers.

    Keys are (item, characteristic, warehouse).  An order's effective
    reserve is what it reserved minus what was shipped against it, so sales
    release the reserve without touching the order.

    Every change is journalled as a :class:`Movement` at the clock's time:
    the Turnovers virtual tables are computed from that journal.  A real
    base dates register records by their document's date and deletes them
    when the document is unposted; the simulator journals when the change
    happens and an unposting as a movement back (see notes/ut11.md).
    """

    def __init__(self, now):
        self.onhand = {}
        self.reserves = collections.defaultdict(dict)   # order -> key -> qty
        self.shipped = collections.defaultdict(dict)    # order -> key -> qty
        self.orders_by_key = collections.defaultdict(set)
        self.generated = None    # (products Generated, warehouse keys, qty)
        self.now = now     # the base's local time as 1C writes it
        self.movements = []

    def on_hand(self, key):
        if key in self.onhand:
            return self.onhand[key]
        return self._generated_qty(key)

    def _generated_qty(self, key):
        if not self.generated:
            return ZERO
        products, wh_index, qty = self.generated
        item, char, wh = key
        i = products.index(item)
        j = wh_index.get(wh)
        if char != EMPTY_REF or i is None or j is None:
            return ZERO
        return qty(i, j)

    def order_reserve(self, order, key):
        left = (self.reserves.get(order, {}).get(key, ZERO)
            - self.shipped.get(order, {}).get(key, ZERO))
        return max(left, ZERO)

    def reserved(self, key, exclude=()):
        return sum((self.order_reserve(order, key)
                for order in self.orders_by_key.get(key, ())
                if order not in exclude), ZERO)

    def available(self, key, exclude=()):
        "On hand less the reserves of orders other than exclude"
        return self.on_hand(key) - self.reserved(key, exclude)

    def apply(self, effects, sign=1):
        for kind, order, key, qty in effects:
            qty = qty * sign
            if kind == 'onhand':
                self.set_on_hand(key, self.on_hand(key) + qty)
                continue
            before = self.order_reserve(order, key)
            if kind == 'reserve':
                book = self.reserves[order]
                book[key] = book.get(key, ZERO) + qty
                self.orders_by_key[key].add(order)
            elif kind == 'shipped':
                book = self.shipped[order]
                book[key] = book.get(key, ZERO) + qty
            self._journal(key, order, ZERO, self.order_reserve(order, key)
                - before)

    def set_on_hand(self, key, quantity):
        self._journal(key, None, quantity - self.on_hand(key), ZERO)
        self.onhand[key] = quantity

    def _journal(self, key, order, onhand, reserve):
        if onhand or reserve:
            self.movements.append(Movement(self.now(), key, order, onhand,
                    reserve))

    def movements_between(self, start=None, end=None):
        "Movements from start to end, both included (None: unbounded)"
        return [m for m in self.movements if (start is None
                or m.time >= start) and (end is None or m.time <= end)]

    def keys(self, item=None, warehouse=None):
        """Every key with stock or reserves, lazily, narrowed when asked
        (item: one item or a set of them)"""
        items = {item} if isinstance(item, str) else item
        if self.generated:
            products, wh_index, _ = self.generated
            wh_keys = list(wh_index)
            indexes = (range(products.count) if items is None else sorted(
                    i for i in map(products.index, items) if i is not None))
            whs = wh_keys if warehouse is None else [
                w for w in wh_keys if w == warehouse]
            for i in indexes:
                for wh in whs:
                    yield (products.key(i), EMPTY_REF, wh)
        for key in set(self.onhand) | set(self.orders_by_key):
            if self.generated and self._generated_covers(key):
                continue
            if (items is None or key[0] in items) and (
                    warehouse is None or key[2] == warehouse):
                yield key

    def _generated_covers(self, key):
        products, wh_index, _ = self.generated
        return (key[1] == EMPTY_REF and products.index(key[0]) is not None
            and key[2] in wh_index)


class Stock:
    "The registers' virtual tables over the ledger (a part of UT11Simulator)"

    def _balance_rows(self, entity, ast):
        """Rows of the Balance virtual table: current balances, zero rows
        left out; only the items the condition names are looked at"""
        eq = equalities(ast)
        warehouse = eq.get('Склад_Key') or eq.get('Склад')
        items = alternatives(ast, 'Номенклатура_Key')
        for key in self.ledger.keys(items, warehouse):
            for row in getattr(self, BALANCE_ROWS[entity.name])(key):
                yield row

    def _turnover_rows(self, entity, start, end):
        """Rows of the Turnovers virtual table: per register key that
        moved from start to end, <resource>Receipt, …Expense, …Turnover"""
        resources = [f[:-len('Balance')] for f in entity.fields
            if f.endswith('Balance')]
        totals, rows = {}, getattr(self, TURNOVER_ROWS[entity.name])
        for movement in self.ledger.movements_between(start, end):
            for dims, deltas in rows(movement):
                row = totals.setdefault(tuple(dims.items()), {**dims, **{
                            r + suffix: ZERO for r in resources
                            for suffix in ('Receipt', 'Expense',
                                'Turnover')}})
                for resource, delta in deltas.items():
                    row[resource + ('Receipt' if delta > 0 else 'Expense')
                        ] += abs(delta)
                    row[resource + 'Turnover'] += delta
        return (row for row in totals.values() if any(
                    row[r + 'Receipt'] or row[r + 'Expense']
                    for r in resources))

    def _goods_movement(self, movement):
        item, char, warehouse = movement.key
        if movement.onhand:
            yield ({'Номенклатура_Key': item, 'Характеристика_Key': char,
                    'Назначение_Key': EMPTY_REF, 'Склад_Key': warehouse,
                    'Помещение_Key': EMPTY_REF, 'Серия_Key': EMPTY_REF},
                {'ВНаличии': movement.onhand})

    def _free_movement(self, movement):
        item, char, warehouse = movement.key
        yield ({'Номенклатура_Key': item, 'Характеристика_Key': char,
                'Склад_Key': warehouse}, {'ВНаличии': movement.onhand,
                'ВРезервеСоСклада': movement.reserve})

    def _needs_movement(self, movement):
        item, char, warehouse = movement.key
        order = movement.order
        yield ({'Номенклатура_Key': item, 'Характеристика_Key': char,
                'Склад': warehouse,
                'Склад_Type': 'StandardODATA.Catalog_Склады',
                'Назначение_Key': EMPTY_REF, 'Заказ': order or '',
                'Заказ_Type': 'StandardODATA.' + self.order_types.get(order,
                    'Document_ЗаказКлиента') if order else UNDEFINED_TYPE,
                'ДатаСобытия': EMPTY_DATE},
            {'ВНаличии': movement.onhand,
                'РезервироватьНаСкладе': movement.reserve})

    def _goods_row(self, key):
        onhand = self.ledger.on_hand(key)
        if onhand:
            yield {'Номенклатура_Key': key[0], 'Характеристика_Key': key[1],
                'Назначение_Key': EMPTY_REF, 'Склад_Key': key[2],
                'Помещение_Key': EMPTY_REF, 'Серия_Key': EMPTY_REF,
                'ВНаличииBalance': onhand, 'КОтгрузкеBalance': ZERO}

    def _free_row(self, key):
        onhand, reserved = self.ledger.on_hand(key), self.ledger.reserved(key)
        if onhand or reserved:
            yield {'Номенклатура_Key': key[0], 'Характеристика_Key': key[1],
                'Склад_Key': key[2], 'ВНаличииBalance': onhand,
                'ВРезервеСоСкладаBalance': reserved,
                'ВРезервеПодЗаказBalance': ZERO}

    def _needs_rows(self, key):
        "ЗапасыИПотребности: stock without an order, one row per reserving order"
        onhand = self.ledger.on_hand(key)
        base = {'Номенклатура_Key': key[0], 'Характеристика_Key': key[1],
            'Склад': key[2], 'Склад_Type': 'StandardODATA.Catalog_Склады',
            'Назначение_Key': EMPTY_REF, 'Заказ': '',
            'Заказ_Type': UNDEFINED_TYPE, 'ДатаСобытия': EMPTY_DATE,
            'ВНаличииBalance': ZERO, 'ПоступитBalance': ZERO,
            'ЗаказаноBalance': ZERO, 'РезервироватьНаСкладеBalance': ZERO,
            'РезервироватьПоМереПоступленияBalance': ZERO,
            'ОтложитьРезервированиеBalance': ZERO,
            'КОбеспечениюBalance': ZERO, 'НеОбеспечиватьBalance': ZERO}
        if onhand:
            yield {**base, 'ВНаличииBalance': onhand}
        for order in sorted(self.ledger.orders_by_key.get(key, ())):
            qty = self.ledger.order_reserve(order, key)
            if qty:
                yield {**base, 'Заказ': order, 'Заказ_Type':
                    'StandardODATA.' + self.order_types.get(order,
                        'Document_ЗаказКлиента'),
                    'РезервироватьНаСкладеBalance': qty}


def _group(rows, dimensions, fields):
    "The Dimensions argument: keep only those dimensions, summing resources"
    wanted = [d.strip() for d in dimensions.split(',') if d.strip()]
    keep = [f for f in fields if any(f in (d, d + '_Key', d + '_Type')
            for d in wanted)]
    resources = [f for f, t in fields.items() if t == 'num']
    groups = {}
    for row in rows:
        dims = tuple(row[f] for f in keep)
        total = groups.setdefault(dims, {**{f: row[f] for f in keep},
                **{r: ZERO for r in resources}})
        for r in resources:
            total[r] += row[r]
    return iter(groups.values())
