"""Otpravka client against the Russian Post simulator over real HTTP.

No Tryton database: the client is plain Python."""
import time
import unittest
from decimal import Decimal

from sandbox.control import SandboxControl
from sandbox.russian_post import DEFAULT_CREDENTIALS, RussianPostSimulator
from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)

from ..client import OtpravkaClient, build_order, phone_digits, vat_rate

CREDENTIALS = (DEFAULT_CREDENTIALS['access_token'],
    DEFAULT_CREDENTIALS['login'], DEFAULT_CREDENTIALS['password'])
RECIPIENT = {'surname': 'Иванова', 'given_name': 'Мария',
    'middle_name': 'Петровна', 'name': 'Иванова Мария Петровна'}


def setUpModule():
    global SIM, URL, CONTROL
    SIM = RussianPostSimulator()
    URL = SIM.start()
    CONTROL = SandboxControl(URL)


def tearDownModule():
    SIM.stop()


class OtpravkaTestCase(unittest.TestCase):
    def setUp(self):
        SIM.reset()
        self.client = OtpravkaClient(URL, *CREDENTIALS, timeout=5)

    def orders_in_simulator(self, number):
        return [o for o in SIM.backlog.values() if o['order-num'] == number]

    def order(self, number='SO-7-1', **values):
        address = self.client.clean_address(
            '630099, г. Новосибирск, ул. Ленина, д. 5, кв. 12')
        values.setdefault('shipping_point', '109012')
        return build_order(number, RECIPIENT, address, 1200,
            phone='+7 (913) 555-01-02', **values)


class CredentialsTest(OtpravkaTestCase):
    def test_missing_credentials(self):
        with self.assertRaises(ConfigurationError):
            OtpravkaClient(URL, '', 'login', 'password')

    def test_wrong_token_needs_an_administrator(self):
        client = OtpravkaClient(URL, 'wrong', *CREDENTIALS[1:], timeout=5)
        with self.assertRaises(ConfigurationError) as caught:
            client.tariff('109012', '630099', 1000)
        self.assertIn('не приняла токен', caught.exception.message)
        self.assertEqual(caught.exception.status, 401)


class CleaningTest(OtpravkaTestCase):
    def test_addresses_matched_by_id(self):
        answers = self.client.clean_addresses({
                'home': 'Москва, ул. Профсоюзная, д. 3, кв. 7',
                'bad': 'где-то за углом', 'office': 'Казань, а/я 12'})
        self.assertTrue(answers['home']['deliverable'])
        self.assertEqual((answers['home']['street'],
                answers['home']['house'], answers['home']['room']),
            ('ул. Профсоюзная', '3', '7'))
        self.assertIsNone(answers['home']['problem'])
        self.assertTrue(answers['office']['deliverable'])
        self.assertFalse(answers['bad']['deliverable'])
        self.assertIn('не смогла разобрать адрес', answers['bad']['problem'])
        self.assertIn('Не определён регион', answers['bad']['problem'])

    def test_address_without_house_is_not_deliverable(self):
        answer = self.client.clean_address('Тверь, ул. Советская')
        self.assertFalse(answer['deliverable'])
        self.assertIn('номер дома', answer['problem'])

    def test_names_and_phones(self):
        names = self.client.clean_names({'1': 'петров пётр'})
        self.assertEqual((names['1']['surname'], names['1']['name']),
            ('Петров', 'Пётр'))
        phones = self.client.clean_phones({'1': '8 913 555-01-02'})
        self.assertEqual(phones['1']['phone-city-code'], '913')
        self.assertEqual(phone_digits('8 (913) 555-01-02'), 79135550102)
        self.assertIsNone(phone_digits('555'))


class ReferenceTest(OtpravkaTestCase):
    def test_tariff_in_roubles(self):
        price = self.client.tariff('109012', '630099', 1500,
            declared_value=Decimal('2500.00'), fragile=True)
        raw = price['raw']
        self.assertEqual(price['total'], Decimal(raw['total-rate']) / 100)
        self.assertEqual(price['total_with_vat'],
            price['total'] + price['vat'])
        self.assertIn('insurance-rate', raw)
        self.assertLessEqual(price['min_days'], price['max_days'])

    def test_post_office(self):
        office = self.client.post_office('630099')
        self.assertEqual(office['settlement'], 'Новосибирск')
        self.assertIsNone(self.client.post_office('999999'))


