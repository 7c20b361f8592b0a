"""CDEK client and webhook parser against the sandbox simulator over real
HTTP, on the simulator's fake clock (token expiry, processing delays and
print form polling run without waiting).

No Tryton database: the client and the parser are plain Python.
"""
import datetime as dt
import json
import time
import unittest
from decimal import Decimal

from flask import request

from sandbox.cdek import TEST_CLIENT_ID, TEST_CLIENT_SECRET, CdekSimulator
from sandbox.clock import FakeClock
from sandbox.core import Simulator, route
from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)

from ..client import CdekClient, TokenCache
from ..events import parse_datetime, parse_webhook


class Receiver(Simulator):
    "Stands in for the hub's webhook route: keeps the raw bodies"
    name = 'cdek-receiver'

    @route('/cdek/hook', methods=['POST'])
    def hook(self):
        self.bodies.append(request.get_data())
        return '', 200

    def init_state(self):
        self.bodies = []


def setUpModule():
    global CLOCK, SIM, URL, RECEIVER, HOOK_URL
    CLOCK = FakeClock()
    SIM = CdekSimulator(clock=CLOCK)
    URL = SIM.start() + '/v2'
    RECEIVER = Receiver()
    HOOK_URL = RECEIVER.start() + '/cdek/hook'


def tearDownModule():
    SIM.stop()
    RECEIVER.stop()


def order_payload(number='SHIP-0001', **values):
    "A warehouse → pickup point e-shop order, as the integration will send"
    payload = {'type': 1, 'number': number, 'tariff_code': 136,
        'shipment_point': 'MSK2', 'delivery_point': 'NSK1',
        'recipient': {'name': 'Смирнова Анна',
            'phones': [{'number': '+79131234567'}]},
        'packages': [{'number': f'{number}-1', 'weight': 1500,
                'length': 30, 'width': 20, 'height': 12, 'items': [{
                        'name': 'Кеды', 'ware_key': 'KD-42',
                        'payment': {'value': Decimal('0')},
                        'cost': Decimal('3000.00'), 'weight': 1400,
                        'amount': 1}]}]}
    payload.update(values)
    return payload


class ClientTestCase(unittest.TestCase):
    def setUp(self):
        SIM.reset()
        RECEIVER.reset()
        self.tokens = TokenCache()
        self.client = self.make_client()

    def make_client(self, secret=TEST_CLIENT_SECRET, **kwargs):
        return CdekClient(URL, TEST_CLIENT_ID, secret, timeout=3,
            tokens=self.tokens, clock=CLOCK.time, sleep=CLOCK.advance,
            **kwargs)

    def token_requests(self):
        return len(SIM.journal.list('/v2/oauth/token'))

    def process(self):
        "CDEK finishes what it accepted"
        CLOCK.advance(SIM.processing_delay)

    def created(self, number='SHIP-0001', **values):
        order_uuid = self.client.create_order(order_payload(number,
                **values))
        self.process()
        return self.client.get_order(order_uuid)


class TokenTest(ClientTestCase):
    def test_token_cached_and_renewed_before_expiry(self):
        self.client.cities(city='Казань')
        self.make_client().cities(city='Казань')
        self.assertEqual(self.token_requests(), 1)   # shared, not re-issued
        CLOCK.advance(3600 - 30)     # inside the renewal margin
        self.client.cities(city='Казань')
        self.assertEqual(self.token_requests(), 2)

    def test_401_renews_once(self):
        self.client.cities()
        SIM.expire_tokens()          # revoked early: the cache cannot know
        self.assertEqual(self.client.cities(code=270)[0]['city'],
            'Новосибирск')
        self.assertEqual(self.token_requests(), 2)

    def test_bad_credentials(self):
        with self.assertRaises(ConfigurationError) as caught:
            self.make_client(secret='wrong').cities()
        self.assertIn('учётные данные', caught.exception.message)
        with self.assertRaises(ConfigurationError):
            CdekClient(URL, TEST_CLIENT_ID, '')


