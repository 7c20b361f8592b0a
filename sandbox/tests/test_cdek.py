"""CDEK API v2 simulator, driven through requests like a real client."""
import re
import unittest

import requests
from flask import request

from sandbox.cdek import TEST_CLIENT_ID, TEST_CLIENT_SECRET, CdekSimulator
from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.core import Simulator, route


class HookReceiver(Simulator):
    "Stands in for the hub's webhook endpoint"
    name = 'hook-receiver'

    @route('/cdek/hook', methods=['POST'])
    def hook(self):
        self.received.append(request.get_json())
        return '', 200

    def init_state(self):
        self.received = []


def order_body(**overrides):
    body = {
        'type': 1, 'number': 'SO-1001', 'tariff_code': 136,
        'shipment_point': 'MSK2', 'delivery_point': 'NSK1',
        'recipient': {'name': 'Иванов Иван',
            'phones': [{'number': '+79134637228'}]},
        'packages': [{'number': 'SO-1001-1', 'weight': 1200, 'length': 30,
                'width': 20, 'height': 10, 'items': [{
                        'name': 'Кроссовки', 'ware_key': 'SKU-1',
                        'payment': {'value': 0}, 'cost': 5990,
                        'weight': 1100, 'amount': 1}]}],
        }
    body.update(overrides)
    return body


class CdekTestCase(unittest.TestCase):
    "One simulator per class (stopping a server takes ~0.5 s), reset per test"

    @classmethod
    def setUpClass(cls):
        cls.clock = FakeClock()
        cls.sim = CdekSimulator(clock=cls.clock)
        cls.url = cls.sim.start() + '/v2'
        cls.control = SandboxControl(cls.sim.base_url)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.control.reset()
        self.session = requests.Session()
        self.session.headers['Authorization'] = 'Bearer ' + self.get_token()

    def get_token(self):
        response = requests.post(self.url + '/oauth/token', data={
                'grant_type': 'client_credentials',
                'client_id': TEST_CLIENT_ID,
                'client_secret': TEST_CLIENT_SECRET}, timeout=5)
        self.assertEqual(response.status_code, 200)
        return response.json()['access_token']

    def call(self, method, path, **kwargs):
        return self.session.request(method, self.url + path, timeout=5,
            **kwargs)

    def create(self, **overrides):
        response = self.call('POST', '/orders', json=order_body(**overrides))
        self.assertEqual(response.status_code, 202, response.text)
        return response.json()['entity']['uuid']

    def wait_processed(self, order_uuid, request_type='CREATE'):
        "Let the processing delay pass; the order as it is then"
        self.clock.advance(self.sim.processing_delay)
        body = self.call('GET', f'/orders/{order_uuid}').json()
        states = [r['state'] for r in body['requests']
            if r['type'] == request_type]
        self.assertTrue(states and states[-1] != 'ACCEPTED',
            f'{request_type} request of {order_uuid} not processed')
        return body

    def error_codes(self, response):
        body = response.json()
        errors = (body['requests'][0]['errors'] if 'requests' in body
            else body['errors'])
        return {e['code'] for e in errors}


class AuthTest(CdekTestCase):
    def test_token_response(self):
        response = requests.post(self.url + '/oauth/token', params={
                'grant_type': 'client_credentials',
                'client_id': TEST_CLIENT_ID,
                'client_secret': TEST_CLIENT_SECRET}, timeout=5)
        body = response.json()
        self.assertEqual(body['token_type'], 'bearer')
        self.assertEqual(body['expires_in'], 3599)
        self.assertEqual(body['access_token'].count('.'), 2)

    def test_bad_credentials(self):
        response = requests.post(self.url + '/oauth/token', data={
                'grant_type': 'client_credentials',
                'client_id': TEST_CLIENT_ID, 'client_secret': 'wrong'},
            timeout=5)
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()['error'], 'invalid_client')

    def test_missing_grant_type(self):
        response = requests.post(self.url + '/oauth/token', json={
                'client_id': TEST_CLIENT_ID}, timeout=5)
        self.assertEqual(response.status_code, 400)

    def test_changed_credentials(self):
        self.control.action('credentials', client_id='mine',
            client_secret='s3cret')
        response = requests.post(self.url + '/oauth/token', data={
                'grant_type': 'client_credentials', 'client_id': 'mine',
                'client_secret': 's3cret'}, timeout=5)
        self.assertEqual(response.status_code, 200)

    def test_missing_and_invalid_token(self):
        for header in ({}, {'Authorization': 'Bearer nonsense'}):
            response = requests.get(self.url + '/deliverypoints',
                headers=header, timeout=5)
            self.assertEqual(response.status_code, 401)
            record = response.json()['requests'][0]
            self.assertEqual((record['type'], record['state']),
                ('AUTH', 'INVALID'))
            self.assertEqual(self.error_codes(response), {'v2_token_expired'})

    def test_expired_token(self):
        self.control.action('expire_tokens')
        response = self.call('GET', '/deliverypoints')
        self.assertEqual(response.status_code, 401)

    def test_token_expires_after_its_lifetime(self):
        # expires_in says 3599 s: a second of slack for the client
        self.clock.advance(3599)
        self.assertEqual(self.call('GET', '/deliverypoints').status_code, 200)
        self.clock.advance(1)
        self.assertEqual(self.call('GET', '/deliverypoints').status_code, 401)


