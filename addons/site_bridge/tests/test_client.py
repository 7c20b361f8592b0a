"""Site client against the 1C-Bitrix simulator over real HTTP.

No Tryton database: the client and the CommerceML parsers are plain Python.
One simulator for the class, reset before each test.
"""
import datetime as dt
import unittest
from decimal import Decimal

from sandbox.bitrix_site import PRICE_PATH, BitrixSiteSimulator
from sandbox.control import SandboxControl
from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)

from ..client import PricingRefused, SiteClient, SiteRestClient
from ..commerceml import parse_orders

MACHINE = '5f1b2c3d-1001-11ee-be56-0242ac120002'
LAVAZZA = '5f1b2c3d-2001-11ee-be56-0242ac120002'
DESCALER = '5f1b2c3d-3001-11ee-be56-0242ac120002'
BASKET = [{'key': 11, 'xml_id': MACHINE, 'quantity': Decimal(1)},
    {'key': 12, 'xml_id': LAVAZZA, 'quantity': Decimal(2)}]
D = Decimal


def place(site, **kwargs):
    order = {'lines': [{'product_xml_id': MACHINE, 'quantity': 1},
        {'product_xml_id': DESCALER, 'quantity': 2}],
        'promo_code': 'ВЕСНА10', 'bonus_balance': 1250, 'bonus_spent': 500,
        'loyalty_level': 'Золотой', 'delivery_id': 4, 'delivery_cost': 490,
        'delivery_terms': '1–2 дня', 'comment': 'Позвонить за час'}
    order.update(kwargs)
    return site.action('place_order', **order)


def rest_client(simulator, webhook=None):
    webhook = webhook or f'{simulator.webhook_user}/{simulator.webhook_code}'
    return SiteRestClient(simulator.base_url, webhook, timeout=3)


