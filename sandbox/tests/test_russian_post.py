"""Russian Post simulator, driven through zeep (tracking) and requests
(Otpravka) like the hub's real clients."""
import base64
import unittest

import requests
import zeep
from lxml import etree

from sandbox.control import SandboxControl
from sandbox.russian_post import DEFAULT_CREDENTIALS, RussianPostSimulator

TRACKING_AUTH = {'login': DEFAULT_CREDENTIALS['tracking_login'],
    'password': DEFAULT_CREDENTIALS['tracking_password']}
OTPRAVKA_HEADERS = {
    'Authorization': 'AccessToken ' + DEFAULT_CREDENTIALS['access_token'],
    'X-User-Authorization': 'Basic ' + base64.b64encode(
        f"{DEFAULT_CREDENTIALS['login']}:{DEFAULT_CREDENTIALS['password']}"
        .encode()).decode(),
    'Accept': 'application/json;charset=UTF-8'}
DATA = '{http://russianpost.org/operationhistory/data}'
FCLIENT = '{http://fclient.russianpost.org}'

# the official example request (russian_post.md A.1), other prefixes than zeep
RAW_REQUEST = '''<soap:Envelope
    xmlns:soap="http://www.w3.org/2003/05/soap-envelope"
    xmlns:oper="http://russianpost.org/operationhistory"
    xmlns:data="http://russianpost.org/operationhistory/data"
    xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header/>
  <soap:Body>
    <oper:getOperationHistory>
      <data:OperationHistoryRequest>
        <data:Barcode>{barcode}</data:Barcode>
        <data:MessageType>0</data:MessageType>
      </data:OperationHistoryRequest>
      <data:AuthorizationHeader soapenv:mustUnderstand="1">
        <data:login>{login}</data:login>
        <data:password>{password}</data:password>
      </data:AuthorizationHeader>
    </oper:getOperationHistory>
  </soap:Body>
</soap:Envelope>'''


def order(**overrides):
    body = {'address-type-to': 'DEFAULT', 'fragile': False,
        'given-name': 'Иван', 'house-to': '92', 'mail-category': 'ORDINARY',
        'mail-direct': 643, 'mail-type': 'POSTAL_PARCEL', 'mass': 1000,
        'order-num': 'SO-2001', 'place-to': 'Новосибирск',
        'recipient-name': 'Иванов Иван', 'region-to': 'Новосибирская область',
        'street-to': 'ул. Ленина', 'surname': 'Иванов', 'index-to': 630099,
        'postoffice-code': '109012', 'room-to': '1'}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