class OrderTest(CdekTestCase):
    def test_create_is_accepted_then_successful(self):
        response = self.call('POST', '/orders', json=order_body())
        self.assertEqual(response.status_code, 202)
        body = response.json()
        self.assertEqual(body['requests'][0]['type'], 'CREATE')
        self.assertEqual(body['requests'][0]['state'], 'ACCEPTED')
        order_uuid = body['entity']['uuid']

        early = self.call('GET', f'/orders/{order_uuid}').json()
        self.assertNotIn('cdek_number', early['entity'])
        self.assertEqual(early['requests'][0]['state'], 'ACCEPTED')

        entity = self.wait_processed(order_uuid)['entity']
        self.assertRegex(entity['cdek_number'], r'^\d{10}$')
        self.assertEqual(entity['delivery_mode'], '4')
        self.assertEqual([s['code'] for s in entity['statuses']],
            ['CREATED', 'ACCEPTED'])
        self.assertRegex(entity['statuses'][0]['date_time'],
            r'\+00:00$')
        self.assertEqual(entity['packages'][0]['weight_volume'], 1200)
        self.assertIn('package_id', entity['packages'][0])

    def test_lookup_by_numbers(self):
        first = self.create()
        second = self.create()
        entity = self.wait_processed(first)['entity']
        self.wait_processed(second)
        by_cdek = self.call('GET', '/orders',
            params={'cdek_number': entity['cdek_number']}).json()
        self.assertEqual(by_cdek['entity']['uuid'], first)
        by_number = self.call('GET', '/orders',
            params={'im_number': 'SO-1001'}).json()
        self.assertEqual(by_number['entity']['uuid'], second)

    def test_lookup_errors(self):
        response = self.call('GET', '/orders')
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.error_codes(response), {'v2_order_number_empty'})
        response = self.call('GET', '/orders/'
            '72753031-826d-4ef7-b127-1074f405b269')
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.error_codes(response), {'v2_entity_not_found'})

    def test_pre_validation_errors(self):
        body = order_body(from_location={'address': 'ул. Ленина, 1',
                'code': 44}, recipient={'name': 'X'})
        del body['tariff_code'], body['delivery_point']
        response = self.call('POST', '/orders', json=body)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()['requests'][0]['state'], 'INVALID')
        self.assertEqual(self.error_codes(response), {
                'v2_field_is_empty', 'v2_shipment_address_multivalued',
                'v2_order_location_to_and_delivery_point_empty'})

    def test_wrong_types_and_bad_json(self):
        body = order_body(tariff_code='136')
        body['packages'][0]['weight'] = 1.2
        response = self.call('POST', '/orders', json=body)
        self.assertEqual(self.error_codes(response), {'v2_invalid_value_type'})
        response = self.call('POST', '/orders', data='{oops',
            headers={'Content-Type': 'application/json'})
        self.assertEqual(self.error_codes(response), {'v2_bad_request'})

    def test_too_many_items(self):
        body = order_body()
        body['packages'][0]['items'] *= 127
        response = self.call('POST', '/orders', json=body)
        self.assertIn('v2_number_items_is_more_126',
            self.error_codes(response))

    def test_unknown_point_becomes_invalid_later(self):
        order_uuid = self.create(delivery_point='NOPE1')
        body = self.wait_processed(order_uuid)
        record = body['requests'][0]
        self.assertEqual(record['state'], 'INVALID')
        self.assertEqual({e['code'] for e in record['errors']},
            {'delivery_location_is_not_recognized'})
        self.assertEqual(body['entity']['statuses'][0]['code'], 'INVALID')
        self.assertNotIn('cdek_number', body['entity'])

    def test_tariff_needs_matching_places(self):
        order_uuid = self.create(tariff_code=137)
        record = self.wait_processed(order_uuid)['requests'][0]
        self.assertEqual(record['state'], 'INVALID')
        self.assertIn('to_location', record['errors'][0]['message'])

    def test_delete_only_before_handover(self):
        order_uuid = self.create()
        self.wait_processed(order_uuid)
        response = self.call('DELETE', f'/orders/{order_uuid}')
        self.assertEqual(response.status_code, 202)
        self.assertEqual(response.json()['requests'][0]['type'], 'DELETE')
        again = self.call('DELETE', f'/orders/{order_uuid}')
        self.assertEqual(self.error_codes(again),
            {'v2_similar_request_still_processed'})
        entity = self.wait_processed(order_uuid, 'DELETE')['entity']
        self.assertEqual(entity['statuses'][0]['code'], 'REMOVED')

        moved = self.create()
        self.control.action('advance_order', uuid=moved)
        self.control.action('advance_order', uuid=moved)
        self.call('DELETE', f'/orders/{moved}')
        record = self.wait_processed(moved, 'DELETE')['requests'][-1]
        self.assertEqual(record['state'], 'INVALID')

    def test_refusal(self):
        order_uuid = self.create()
        self.control.action('advance_order', uuid=order_uuid)
        self.control.action('advance_order', uuid=order_uuid)
        response = self.call('POST', f'/orders/{order_uuid}/refusal')
        self.assertEqual(response.json()['requests'][0]['type'],
            'CREATE_REFUSAL')
        status = self.wait_processed(order_uuid, 'CREATE_REFUSAL')[
            'entity']['statuses'][0]
        self.assertEqual((status['code'], status['reason_code']),
            ('NOT_DELIVERED', '11'))

    def test_update(self):
        order_uuid = self.create()
        self.wait_processed(order_uuid)
        response = self.call('PATCH', '/orders', json={'uuid': order_uuid,
                'comment': 'Позвонить заранее'})
        self.assertEqual(response.json()['requests'][0]['type'], 'UPDATE')
        entity = self.wait_processed(order_uuid, 'UPDATE')['entity']
        self.assertEqual(entity['comment'], 'Позвонить заранее')


