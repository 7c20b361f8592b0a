"""CDEK simulator: print forms, the full order-info shape, webhook variants.

Driven over HTTP with requests, on a FakeClock (see test_cdek.py)."""
import re
import unittest

from sandbox.tests.test_cdek import CdekTestCase, HookReceiver, order_body

UUID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
    r'[0-9a-f]{12}$')
API_TIME = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$')


class OrderShapeTest(CdekTestCase):
    "Order info holds what the real answer holds (cdek.md §4, §5)"

    def test_point_order_shape(self):
        order_uuid = self.create(packages=[{'number': 'SO-1001-1',
                    'weight': 1200, 'length': 30, 'width': 20, 'height': 10,
                    'items': [{'name': 'Кроссовки', 'ware_key': 'SKU-1',
                            'payment': {'value': 5990, 'vat_rate': 20},
                            'cost': 5990, 'weight': 1100, 'amount': 1}]}],
            delivery_recipient_cost={'value': 300, 'vat_rate': 20})
        entity = self.wait_processed(order_uuid)['entity']
        self.assertIsInstance(entity['cdek_number'], str)
        self.assertEqual(entity['delivery_mode'], '4')
        # sender and seller filled from the contract, passports flagged
        self.assertIn('phones', entity['sender'])
        self.assertIs(entity['sender']['passport_requirements_satisfied'],
            False)
        self.assertIn('name', entity['seller'])
        # locations of the chosen points, with CDEK's additions
        to = entity['to_location']
        self.assertEqual((to['code'], to['city'], to['country_code']),
            (270, 'Новосибирск', 'RU'))
        self.assertTrue(UUID.match(to['city_uuid']))
        self.assertEqual(to['address'], 'ул. Ленина, 12')
        self.assertIsInstance(to['latitude'], float)
        self.assertEqual(entity['from_location']['city'], 'Москва')
        # VAT sums
        item = entity['packages'][0]['items'][0]
        self.assertEqual(item['payment']['vat_sum'], 998.33)
        self.assertEqual(item['weight_gross'], 1100)
        self.assertEqual(entity['delivery_recipient_cost']['vat_sum'], 50.0)
        package = entity['packages'][0]
        self.assertEqual(package['comment'], '')
        self.assertEqual(package['weight_calc'], 1200)
        detail = entity['delivery_detail']
        self.assertGreater(detail['delivery_sum'], 0)
        self.assertEqual(detail['delivery_vat_rate'], 20)
        self.assertIsInstance(detail['delivery_vat_sum'], float)
        # statuses newest first, each with code, name, date_time, city
        codes = [s['code'] for s in entity['statuses']]
        self.assertEqual(codes, ['CREATED', 'ACCEPTED'])
        created = entity['statuses'][0]
        self.assertEqual(created['name'], 'Создан')
        self.assertTrue(API_TIME.match(created['date_time']))
        self.assertEqual(created['city'], 'Москва')
        self.assertTrue(UUID.match(created['city_uuid']))
        self.assertIs(created['deleted'], False)
        self.assertEqual(entity['delivery_problem'], [])

    def test_door_order_keeps_the_address(self):
        order_uuid = self.create(tariff_code=137, delivery_point=None,
            to_location={'code': 270, 'address': 'ул. Ленина, 1, кв. 5',
                'postal_code': '630099'})
        to = self.wait_processed(order_uuid)['entity']['to_location']
        self.assertEqual((to['address'], to['postal_code'], to['region']),
            ('ул. Ленина, 1, кв. 5', '630099', 'Новосибирская область'))

    def test_delivered_detail(self):
        order_uuid = self.create()
        self.wait_processed(order_uuid)
        self.control.action('set_order_status', uuid=order_uuid,
            code='DELIVERED')
        entity = self.call('GET', f'/orders/{order_uuid}').json()['entity']
        detail = entity['delivery_detail']
        self.assertEqual(detail['recipient_name'], 'Иванов Иван')
        self.assertIn('date', detail)
        self.assertIn('delivery_sum', detail)
        self.assertEqual(entity['packages'][0]['items'][0]['delivery_amount'],
            1)


