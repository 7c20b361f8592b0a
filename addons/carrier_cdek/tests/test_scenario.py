"""CDEK through the shipments' carrier interface, over real HTTP both ways:
the request form against CDEK's lists, the order through the outbox,
labels, webhooks from the simulator into the hub's route, polling,
cancel; CDEK refusing, down, slow.  Each step is committed, as the queue,
the cron and the web client would."""
import time
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from trytond.modules.hub_sync.tests.endpoint import HubEndpoint
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, committed_step, set_company, setup_company)
from trytond.modules.order_shipments.tests.tools import (
    create_shops, paid_order)


class CdekScenario(HubTestCase):
    "CDEK plugged into shipments"
    modules = ['carrier_cdek']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import sandbox
        cls.sandbox = sandbox.start(['cdek'])
        cls.addClassCleanup(cls.sandbox.stop)
        cls.sim = cls.sandbox['cdek']
        cls.hub = HubEndpoint()
        cls.addClassCleanup(cls.hub.stop)
        with Transaction().start(DB_NAME, 0) as transaction:
            company = setup_company()
            cls.company = company.id
            with set_company(company):
                shops = create_shops()
            cls.nevsky, cls.scarf = shops.nevsky.id, shops.scarf.id
            City = Pool().get('order_hub.city')
            cls.moscow, = [c.id for c in City.search(
                        [('name', '=', "Москва")])]
            transaction.commit()

    def setUp(self):
        super().setUp()
        self.sim.reset()
        self.sim.processing(delay=0.2)
        account = self.sim.credentials()

        def configure(pool):
            System = pool.get('hub_sync.system')
            System.cdek_configure_sandbox(self.sandbox.urls['cdek'],
                account['client_id'], account['client_secret'],
                hub_url=f'{self.hub.url}')
            System.write(System.search([('code', '=', 'cdek')]),
                {'timeout': 2})
        self.step(configure)

    def step(self, func, **context):
        "func(pool) in a committed transaction, as a queue task or RPC would"
        return committed_step(self.company, lambda: func(Pool()), **context)

    # -- building blocks ---------------------------------------------------------
    def shipment(self, delivery_type='pickup_point'):
        "A paid order of 2 scarves to Moscow, a CDEK shipment from Nevsky"
        def create(pool):
            Shipment = pool.get('order_shipments.shipment')
            Product = pool.get('product.product')
            Location = pool.get('stock.location')
            order = paid_order([(Product(self.scarf), 2)],
                delivery_city=self.moscow,
                delivery_service='cdek_pickup',
                delivery_address="ул. Тверская, 7, кв. 12")
            return Shipment.request_goods(order, [(order.lines[0],
                        Decimal(2))], Location(self.nevsky), None,
                delivery_type, carrier='cdek').id
        return self.step(create)

    def open_form(self, shipment_id):
        "«Создать заявку в службу доставки»: the request's id"
        def open_(pool):
            Shipment = pool.get('order_shipments.shipment')
            action = Shipment.request_carrier([Shipment(shipment_id)])
            self.assertEqual(action['res_model'], 'carrier_cdek.request')
            return action['res_id'][0]
        return self.step(open_)

    def request(self, request_id, button=None, **values):
        def run(pool):
            Request = pool.get('carrier_cdek.request')
            request = Request(request_id)
            if values:
                Request.write([request], values)
            if button:
                getattr(Request, button)([request])
            request = Request(request_id)
            return {name: getattr(request, name) for name in (
                    'state', 'recipient_name', 'recipient_phone',
                    'to_city_code', 'from_city_code', 'shipment_point',
                    'delivery_point', 'delivery_point_info', 'points_found',
                    'tariff_code', 'tariff_name', 'delivery_sum',
                    'period_min', 'tariffs_found', 'number')} | {
                'items': [(i.name, i.quantity, i.cost) for i in
                    request.items],
                'packages': [(p.id, p.weight) for p in request.packages]}
        return self.step(run)

    def ready_request(self, shipment_id):
        "The form opened, points found and tariffs calculated"
        request_id = self.open_form(shipment_id)
        self.request(request_id, 'find_points')
        self.request(request_id, 'calculate')
        return request_id

    def run_queue(self, rounds=6):
        "Process due outbox messages and inbox events, serve webhooks"
        def due(pool):
            for name in ('hub_sync.outbox', 'hub_sync.inbox'):
                model = pool.get(name)
                pending = model.search([('state', '=', 'pending')])
                # time passes: the back-off of a retry is over
                model.write(pending, {'next_try': None})
                Transaction().commit()
                model.process(pending)
        for _ in range(rounds):
            self.step(due)
            self.sim.webhooks.wait_idle(2)
            if not self.hub.pump(idle=0.3) and not self.pending():
                return

    def pending(self):
        def pending(pool):
            return sum(pool.get(n).search([('state', '=', 'pending')],
                    count=True)
                for n in ('hub_sync.outbox', 'hub_sync.inbox'))
        return self.step(pending)

    def advance(self, shipment_id, until):
        "CDEK moves the parcel on its route up to the status `until`"
        number = self.read(shipment_id)['ref']
        for _ in range(20):
            status = self.sim.advance_order(uuid=number)['status']
            if status == until:
                return
        self.fail(f'{until} never reached')

    def read(self, shipment_id):
        def read(pool):
            Attachment = pool.get('ir.attachment')
            shipment = pool.get('order_shipments.shipment')(shipment_id)
            order = shipment.order
            return {'state': shipment.state_string,
                'carrier_state': shipment.carrier_state_string,
                'track': shipment.track_number, 'ref': shipment.carrier_ref,
                'error': shipment.carrier_error,
                'returned': bool(shipment.returned),
                'codes': [e.code for e in sorted(shipment.events,
                        key=lambda e: e.date)],
                'order': order.state_string,
                'receipts': [r.kind for r in order.receipts],
                'documents': sorted((a.name, bytes(a.data)[:5])
                    for a in Attachment.search([
                            ('resource', '=', str(shipment))]))}
        return self.step(read)

    def live_orders(self):
        return [o for o in self.sim.list_orders()
            if o['status'] not in {'INVALID', 'REMOVED'}]

    # -- scenarios ---------------------------------------------------------------
    def test_form_order_labels_webhooks_issued(self):
        """Form pre-filled and checked against CDEK's lists → one CDEK order
        with its track number → waybill and label PDFs → webhooks move the
        shipment to «Выдан», the order is issued with its receipt"""
        shipment_id = self.shipment()
        request_id = self.open_form(shipment_id)
        self.assertEqual(self.open_form(shipment_id), request_id)
        shown = self.request(request_id)
        self.assertEqual(shown['recipient_name'], "Иванова Мария Петровна")
        self.assertEqual((shown['to_city_code'], shown['from_city_code']),
            (44, 137))
        self.assertTrue(shown['shipment_point'].startswith('SPB'))
        self.assertTrue(shown['number'].startswith('OT-'))
        (name, quantity, cost), = shown['items']
        self.assertIn("Шарф шерстяной", name)
        self.assertEqual((quantity, cost), (2, Decimal('1990.00')))

        shown = self.request(request_id, 'find_points')
        self.assertIn('MSK2', shown['points_found'])
        self.assertIn("наличные", shown['points_found'])
        self.assertTrue(shown['delivery_point'].startswith('MSK'))
        shown = self.request(request_id, 'calculate', delivery_point='MSK2')
        self.assertEqual(shown['tariff_code'], 136)
        self.assertGreater(shown['delivery_sum'], 0)
        self.assertIn("136", shown['tariffs_found'])

        self.request(request_id, 'send')
        self.assertIn("пр-т Мира",
            self.request(request_id)['delivery_point_info'])
        shown = self.read(shipment_id)
        self.assertEqual(shown['carrier_state'], "Отправляется")
        with self.assertRaises(UserError):
            self.request(request_id, 'send')      # a second click

        self.run_queue()
        shown = self.read(shipment_id)
        order, = self.live_orders()
        self.assertEqual((shown['carrier_state'], shown['ref'],
                shown['track']), ("Создана", order['uuid'],
                order['cdek_number']))
        self.assertEqual(shown['order'], "Доставляется")
        self.assertEqual([kind for kind, _ in [
                    (n.split()[1], d) for n, d in shown['documents']]],
            ['накладная', 'этикетка'])
        self.assertTrue(all(d == b'%PDF-' for _, d in shown['documents']))

        self.advance(shipment_id, 'RECEIVED_AT_SHIPMENT_WAREHOUSE')
        self.run_queue()
        self.assertEqual(self.read(shipment_id)['state'], "Отправлено")
        self.advance(shipment_id, 'ACCEPTED_AT_PICK_UP_POINT')
        self.run_queue()
        self.assertEqual(self.read(shipment_id)['state'], "Доставлено")
        self.advance(shipment_id, 'DELIVERED')
        self.run_queue()
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['order']), ("Выдан", "Выдан"))
        self.assertIn('settlement', shown['receipts'])
        self.assertEqual(shown['codes'][-1], 'DELIVERED')
        self.assertIn('ACCEPTED_AT_PICK_UP_POINT', shown['codes'])

    def test_invalid_order_reasons_shown_then_sent_again(self):
        "CDEK finds the request INVALID: its reason shown; fixed, sent again"
        shipment_id = self.shipment()
        request_id = self.ready_request(shipment_id)
        self.request(request_id, 'send', shipment_point='SPB999')
        self.run_queue()
        shown = self.read(shipment_id)
        self.assertEqual(shown['carrier_state'], "Отклонена")
        self.assertIn("СДЭК", shown['error'])
        self.assertIn("SPB999", shown['error'])
        self.assertFalse(self.live_orders())

        self.assertEqual(self.open_form(shipment_id), request_id)
        self.request(request_id, 'send', shipment_point='SPB6')
        self.run_queue()
        shown = self.read(shipment_id)
        self.assertEqual(shown['carrier_state'], "Создана")
        self.assertEqual(len(self.live_orders()), 1)

    def test_cdek_down_kept_and_retried(self):
        "CDEK down: «Отправляется», kept; CDEK back: created once"
        shipment_id = self.shipment()
        request_id = self.ready_request(shipment_id)
        self.request(request_id, 'send')
        rule = self.sim.faults.add(kind='down', endpoint='/v2/orders*')
        self.run_queue(rounds=2)
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отправлено", "Отправляется"))
        self.assertGreater(rule.hits, 0)
        self.assertFalse(self.sim.list_orders())
        self.sim.faults.clear()
        self.run_queue()
        self.assertEqual(self.read(shipment_id)['carrier_state'], "Создана")
        self.assertEqual(len(self.live_orders()), 1)

    def test_timeout_after_create_never_makes_two(self):
        """CDEK creates the order but answers too late: the retry finds it
        by our number and adopts it"""
        shipment_id = self.shipment()
        request_id = self.ready_request(shipment_id)
        self.request(request_id, 'send')
        self.sim.faults.add(kind='slow', endpoint='/v2/orders',
            method='POST', count=1, delay=3)
        self.run_queue(rounds=1)
        self.assertEqual(self.read(shipment_id)['carrier_state'],
            "Отправляется")
        time.sleep(2)       # the slow request ends at CDEK meanwhile
        self.run_queue()
        shown = self.read(shipment_id)
        self.assertEqual(shown['carrier_state'], "Создана")
        self.assertEqual(len(self.sim.list_orders()), 1)

    def test_webhooks_duplicated_reordered_forged(self):
        """Duplicated and reordered webhooks are harmless; a webhook with a
        wrong token is refused, and a status CDEK does not confirm moves
        nothing"""
        from trytond.wsgi import app
        from werkzeug.test import Client

        shipment_id = self.shipment()
        request_id = self.ready_request(shipment_id)
        self.request(request_id, 'send')
        self.run_queue()
        self.sim.faults.add(kind='webhook_duplicate', count=10)
        self.sim.faults.add(kind='webhook_reorder', count=3)
        self.advance(shipment_id, 'ACCEPTED_AT_PICK_UP_POINT')
        self.run_queue()
        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Доставлено")
        self.assertEqual(len(shown['codes']), len(set(shown['codes'])))

        shown = self.read(shipment_id)
        forged = ('{"type": "ORDER_STATUS", "uuid": "%s", "attributes": '
            '{"code": "DELIVERED", "status_date_time": '
            '"2030-01-01T10:00:00+0300"}}' % shown['ref'])
        client = Client(app)
        response = client.post(f'/{DB_NAME}/carrier_cdek/webhook/wrong',
            data=forged, content_type='application/json')
        self.assertEqual(response.status_code, 403)
        secret = self.step(lambda pool: pool.get('hub_sync.system').get(
                'cdek').secret)
        response = client.post(f'/{DB_NAME}/carrier_cdek/webhook/{secret}',
            data=forged, content_type='application/json')
        self.assertEqual(response.status_code, 200)
        self.run_queue()
        self.assertEqual(self.read(shipment_id)['state'], "Доставлено")

    def test_polling_when_webhooks_are_lost(self):
        "Webhooks lost: the tracking cron reads the order and catches up"
        shipment_id = self.shipment()
        request_id = self.ready_request(shipment_id)
        self.request(request_id, 'send')
        self.run_queue()
        self.sim.faults.add(kind='webhook_drop')
        self.advance(shipment_id, 'ACCEPTED_AT_PICK_UP_POINT')
        self.run_queue()
        self.assertEqual(self.read(shipment_id)['state'], "Отправлено")
        self.step(lambda pool: pool.get(
                'order_shipments.shipment').carrier_track(),
            cdek_poll_quiet_hours=0)
        self.assertEqual(self.read(shipment_id)['state'], "Доставлено")

        # the customer refuses at the point: shown as a return
        self.sim.set_order_status('NOT_DELIVERED', uuid=self.read(
                shipment_id)['ref'], reason_code='11')
        self.step(lambda pool: pool.get(
                'order_shipments.shipment').carrier_track(),
            cdek_poll_quiet_hours=0)
        shown = self.read(shipment_id)
        self.assertTrue(shown['returned'])
        self.assertEqual((shown['state'], shown['codes'][-1]),
            ("Доставлено", 'NOT_DELIVERED'))

    def test_cancel_while_cdek_allows(self):
        """Cancelled before hand-over: the CDEK order is deleted; once CDEK
        has the parcel, a Russian refusal and nothing changes"""
        def cancel(pool):
            Shipment = pool.get('order_shipments.shipment')
            Shipment.cancel([Shipment(shipment_id)])

        shipment_id = self.shipment()
        self.request(self.ready_request(shipment_id), 'send')
        self.run_queue()
        self.step(cancel)
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отменено", "Отменена"))
        self.assertFalse(self.live_orders())

        shipment_id = self.shipment()
        self.request(self.ready_request(shipment_id), 'send')
        self.run_queue()
        self.advance(shipment_id, 'RECEIVED_AT_SHIPMENT_WAREHOUSE')
        with self.assertRaises(UserError) as raised:
            self.step(cancel)
        self.assertIn("нельзя удалить", str(raised.exception))
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отправлено", "Создана"))

    def test_invalid_input_refused_in_russian(self):
        "Bad input is refused in the form, in Russian; nothing is sent"
        shipment_id = self.shipment()
        request_id = self.ready_request(shipment_id)
        cases = [({'recipient_phone': '12-34'}, "телефон"),
            ({'delivery_point': 'MSK999'}, "MSK999"),
            ({'delivery_point': 'MSK1234'}, "постамат"),
            ({'tariff_code': 999}, "тариф"),
            ]
        for values, text in cases:
            with self.subTest(values=values):
                with self.assertRaises(UserError) as raised:
                    self.request(request_id, 'send', **values)
                self.assertIn(text, str(raised.exception).lower()
                    if text.islower() else str(raised.exception))
        package_id = self.request(request_id)['packages'][0][0]

        def zero_weight(pool):
            Package = pool.get('carrier_cdek.request.package')
            Package.write([Package(package_id)], {'weight': 0})
        self.step(zero_weight)
        with self.assertRaises(UserError) as raised:
            self.request(request_id, 'send')
        self.assertIn("вес", str(raised.exception))
        shown = self.read(shipment_id)
        self.assertIsNone(shown['carrier_state'] or None)
        self.assertEqual(shown['state'], "Собирается")
        self.assertFalse(self.sim.list_orders())
        self.assertEqual(self.request(request_id)['state'], 'draft')


del HubTestCase