class ReferenceTest(ClientTestCase):
    def test_cities(self):
        city, = self.client.cities(city='Новосибирск')
        self.assertEqual((city['code'], city['region_code']), (270, 23))

    def test_delivery_points(self):
        points = self.client.delivery_points(city_code=44)
        self.assertEqual({p['code'] for p in points},
            {'MSK2', 'MSK65', 'MSK1234'})
        point = next(p for p in points if p['code'] == 'MSK2')
        self.assertEqual(point['type'], 'pvz')
        self.assertEqual(point['address'], 'пр-т Мира, 20, корп. 1')
        self.assertEqual(point['weight_max'], 30000)
        self.assertTrue(point['cash'] and point['card'])
        self.assertIn((1, '09:00', '21:00'), point['work_time'])
        self.assertIn((6, '10:00', '18:00'), point['work_time'])
        self.assertTrue(point['hours'])
        postamats = self.client.delivery_points(city_code=44,
            type='postamat')
        self.assertEqual([p['code'] for p in postamats], ['MSK1234'])
        # a 25 kg parcel fits no postamat (20 kg) but the ПВЗ
        heavy = self.client.delivery_points(city_code=44, weight=25000)
        self.assertEqual({p['type'] for p in heavy}, {'pvz'})
        cash = self.client.delivery_points(city_code=44, cash=True)
        self.assertNotIn('MSK1234', {p['code'] for p in cash})

    def test_tariffs(self):
        route = ({'code': 44}, {'code': 270}, [{'weight': 1500}])
        quote = self.client.tariff(136, *route)
        self.assertIsInstance(quote['delivery_sum'], Decimal)
        self.assertLessEqual(quote['period_min'], quote['period_max'])
        offers = self.client.tariffs(*route)
        self.assertIn(136, {o['tariff_code'] for o in offers})
        self.assertEqual(next(o for o in offers if o['tariff_code'] == 136
                )['delivery_mode'], '4')
        with self.assertRaises(PermanentError) as caught:
            self.client.tariff(136, {'city': 'Атлантида'}, {'code': 270},
                [{'weight': 100}])
        self.assertIn('v2_sender_location_not_recognized',
            caught.exception.codes)


class OrderTest(ClientTestCase):
    def test_create_then_successful(self):
        order_uuid = self.client.create_order(order_payload())
        pending = self.client.get_order(order_uuid)
        self.assertEqual((pending['state'], pending['cdek_number']),
            ('accepted', None))
        self.process()
        info = self.client.get_order(order_uuid)
        self.assertEqual(info['state'], 'successful')
        self.assertTrue(info['cdek_number'].isdigit())
        self.assertEqual(info['status'], 'CREATED')
        self.assertEqual([e['code'] for e in info['statuses']],
            ['ACCEPTED', 'CREATED'])
        self.assertEqual(info['statuses'][-1]['description'], 'Создан')
        self.assertTrue(info['deletable'])
        by_number = self.client.find_order(cdek_number=int(
                info['cdek_number']))
        self.assertEqual(by_number['uuid'], order_uuid)

    def test_lookup_by_our_number_before_creating_again(self):
        "No idempotency key: the caller finds the order of its number"
        self.assertIsNone(self.client.find_order(number='SHIP-0007'))
        SIM.faults.add(kind='slow', endpoint='/v2/orders', method='POST',
            delay=10, count=1)
        client = CdekClient(URL, TEST_CLIENT_ID, TEST_CLIENT_SECRET,
            timeout=1, tokens=self.tokens, clock=CLOCK.time)
        with self.assertRaises(TransientError):
            # the answer does not come in time…
            client.create_order(order_payload('SHIP-0007'))
        # …but CDEK registers the order after all
        CLOCK.wait_for_timers()
        CLOCK.advance(10)
        for _ in range(100):
            if SIM.orders:
                break
            time.sleep(0.02)
        found = self.client.find_order(number='SHIP-0007')
        self.assertIsNotNone(found)
        self.assertEqual(len(SIM.orders), 1)

    def test_invalid_order(self):
        order_uuid = self.client.create_order(order_payload(
                delivery_point='NOWHERE1'))
        self.process()
        info = self.client.get_order(order_uuid)
        self.assertEqual(info['state'], 'invalid')
        self.assertEqual(info['errors'][0]['code'],
            'delivery_location_is_not_recognized')
        self.assertTrue(info['error'].startswith('СДЭК: '))
        self.assertEqual(info['status'], 'INVALID')

    def test_refused_at_once(self):
        with self.assertRaises(PermanentError) as caught:
            self.client.create_order(order_payload(recipient={'name': 'Без '
                        'телефона'}, shipment_point=None))
        error = caught.exception
        self.assertEqual(error.status, 400)
        self.assertIn('v2_field_is_empty', error.codes)
        self.assertIn(
            'v2_order_location_from_and_shipment_point_empty', error.codes)
        self.assertIn('; ', error.message)

    def test_outage(self):
        SIM.faults.add(kind='error', endpoint='/v2/orders', status=502,
            count=1)
        with self.assertRaises(TransientError) as caught:
            self.client.create_order(order_payload())
        self.assertEqual(caught.exception.status, 502)
        SIM.faults.add(kind='rate_limit', endpoint='/v2/deliverypoints',
            count=1, retry_after=7)
        with self.assertRaises(TransientError) as caught:
            self.client.delivery_points(city_code=44)
        self.assertEqual(caught.exception.retry_after, 7)
        SIM.faults.add(kind='down', endpoint='/v2/location/*', count=1)
        with self.assertRaises(TransientError):
            self.client.cities()
        self.assertEqual(len(SIM.orders), 0)     # nothing half-made

    def test_delete(self):
        info = self.created()
        self.client.delete_order(info['uuid'])
        self.process()
        after = self.client.get_order_request(info['uuid'], 'DELETE')
        self.assertEqual((after['state'], after['status']),
            ('successful', 'REMOVED'))
        # handed over: CDEK refuses the deletion
        other = self.created('SHIP-0002')
        SIM.advance_order(uuid=other['uuid'])
        self.assertFalse(self.client.get_order(other['uuid'])['deletable'])
        self.client.delete_order(other['uuid'])
        self.process()
        refused = self.client.get_order_request(other['uuid'], 'DELETE')
        self.assertEqual(refused['state'], 'invalid')
        self.assertEqual(refused['status'], 'RECEIVED_AT_SHIPMENT_WAREHOUSE')
        with self.assertRaises(PermanentError) as caught:
            self.client.delete_order('72753031-0000-0000-0000-000000000000')
        self.assertEqual(caught.exception.status, 404)