class ReferenceShapeTest(CdekTestCase):
    "Cities and delivery points as CDEK lists them (§9)"

    def test_city(self):
        city, = self.call('GET', '/location/cities',
            params={'city': 'Казань'}).json()
        self.assertEqual((city['code'], city['country_code'],
                city['payment_limit']), (424, 'RU', -1))
        self.assertTrue(UUID.match(city['city_uuid']))

    def test_point(self):
        point, = self.call('GET', '/deliverypoints',
            params={'code': 'NSK1'}).json()
        self.assertEqual(point['type'], 'PVZ')
        self.assertEqual(point['location']['city_code'], 270)
        self.assertTrue(UUID.match(point['location']['city_uuid']))
        self.assertEqual(point['work_time_list'][0], {'day': 1,
                'time': '09:00/21:00'})
        self.assertIsInstance(point['weight_max'], int)
        for flag in ('have_cash', 'have_cashless', 'allowed_cod'):
            self.assertIsInstance(point[flag], bool)


class PrintFormTest(CdekTestCase):
    "POST /v2/print/orders|barcodes, GET by uuid, then the PDF (§6)"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = HookReceiver()
        cls.hook_url = cls.receiver.start() + '/cdek/hook'

    @classmethod
    def tearDownClass(cls):
        cls.receiver.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.receiver.reset()

    def created_order(self):
        order_uuid = self.create()
        return self.wait_processed(order_uuid)['entity']

    def test_waybill(self):
        self.call('POST', '/webhooks', json={'type': 'PRINT_FORM',
                'url': self.hook_url})
        order = self.created_order()
        response = self.call('POST', '/print/orders', json={
                'orders': [{'order_uuid': order['uuid']}], 'copy_count': 2})
        self.assertEqual(response.status_code, 202)
        body = response.json()
        self.assertEqual(body['requests'][0]['state'], 'ACCEPTED')
        form_uuid = body['entity']['uuid']
        pending = self.call('GET', f'/print/orders/{form_uuid}').json()
        self.assertNotIn('url', pending['entity'])
        self.assertEqual(pending['entity']['statuses'][-1]['code'],
            'ACCEPTED')
        self.clock.advance(self.sim.processing_delay)
        ready = self.call('GET', f'/print/orders/{form_uuid}').json()
        entity = ready['entity']
        self.assertEqual([s['code'] for s in entity['statuses']],
            ['ACCEPTED', 'PROCESSING', 'READY'])
        self.assertEqual(entity['copy_count'], 2)
        self.assertTrue(entity['url'].endswith(f'/v2/print/orders/'
                f'{form_uuid}.pdf'))
        pdf = self.session.get(entity['url'], timeout=5)
        self.assertEqual(pdf.headers['Content-Type'], 'application/pdf')
        self.assertTrue(pdf.content.startswith(b'%PDF-1.4'))
        self.assertIn(order['cdek_number'].encode(), pdf.content)
        self.assertTrue(pdf.content.rstrip().endswith(b'%%EOF'))
        self.assert_pdf_structure(pdf.content)
        # the order lists its waybill; a PRINT_FORM webhook went out
        info = self.call('GET', f"/orders/{order['uuid']}").json()['entity']
        self.assertEqual(info['related_entities'][0]['type'], 'waybill')
        self.sim.webhooks.wait_idle()
        hook, = self.receiver.received
        self.assertEqual((hook['type'], hook['uuid'],
                hook['attributes']['type'], hook['attributes']['url']),
            ('PRINT_FORM', form_uuid, 'WAYBILL', entity['url']))

    def assert_pdf_structure(self, data):
        "The cross-reference table points at the objects (a real PDF)"
        start = int(re.search(rb'startxref\n(\d+)', data).group(1))
        self.assertTrue(data[start:].startswith(b'xref'))
        offsets = re.findall(rb'(\d{10}) 00000 n', data[start:])
        self.assertEqual(len(offsets), 5)
        for number, offset in enumerate(offsets, 1):
            self.assertTrue(data[int(offset):].startswith(
                    b'%d 0 obj' % number))

    def test_barcode_by_cdek_number_and_expiry(self):
        order = self.created_order()
        response = self.call('POST', '/print/barcodes', json={
                'orders': [{'cdek_number': int(order['cdek_number'])}],
                'format': 'A6'})
        form_uuid = response.json()['entity']['uuid']
        self.clock.advance(self.sim.processing_delay)
        entity = self.call('GET', f'/print/barcodes/{form_uuid}'
            ).json()['entity']
        self.assertEqual((entity['format'], entity['lang'],
                entity['copy_count']), ('A6', 'RUS', 1))
        self.assertEqual(self.session.get(entity['url'], timeout=5
                ).status_code, 200)
        self.clock.advance(3601)
        # the token expired too (an hour): a new one
        self.session.headers['Authorization'] = 'Bearer ' + self.get_token()
        expired = self.call('GET', f'/print/barcodes/{form_uuid}'
            ).json()['entity']
        self.assertEqual(expired['statuses'][-1]['code'], 'REMOVED')
        self.assertNotIn('url', expired)
        gone = self.session.get(entity['url'], timeout=5)
        self.assertEqual(gone.status_code, 400)
        self.assertEqual(self.error_codes(gone), {'v2_entity_expired'})

    def test_invalid_forms(self):
        bad = self.call('POST', '/print/barcodes', json={'orders': [{}],
                'format': 'A3'})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(self.error_codes(bad),
            {'v2_order_number_empty', 'v2_invalid_format'})
        unknown = self.call('POST', '/print/orders', json={'orders': [
                    {'order_uuid': '72753031-0000-0000-0000-000000000000'}]})
        form_uuid = unknown.json()['entity']['uuid']
        self.clock.advance(self.sim.processing_delay)
        body = self.call('GET', f'/print/orders/{form_uuid}').json()
        self.assertEqual(body['requests'][0]['state'], 'INVALID')
        self.assertEqual(body['requests'][0]['errors'][0]['code'],
            'v2_entity_not_found')
        self.assertEqual(body['entity']['statuses'][-1]['code'], 'INVALID')
        self.assertEqual(self.call('GET', '/print/orders/nope').status_code,
            404)

    def test_print_with_the_order(self):
        order_uuid = self.create(print='barcode')
        self.wait_processed(order_uuid)
        self.clock.advance(self.sim.processing_delay)
        entity = self.call('GET', f'/orders/{order_uuid}').json()['entity']
        barcode, = entity['related_entities']
        self.assertEqual(barcode['type'], 'barcode')
        self.assertEqual(self.session.get(barcode['url'], timeout=5
                ).status_code, 200)