class SiteClientTestCase(unittest.TestCase):
    "The site client's pricing, CommerceML exchange and sale.* REST"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = BitrixSiteSimulator()
        cls.simulator.start()
        cls.addClassCleanup(cls.simulator.stop)

    def setUp(self):
        super().setUp()
        self.simulator.reset()
        self.site = SandboxControl(self.simulator.base_url)
        self.creds = self.site.action('credentials')
        self.client = SiteClient(self.simulator.base_url,
            self.creds['login'], self.creds['password'], timeout=3)

    # -- pricing -------------------------------------------------------------
    def test_price_with_valid_coupon(self):
        priced = self.client.price_basket(BASKET, coupon='весна10',
            customer={'login': 'nobody'})
        machine, coffee = priced.lines['11'], priced.lines['12']
        self.assertEqual((machine.base_price, machine.price, machine.discount,
                machine.amount), (D('42990.00'), D('35982.63'), D('7007.37'),
                D('35982.63')))
        self.assertEqual([d.rule_xml_id for d in machine.discounts], [
                'coffee-machines-7', 'spring10'])
        self.assertEqual((coffee.quantity, coffee.price, coffee.amount), (
                D(2), D('1709.10'), D('3418.20')))
        self.assertEqual(
            (priced.base_total, priced.discount_total, priced.total),
            (D('46788.00'), D('7387.17'), D('39400.83')))
        self.assertTrue(priced.coupon.applied)
        self.assertIsNone(priced.coupon.reason)
        # unknown user: priced as guest
        self.assertIsNone(priced.customer)
        self.assertIsNotNone(priced.priced_at.tzinfo)
        # nothing consumed
        self.assertEqual(self.simulator.coupons[0]['USE_COUNT'], 0)

    def test_coupon_problems_are_answers(self):
        for code, status, reason in [
                ('NOPE', 'not_found', 'not_found'),
                ('ЛЕТО2023', 'expired', 'period_ended'),
                ('VIP-PETROVA', 'used_up', 'used_up')]:
            with self.subTest(code=code):
                priced = self.client.price_basket(BASKET, coupon=code)
                self.assertEqual((priced.coupon.status, priced.coupon.reason),
                    (status, reason))
                self.assertTrue(
                    priced.coupon.message.startswith(('Промокод', 'Срок')),
                    priced.coupon.message)
                # the automatic rule still applies
                self.assertEqual(priced.total, D('43778.70'))

    def test_coupon_below_min_amount(self):
        priced = self.client.price_basket(BASKET[1:], coupon='SL-7QK2-M9XD')
        self.assertEqual((priced.coupon.status, priced.coupon.reason), (
                'not_applicable', 'min_amount'))
        self.assertEqual(priced.coupon.details, {'min_amount': '5000.00',
                'basket_amount': '3798.00'})
        self.assertEqual(priced.discount_total, 0)

    def test_order_keeps_its_spent_coupon(self):
        placed = place(self.site, promo_code='SL-7QK2-M9XD')
        self.assertEqual(self.client.price_basket(
                BASKET, coupon='SL-7QK2-M9XD').coupon.status, 'used_up')
        priced = self.client.price_basket(BASKET, coupon='SL-7QK2-M9XD',
            order_number=placed['account_number'])
        self.assertTrue(priced.coupon.applied)
        self.assertEqual(priced.customer,
            {'user_id': 2, 'login': 'ivanova.m'})

    def test_price_refusals_and_auth(self):
        with self.assertRaises(PricingRefused) as info:
            self.client.price_basket(
                [{'key': 'a', 'xml_id': 'no-such', 'quantity': 1}])
        self.assertEqual(info.exception.code, 'unknown_items')
        self.assertEqual(info.exception.details['items'][0]['key'], 'a')
        self.assertEqual(info.exception.status, 422)
        self.assertIn('no-such', info.exception.message)
        with self.assertRaises(PricingRefused) as info:
            self.client.price_basket([dict(BASKET[0], quantity=0)])
        self.assertEqual(info.exception.code, 'bad_request')
        wrong = SiteClient(self.simulator.base_url, 'exchange_1c', 'wrong',
            timeout=3)
        with self.assertRaises(ConfigurationError) as info:
            wrong.price_basket(BASKET)
        self.assertEqual(info.exception.status, 401)
        self.assertIn('авторизации', info.exception.message)

    def test_price_faults(self):
        self.site.fault('error', PRICE_PATH, count=1, status=503)
        with self.assertRaises(TransientError) as info:
            self.client.price_basket(BASKET)
        self.assertEqual(
            (info.exception.status, info.exception.retry_after), (503, 5))
        self.assertIn('недоступен', info.exception.message)
        self.site.fault('down', PRICE_PATH, count=1)
        with self.assertRaises(TransientError):
            self.client.price_basket(BASKET)
        self.assertEqual(self.client.price_basket(BASKET).total,
            D('43778.70'))

    # -- CommerceML order exchange -------------------------------------------
    def test_exchange_round_trip(self):
        placed = place(self.site)
        batch = self.client.fetch_orders()
        order, = batch.orders
        self.assertEqual(order['site_order_id'], placed['account_number'])
        self.assertEqual(order['number'], placed['account_number'])
        self.assertIsInstance(order['date'], dt.datetime)
        self.assertEqual(order['customer'], {'site_user_id': '2',
                'login': 'ivanova.m', 'full_name': 'Иванова Мария Сергеевна',
                'last_name': 'Иванова', 'first_name': 'Мария',
                'phone': '+79161234567', 'email': 'ivanova.m@example.ru'})
        self.assertEqual((order['bonus_balance'], order['loyalty_level'],
                order['promo_code']), (D(1250), 'Золотой', 'ВЕСНА10'))
        self.assertEqual(order['delivery'], {'service_id': '4',
                'service': 'СДЭК: курьером', 'terms': '1–2 дня',
                'cost': D('490.00'), 'postcode': '119021', 'city': 'Москва',
                'address': 'ул. Льва Толстого, д. 16, кв. 5',
                'allowed': False})
        self.assertEqual(
            (order['payment']['method_id'], order['payment']['paid']),
            ('2', False))
        self.assertEqual(
            (order['status']['id'], order['status']['canceled']),
            ('N', False))
        machine, descaler = order['lines']
        self.assertEqual((machine['product_guid'],
                machine['characteristic_guid'], machine['quantity'],
                machine['price'], machine['amount']),
            (MACHINE, None, D(1), D('35982.63'), D('35982.63')))
        self.assertEqual(machine['discount'], D('7007.37'))
        self.assertEqual(descaler['amount'], D('1782.00'))
        self.assertEqual(order['totals'], {'goods': D('37764.63'),
                'discount': D('7205.37'), 'delivery': D('490.00'),
                'total': D(str(placed['price']))})
        self.assertEqual(order['comment'], 'Позвонить за час')
        self.client.confirm_orders(batch)
        self.assertEqual(self.client.fetch_orders().orders, [])

    def test_unconfirmed_orders_come_again_with_the_same_id(self):
        placed = place(self.site)
        first = self.client.fetch_orders()
        again = self.client.fetch_orders()  # the hub crashed before success
        self.assertEqual([o['site_order_id'] for o in again.orders], [
                placed['account_number']])
        self.assertEqual(again.orders, first.orders)
        self.client.confirm_orders(again)
        with self.assertRaises(PermanentError):
            # its query is committed: 'error'
            self.client.confirm_orders(again)
        self.site.action('edit_order', id=placed['id'], status_id='DS')
        changed, = self.client.fetch_orders().orders
        self.assertEqual((changed['site_order_id'], changed['status']['id']),
            (placed['account_number'], 'DS'))

    def test_parse_orders_of_a_zipped_answer(self):
        place(self.site, promo_code=None)
        self.site.action('exchange_settings', query_zip=True)
        batch = self.client.fetch_orders()
        self.assertEqual(batch.raw[:2], b'PK')
        self.assertEqual(parse_orders(batch.raw), batch.orders)
        self.assertIsNone(batch.orders[0]['promo_code'])

    def test_order_updates(self):
        placed = place(self.site)
        self.client.confirm_orders(self.client.fetch_orders())
        update = {'number': placed['account_number'], 'id_1c': 'ЗК-000123',
            'status_id': 'P', 'paid_number': 'ПП-77',
            'paid_date': dt.date(2024, 4, 8),
            'tracking_number': '10012345678'}
        self.client.update_order(update, key='outbox-42')
        # a retry: same file
        self.client.update_order(update, key='outbox-42')
        order, = self.site.action('orders')['orders']
        self.assertEqual((order['id1c'], order['status_id'], order['payed'],
                order['delivery']['tracking_number']),
            ('ЗК-000123', 'P', 'Y', '10012345678'))
        # no echo back to the hub
        self.assertEqual(self.client.fetch_orders().orders, [])
        with self.assertRaises(PermanentError) as info:
            self.client.update_order({'number': '999999', 'canceled': True})
        self.assertIn('Заказ №999999 не найден', info.exception.message)
        self.site.action('edit_order', id=placed['id'], status_id='F')
        with self.assertRaises(PermanentError) as info:
            self.client.update_order({'number': placed['account_number'],
                    'shipped': True})
        self.assertIn('финальном статусе', info.exception.message)

    def test_exchange_auth_and_faults(self):
        wrong = SiteClient(self.simulator.base_url, 'exchange_1c', 'wrong',
            timeout=3)
        with self.assertRaises(ConfigurationError) as info:
            wrong.fetch_orders()
        self.assertIn('Ошибка авторизации', info.exception.message)
        self.site.fault('error', '/bitrix/admin/*', count=1)
        with self.assertRaises(TransientError) as info:
            self.client.fetch_orders()
        self.assertEqual(info.exception.status, 502)
        self.site.fault('down', '/bitrix/admin/*', count=1)
        with self.assertRaises(TransientError):
            self.client.fetch_orders()
        self.site.fault('slow', '/bitrix/admin/*', count=1, delay=4)
        # a client that waits half a second, not 3 s, for the slow answer
        hasty = SiteClient(self.simulator.base_url, self.creds['login'],
            self.creds['password'], timeout=0.5)
        with self.assertRaises(TransientError):
            hasty.fetch_orders()
        self.assertEqual(self.client.fetch_orders().orders, [])

    # -- sale.* REST ---------------------------------------------------------
    def test_rest_order_and_basket(self):
        placed = place(self.site)
        rest = rest_client(self.simulator)
        order = rest.get_order(placed['id'])
        machine, descaler = order['basketItems']
        item = rest.update_basket_item(descaler['id'], {'quantity': 3,
                'basePrice': 990, 'price': 891, 'discountPrice': 99})
        self.assertEqual((item['quantity'], item['price']), (3, 891))
        added = rest.add_basket_item({'orderId': placed['id'],
                'productId': 0, 'currency': 'RUB', 'customPrice': 'Y',
                'quantity': 1, 'name': 'Lavazza', 'productXmlId': LAVAZZA,
                'basePrice': 1899, 'price': 1899, 'discountPrice': 0,
                'xmlId': 'hub-line-1'})
        rest.delete_basket_item(machine['id'])
        updated = rest.update_order(placed['id'], {'statusId': 'P'})
        self.assertEqual(updated['statusId'], 'P')
        order = rest.get_order(placed['id'])
        self.assertEqual([i['id'] for i in order['basketItems']], [
                descaler['id'], added['id']])
        self.assertEqual(order['price'], 891 * 3 + 1899 + 490)

    def test_rest_errors(self):
        rest = rest_client(self.simulator)
        with self.assertRaises(PermanentError) as info:
            rest.update_basket_item(999999, {'quantity': 1})
        self.assertEqual(info.exception.message,
            'basket item does not exist (200140400001)')
        with self.assertRaises(ConfigurationError):
            rest_client(self.simulator, '1/wrong').get_order(1)
        with self.assertRaises(ConfigurationError):
            SiteRestClient(self.simulator.base_url, None)
        self.site.fault('down', '/rest/*', count=1)
        with self.assertRaises(TransientError):
            rest.get_order(1)