class WebhookTest(CdekTestCase):
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

    def subscribe(self, kind='ORDER_STATUS'):
        return self.call('POST', '/webhooks', json={'type': kind,
                'url': self.hook_url})

    def test_subscription_management(self):
        response = self.subscribe()
        self.assertEqual(response.status_code, 200)
        sub_uuid = response.json()['entity']['uuid']
        listed = self.call('GET', '/webhooks').json()
        self.assertEqual(listed, [{'uuid': sub_uuid, 'type': 'ORDER_STATUS',
                    'url': self.hook_url}])
        one = self.call('GET', f'/webhooks/{sub_uuid}').json()
        self.assertEqual(one['entity']['url'], self.hook_url)
        self.assertEqual(self.call('DELETE', f'/webhooks/{sub_uuid}'
                ).status_code, 200)
        self.assertEqual(self.call('GET', '/webhooks').json(), [])
        self.assertEqual(self.call('GET', f'/webhooks/{sub_uuid}'
                ).status_code, 404)

    def test_bad_type(self):
        response = self.subscribe('ORDER_STATUSES')
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.error_codes(response),
            {'v2_webhook_type_incorrect'})

    def test_full_route_fires_order_status(self):
        self.subscribe()
        order_uuid = self.create()
        self.wait_processed(order_uuid)
        codes = []
        while True:
            try:
                codes.append(self.control.action('advance_order',
                        uuid=order_uuid)['status'])
            except requests.HTTPError:
                break
        self.assertEqual(codes[-2:], ['ACCEPTED_AT_PICK_UP_POINT',
                'DELIVERED'])
        self.sim.webhooks.wait_idle()
        hooks = self.receiver.received
        self.assertEqual([h['attributes']['code'] for h in hooks],
            ['CREATED'] + codes)
        delivered = hooks[-1]
        self.assertEqual(delivered['type'], 'ORDER_STATUS')
        self.assertEqual(delivered['uuid'], order_uuid)
        self.assertEqual(delivered['attributes']['status_code'], '4')
        # a final status comes in the older form: ``city``, no city_name
        self.assertEqual(delivered['attributes']['city'], 'Новосибирск')
        self.assertNotIn('city_name', delivered['attributes'])
        self.assertEqual(hooks[-2]['attributes']['city_name'], 'Новосибирск')
        self.assertEqual(hooks[-2]['attributes']['city_code'], '270')
        self.assertTrue(re.search(r'\+0000$', delivered['date_time']))
        entity = self.call('GET', f'/orders/{order_uuid}').json()['entity']
        self.assertEqual(entity['delivery_detail']['recipient_name'],
            'Иванов Иван')

    def test_door_route_and_set_status(self):
        self.subscribe()
        order_uuid = self.create(tariff_code=137, delivery_point=None,
            to_location={'code': 270, 'address': 'ул. Ленина, 1'})
        self.control.action('advance_order', uuid=order_uuid)
        summary = self.control.action('set_order_status', uuid=order_uuid,
            code='RETURNED_TO_RECIPIENT_CITY_WAREHOUSE', reason_code=2)
        self.assertEqual(summary['status'],
            'RETURNED_TO_RECIPIENT_CITY_WAREHOUSE')
        nxt = self.control.action('advance_order', uuid=order_uuid)
        self.assertEqual(nxt['status'], 'TAKEN_BY_COURIER')
        self.sim.webhooks.wait_idle()
        failed = self.receiver.received[-2]['attributes']
        self.assertEqual((failed['status_reason_code'], failed['status_code']),
            ('2', '18'))

    def test_dropped_webhook_fault(self):
        self.subscribe()
        self.control.fault('webhook_drop', '/cdek/hook', count=1)
        order_uuid = self.create()
        self.wait_processed(order_uuid)
        self.control.action('advance_order', uuid=order_uuid)
        self.sim.webhooks.wait_idle()
        # CREATED was lost; ACCEPTED never goes out as a webhook
        self.assertEqual([h['attributes']['code']
                for h in self.receiver.received],
            ['RECEIVED_AT_SHIPMENT_WAREHOUSE'])