class WebhookVariantTest(CdekTestCase):
    "ORDER_STATUS payload variants on request"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = HookReceiver()
        cls.hook_url = cls.receiver.start() + '/cdek/hook'

    @classmethod
    def tearDownClass(cls):
        cls.receiver.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.receiver.reset()
        self.call('POST', '/webhooks', json={'type': 'ORDER_STATUS',
                'url': self.hook_url})

    def test_legacy_city_and_numeric_ids(self):
        self.control.action('webhook_format', legacy_city='all',
            numeric_ids=True)
        order_uuid = self.create()
        self.wait_processed(order_uuid)
        self.sim.webhooks.wait_idle()
        hook, = self.receiver.received
        attributes = hook['attributes']
        self.assertEqual(attributes['city'], 'Москва')
        self.assertNotIn('city_code', attributes)
        self.assertIsInstance(attributes['cdek_number'], int)
        self.assertEqual(attributes['code'], 'CREATED')
        self.assertEqual(attributes['status_code'], '1')
        self.assertTrue(re.search(r'\+0000$', attributes['status_date_time']))

    def test_duplicates_and_reordering(self):
        self.control.action('webhook_format', legacy_city='none')
        self.control.fault('webhook_duplicate', '/cdek/hook', count=1)
        order_uuid = self.create()
        self.wait_processed(order_uuid)
        self.control.fault('webhook_reorder', '/cdek/hook', count=2)
        self.control.action('advance_order', uuid=order_uuid)
        self.control.action('advance_order', uuid=order_uuid)
        self.sim.webhooks.wait_idle()
        codes = [h['attributes']['code'] for h in self.receiver.received]
        # CREATED came twice; the next two arrived newest first
        self.assertEqual(codes, ['CREATED', 'CREATED',
                'READY_FOR_SHIPMENT_IN_SENDER_CITY',
                'RECEIVED_AT_SHIPMENT_WAREHOUSE'])

    def test_order_body_default(self):
        self.assertEqual(order_body()['tariff_code'], 136)


if __name__ == '__main__':
    unittest.main()
