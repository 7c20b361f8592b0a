"""Free stock from 1C UT11 kept fresh between full loads, over real HTTP
(the sandbox simulator): every minute the hub reads what moved in 1C and
rewrites the stock of those products only."""
import time
from decimal import Decimal

import requests

from trytond.modules.hub_common import utcnow
from trytond.pool import Pool

from sandbox.ut11 import stable_ref  # noqa: E402

from ..client import UT11Client  # noqa: E402
from .tools import UT11SimulatorTestCase  # noqa: E402

SHOP = 'Магазин на Тверской'
NEVSKY = 'Магазин на Невском'
CENTRAL = 'Центральный склад'


class UT11StockRefreshTestCase(UT11SimulatorTestCase):
    "Free stock refreshed from what moved in 1C UT11"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.step(lambda: Pool().get('ut11_bridge.loader').load())

    def refresh(self):
        "What the cron «Refresh Changed Stock from 1C UT11» does"
        self.step(lambda: Pool().get(
                'ut11_bridge.load_run').cron_refresh_changed_stock())

    def level(self, article, size, warehouse):
        "(free in 1C, reserved by the hub, updated) as the mirror shows it"
        def read():
            pool = Pool()
            StockLevel = pool.get('order_hub.stock')
            Product = pool.get('product.product')
            Location = pool.get('stock.location')
            product, = Product.search([('template.code', '=', article),
                    ('hub_size', '=', size)])
            location, = Location.search([('name', '=', warehouse),
                    ('type', '=', 'warehouse')])
            levels = StockLevel.search([('product', '=', product.id),
                    ('warehouse', '=', location.id)])
            if not levels:
                return None
            level, = levels
            return level.quantity, level.reserved_quantity, level.updated_at
        return self.step(read)

    def free_in_1c(self, article, size, warehouse):
        info, = self.sim.stock(article, warehouse, size)
        return Decimal(str(info['free']))

    def journal(self):
        def read():
            Journal = Pool().get('hub_sync.journal')
            return [(e.outcome, e.summary) for e in Journal.search([
                        ('operation', '=', 'ut11_stock_changes')])]
        return self.step(read)

    def read_at(self):
        return self.step(lambda: Pool().get('hub_sync.system').get(
                'ut11').ut11_stock_read_at)

    def test_stock_change_in_1c_reaches_the_mirror(self):
        self.sim.set_stock('КР-1001', SHOP, 13, '43')
        self.refresh()
        quantity, _, _ = self.level('КР-1001', '43', SHOP)
        self.assertEqual(quantity, self.free_in_1c('КР-1001', '43', SHOP))
        self.assertEqual(quantity, 13)
        outcome, summary = self.journal()[0]
        self.assertEqual(outcome, 'ok')
        self.assertIn("остатки", summary)

    def test_unchanged_products_keep_their_update_time(self):
        untouched = self.level('ДЖ-6001', '32', CENTRAL)
        changed = self.level('КР-1002', '40', CENTRAL)
        # update times are to the second: wait for the next one
        time.sleep(1.01 - time.time() % 1)
        self.sim.set_stock('КР-1002', CENTRAL, 21, '40')
        self.refresh()
        self.assertEqual(self.level('ДЖ-6001', '32', CENTRAL), untouched)
        quantity, _, updated = self.level('КР-1002', '40', CENTRAL)
        self.assertEqual(quantity, 21)
        self.assertGreater(updated, changed[2])

    def test_stock_gone_in_1c_is_zero_in_the_mirror(self):
        self.sim.set_stock('ТФ-3001', NEVSKY, 2, '38')
        self.refresh()
        self.assertEqual(self.level('ТФ-3001', '38', NEVSKY)[0], 2)
        # sold out: 1C's Balance has no row for it any more
        self.sim.set_stock('ТФ-3001', NEVSKY, 0, '38')
        self.refresh()
        self.assertEqual(self.level('ТФ-3001', '38', NEVSKY)[0], 0)

    def test_stock_gone_in_1c_is_zero_after_a_full_load(self):
        "the 6-hourly full load repairs what the refresh missed"
        def full_load():
            self.step(lambda: Pool().get('ut11_bridge.loader').load(
                    stock_only=True))
            # a level written within a second before a load reads is kept
            # (stored times may be rounded to the second): read later
            time.sleep(1.6)
        self.sim.set_stock('ТФ-3001', SHOP, 4, '39')
        full_load()
        self.assertEqual(self.level('ТФ-3001', '39', SHOP)[0], 4)
        # sold out in 1C; say the refresh never saw it (a back-dated document)
        self.sim.set_stock('ТФ-3001', SHOP, 0, '39')
        full_load()
        self.assertEqual(self.level('ТФ-3001', '39', SHOP)[0], 0)
        # what 1C still lists keeps its figure
        self.assertEqual(self.level('КТ-4001', '50', CENTRAL)[0],
            self.free_in_1c('КТ-4001', '50', CENTRAL))

    def test_1c_down_during_a_refresh_loses_nothing(self):
        self.sim.set_stock('КТ-4001', CENTRAL, 17, '50')
        before = self.level('КТ-4001', '50', CENTRAL)
        read_at = self.read_at()
        # the changes are read, then 1C fails while giving the balances
        self.sim.faults.add(kind='error', status=503,
            endpoint='*/Balance(*')
        self.refresh()
        self.assertEqual(self.level('КТ-4001', '50', CENTRAL), before)
        self.assertEqual(self.read_at(), read_at)
        outcome, summary = self.journal()[0]
        self.assertEqual(outcome, 'retry')
        self.assertIn("внутренняя ошибка", summary)

        self.sim.faults.clear()
        started = utcnow().replace(microsecond=0)
        self.refresh()
        self.assertEqual(self.level('КТ-4001', '50', CENTRAL)[0], 17)
        self.assertGreaterEqual(self.read_at(), started)

    def test_hub_reservations_are_kept(self):
        # in Moscow only the shop has it: the hub reserves there
        for warehouse, quantity in ((CENTRAL, 0), ('Магазин «Авиапарк»', 0),
                (SHOP, 4)):
            self.sim.set_stock('ФТ-5003', warehouse, quantity, 'M')
        self.refresh()
        order_id = self.reserved_order('ФТ-5003', 'M', SHOP)
        self.assertIsNotNone(order_id)
        quantity, reserved, _ = self.level('ФТ-5003', 'M', SHOP)
        self.assertEqual((quantity, reserved), (4, 1))
        # 1C's figure changes; the hub's reservation, unknown to 1C yet,
        # still counts against it
        self.sim.set_stock('ФТ-5003', SHOP, 6, 'M')
        self.refresh()
        self.assertEqual(self.level('ФТ-5003', 'M', SHOP)[:2], (6, 1))

    def reserved_order(self, article, size, warehouse):
        "A paid order of one piece, reserved in the hub (not sent to 1C)"
        def create():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Reservation = pool.get('order_hub.reservation')
            Product = pool.get('product.product')
            City = pool.get('order_hub.city')
            product, = Product.search([('template.code', '=', article),
                    ('hub_size', '=', size)])
            moscow, = City.search([('name', '=', "Москва")])
            order, = Order.create([{'customer_name': "Петрова Анна",
                        'delivery_city': moscow.id, 'lines': [('create', [{
                                        'product': product.id,
                                        'quantity': Decimal(1)}])]}])
            Order.pay([order])
            Order.reserve([order])
            held = Reservation.search([('order', '=', order.id)])
            if [r.warehouse.name for r in held] == [warehouse]:
                return order.id
        return self.step(create)

    def test_full_stock_load_moves_the_mark(self):
        started = utcnow().replace(microsecond=0)
        self.step(lambda: Pool().get('ut11_bridge.loader').load(
                stock_only=True))
        self.assertGreaterEqual(self.read_at(), started)

    def test_version_11_4(self):
        def configure(version):
            self.sim.configure(version=version)
            System = Pool().get('hub_sync.system')
            System.write([System.get('ut11')], {'ut11_version': version})
        self.step(lambda: configure('11.4'))
        self.addCleanup(self.step, lambda: configure('11.5'))
        self.sim.set_stock('БТ-2001', CENTRAL, 9, '45')
        self.refresh()
        self.assertEqual(self.level('БТ-2001', '45', CENTRAL)[0], 9)

    def test_balances_of_many_products_in_short_requests(self):
        urls = []
        session = requests.Session()
        session.hooks['response'].append(
            lambda response, *args, **kwargs: urls.append(
                response.request.url))
        client = UT11Client(self.url, 'odata', 'odata', session=session)
        products = [r['Ref_Key'] for r in self.sim.tables[
                'Catalog_Номенклатура'] if not r['IsFolder']]
        # products 1C does not have cost nothing but URL length
        unknown = [stable_ref('unknown', str(i)) for i in range(40)]
        rows = list(client.free_stock_of(products + unknown))
        self.assertGreater(len(urls), 2)
        self.assertLess(max(len(u) for u in urls), 4096)

        def key(row):
            return row['product'], row['characteristic'] or '', \
                row['warehouse']
        everything = [r for r in client.free_stock() if r['product']
            in products]
        self.assertEqual(sorted(rows, key=key), sorted(everything, key=key))
