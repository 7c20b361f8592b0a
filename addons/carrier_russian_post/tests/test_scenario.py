"""Russian Post through the shipments: the request form, the Otpravka
order through the real outbox, the forms, tracking by the cron within the
quota, over real HTTP against the Russian Post simulator.  Each step is
committed, as the web client, the queue and the cron would."""
import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from sandbox.clock import FakeClock
from sandbox.russian_post import DEFAULT_CREDENTIALS, RussianPostSimulator
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, committed_step, create_user, set_company, setup_company)
from trytond.modules.order_shipments.tests.tools import (
    create_shops, paid_order)

from ..shipment import CREATE
from ..tracking import valid_barcode

ADDRESS = "630099, г. Новосибирск, ул. Ленина, д. 5, кв. 12"
SHIPMENT = 'order_shipments.shipment'


class RussianPostScenarioTestCase(HubTestCase):
    "Russian Post through the carrier-neutral interface"
    modules = ['carrier_russian_post']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the simulator's clock: each route step of a parcel an hour later
        cls.sim = RussianPostSimulator(clock=FakeClock(
                dt.datetime.now(dt.UTC) - dt.timedelta(days=3)))
        cls.url = cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        with Transaction().start(DB_NAME, 0) as transaction:
            company = setup_company()
            cls.company = company.id
            with set_company(company):
                shops = create_shops()
            cls.nevsky, cls.scarf = shops.nevsky.id, shops.scarf.id
            transaction.commit()

    def setUp(self):
        self.sim.reset()
        self.step(lambda pool: pool.get('hub_sync.system')
            .russian_post_configure_sandbox(self.url, DEFAULT_CREDENTIALS))
        self.configure_tracking(russian_post_daily_quota=100,
            russian_post_paused_until=None, russian_post_quota_day=None,
            russian_post_single_used=0, russian_post_tickets_used=0)
        self.journal_from = self.step(lambda pool: max([0] + [j.id
                    for j in pool.get('hub_sync.journal').search([])]))

    def tearDown(self):
        # the simulator forgets its parcels (barcodes are issued again):
        # the parcels of this test are no longer followed
        def stop(pool):
            Shipment = pool.get(SHIPMENT)
            Shipment.write(Shipment.search([
                        ('carrier_state', '=', 'created')]),
                {'carrier_state': 'cancelled'})
        self.step(stop)
        super().tearDown()

    def step(self, func, user=0):
        "func(pool) in a committed transaction, as a queue task or RPC would"
        return committed_step(self.company, lambda: func(Pool()), user=user)

    def configure_tracking(self, **values):
        def write(pool):
            System = pool.get('hub_sync.system')
            System.write(System.search([
                        ('code', '=', 'russian_post_tracking')]), values)
        self.step(write)

    def shipment(self, address=ADDRESS):
        "A paid order of 2 scarves, a courier shipment from Nevsky"
        def create(pool):
            Shipment = pool.get(SHIPMENT)
            Product = pool.get('product.product')
            Location = pool.get('stock.location')
            order = paid_order([(Product(self.scarf), 2)],
                delivery_service='russian_post', delivery_address=address)
            return Shipment.request_goods(order, [(order.lines[0],
                        Decimal(2))], Location(self.nevsky), None, 'courier',
                carrier='russian_post').id
        return self.step(create)

    def form(self, shipment_id, user=0, **edit):
        """Run the request form as the web client does: open (pre-filled),
        edit, «Проверить», then «Отправить в Почту России».  Returns what
        the manager saw: the defaults and the confirmation."""
        def run(pool):
            Wizard = pool.get('carrier_russian_post.request.wizard',
                type='wizard')
            with Transaction().set_context(active_model=SHIPMENT,
                    active_id=shipment_id, active_ids=[shipment_id]):
                session_id, _, _ = Wizard.create()
                shown = Wizard.execute(session_id, {}, 'start')
                defaults = {k: v for k, v in
                    shown['view']['defaults'].items() if '.' not in k}
                values = {**defaults, **edit}
                confirm = {k: v for k, v in Wizard.execute(session_id,
                        {'start': values}, 'check')['view']['defaults'
                        ].items() if '.' not in k}
                Wizard.execute(session_id, {'confirm': confirm}, 'send')
                Wizard.delete(session_id)
            return defaults, confirm
        return self.step(run, user)

    def process_outbox(self, shipment_id):
        def pending(pool):
            Outbox = pool.get('hub_sync.outbox')
            return [m.id for m in Outbox.search([
                        ('record', '=', f'{SHIPMENT},{shipment_id}'),
                        ('operation', '=', CREATE),
                        ('state', '=', 'pending')])]
        ids = self.step(pending)
        # time passes: the retry is due
        self.step(lambda pool: pool.get('hub_sync.outbox').write(
                pool.get('hub_sync.outbox').browse(ids), {'next_try': None}))
        self.step(lambda pool: pool.get('hub_sync.outbox').process(
                pool.get('hub_sync.outbox').browse(ids)))
        return ids

    def track(self):
        "The cron «Отслеживать отправления служб доставки»"
        self.step(lambda pool: pool.get(SHIPMENT).carrier_track())

    def polled_hours_ago(self, shipment_id, hours):
        "Time passes: the parcel was last polled hours ago"
        def write(pool):
            Shipment = pool.get(SHIPMENT)
            when = dt.datetime.utcnow() - dt.timedelta(hours=hours)
            shipment = Shipment(shipment_id)
            Shipment.write([shipment], {'russian_post_polled': when,
                    'russian_post_ticket_date': when
                    if shipment.russian_post_ticket else None})
        self.step(write)

    def read(self, shipment_id):
        def read(pool):
            shipment = pool.get(SHIPMENT)(shipment_id)
            Attachment = pool.get('ir.attachment')
            order = shipment.order
            return {'state': shipment.state_string,
                'carrier_state': shipment.carrier_state_string,
                'track': shipment.track_number, 'ref': shipment.carrier_ref,
                'error': shipment.carrier_error,
                'returned': bool(shipment.returned),
                'return_state': shipment.return_state_string or None,
                'log': [e.description for e in order.action_logs
                    if e.kind == 'shipment'],
                'ticket': shipment.russian_post_ticket,
                'events': [(e.code, e.description, e.state or None)
                    for e in sorted(shipment.events, key=lambda e: e.date)],
                'documents': {a.name: bytes(a.data)[:4]
                    for a in Attachment.search([
                            ('resource', '=', str(shipment))])},
                'requests': len(shipment.russian_post_requests),
                'order': order.state_string,
                'receipts': [r.kind for r in order.receipts]}
        return self.step(read)

    def journal(self):
        def read(pool):
            Journal = pool.get('hub_sync.journal')
            return [(j.outcome, j.summary) for j in Journal.search([
                        ('system', '=', 'russian_post_tracking'),
                        ('id', '>', self.journal_from)])]
        return self.step(read)

    def created(self, **edit):
        "A shipment whose Russian Post order is created"
        shipment_id = self.shipment()
        self.form(shipment_id, **edit)
        self.process_outbox(shipment_id)
        return shipment_id

    def advance(self, barcode, steps):
        for _ in range(steps):
            self.sim.clock.advance(3600)
            self.sim.advance_parcel(barcode)

    def orders_of(self, shipment_id):
        number = self.step(lambda pool: pool.get(SHIPMENT)(
                shipment_id).number)
        return [o for o in self.sim.backlog.values()
            if o['order-num'] == number]

    # -- scenarios -----------------------------------------------------------
    def test_form_to_issued(self):
        """Form (pre-filled, address cleaned, price) → order created once,
        batched, barcode, label → tracking → «Доставлено» → «Выдан», the
        order «Выдан» with its full-settlement receipt"""
        shipment_id = self.shipment()
        defaults, confirm = self.form(shipment_id, mass=1500, length=30,
            width=20, height=10, comment="Хрупкое: шарфы")
        self.assertEqual((defaults['surname'], defaults['given_name'],
                defaults['middle_name']), ("Иванова", "Мария", "Петровна"))
        self.assertIn("Ленина", defaults['address'])
        self.assertEqual(defaults['phone'], '+7 916 123-45-67')
        self.assertEqual(confirm['cleaned_name'], "Иванова Мария Петровна")
        self.assertEqual((confirm['cleaned_phone'], confirm['phone']),
            ("+7 916 1234567", "+79161234567"))
        self.assertIn("630099", confirm['cleaned_address'])
        self.assertIn("ул. Ленина", confirm['cleaned_address'])
        self.assertGreater(confirm['tariff_price'], 0)
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state'],
                shown['requests']), ("Отправлено", "Отправляется", 1))

        self.process_outbox(shipment_id)
        self.process_outbox(shipment_id)        # nothing left to send
        shown = self.read(shipment_id)
        orders = self.orders_of(shipment_id)
        self.assertEqual(len(orders), 1)
        order, = orders
        self.assertEqual((order['mass'], order['dimension']['length'],
                order['comment'], order['index-to'], order['given-name']),
            (1500, 30, "Хрупкое: шарфы", 630099, "Мария"))
        self.assertTrue(order.get('_batch'))
        self.assertEqual(shown['carrier_state'], "Создана")
        self.assertTrue(valid_barcode(shown['track']))
        self.assertEqual(shown['track'], order['barcode'])
        self.assertEqual(shown['documents'], {'f7p.pdf': b'%PDF'})
        self.assertEqual(shown['order'], "Доставляется")

        self.advance(shown['track'], 7)          # … arrived at the office
        self.track()
        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Доставлено")
        self.assertEqual([e[0] for e in shown['events']], ['1.1', '8.1',
                '8.3', '8.4', '8.3', '8.4', '8.2'])
        self.assertEqual(shown['events'][0][2], 'sent')

        self.advance(shown['track'], 1)          # handed to the addressee
        self.track()                             # polled recently: waits
        self.assertEqual(self.read(shipment_id)['state'], "Доставлено")
        self.polled_hours_ago(shipment_id, 3)
        self.track()
        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Выдан")
        self.assertEqual(shown['events'][-1][:1], ('2.1',))
        self.assertEqual(shown['order'], "Выдан")
        self.assertIn('settlement', shown['receipts'])

    def test_manager_fills_the_form(self):
        """A manager (no write access to shipments) runs the form: the
        wizard is granted to managers by its action's groups"""
        manager = self.step(lambda pool: create_user('rp.manager',
                ['group_manager']).id)
        shipment_id = self.shipment()
        _, confirm = self.form(shipment_id, user=manager)
        self.assertTrue(confirm['confirmed'])
        shown = self.read(shipment_id)
        self.assertEqual((shown['requests'], shown['carrier_state']),
            (1, "Отправляется"))

    def test_name_and_phone_cleaned(self):
        """Russian Post's name cleaning splits and capitalises what the
        manager typed (shown, and sent); a phone it cannot read is refused
        in Russian, nothing sent"""
        shipment_id = self.shipment()
        with self.assertRaises(UserError) as caught:
            self.form(shipment_id, phone='1234567890')
        self.assertIn("не может распознать телефон", caught.exception.message)
        self.assertEqual(self.read(shipment_id)['requests'], 0)

        _, confirm = self.form(shipment_id, surname="иванова",
            given_name="мария петровна", middle_name=None, phone=None)
        self.assertEqual((confirm['surname'], confirm['given_name'],
                confirm['middle_name'], confirm['cleaned_name']),
            ("Иванова", "Мария", "Петровна", "Иванова Мария Петровна"))
        self.assertIsNone(confirm['cleaned_phone'])
        self.process_outbox(shipment_id)
        order, = self.orders_of(shipment_id)
        self.assertEqual((order['surname'], order['given-name'],
                order.get('middle-name')), ("Иванова", "Мария", "Петровна"))

    def test_returned_to_sender(self):
        """Refused at the office (3.x): «Возвращается», the shipment's
        state kept; handed back to the sender (2.2): «Возвращено
        отправителю», logged on the order"""
        shipment_id = self.created()
        track = self.read(shipment_id)['track']
        self.advance(track, 7)                   # at the office
        self.sim.add_operation(track, 3, 1)      # return: storage expired
        self.track()
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['return_state'],
                shown['returned']), ("Доставлено", "Возвращается", True))
        self.advance(track, 7)                   # … back to the sender
        self.polled_hours_ago(shipment_id, 7)
        self.track()
        shown = self.read(shipment_id)
        self.assertEqual(shown['events'][-1][0], '2.2')
        self.assertEqual((shown['state'], shown['return_state']),
            ("Доставлено", "Возвращено отправителю"))
        self.assertTrue(any("вернула посылку отправителю" in line
                for line in shown['log']))

    def test_cash_on_delivery_prints_f112(self):
        "COD: category, amount ≤ declared value, F112 attached"
        with self.assertRaises(UserError) as caught:
            self.form(self.shipment(), mail_category=(
                    'WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY'),
                declared_value=Decimal('100'), cash_on_delivery=Decimal(
                    '500'))
        self.assertIn("не может превышать", caught.exception.message)
        shipment_id = self.created(
            mail_category='WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY',
            declared_value=Decimal('3980'), cash_on_delivery=Decimal('3980'))
        shown = self.read(shipment_id)
        self.assertEqual(set(shown['documents']), {'f7p.pdf', 'f112.pdf'})
        order, = self.orders_of(shipment_id)
        self.assertEqual((order['payment'], order['insr-value']),
            (398000, 398000))

    def test_address_cannot_be_cleaned(self):
        "A clear Russian message, nothing stored, nothing sent"
        shipment_id = self.shipment(address="где-то за углом")
        with self.assertRaises(UserError) as caught:
            self.form(shipment_id)
        self.assertIn("не смогла разобрать адрес", caught.exception.message)
        self.assertIn("ничего не отправлено", caught.exception.message)
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state'],
                shown['requests']), ("Собирается", '', 0))
        self.assertFalse(self.orders_of(shipment_id))

    def test_service_down_kept_and_retried_never_twice(self):
        """Otpravka down: the message waits; its answer lost after the
        creation: the retry finds the order, one order only"""
        shipment_id = self.shipment()
        self.form(shipment_id)
        self.sim.faults.add(kind='down', endpoint='/1.0/*')
        self.process_outbox(shipment_id)
        shown = self.read(shipment_id)
        self.assertEqual(shown['carrier_state'], "Отправляется")
        self.assertFalse(self.orders_of(shipment_id))
        self.sim.faults.clear()
        # created, then Russian Post fails at the batch: retried later
        self.sim.faults.add(kind='error', endpoint='/1.0/user/shipment',
            status=503, count=1)
        self.process_outbox(shipment_id)
        self.assertEqual(self.read(shipment_id)['carrier_state'],
            "Отправляется")
        self.assertEqual(len(self.orders_of(shipment_id)), 1)
        self.process_outbox(shipment_id)
        shown = self.read(shipment_id)
        self.assertEqual(shown['carrier_state'], "Создана")
        self.assertEqual(len(self.orders_of(shipment_id)), 1)

        # tracking down: journal «Будет повторено», then it catches up
        self.advance(shown['track'], 1)
        self.sim.faults.add(kind='down', endpoint='/rtm34*')
        self.track()
        self.assertEqual(self.read(shipment_id)['events'], [])
        self.assertEqual([j[0] for j in self.journal()], ['retry'])
        self.sim.faults.clear()
        self.track()
        self.assertEqual([e[0] for e in self.read(shipment_id)['events']],
            ['1.1'])

    def test_quota_reached_waits_for_next_day(self):
        "The daily limit answered in-band: no request until the next day"
        shipment_id = self.created()
        track = self.read(shipment_id)['track']
        self.advance(track, 1)
        self.sim.exhaust_quota('single')
        used = self.sim.quota()['single']
        self.track()
        self.assertEqual(self.read(shipment_id)['events'], [])
        outcome, summary = self.journal()[0]
        self.assertEqual(outcome, 'retry')
        self.assertIn("лимит", summary)
        self.polled_hours_ago(shipment_id, 7)
        self.track()                     # paused: nothing asked
        self.assertEqual(self.sim.quota()['single'], used + 1)
        self.assertEqual(len(self.journal()), 1)

    def test_ticket_not_ready_asked_again(self):
        "Batch ticket: not ready → kept and asked again; then the events"
        self.configure_tracking(russian_post_daily_quota=0)
        shipment_id = self.created()
        track = self.read(shipment_id)['track']
        self.advance(track, 2)
        self.track()
        ticket = self.read(shipment_id)['ticket']
        self.assertTrue(ticket)
        self.sim.hold_tickets(3600)
        self.polled_hours_ago(shipment_id, 1)
        self.track()
        shown = self.read(shipment_id)
        self.assertEqual((shown['ticket'], shown['events']), (ticket, []))
        self.sim.hold_tickets(0)
        self.track()
        shown = self.read(shipment_id)
        self.assertIsNone(shown['ticket'])
        self.assertEqual([e[0] for e in shown['events']], ['1.1', '8.1'])

    def test_bad_login_shown_to_administrator(self):
        "Tracking login refused: «Требует внимания» in the sync journal"
        shipment_id = self.created()
        self.configure_tracking(password='wrong')
        self.track()
        self.assertEqual(self.read(shipment_id)['events'], [])
        outcome, summary = self.journal()[0]
        self.assertEqual(outcome, 'attention')

    def test_cancel_before_creation_and_once_batched(self):
        """Cancel before the order is made: nothing reaches Russian Post;
        once batched the order is deleted from its batch; an order deleted
        in the Otpravka account already: refused, nothing changes"""
        shipment_id = self.shipment()
        self.form(shipment_id)

        def cancel_of(shipment_id):
            return lambda pool: pool.get(SHIPMENT).cancel(
                [pool.get(SHIPMENT)(shipment_id)])
        self.step(cancel_of(shipment_id))
        self.assertEqual(self.process_outbox(shipment_id), [])
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отменено", "Отменена"))
        self.assertFalse(self.orders_of(shipment_id))

        shipment_id = self.created()
        [order] = self.orders_of(shipment_id)
        self.assertTrue(order.get('_batch'))
        self.step(cancel_of(shipment_id))
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отменено", "Отменена"))
        self.assertFalse(self.orders_of(shipment_id))

        shipment_id = self.created()
        [order] = self.orders_of(shipment_id)
        del self.sim.backlog[order['id']]     # deleted in the account
        with self.assertRaises(UserError) as caught:
            self.step(cancel_of(shipment_id))
        self.assertIn("ни среди новых", caught.exception.message)
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отправлено", "Создана"))


del HubTestCase
