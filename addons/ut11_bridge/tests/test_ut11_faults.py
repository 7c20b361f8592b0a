"""1C UT11 rate-limited, slow, or changing its stock while the hub works,
over real HTTP (the sandbox simulator): the order reaches 1C once, waits
as long as 1C asks, and the hub's free stock never shows more than 1C has.

Each step is committed, as the queue and the web client would."""
import datetime as dt
import time
from decimal import Decimal

from trytond.modules.hub_common import utcnow
from trytond.pool import Pool

from sandbox.ut11 import stable_ref  # noqa: E402

from .tools import UT11SimulatorTestCase  # noqa: E402

SNEAKERS = stable_ref('item', 'КР-1001')
KAZAN = 'Магазин на Баумана'    # the only warehouse of Kazan
ORDERS = '*/Document_ЗаказКлиента'
TIMEOUT = 1                     # seconds: the connection's timeout
SLOW = TIMEOUT + 1


class UT11FaultsTestCase(UT11SimulatorTestCase):
    "1C UT11 slow, rate-limited, or selling the goods meanwhile"
    timeout = TIMEOUT

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.step(lambda: Pool().get('ut11_bridge.loader').load())

    def setUp(self):
        # the earlier tests' orders hold nothing, in the hub or in 1C
        def cancel():
            Order = Pool().get('order_hub.order')
            Order.cancel(Order.search([('state', '!=', 'cancelled')]))
        self.step(cancel)
        self.sim.reset()
        # Kazan orders are reserved in Kazan only: Moscow has none left
        for info in self.sim.stock(SNEAKERS, characteristic='42'):
            self.sim.set_stock('КР-1001', info['warehouse'], 0, '42')
        self.sim.set_stock('КР-1001', KAZAN, 5, '42')
        self.load_stock()

    def load_stock(self):
        self.step(lambda: Pool().get('ut11_bridge.loader').load(
                stock_only=True))

    # -- the hub -----------------------------------------------------------
    @staticmethod
    def sneakers():
        Product = Pool().get('product.product')
        product, = Product.search([('template.code', '=', 'КР-1001'),
                ('hub_size', '=', '42')])
        return product

    def reserved_order(self, quantity):
        "A paid order of Kazan, reserved; (order id, outbox message id)"
        def create():
            pool = Pool()
            Order = pool.get('order_hub.order')
            City = pool.get('order_hub.city')
            Outbox = pool.get('hub_sync.outbox')
            kazan, = City.search([('name', '=', "Казань")])
            order, = Order.create([{'customer_name': "Петров Иван",
                        'delivery_city': kazan.id, 'lines': [('create', [{
                                        'product': self.sneakers().id,
                                        'quantity': Decimal(quantity)}])]}])
            Order.pay([order])
            Order.reserve([order])
            message, = Outbox.search([
                    ('record', '=', str(order)), ('state', '=', 'pending')])
            return order.id, message.id
        return self.step(create)

    def process(self, message_id):
        def process():
            Outbox = Pool().get('hub_sync.outbox')
            Outbox.process([message_id])
        self.step(process)

    def make_due(self, message_id):
        "The time the message waits for has passed"
        def due():
            Outbox = Pool().get('hub_sync.outbox')
            Outbox.write([Outbox(message_id)], {'next_try': None})
        self.step(due)

    def message(self, message_id):
        def read():
            message = Pool().get('hub_sync.outbox')(message_id)
            return {'state': message.state, 'attempts': message.attempts,
                'next_try': message.next_try,
                'journal': [(j.outcome, j.http_status, j.summary)
                    for j in sorted(message.journal, key=lambda j: j.id)]}
        return self.step(read)

    def order(self, order_id):
        def read():
            order = Pool().get('order_hub.order')(order_id)
            return {'number': order.ut11_number, 'ref': order.ut11_ref,
                'log': [(e.source, e.kind, e.description)
                    for e in sorted(order.action_logs, key=lambda e: e.id)],
                'reservations': [(r.warehouse.name, r.quantity, r.in_mirror)
                    for r in order.reservations if r.active]}
        return self.step(read)

    def hub_free(self):
        "The hub's free stock of the sneakers in Kazan"
        def read():
            pool = Pool()
            StockLevel = pool.get('order_hub.stock')
            Location = pool.get('stock.location')
            warehouse, = Location.search([('name', '=', KAZAN),
                    ('type', '=', 'warehouse')])
            level, = StockLevel.search([
                    ('product', '=', self.sneakers().id),
                    ('warehouse', '=', warehouse.id)])
            return level.free_quantity
        return self.step(read)

    # -- 1C ----------------------------------------------------------------
    def ut11_free(self):
        info, = self.sim.stock(SNEAKERS, KAZAN, '42')
        return Decimal(str(info['free']))

    def documents(self, ref):
        "1C's customer orders under the hub's key"
        return [d for d in self.sim.documents('ЗаказКлиента')
            if d['Ref_Key'] == ref]

    def wait_answered(self, path, count=1):
        "Until 1C has answered count requests of path (a slow one too)"
        deadline = time.monotonic() + SLOW + 5
        while len(self.sim.journal.list(path)) < count:
            self.assertLess(time.monotonic(), deadline, "1C never answered")
            time.sleep(0.05)

    # -- rate limit --------------------------------------------------------
    def test_rate_limited_1c_gets_the_order_once_after_retry_after(self):
        order_id, message_id = self.reserved_order(2)
        self.sim.faults.add(kind='rate_limit', endpoint=ORDERS,
            method='POST', count=1, retry_after=600)
        before = utcnow().replace(microsecond=0)
        self.process(message_id)

        message = self.message(message_id)
        self.assertEqual((message['state'], message['attempts']),
            ('pending', 1))
        # the back-off alone would be 10–12 s: 1C's Retry-After wins
        self.assertGreaterEqual(message['next_try'],
            before + dt.timedelta(seconds=600))
        (outcome, status, summary), = message['journal']
        self.assertEqual((outcome, status), ('retry', 429))
        self.assertIn("Превышено допустимое количество", summary)
        self.assertIsNone(self.order(order_id)['number'])

        # not due yet: the queue or the cron leaves it alone
        self.process(message_id)
        self.assertEqual(self.message(message_id)['attempts'], 1)
        self.assertEqual(len(self.sim.journal.list(ORDERS, 'POST')), 1)

        self.make_due(message_id)
        self.process(message_id)
        self.process(message_id)    # a second run sends nothing
        message = self.message(message_id)
        self.assertEqual(message['state'], 'done')
        self.assertEqual([o for o, _, _ in message['journal']],
            ['retry', 'ok'])
        order = self.order(order_id)
        document, = self.documents(order['ref'])
        self.assertTrue(document['Posted'])
        self.assertEqual(order['number'], document['Number'])
        self.assertEqual(self.ut11_free(), 3)
        self.assertEqual(self.hub_free(), 3)

    # -- slow answers ------------------------------------------------------
    def check_slow(self, endpoint):
        """1C answers the push after the hub gave up, having done the work:
        the retry finds 1C's document, nothing is doubled"""
        order_id, message_id = self.reserved_order(2)
        self.sim.faults.add(kind='slow', endpoint=endpoint, method='POST',
            count=1, delay=SLOW)
        self.process(message_id)

        message = self.message(message_id)
        self.assertEqual((message['state'], message['attempts']),
            ('pending', 1))
        (outcome, status, summary), = message['journal']
        self.assertEqual((outcome, status), ('retry', None))
        self.assertIn("не ответил", summary)
        self.assertIsNone(self.order(order_id)['number'])
        self.wait_answered(endpoint)        # 1C did it meanwhile

        self.make_due(message_id)
        self.process(message_id)
        message = self.message(message_id)
        self.assertEqual(message['state'], 'done')
        self.assertEqual([o for o, _, _ in message['journal']],
            ['retry', 'ok'])
        order = self.order(order_id)
        document, = self.documents(order['ref'])
        self.assertTrue(document['Posted'])
        self.assertEqual(order['number'], document['Number'])
        self.assertIn(document['Number'], order['log'][-1][2])
        # reserved once in 1C, counted once in the hub
        self.assertEqual(self.ut11_free(), 3)
        self.assertEqual(self.hub_free(), 3)
        self.load_stock()
        self.assertEqual(self.hub_free(), 3)

    def test_slow_1c_creating_the_order_keeps_one_order(self):
        self.check_slow(ORDERS)

    def test_slow_1c_posting_the_order_keeps_one_order(self):
        self.check_slow(ORDERS + '(*)/Post')

    # -- stock changing in 1C while a manager reserves ----------------------
    def test_1c_sold_the_goods_meanwhile_refuses_the_order(self):
        self.sim.set_stock('КР-1001', KAZAN, 1, '42')   # sold in a shop
        self.assertEqual(self.hub_free(), 5)            # the hub's mirror
        order_id, message_id = self.reserved_order(3)
        self.assertEqual(self.order(order_id)['reservations'],
            [(KAZAN, 3, False)])
        self.process(message_id)

        self.assertEqual(self.message(message_id)['state'], 'failed')
        order = self.order(order_id)
        source, kind, text = order['log'][-1]
        self.assertEqual((source, kind), ('ut11', 'exchange'))
        self.assertIn("не выполнен", text)
        self.assertIn("Недостаточно свободного остатка", text)
        self.assertIn("свободно 1 шт, требуется 3 шт", text)
        self.assertEqual(self.ut11_free(), 1)

        # the next stock load: 1C's figure, the hub's claim still held
        self.load_stock()
        self.assertEqual(self.hub_free(), 0)
        self.assertLessEqual(self.hub_free(), self.ut11_free())

        # the manager takes the one left: the order goes to 1C again by
        # itself, no administrator needed
        def reduce():
            pool = Pool()
            Line = pool.get('order_hub.order.line')
            Outbox = pool.get('hub_sync.outbox')
            line, = Line.search([('order', '=', order_id)])
            Line.write([line], {'quantity': Decimal(1)})
            return [m.id for m in Outbox.search([
                        ('record', '=', f'order_hub.order,{order_id}'),
                        ('state', '=', 'pending')])]
        resent, = self.step(reduce)
        self.process(resent)
        self.assertEqual(self.message(resent)['state'], 'done')
        order = self.order(order_id)
        document, = self.documents(order['ref'])
        self.assertTrue(document['Posted'])
        self.assertEqual(order['number'], document['Number'])
        self.assertEqual(self.ut11_free(), 0)

    def test_1c_sold_the_goods_meanwhile_reserves_less(self):
        self.sim.stock_control(KAZAN, False)
        self.addCleanup(self.sim.stock_control, KAZAN, True)
        self.sim.set_stock('КР-1001', KAZAN, 1, '42')   # sold in a shop
        order_id, message_id = self.reserved_order(2)
        self.process(message_id)

        self.assertEqual(self.message(message_id)['state'], 'done')
        order = self.order(order_id)
        entry, = [t for s, k, t in order['log']
            if (s, k) == ('ut11', 'reservation')]
        self.assertIn("1С УТ11 зарезервировала меньше", entry)
        self.assertIn("1 из 2", entry)
        self.assertEqual(self.ut11_free(), 0)
        # nothing more to sell in Kazan, before and after the next load
        self.assertEqual(self.hub_free(), 0)
        self.load_stock()
        self.assertEqual(self.hub_free(), 0)

    def test_stock_load_before_the_push_keeps_the_hub_reservation(self):
        order_id, message_id = self.reserved_order(2)
        self.assertEqual(self.hub_free(), 3)
        self.sim.set_stock('КР-1001', KAZAN, 4, '42')   # one sold in 1C
        self.load_stock()
        # 1C's 4 free less the hub's 2 that 1C does not know of yet
        self.assertEqual(self.hub_free(), 2)

        self.process(message_id)
        self.assertEqual(self.order(order_id)['reservations'],
            [(KAZAN, 2, True)])
        self.assertEqual(self.ut11_free(), 2)
        self.assertEqual(self.hub_free(), 2)
        self.load_stock()
        self.assertEqual(self.hub_free(), 2)


del UT11SimulatorTestCase  # the base alone is no test
