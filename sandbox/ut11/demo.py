"""Demo activity in 1C: stock changes as the shops and the warehouse make
them, each one a posted document (or a receipt) whose movements the
Turnovers and Balance virtual tables see, as a real posting would."""
import itertools
import random
from decimal import Decimal

from ..core import control
from .metadata import ENTITY_SETS
from .odata import EMPTY_REF, ODataError
from .storage import stable_ref

CENTRAL_TYPE = 'ОптовыйСклад'
# how many ledger keys a random pick looks at (generated sets are huge)
SAMPLE = 5000


class DemoActivity:
    "Random stock movements (a part of UT11Simulator)"

    def start_demo(self, interval=30):
        "Move stock every interval seconds until stop()"
        self.repeat(interval, self.move_random_stock)

    @control('move_random_stock')
    def move_random_stock(self, seed=None):
        """One random stock change: a sale in a shop, a transfer from the
        central warehouse to a shop, or goods received at the central
        warehouse; the answer says which"""
        rng = random.Random(seed) if seed is not None else self.random
        with self.lock:
            for move in self._demo_moves(rng):
                done = move(rng)
                if done:
                    self.activity.appendleft((self.now().replace('T', ' '),
                            done))
                    return {'done': done}
            return {'done': None}

    def _demo_moves(self, rng):
        "The kinds of moves to try, the likelier first (sales mostly)"
        moves = {self._demo_sale: 5, self._demo_transfer: 3,
            self._demo_receipt: 2}
        first = rng.choices(list(moves), weights=list(moves.values()))[0]
        return [first] + [m for m in moves if m != first]

    def _warehouses(self, central):
        return [row['Ref_Key'] for row in self.tables['Catalog_Склады']
            if (row['ТипСклада'] == CENTRAL_TYPE) == central]

    def _free_keys(self, warehouses):
        keys = itertools.islice(self.ledger.keys(), SAMPLE)
        return [k for k in keys if k[2] in warehouses
            and self.ledger.available(k) > 0]

    def _demo_sale(self, rng):
        keys = self._free_keys(set(self._warehouses(central=False)))
        if not keys:
            return None
        key = rng.choice(keys)
        doc = self._demo_post('Document_РеализацияТоваровУслуг', {
                'Партнер_Key': stable_ref('partner', 'retail'),
                'Контрагент_Key': stable_ref('cp', 'retail'),
                'Склад_Key': key[2], 'Статус': 'Отгружено'}, key, 1)
        return doc and f'Продажа в магазине: {self._variant_name(key)}, ' \
            f'1 шт, {self._name("Catalog_Склады", key[2])} ({doc})'

    def _demo_transfer(self, rng):
        shops = self._warehouses(central=False)
        keys = self._free_keys(set(self._warehouses(central=True)))
        if not keys or not shops:
            return None
        key, shop = rng.choice(keys), rng.choice(shops)
        qty = min(self.ledger.available(key), rng.randint(1, 3))
        doc = self._demo_post('Document_ПеремещениеТоваров', {
                'СкладОтправитель_Key': key[2], 'СкладПолучатель_Key': shop,
                'Статус': 'Принято'}, key, qty)
        return doc and f'Перемещение: {self._variant_name(key)}, ' \
            f'{qty} шт, {self._name("Catalog_Склады", key[2])} → ' \
            f'{self._name("Catalog_Склады", shop)} ({doc})'

    def _demo_receipt(self, rng):
        central = self._warehouses(central=True)
        keys = [k for k in itertools.islice(self.ledger.keys(), SAMPLE)
            if k[2] in central]
        if not keys:
            return None
        key, qty = rng.choice(keys), rng.randint(5, 20)
        # no receipt document is published: the movement is journalled
        # directly, as set_stock does
        self.ledger.set_on_hand(key, self.ledger.on_hand(key) + qty)
        return f'Поступление от поставщика: {self._variant_name(key)}, ' \
            f'{qty} шт, {self._name("Catalog_Склады", key[2])}'

    def _demo_post(self, entity_name, header, key, qty):
        "Write and post a one-line document; its number, or None if refused"
        entity = ENTITY_SETS[entity_name]
        row = self._new_row(entity)
        row.update(header, Организация_Key=self.refs['org'])
        row['Товары'] = [self._complete_line(entity, 'Товары', row, 1, {
                    'Номенклатура_Key': key[0],
                    'Характеристика_Key': key[1] or EMPTY_REF,
                    'Количество': Decimal(qty)})]
        self._write(entity, row)
        try:
            self._post(entity, row)
        except ODataError:      # stock went meanwhile: no document left
            self.tables[entity_name].delete(row['Ref_Key'])
            return None
        return row['Number']
