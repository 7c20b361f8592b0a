"""The carrier-neutral interface, driven by a test carrier over real HTTP
(hub_sync's test shop simulator plays the carrier's API) and through the
real outbox: request, refusal, events deduplicated and reordered, unknown
statuses, hand-over, cancel.  Each step is committed, as the queue, the
cron and the web client would."""
import datetime
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from trytond.modules.hub_sync.tests.shop import ShopSimulator
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, set_company, setup_company)
from trytond.modules.order_shipments.tests.tools import (
    create_shops, paid_order)

from ..carrier import CREATE, SYSTEM

T0 = datetime.datetime(2026, 7, 1, 9, 0)


def at(hours):
    return T0 + datetime.timedelta(hours=hours)


class CarrierTestCase(HubTestCase):
    "A carrier through the interface"
    modules = ['shipments_carrier_test']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carrier = ShopSimulator()
        cls.carrier.start()
        cls.addClassCleanup(cls.carrier.stop)
        with Transaction().start(DB_NAME, 0) as transaction:
            company = setup_company()
            cls.company = company.id
            with set_company(company):
                shops = create_shops()
            cls.nevsky, cls.scarf = shops.nevsky.id, shops.scarf.id
            Pool().get('hub_sync.system').create([{'code': SYSTEM,
                        'name': "Тестовая служба доставки",
                        'base_url': cls.carrier.base_url, 'login': 'hub',
                        'password': 's3cret', 'timeout': 2}])
            transaction.commit()

    def tearDown(self):
        self.carrier.reset()
        super().tearDown()

    def step(self, func):
        "func in a committed transaction, as a queue task or RPC would"
        with Transaction().start(DB_NAME, 0, context={
                    'company': self.company, 'language': 'ru'}) as transaction:
            result = func(Pool())
            transaction.commit()
        return result

    def courier_shipment(self):
        "A paid order of 2 scarves, a courier shipment from Nevsky"
        def create(pool):
            Shipment = pool.get('order_shipments.shipment')
            Product = pool.get('product.product')
            Location = pool.get('stock.location')
            order = paid_order([(Product(self.scarf), 2)],
                delivery_service='cdek_courier',
                delivery_address="Невский пр., 28, кв. 5")
            nevsky = Location(self.nevsky)
            return Shipment.request_goods(order, [(order.lines[0],
                        Decimal(2))], nevsky, None, 'courier',
                carrier='test').id
        return self.step(create)

    def submit(self, shipment_id):
        def submit(pool):
            Shipment = pool.get('order_shipments.shipment')
            Shipment.submit_carrier_request([Shipment(shipment_id)])
        self.step(submit)

    def process_outbox(self, shipment_id):
        def pending(pool):
            Outbox = pool.get('hub_sync.outbox')
            return [m.id for m in Outbox.search([
                        ('record', '=',
                            f'order_shipments.shipment,{shipment_id}'),
                        ('operation', '=', CREATE),
                        ('state', '=', 'pending')])]
        ids = self.step(pending)
        self.step(lambda pool: pool.get('hub_sync.outbox').process(
                pool.get('hub_sync.outbox').browse(ids)))
        return ids

    def events(self, shipment_id, events):
        def apply(pool):
            Shipment = pool.get('order_shipments.shipment')
            return len(Shipment.carrier_events(Shipment(shipment_id), events))
        return self.step(apply)

    def read(self, shipment_id):
        def read(pool):
            shipment = pool.get('order_shipments.shipment')(shipment_id)
            order = shipment.order
            return {'state': shipment.state_string,
                'carrier_state': shipment.carrier_state_string,
                'track': shipment.track_number, 'ref': shipment.carrier_ref,
                'error': shipment.carrier_error,
                'attention': bool(shipment.attention),
                'returned': bool(shipment.returned),
                'return_state': shipment.return_state,
                'events': sorted((e.date, e.code, e.state or None,
                        bool(e.attention)) for e in shipment.events),
                'order': order.state_string,
                'items': {l.state_string for l in shipment.lines},
                'receipts': [r.kind for r in order.receipts],
                'log': [e.description for e in order.action_logs
                    if e.kind == 'shipment']}
        return self.step(read)

    def test_request_created_once_with_track_number(self):
        "Submit → «Отправлено», one carrier order, track number, «Доставляется»"
        shipment_id = self.courier_shipment()
        self.assertEqual(self.read(shipment_id)['state'], "Собирается")
        self.submit(shipment_id)
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отправлено", "Отправляется"))
        with self.assertRaises(UserError):
            self.submit(shipment_id)     # a second click sends nothing

        self.process_outbox(shipment_id)
        self.process_outbox(shipment_id)

        shown = self.read(shipment_id)
        self.assertEqual(len(self.carrier.orders), 1)
        ref, = self.carrier.orders.values()
        self.assertEqual((shown['carrier_state'], shown['ref'],
                shown['track']), ("Создана", ref, f'TRACK-{ref}'))
        self.assertEqual(shown['order'], "Доставляется")
        self.assertEqual(shown['items'],
            {"Отправлен на пункт выдачи / передан курьеру"})
        self.assertTrue(any(f'TRACK-{ref}' in e for e in shown['log']))

    def test_refusal_shown_and_request_sent_again(self):
        "The carrier refuses: reason shown; fixed, the request goes again"
        shipment_id = self.courier_shipment()
        self.carrier.refusal = "Не указан номер квартиры"
        self.submit(shipment_id)
        self.process_outbox(shipment_id)
        shown = self.read(shipment_id)
        self.assertEqual(shown['carrier_state'], "Отклонена")
        self.assertIn("Не указан номер квартиры", shown['error'])
        self.assertTrue(any("Не указан номер квартиры" in e
                for e in shown['log']))
        self.assertFalse(self.carrier.orders)

        self.carrier.refusal = None
        self.submit(shipment_id)
        self.process_outbox(shipment_id)
        shown = self.read(shipment_id)
        self.assertEqual(shown['carrier_state'], "Создана")
        self.assertIsNone(shown['error'])
        self.assertEqual(len(self.carrier.orders), 1)

    def test_events_deduplicated_reordered_and_issued(self):
        """Duplicates are dropped, an older event arriving late never moves
        the shipment back; «Вручено» issues the order with its receipt"""
        shipment_id = self.courier_shipment()
        self.submit(shipment_id)
        self.process_outbox(shipment_id)

        self.assertEqual(self.events(shipment_id, [
                    {'code': 'ACCEPTED', 'date': at(0)},
                    {'code': 'ARRIVED', 'date': at(30).isoformat() + 'Z'},
                    ]), 2)
        self.assertEqual(self.read(shipment_id)['state'], "Доставлено")
        # redelivered, with one the carrier sent earlier arriving late
        self.assertEqual(self.events(shipment_id, [
                    {'code': 'ARRIVED', 'date': at(30)},
                    {'code': 'IN_TRANSIT', 'date': '2026-07-01T12:00:00+03:00',
                        'location': "Сортировочный центр"},
                    {'code': 'ACCEPTED', 'date': at(0)},
                    ]), 1)
        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Доставлено")
        self.assertEqual([e[1] for e in shown['events']],
            ['ACCEPTED', 'IN_TRANSIT', 'ARRIVED'])
        self.assertEqual(shown['events'][1][0], at(0))    # 12:00 MSK = 9 UTC

        self.events(shipment_id, [{'code': 'DELIVERED', 'date': at(50)}])
        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Выдан")
        self.assertEqual(shown['order'], "Выдан")
        self.assertEqual(shown['items'], {"Выдан"})
        self.assertIn('settlement', shown['receipts'])

        # a stale «arrived» afterwards changes nothing
        self.events(shipment_id, [{'code': 'ARRIVED', 'date': at(40)}])
        self.assertEqual(self.read(shipment_id)['state'], "Выдан")

    def test_unknown_status_flagged_never_defaulted(self):
        "An unknown code is kept, flagged and logged; nothing moves"
        shipment_id = self.courier_shipment()
        self.submit(shipment_id)
        self.process_outbox(shipment_id)
        self.events(shipment_id, [{'code': 'LOST_IN_SPACE', 'date': at(5),
                    'description': "Посылка улетела", 'raw': {'x': 1}}])
        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Отправлено")
        self.assertTrue(shown['attention'])
        self.assertEqual(shown['events'], [(at(5), 'LOST_IN_SPACE', None,
                    True)])
        self.assertTrue(any("LOST_IN_SPACE" in e for e in shown['log']))

    def test_customer_refusal_marked_as_return(self):
        shipment_id = self.courier_shipment()
        self.submit(shipment_id)
        self.process_outbox(shipment_id)
        self.events(shipment_id, [{'code': 'NOT_DELIVERED', 'date': at(5)}])
        shown = self.read(shipment_id)
        self.assertTrue(shown['returned'])
        self.assertEqual(shown['return_state'], 'returning')
        self.assertEqual(shown['state'], "Отправлено")
        # on its way back, a mapped «arrived» no longer moves the shipment
        self.events(shipment_id, [{'code': 'ARRIVED', 'date': at(6)}])
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['return_state']),
            ("Отправлено", 'returning'))

    def test_cancel_through_the_carrier(self):
        """Cancelled before the goods leave: the carrier's cancel runs; a
        carrier that no longer allows it refuses and nothing changes"""
        def cancel(pool):
            Shipment = pool.get('order_shipments.shipment')
            Shipment.cancel([Shipment(shipment_id)])

        shipment_id = self.courier_shipment()
        self.step(cancel)
        self.assertEqual(self.read(shipment_id)['state'], "Отменено")

        shipment_id = self.courier_shipment()
        self.submit(shipment_id)
        self.process_outbox(shipment_id)
        with self.assertRaises(UserError):
            self.step(cancel)
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отправлено", "Создана"))