class PrintTest(ClientTestCase):
    def test_waybill_and_barcode(self):
        info = self.created()
        waybill = self.client.print_waybill([info['uuid']])
        self.assertTrue(waybill.startswith(b'%PDF'))
        self.assertIn(info['cdek_number'].encode(), waybill)
        barcode = self.client.print_barcode([info['cdek_number']])
        self.assertTrue(barcode.startswith(b'%PDF'))
        self.assertEqual({r['type'] for r in self.client.get_order(
                    info['uuid'])['related']}, {'waybill', 'barcode'})

    def test_print_of_a_missing_order(self):
        with self.assertRaises(PermanentError) as caught:
            self.client.print_waybill(['72753031-0000-0000-0000-000000000000'])
        self.assertIn('v2_entity_not_found', caught.exception.codes)

    def test_print_never_ready(self):
        client = self.make_client(print_poll_timeout=5)
        info = self.created()
        SIM.processing(delay=60)
        with self.assertRaises(TransientError):
            client.print_waybill([info['uuid']])


class WebhookTest(ClientTestCase):
    def test_subscriptions(self):
        first = self.client.ensure_webhook('ORDER_STATUS', HOOK_URL)
        self.assertEqual(self.client.ensure_webhook('ORDER_STATUS',
                HOOK_URL), first)
        self.client.subscribe('ORDER_STATUS', HOOK_URL)   # a duplicate
        self.assertEqual(self.client.ensure_webhook('ORDER_STATUS',
                HOOK_URL), first)
        self.assertEqual([w['uuid'] for w in self.client.webhooks()],
            [first])
        self.client.unsubscribe(first)
        self.assertEqual(self.client.webhooks(), [])
        with self.assertRaises(PermanentError) as caught:
            self.client.subscribe('ORDER_STATUSES', HOOK_URL)
        self.assertIn('v2_webhook_type_incorrect', caught.exception.codes)

    def test_real_webhooks_parse(self):
        "Webhooks the simulator sends over HTTP, the legacy form included"
        self.client.ensure_webhook('ORDER_STATUS', HOOK_URL)
        self.client.ensure_webhook('PRINT_FORM', HOOK_URL)
        SIM.webhook_format(numeric_ids=True)
        info = self.created()
        for _ in range(6):
            SIM.advance_order(uuid=info['uuid'])
        SIM.advance_order(uuid=info['uuid'])      # DELIVERED
        self.client.print_barcode([info['uuid']])
        SIM.webhooks.wait_idle()
        parsed = [parse_webhook(b) for b in RECEIVER.bodies]
        events = [p['event'] for p in parsed if p['event']]
        self.assertEqual(events[0]['code'], 'CREATED')
        self.assertEqual(events[-1]['code'], 'DELIVERED')
        self.assertEqual(events[-1]['location'], 'Новосибирск')  # `city`
        self.assertEqual(events[-2]['location'], 'Новосибирск')  # city_name
        self.assertEqual(events[-1]['description'], 'Вручен')
        self.assertEqual(events[-1]['cdek_number'], info['cdek_number'])
        self.assertEqual({e['order_uuid'] for e in events}, {info['uuid']})
        dates = [e['date'] for e in events]
        self.assertEqual(dates, sorted(dates))
        form, = [p['print_form'] for p in parsed if p['print_form']]
        self.assertEqual(form['type'], 'barcode')
        self.assertTrue(form['url'].endswith('.pdf'))


