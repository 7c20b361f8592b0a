"""The UT11 simulator's Turnovers virtual tables (what moved in a period)
and Balance of several items at once, seen from an OData client."""
import datetime
from decimal import Decimal

from sandbox.tests.test_ut11 import UT11TestCase

NEEDS = 'AccumulationRegister_ЗапасыИПотребности'
FREE_11_4 = 'AccumulationRegister_СвободныеОстатки'


def shifted(text, **delta):
    "A 1C date string moved by a timedelta"
    value = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%S')
    return (value + datetime.timedelta(**delta)).strftime('%Y-%m-%dT%H:%M:%S')


class TurnoversTest(UT11TestCase):
    def setUp(self):
        super().setUp()
        self.item, self.char = self.variant('КР-1001', '42')
        self.shop = self.ref('Catalog_Склады', 'Магазин на Тверской')
        self.now = self.control.action('configure')['now']

    def turnovers(self, register=NEEDS, start=None, end=None, **extra):
        start = start or shifted(self.now, minutes=-1)
        args = [f"StartPeriod=datetime'{start}'"]
        if end:
            args.append(f"EndPeriod=datetime'{end}'")
        args += [f"{k}='{v}'" for k, v in extra.items()]
        return self.get(f"{register}/Turnovers({','.join(args)})")['value']

    def test_a_stock_change_is_a_turnover_of_its_key_only(self):
        self.assertEqual(self.turnovers(), [])
        before = int(self.on_hand(self.item, self.char, self.shop))
        self.control.action('set_stock', product='КР-1001',
            characteristic='42', warehouse='Магазин на Тверской',
            quantity=before + 5)
        row, = self.turnovers()
        self.assertEqual((row['Номенклатура_Key'], row['Характеристика_Key'],
                row['Склад']), (self.item, self.char, self.shop))
        self.assertEqual(row['ВНаличииReceipt'], 5)
        self.assertEqual(row['ВНаличииExpense'], 0)
        self.assertEqual(row['ВНаличииTurnover'], 5)
        self.assertEqual(row['РезервироватьНаСкладеTurnover'], 0)
        self.assertNotIn('ВНаличииBalance', row)
        # down again: an expense; over the period both show, turnover 0
        self.control.action('set_stock', product='КР-1001',
            characteristic='42', warehouse='Магазин на Тверской',
            quantity=before)
        row, = self.turnovers()
        self.assertEqual((row['ВНаличииReceipt'], row['ВНаличииExpense'],
                row['ВНаличииTurnover']), (5, 5, 0))

    def test_period_bounds(self):
        self.control.action('set_stock', product='КР-1001',
            characteristic='42', warehouse='Магазин на Тверской', quantity=9)
        self.assertEqual(self.turnovers(end=shifted(self.now, minutes=-1)),
            [])
        self.assertEqual(self.turnovers(start=shifted(self.now, minutes=2)),
            [])
        self.assertEqual(len(self.turnovers(end=shifted(self.now,
                        minutes=2))), 1)

    def test_posted_order_moves_the_reserve_with_its_order(self):
        self.control.action('set_stock', product='КР-1001',
            characteristic='42', warehouse='Магазин на Тверской', quantity=3)
        order = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 2)]))
        self.post('Document_ЗаказКлиента', order['Ref_Key'])
        rows = self.turnovers()
        reserve, = [r for r in rows if r['Заказ']]
        self.assertEqual(reserve['Заказ'], order['Ref_Key'])
        self.assertEqual(reserve['РезервироватьНаСкладеReceipt'], 2)
        # grouped by the dimensions the hub asks for: one row per key
        grouped = self.turnovers(
            Dimensions='Номенклатура,Характеристика,Склад')
        self.assertEqual([(r['Номенклатура_Key'], r['Склад'])
                for r in grouped], [(self.item, self.shop)])
        self.assertNotIn('Заказ', grouped[0])
        self.assertEqual(grouped[0]['РезервироватьНаСкладеTurnover'], 2)

    def test_condition_and_select(self):
        self.control.action('set_stock', product='КР-1001',
            characteristic='42', warehouse='Магазин на Тверской', quantity=4)
        self.control.action('set_stock', product='ДЖ-6001',
            characteristic='32', warehouse='Магазин на Невском', quantity=7)
        self.assertEqual(len(self.turnovers()), 2)
        rows = self.turnovers(
            Condition=f"Склад eq guid''{self.shop}''")
        self.assertEqual([r['Номенклатура_Key'] for r in rows], [self.item])
        start = shifted(self.now, minutes=-1)
        rows = self.get(f"{NEEDS}/Turnovers(StartPeriod=datetime'{start}')",
            {'$select': 'Номенклатура_Key,Склад'})['value']
        self.assertEqual(set(rows[0]), {'Номенклатура_Key', 'Склад'})

    def test_version_11_4_free_stock_register(self):
        self.control.action('configure', version='11.4')
        self.control.action('set_stock', product='КР-1001',
            characteristic='42', warehouse='Магазин на Тверской', quantity=3)
        row, = self.turnovers(FREE_11_4)
        self.assertEqual(row['Склад_Key'], self.shop)
        self.assertEqual(set(row) - {'Номенклатура_Key', 'Характеристика_Key',
                'Склад_Key'}, {f'{r}{s}' for r in ('ВНаличии',
                    'ВРезервеСоСклада', 'ВРезервеПодЗаказ')
                for s in ('Receipt', 'Expense', 'Turnover')})

    def test_turnovers_only_on_accumulation_registers(self):
        self.error(self.request('GET', 'InformationRegister_ЦеныНоменклатуры25'
                "/Turnovers(StartPeriod=datetime'2024-01-01T00:00:00')"),
            400, '6')

    def test_dates_are_the_bases_local_time(self):
        self.control.action('configure', timezone='Asia/Novosibirsk')
        novosibirsk = self.control.action('configure')['now']
        self.assertEqual(shifted(self.now, hours=4)[:13], novosibirsk[:13])
        self.control.action('set_stock', product='КР-1001',
            characteristic='42', warehouse='Магазин на Тверской', quantity=8)
        # in Moscow time the change lies hours ahead
        self.assertEqual(self.turnovers(end=shifted(self.now, minutes=5)),
            [])
        self.assertEqual(len(self.turnovers(
                    start=shifted(novosibirsk, minutes=-1))), 1)