class ReferenceDataTest(CdekTestCase):
    def test_delivery_points_filters(self):
        points = self.call('GET', '/deliverypoints',
            params={'city_code': 270}).json()
        self.assertIsInstance(points, list)
        self.assertEqual({p['code'] for p in points}, {'NSK1', 'NSK33'})
        postamats = self.call('GET', '/deliverypoints',
            params={'type': 'POSTAMAT', 'city_code': 44}).json()
        self.assertEqual([p['code'] for p in postamats], ['MSK1234'])
        cash = self.call('GET', '/deliverypoints', params={
                'have_cash': 'true', 'city_code': 137}).json()
        self.assertTrue(all(p['type'] == 'PVZ' for p in cash))
        paged = self.call('GET', '/deliverypoints',
            params={'size': 5, 'page': 1}).json()
        self.assertEqual(len(paged), 5)
        bad = self.call('GET', '/deliverypoints', params={'type': 'OFFICE'})
        self.assertEqual(bad.status_code, 400)

    def test_seed_delivery_points(self):
        self.control.action('seed_delivery_points', points=[{
                    'code': 'KZN99', 'type': 'PVZ', 'location': {
                        'city_code': 424, 'address': 'ул. Пушкина, 1'}}])
        point = self.call('GET', '/deliverypoints',
            params={'code': 'KZN99'}).json()[0]
        self.assertEqual(point['location']['city'], 'Казань')

    def test_tariff(self):
        response = self.call('POST', '/calculator/tariff', json={
                'tariff_code': 136, 'from_location': {'code': 44},
                'to_location': {'code': 270},
                'packages': [{'weight': 1500}],
                'services': [{'code': 'INSURANCE', 'parameter': '6000'}]})
        body = response.json()
        self.assertEqual(response.status_code, 200)
        self.assertGreater(body['delivery_sum'], 0)
        self.assertLessEqual(body['period_min'], body['period_max'])
        self.assertEqual(body['services'][0]['sum'], 45.0)
        self.assertEqual(body['total_sum'], body['delivery_sum'] + 45.0)

    def test_tarifflist_and_errors(self):
        listed = self.call('POST', '/calculator/tarifflist', json={
                'from_location': {'postal_code': '190000'},
                'to_location': {'city': 'Казань'},
                'packages': [{'weight': 500}]}).json()
        codes = {t['tariff_code']: t for t in listed['tariff_codes']}
        self.assertEqual(codes[139]['delivery_mode'], 1)
        bad = self.call('POST', '/calculator/tariff', json={
                'tariff_code': 136, 'from_location': {'city': 'Atlantis'},
                'to_location': {'code': 270}})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(self.error_codes(bad), {
                'v2_sender_location_not_recognized', 'v2_field_is_empty'})


class FaultTest(CdekTestCase):
    def test_internal_error_has_cdek_body(self):
        self.control.fault('error', '/v2/orders', method='POST', count=1)
        response = self.call('POST', '/orders', json=order_body())
        self.assertEqual(response.status_code, 500)
        self.assertEqual(self.error_codes(response), {'v2_internal_error'})
        self.assertEqual(self.call('POST', '/orders', json=order_body()
                ).status_code, 202)


if __name__ == '__main__':
    unittest.main()