class OrderTest(OtpravkaTestCase):
    def test_create_is_idempotent(self):
        "A repeated creation finds the first order, in backlog or batch"
        first = self.client.create_order(self.order())
        self.assertFalse(first['existing'])
        self.assertRegex(first['barcode'], r'^109012\d{8}$')
        again = self.client.create_order(self.order())
        self.assertEqual((again['id'], again['barcode'], again['existing']),
            (first['id'], first['barcode'], True))
        batch = self.client.create_batch([first['id']])
        self.assertEqual(batch['ids'], [first['id']])
        third = self.client.create_order(self.order())
        self.assertEqual((third['id'], third['existing']),
            (first['id'], True))
        self.assertEqual(len(self.orders_in_simulator('SO-7-1')), 1)

    def test_lost_answer_never_creates_twice(self):
        "The creation times out but happened: the retry finds it"
        CONTROL.fault('slow', '/1.0/user/backlog', method='PUT', delay=1.0,
            count=1)
        client = OtpravkaClient(URL, *CREDENTIALS, timeout=0.3)
        with self.assertRaises(TransientError):
            client.create_order(self.order())
        deadline = time.monotonic() + 5
        while not self.orders_in_simulator('SO-7-1') and (
                time.monotonic() < deadline):
            time.sleep(0.05)
        retried = self.client.create_order(self.order())
        self.assertTrue(retried['existing'])
        self.assertEqual(len(self.orders_in_simulator('SO-7-1')), 1)

    def test_refusal_in_russian(self):
        order = self.order()
        del order['index-to']
        with self.assertRaises(PermanentError) as caught:
            self.client.create_order(order)
        self.assertIn('Почтовый индекс не указан', caught.exception.message)
        self.assertIn('EMPTY_INDEX_TO', caught.exception.message)
        self.assertFalse(self.orders_in_simulator('SO-7-1'))

    def test_mixed_batch_by_position(self):
        bad = self.order('SO-7-2')
        bad['mass'] = 0
        results = self.client.create_orders([bad, self.order('SO-7-3')])
        self.assertEqual(results[0]['errors'][0]['code'], 'ILLEGAL_MASS')
        self.assertIn('id', results[1])

    def test_cash_on_delivery_and_marked_goods(self):
        items = [{'name': 'Кроссовки', 'article': 'КР-1001', 'quantity': 2,
                'unit_price': Decimal('6990.00'), 'vat_rate': 20,
                'weight': 800, 'marking_codes': ['010460043993125621JgXJ5.T']},
            {'name': 'Шапка', 'article': 'АК-9001', 'quantity': 1,
                'unit_price': Decimal('990.50'), 'vat_rate': None}]
        order = self.order(cash_on_delivery=Decimal('14970.50'),
            declared_value=Decimal('14970.50'), items=items,
            mail_category='WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY',
            dimensions={'height': 10, 'length': 30, 'width': 20})
        self.assertEqual(order['payment'], 1497050)
        goods = order['goods']['items']
        self.assertEqual([(g['quantity'], g.get('code')) for g in goods],
            [(1, '010460043993125621JgXJ5.T'), (1, None), (1, None)])
        self.assertEqual(goods[2]['vat-rate'], -1)
        created = self.client.create_order(order)
        self.assertEqual(created['order']['payment'], 1497050)
        forms = self.client.forms(created['id'], backlog=True)
        self.assertTrue(forms.startswith(b'%PDF'))
        self.assertIn(b'/Count 2', forms)           # label and Ф112ЭК
        self.client.create_batch([created['id']])
        self.assertIn(b'/Count 1', self.client.forms(created['id'], 'f7p'))
        self.assertTrue(self.client.forms(created['id'], 'f112'))

    def test_f112_without_cash_on_delivery_refused(self):
        created = self.client.create_order(self.order())
        self.client.create_batch([created['id']])
        with self.assertRaises(PermanentError) as caught:
            self.client.forms(created['id'], 'f112')
        self.assertIn('наложенным платежом', caught.exception.message)

    def test_delete(self):
        created = self.client.create_order(self.order())
        self.assertEqual(self.client.delete_orders([created['id']]),
            {'deleted': [created['id']], 'not_found': []})
        self.assertEqual(self.client.delete_orders([created['id']]),
            {'deleted': [], 'not_found': [created['id']]})

    def test_vat_rates(self):
        self.assertEqual([vat_rate(r) for r in (None, 0, 10, '20',
                    Decimal('0.22'))], [-1, 0, 10, 20, 22])
        with self.assertRaises(ValueError):
            vat_rate(18)


class OutageTest(OtpravkaTestCase):
    def test_down_error_and_rate_limit_are_transient(self):
        CONTROL.fault('down', '/1.0/tariff', count=1)
        with self.assertRaises(TransientError):
            self.client.tariff('109012', '630099', 1000)
        CONTROL.fault('error', '/1.0/tariff', count=1, status=503)
        with self.assertRaises(TransientError):
            self.client.tariff('109012', '630099', 1000)
        CONTROL.fault('rate_limit', '/1.0/tariff', count=1, retry_after=30)
        with self.assertRaises(TransientError) as caught:
            self.client.tariff('109012', '630099', 1000)
        self.assertEqual(caught.exception.retry_after, 30)
        self.assertTrue(self.client.tariff('109012', '630099', 1000))

    def test_slow_answer_is_a_timeout(self):
        CONTROL.fault('slow', '/1.0/tariff', delay=1.0, count=1)
        client = OtpravkaClient(URL, *CREDENTIALS, timeout=0.3)
        with self.assertRaises(TransientError) as caught:
            client.tariff('109012', '630099', 1000)
        self.assertIn('не ответил', caught.exception.message)