class RussianPostTestCase(unittest.TestCase):
    "One simulator per test class (stopping a server takes ~0.5 s)"

    @classmethod
    def setUpClass(cls):
        cls.sim = RussianPostSimulator()
        cls.url = cls.sim.start()
        cls.control = SandboxControl(cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.control.reset()


class TrackingTest(RussianPostTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = zeep.Client(cls.url + '/rtm34?wsdl')

    def history(self, barcode, language='RUS', **auth):
        return self.client.service.getOperationHistory(
            OperationHistoryRequest={'Barcode': barcode, 'MessageType': 0,
                'Language': language},
            AuthorizationHeader=auth or TRACKING_AUTH)

    def test_wsdl_points_at_the_simulator(self):
        wsdl = requests.get(self.url + '/rtm34?wsdl', timeout=5).text
        self.assertIn(f'<soap12:address location="{self.url}/rtm34"/>', wsdl)

    def test_history_oldest_first_in_local_time(self):
        barcode = self.control.action('seed_parcel', index_from='109012',
            index_to='630099', mass=1250, recipient='Иванов И.',
            operations=8)['barcode']
        records = self.history(barcode)
        kinds = [(r.OperationParameters.OperType.Id,
                r.OperationParameters.OperAttr.Id) for r in records]
        self.assertEqual(kinds, [(1, 1), (8, 1), (8, 3), (8, 4), (8, 3),
                (8, 4), (8, 2), (2, 1)])
        first, last = records[0], records[-1]
        self.assertEqual(first.OperationParameters.OperType.Name, 'Прием')
        self.assertEqual(first.OperationParameters.OperDate.utcoffset()
            .total_seconds(), 3 * 3600)
        self.assertEqual(last.OperationParameters.OperDate.utcoffset()
            .total_seconds(), 7 * 3600)
        self.assertEqual(last.AddressParameters.OperationAddress.Index,
            '630099')
        self.assertEqual(last.ItemParameters.Barcode, barcode)
        self.assertEqual(last.ItemParameters.Mass, 1250)
        self.assertEqual(last.UserParameters.Rcpn, 'Иванов И.')

    def test_no_operations_is_an_empty_history(self):
        registered = self.control.action('seed_parcel')['barcode']
        self.assertFalse(self.history(registered))
        self.assertFalse(self.history('RA644000001RU'))
        response = requests.post(self.url + '/rtm34', data=RAW_REQUEST.format(
                barcode=registered, **TRACKING_AUTH).encode(),
            headers={'Content-Type': 'application/soap+xml'}, timeout=5)
        self.assertIn('<ns3:OperationHistoryData/>', response.text)

    def assertFault(self, detail_tag, call):
        with self.assertRaises(zeep.exceptions.Fault) as caught:
            call()
        detail = caught.exception.detail
        self.assertIsNotNone(detail.find(DATA + detail_tag), etree.tostring(
                detail))
        return caught.exception

    def test_auth_fault(self):
        fault = self.assertFault('AuthorizationFaultReason', lambda:
            self.history('RA644000001RU', login='x', password='y'))
        self.assertIn('Authorization', fault.message)

    def test_bad_barcode_and_language_faults(self):
        fault = self.assertFault('OperationHistoryFaultReason',
            lambda: self.history('12345'))
        self.assertIn('Формат данных запроса', fault.message)
        self.assertFault('LanguageFaultReason',
            lambda: self.history('RA644000001RU', language='DEU'))

    def test_daily_limit(self):
        self.control.action('settings', tracking_daily_limit=1)
        self.history('RA644000001RU')
        self.assertFault('AuthorizationFaultReason',
            lambda: self.history('RA644000001RU'))

    def test_raw_request_with_other_prefixes(self):
        barcode = self.control.action('seed_parcel', operations=1)['barcode']
        response = requests.post(self.url + '/rtm34', data=RAW_REQUEST.format(
                barcode=barcode, **TRACKING_AUTH).encode(),
            headers={'Content-Type': 'application/soap+xml; charset=utf-8'},
            timeout=5)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.text.startswith(
                "<?xml version='1.0' encoding='UTF-8'?>"))
        self.assertIn('<S:Envelope', response.text)
        self.assertIn('<ns7:getOperationHistoryResponse', response.text)
        self.assertEqual(response.text.count('<ns3:historyRecord>'), 1)

    def test_soap11_is_a_version_mismatch(self):
        body = RAW_REQUEST.replace('http://www.w3.org/2003/05/soap-envelope',
            'http://schemas.xmlsoap.org/soap/envelope/')
        response = requests.post(self.url + '/rtm34', data=body.format(
                barcode='RA644000001RU', **TRACKING_AUTH).encode(),
            headers={'Content-Type': 'text/xml'}, timeout=5)
        self.assertEqual(response.status_code, 500)
        self.assertIn('S:VersionMismatch', response.text)

    def test_return_route_and_final_state(self):
        barcode = self.control.action('seed_parcel', operations=7)['barcode']
        self.control.action('add_operation', barcode=barcode, oper_type=3,
            oper_attr=4)
        while not self.control.action('advance_parcel',
                barcode=barcode)['final']:
            pass
        last = self.history(barcode)[-1].OperationParameters
        self.assertEqual((last.OperType.Id, last.OperAttr.Id), (2, 2))
        with self.assertRaises(requests.HTTPError):
            self.control.action('advance_parcel', barcode=barcode)

    def test_error_fault_is_a_soap_fault(self):
        self.control.fault('error', '/rtm34', method='POST', count=1)
        with self.assertRaises(zeep.exceptions.Fault):
            self.history('RA644000001RU')
        self.assertFalse(self.history('RA644000001RU'))


class BatchTrackingTest(RussianPostTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = zeep.Client(cls.url + '/fc?wsdl')

    def ticket(self, barcodes, **auth):
        auth = auth or TRACKING_AUTH
        return self.client.service.getTicket(request={'Item': [
                    {'Barcode': b} for b in barcodes]}, language='RUS', **auth)

    def answer(self, ticket):
        return self.client.service.getResponseByTicket(ticket=ticket,
            **TRACKING_AUTH)

    def test_ticket_flow(self):
        barcode = self.control.action('seed_parcel', operations=2)['barcode']
        ticket = self.ticket([barcode, 'RA123456789RU']).value
        self.assertRegex(ticket, r'^\d{17}SANDBOX-TRACKING$')
        self.assertEqual(self.answer(ticket).error.ErrorTypeID, 6)
        self.control.action('ready_tickets')
        items = self.answer(ticket).value.Item
        self.assertEqual([op.OperTypeID for op in items[0].Operation], [1, 8])
        self.assertRegex(items[0].Operation[0].DateOper,
            r'^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$')
        self.assertEqual(items[1].Error[0].ErrorTypeID, 12)

    def test_ticket_errors(self):
        self.assertEqual(self.ticket(['RA123456789RU'], login='x',
                password='y').error.ErrorTypeID, 3)
        self.assertEqual(self.answer('20150917162048476NOPE').error
            .ErrorTypeID, 17)


class OtpravkaTest(RussianPostTestCase):
    def call(self, method, path, headers=OTPRAVKA_HEADERS, **kwargs):
        return requests.request(method, self.url + path, headers=headers,
            timeout=5, **kwargs)

    def create(self, *orders, version='1.0'):
        response = self.call('PUT', f'/{version}/user/backlog',
            json=list(orders))
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def test_auth_headers_required(self):
        for headers in ({}, {'Authorization': OTPRAVKA_HEADERS[
                        'Authorization']}, dict(OTPRAVKA_HEADERS,
                    **{'X-User-Authorization': 'Basic d3Jvbmc6d3Jvbmc='})):
            response = self.call('PUT', '/1.0/user/backlog', headers=headers,
                json=[order()])
            self.assertEqual(response.status_code, 401)
            self.assertEqual(response.json()['status'], 401)

    def test_create_and_get_with_barcode(self):
        result = self.create(order(payment=150000, **{'insr-value': 200000,
                    'mail-category': 'WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY'
                    }))
        [order_id] = result['result-ids']
        got = self.call('GET', f'/1.0/backlog/{order_id}').json()
        self.assertEqual(got['id'], order_id)
        self.assertRegex(got['barcode'], r'^109012\d{8}$')
        self.assertEqual(got['order-num'], 'SO-2001')
        self.assertEqual(got['postmarks'], ['NONSTANDARD'])
        self.assertGreater(got['insr-rate'], 0)
        self.assertEqual(got['mass-rate-with-vat'],
            got['mass-rate-wo-vat'] + round(got['mass-rate'] * 0.2))
        # the new barcode is known to tracking, without operations yet
        advanced = self.control.action('advance_parcel',
            barcode=got['barcode'])
        self.assertEqual((advanced['oper_type'], advanced['index']),
            (1, '109012'))

    def test_mixed_batch_errors_by_position(self):
        result = self.create(order(**{'index-to': None}),
            order(**{'order-num': 'SO-2002'}), order(surname=None))
        self.assertEqual(len(result['result-ids']), 1)
        errors = {e['position']: [c['code'] for c in e['error-codes']]
            for e in result['errors']}
        self.assertEqual(errors, {0: ['EMPTY_INDEX_TO'],
                2: ['EMPTY_SURNAME']})

    def test_business_rules(self):
        result = self.create(order(payment=1000),
            order(**{'mail-type': 'ECOM'}),
            order(**{'postoffice-code': '190000'}))
        codes = [e['error-codes'][0]['code'] for e in result['errors']]
        self.assertEqual(codes, ['ILLEGAL_MAIL_CATEGORY',
                'EMPTY_DELIVERY_POINT_INDEX', 'ILLEGAL_POSTOFFICE_CODE'])

    def test_type_errors_are_400(self):
        for bad in (order(mass=1.5), order(payment='100'),
                order(**{'mail-type': 'PARCEL'}),
                dict(order(), order_num='SO-1'), order(fragile='no')):
            response = self.call('PUT', '/1.0/user/backlog', json=[bad])
            self.assertEqual(response.status_code, 400, bad)
            self.assertEqual(response.json()['error'], 'Bad Request')
        response = self.call('PUT', '/1.0/user/backlog', json=order())
        self.assertEqual(response.status_code, 400)

    def test_v2_returns_barcodes(self):
        result = self.create(order(), version='2.0')
        [created] = result['orders']
        self.assertEqual(created['order-num'], 'SO-2001')
        self.assertRegex(created['barcode'], r'^\d{14}$')
        self.assertIsInstance(created['result-id'], int)

    def test_barcode_at_batching_without_dynamic_mode(self):
        self.control.action('settings', dynamic_barcode=False)
        [order_id] = self.create(order())['result-ids']
        self.assertNotIn('barcode',
            self.call('GET', f'/1.0/backlog/{order_id}').json())
        response = self.call('POST', '/1.0/user/shipment',
            params={'sending-date': '2026-03-10'}, json=[order_id, 999])
        body = response.json()
        [batch] = body['batches']
        self.assertEqual(batch['batch-status'], 'CREATED')
        self.assertEqual(body['result-ids'], [order_id])
        self.assertEqual(body['errors'][0]['error-code'], 'NOT_FOUND')
        self.assertEqual(self.call('GET', f"/1.0/batch/{batch['batch-name']}"
                ).json()['shipment-count'], 1)
        self.assertEqual(self.call('GET', f'/1.0/backlog/{order_id}'
                ).status_code, 404)
        self.assertEqual(self.call('GET', '/1.0/shipment/search',
                params={'query': '0'}).json(), [])

    def test_search_and_delete(self):
        [order_id] = self.create(order())['result-ids']
        found = self.call('GET', '/1.0/backlog/search',
            params={'query': 'SO-2001'}).json()
        self.assertEqual([o['id'] for o in found], [order_id])
        deleted = self.call('DELETE', '/1.0/backlog',
            json=[order_id, order_id]).json()
        self.assertEqual(deleted['result-ids'], [order_id])
        self.assertEqual(deleted['errors'], [{'error-code': 'NOT_FOUND',
                    'position': 1}])

    def test_delete_batched(self):
        [order_id] = self.create(order(**{'order-num': 'SO-2002'}))[
            'result-ids']
        [waiting] = self.create(order(**{'order-num': 'SO-2003'}))[
            'result-ids']
        [batch] = self.call('POST', '/1.0/user/shipment',
            json=[order_id]).json()['batches']
        # the backlog delete does not see a batched order, and back
        self.assertEqual(self.call('DELETE', '/1.0/backlog',
                json=[order_id]).json()['errors'][0]['error-code'],
            'NOT_FOUND')
        deleted = self.call('DELETE', '/1.0/shipment',
            json=[order_id, waiting]).json()
        self.assertEqual(deleted['result-ids'], [order_id])
        self.assertEqual(deleted['errors'], [{'error-code': 'NOT_FOUND',
                    'position': 1}])
        self.assertEqual(self.call('GET', '/1.0/shipment/search',
                params={'query': 'SO-2002'}).json(), [])
        self.assertEqual(self.call('GET', f"/1.0/batch/{batch['batch-name']}"
                ).json()['shipment-count'], 0)
        self.assertEqual(self.call('GET', f'/1.0/backlog/{waiting}'
                ).status_code, 200)

    def test_tariff(self):
        body = self.call('POST', '/1.0/tariff', json={'fragile': True,
                'index-from': 109440, 'index-to': 644015,
                'mail-category': 'ORDINARY', 'mail-type': 'POSTAL_PARCEL',
                'mass': 1000, 'payment-method': 'CASHLESS'}).json()
        self.assertEqual(body['total-rate'], body['ground-rate']['rate']
            + body['fragile-rate']['rate'])
        self.assertLessEqual(body['delivery-time']['min-days'],
            body['delivery-time']['max-days'])

    def test_credentials_control(self):
        creds = self.control.action('credentials', access_token='t2')
        response = self.call('GET', '/1.0/backlog/1',
            headers=creds['headers'])
        self.assertEqual(response.status_code, 404)

    def test_rate_limit_fault(self):
        self.control.fault('rate_limit', '/1.0/*', count=1)
        response = self.call('PUT', '/1.0/user/backlog', json=[order()])
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response.json()['status'], 429)
        self.assertEqual(len(self.create(order())['result-ids']), 1)


if __name__ == '__main__':
    unittest.main()