class BalanceOfSeveralItemsTest(UT11TestCase):
    def balance(self, items, register=NEEDS):
        condition = ' or '.join(f"Номенклатура_Key eq guid''{i}''"
            for i in items)
        return self.get(f"{register}/Balance(Condition='{condition}')"
            )['value']

    def test_demo_items(self):
        sneakers, _ = self.variant('КР-1001', '42')
        jeans, _ = self.variant('ДЖ-6001', '32')
        rows = self.balance([sneakers, jeans])
        self.assertEqual({r['Номенклатура_Key'] for r in rows},
            {sneakers, jeans})
        self.assertEqual(len(rows), len(self.balance([sneakers]))
            + len(self.balance([jeans])))

    def counting_generated_stock(self, read):
        """read(), asserting it computed the stock of the named items only
        (2 items x 30 warehouses), not of all 50,000 x 30"""
        products, warehouses, quantity = self.sim.ledger.generated
        looked_up = []

        def counting(i, j):
            looked_up.append(i)
            return quantity(i, j)
        self.sim.ledger.generated = (products, warehouses, counting)
        try:
            result = read()
        finally:
            self.sim.ledger.generated = (products, warehouses, quantity)
        self.assertEqual(sorted(set(looked_up)), [6, 39999])
        self.assertLessEqual(len(looked_up), 2 * 30 * 2)
        return result

    def test_generated_items_are_looked_up_not_scanned(self):
        seeded = self.control.action('seed', products=50000, warehouses=30)
        items = [self.one('Catalog_Номенклатура',
                f"Артикул eq 'ART-{n:06d}'")['Ref_Key']
            for n in (7, 40000)]
        rows = self.counting_generated_stock(lambda: self.balance(items))
        self.assertEqual({r['Номенклатура_Key'] for r in rows}, set(items))
        self.assertEqual({r['Склад'] for r in rows} - set(
                seeded['warehouses']), set())
        total = sum(Decimal(str(r['ВНаличииBalance'])) for r in rows)
        self.assertEqual(total, sum(Decimal(str(s['on_hand']))
                for i in items for s in self.control.action('stock',
                    product=i)))