class ParserTest(unittest.TestCase):
    "Messy payloads, without HTTP"

    def test_dates(self):
        expected = dt.datetime(2020, 2, 10, 4, 10, 34)
        for text in ('2020-02-10T11:10:34+0700', '2020-02-10T11:10:34+07:00',
                '2020-02-10T04:10:34Z', '2020-02-10 04:10:34',
                '2020-02-10T04:10:34.123456789+00:00', 1581307834000,
                '1581307834'):
            self.assertEqual(parse_datetime(text).replace(microsecond=0),
                expected, text)
        self.assertEqual(parse_datetime('2020-02-10'),
            dt.datetime(2020, 2, 10))
        self.assertIsNone(parse_datetime(''))
        with self.assertRaises(ValueError):
            parse_datetime('вчера')

    def test_legacy_payload(self):
        "CDEK's 2019 form: only the numeric status_code, `city`, a BOM"
        body = ('\ufeff' + json.dumps({'type': 'ORDER_STATUS',
                    'date_time': '2019-07-11T13:07:34+0700',
                    'uuid': '72753031-8347-40c0-ab0f-1a49c7a262c1',
                    'attributes': {'cdek_number': 1106153417,
                        'number': 1106152821, 'status_code': 4,
                        'status_date_time': '2019-07-11T12:41:43+0700',
                        'city': 'Новосибирск'}}, ensure_ascii=False)
            ).encode('utf-8')
        event = parse_webhook(body)['event']
        self.assertEqual(event['code'], 'DELIVERED')
        self.assertEqual((event['cdek_number'], event['number']),
            ('1106153417', '1106152821'))
        self.assertEqual(event['date'], dt.datetime(2019, 7, 11, 5, 41, 43))
        self.assertEqual(event['location'], 'Новосибирск')

    def test_unknown_code_is_kept(self):
        event = parse_webhook({'type': 'ORDER_STATUS', 'uuid': 'u1',
                'attributes': {'code': 'READY_TO_SHIP_AT_SENDING_OFFICE',
                    'status_code': '1000', 'status_reason_code': 20,
                    'status_date_time': '2026-03-05T21:47:22+00:00'}}
            )['event']
        self.assertEqual(event['code'], 'READY_TO_SHIP_AT_SENDING_OFFICE')
        # no name of CDEK's for the code: the reason's text only
        self.assertEqual(event['description'], 'Частичная доставка')
        self.assertEqual(event['reason_code'], '20')
        only_number = parse_webhook({'type': 'ORDER_STATUS',
                'attributes': {'status_code': '1000'}})['event']
        self.assertEqual(only_number['code'], 'status_code:1000')
        self.assertIsNone(only_number['description'])

    def test_refused_and_reason(self):
        event = parse_webhook({'type': 'order_status', 'attributes': {
                    'code': 'NOT_DELIVERED', 'status_reason_code': '11',
                    'city_name': 'Казань', 'city_code': 424,
                    'is_return': False}})['event']
        self.assertEqual(event['description'],
            'Не вручен: Возврат, отказ от получения: без объяснения')
        self.assertEqual(event['city_code'], '424')

    def test_bad_bodies(self):
        for body in (b'<xml/>', b'[1, 2]', b''):
            with self.assertRaises(PermanentError):
                parse_webhook(body)
        with self.assertRaises(PermanentError):
            parse_webhook({'type': 'ORDER_STATUS', 'attributes': {}})
        other = parse_webhook({'type': 'OFFICE_AVAILABILITY',
                'attributes': {'code': 'NSK1'}})
        self.assertIsNone(other['event'])
        self.assertEqual(other['raw']['attributes']['code'], 'NSK1')


if __name__ == '__main__':
    unittest.main()
