"""Site client against the 1C-Bitrix simulator over real HTTP (plain pytest).

No Tryton database: the client and the CommerceML parsers are plain Python.
"""
import datetime as dt
from decimal import Decimal

import pytest

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


@pytest.fixture(scope='module')
def simulator():
    sim = BitrixSiteSimulator()
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def site(simulator):
    simulator.reset()
    return SandboxControl(simulator.base_url)


@pytest.fixture
def client(simulator, site):
    creds = site.action('credentials')
    return SiteClient(simulator.base_url, creds['login'], creds['password'],
        timeout=3)


def place(site, **kwargs):
    order = {'lines': [{'product_xml_id': MACHINE, 'quantity': 1},
        {'product_xml_id': DESCALER, 'quantity': 2}],
        'promo_code': 'ВЕСНА10', 'bonus_balance': 1250, 'bonus_spent': 500,
        'loyalty_level': 'Золотой', 'delivery_id': 4, 'delivery_cost': 490,
        'delivery_terms': '1–2 дня', 'comment': 'Позвонить за час'}
    order.update(kwargs)
    return site.action('place_order', **order)


# -- pricing ---------------------------------------------------------------
def test_price_with_valid_coupon(client, simulator):
    priced = client.price_basket(BASKET, coupon='весна10',
        customer={'login': 'nobody'})
    machine, coffee = priced.lines['11'], priced.lines['12']
    assert (machine.base_price, machine.price, machine.discount,
        machine.amount) == (D('42990.00'), D('35982.63'), D('7007.37'),
        D('35982.63'))
    assert [d.rule_xml_id for d in machine.discounts] == [
        'coffee-machines-7', 'spring10']
    assert (coffee.quantity, coffee.price, coffee.amount) == (
        D(2), D('1709.10'), D('3418.20'))
    assert (priced.base_total, priced.discount_total, priced.total) == (
        D('46788.00'), D('7387.17'), D('39400.83'))
    assert priced.coupon.applied and priced.coupon.reason is None
    assert priced.customer is None            # unknown user: priced as guest
    assert priced.priced_at.tzinfo is not None
    assert simulator.coupons[0]['USE_COUNT'] == 0   # nothing consumed


@pytest.mark.parametrize('code, status, reason', [
    ('NOPE', 'not_found', 'not_found'),
    ('ЛЕТО2023', 'expired', 'period_ended'),
    ('VIP-PETROVA', 'used_up', 'used_up')])
def test_coupon_problems_are_answers(client, code, status, reason):
    priced = client.price_basket(BASKET, coupon=code)
    assert (priced.coupon.status, priced.coupon.reason) == (status, reason)
    assert priced.coupon.message.startswith(('Промокод', 'Срок'))
    assert priced.total == D('43778.70')     # the automatic rule still applies


def test_coupon_below_min_amount(client):
    priced = client.price_basket(BASKET[1:], coupon='SL-7QK2-M9XD')
    assert (priced.coupon.status, priced.coupon.reason) == (
        'not_applicable', 'min_amount')
    assert priced.coupon.details == {'min_amount': '5000.00',
        'basket_amount': '3798.00'}
    assert priced.discount_total == 0


def test_order_keeps_its_spent_coupon(client, site):
    placed = place(site, promo_code='SL-7QK2-M9XD')
    assert client.price_basket(BASKET, coupon='SL-7QK2-M9XD').coupon.status \
        == 'used_up'
    priced = client.price_basket(BASKET, coupon='SL-7QK2-M9XD',
        order_number=placed['account_number'])
    assert priced.coupon.applied
    assert priced.customer == {'user_id': 2, 'login': 'ivanova.m'}


def test_price_refusals_and_auth(client, simulator):
    with pytest.raises(PricingRefused) as info:
        client.price_basket([{'key': 'a', 'xml_id': 'no-such', 'quantity': 1}])
    assert info.value.code == 'unknown_items'
    assert info.value.details['items'][0]['key'] == 'a'
    assert info.value.status == 422 and 'no-such' in info.value.message
    with pytest.raises(PricingRefused) as info:
        client.price_basket([dict(BASKET[0], quantity=0)])
    assert info.value.code == 'bad_request'
    wrong = SiteClient(simulator.base_url, 'exchange_1c', 'wrong', timeout=3)
    with pytest.raises(ConfigurationError) as info:
        wrong.price_basket(BASKET)
    assert info.value.status == 401 and 'авторизации' in info.value.message


def test_price_faults(client, site):
    site.fault('error', PRICE_PATH, count=1, status=503)
    with pytest.raises(TransientError) as info:
        client.price_basket(BASKET)
    assert (info.value.status, info.value.retry_after) == (503, 5)
    assert 'недоступен' in info.value.message
    site.fault('down', PRICE_PATH, count=1)
    with pytest.raises(TransientError):
        client.price_basket(BASKET)
    assert client.price_basket(BASKET).total == D('43778.70')


# -- CommerceML order exchange ----------------------------------------------
def test_exchange_round_trip(client, site):
    placed = place(site)
    batch = client.fetch_orders()
    order, = batch.orders
    assert order['site_order_id'] == order['number'] == placed['account_number']
    assert isinstance(order['date'], dt.datetime)
    assert order['customer'] == {'site_user_id': '2', 'login': 'ivanova.m',
        'full_name': 'Иванова Мария Сергеевна', 'last_name': 'Иванова',
        'first_name': 'Мария', 'phone': '+79161234567',
        'email': 'ivanova.m@example.ru'}
    assert (order['bonus_balance'], order['loyalty_level'],
        order['promo_code']) == (D(1250), 'Золотой', 'ВЕСНА10')
    assert order['delivery'] == {'service_id': '4', 'service': 'СДЭК: курьером',
        'terms': '1–2 дня', 'cost': D('490.00'), 'postcode': '119021',
        'city': 'Москва', 'address': 'ул. Льва Толстого, д. 16, кв. 5',
        'allowed': False}
    assert (order['payment']['method_id'], order['payment']['paid']) == (
        '2', False)
    assert (order['status']['id'], order['status']['canceled']) == ('N', False)
    machine, descaler = order['lines']
    assert (machine['product_guid'], machine['characteristic_guid'],
        machine['quantity'], machine['price'], machine['amount']) == (
        MACHINE, None, D(1), D('35982.63'), D('35982.63'))
    assert machine['discount'] == D('7007.37')
    assert descaler['amount'] == D('1782.00')
    assert order['totals'] == {'goods': D('37764.63'),
        'discount': D('7205.37'), 'delivery': D('490.00'),
        'total': D(str(placed['price']))}
    assert order['comment'] == 'Позвонить за час'
    client.confirm_orders(batch)
    assert client.fetch_orders().orders == []


def test_unconfirmed_orders_come_again_with_the_same_id(client, site):
    placed = place(site)
    first = client.fetch_orders()
    again = client.fetch_orders()    # the hub crashed before mode=success
    assert [o['site_order_id'] for o in again.orders] == [
        placed['account_number']]
    assert again.orders == first.orders
    client.confirm_orders(again)
    with pytest.raises(PermanentError):
        client.confirm_orders(again)   # its query is committed: 'error'
    site.action('edit_order', id=placed['id'], status_id='DS')
    changed, = client.fetch_orders().orders
    assert (changed['site_order_id'], changed['status']['id']) == (
        placed['account_number'], 'DS')


def test_parse_orders_of_a_zipped_answer(client, site):
    place(site, promo_code=None)
    site.action('exchange_settings', query_zip=True)
    batch = client.fetch_orders()
    assert batch.raw[:2] == b'PK'
    assert parse_orders(batch.raw) == batch.orders
    assert batch.orders[0]['promo_code'] is None


def test_order_updates(client, site):
    placed = place(site)
    client.confirm_orders(client.fetch_orders())
    update = {'number': placed['account_number'], 'id_1c': 'ЗК-000123',
        'status_id': 'P', 'paid_number': 'ПП-77',
        'paid_date': dt.date(2024, 4, 8), 'tracking_number': '10012345678'}
    client.update_order(update, key='outbox-42')
    client.update_order(update, key='outbox-42')     # a retry: same file
    order, = site.action('orders')['orders']
    assert (order['id1c'], order['status_id'], order['payed'],
        order['delivery']['tracking_number']) == (
        'ЗК-000123', 'P', 'Y', '10012345678')
    assert client.fetch_orders().orders == []     # no echo back to the hub
    with pytest.raises(PermanentError) as info:
        client.update_order({'number': '999999', 'canceled': True})
    assert 'Заказ №999999 не найден' in info.value.message
    site.action('edit_order', id=placed['id'], status_id='F')
    with pytest.raises(PermanentError) as info:
        client.update_order({'number': placed['account_number'],
            'shipped': True})
    assert 'финальном статусе' in info.value.message


def test_exchange_auth_and_faults(client, simulator, site):
    wrong = SiteClient(simulator.base_url, 'exchange_1c', 'wrong', timeout=3)
    with pytest.raises(ConfigurationError) as info:
        wrong.fetch_orders()
    assert 'Ошибка авторизации' in info.value.message
    site.fault('error', '/bitrix/admin/*', count=1)
    with pytest.raises(TransientError) as info:
        client.fetch_orders()
    assert info.value.status == 502
    site.fault('down', '/bitrix/admin/*', count=1)
    with pytest.raises(TransientError):
        client.fetch_orders()
    site.fault('slow', '/bitrix/admin/*', count=1, delay=4)
    with pytest.raises(TransientError):
        client.fetch_orders()
    assert client.fetch_orders().orders == []


# -- sale.* REST --------------------------------------------------------------
def rest_client(simulator, webhook=None):
    webhook = webhook or f'{simulator.webhook_user}/{simulator.webhook_code}'
    return SiteRestClient(simulator.base_url, webhook, timeout=3)


def test_rest_order_and_basket(simulator, site):
    placed = place(site)
    rest = rest_client(simulator)
    order = rest.get_order(placed['id'])
    machine, descaler = order['basketItems']
    item = rest.update_basket_item(descaler['id'], {'quantity': 3,
            'basePrice': 990, 'price': 891, 'discountPrice': 99})
    assert (item['quantity'], item['price']) == (3, 891)
    added = rest.add_basket_item({'orderId': placed['id'], 'productId': 0,
            'currency': 'RUB', 'customPrice': 'Y', 'quantity': 1,
            'name': 'Lavazza', 'productXmlId': LAVAZZA, 'basePrice': 1899,
            'price': 1899, 'discountPrice': 0, 'xmlId': 'hub-line-1'})
    rest.delete_basket_item(machine['id'])
    updated = rest.update_order(placed['id'], {'statusId': 'P'})
    assert updated['statusId'] == 'P'
    order = rest.get_order(placed['id'])
    assert [i['id'] for i in order['basketItems']] == [
        descaler['id'], added['id']]
    assert order['price'] == 891 * 3 + 1899 + 490


def test_rest_errors(simulator, site):
    rest = rest_client(simulator)
    with pytest.raises(PermanentError) as info:
        rest.update_basket_item(999999, {'quantity': 1})
    assert info.value.message == (
        'basket item does not exist (200140400001)')
    with pytest.raises(ConfigurationError):
        rest_client(simulator, '1/wrong').get_order(1)
    with pytest.raises(ConfigurationError):
        SiteRestClient(simulator.base_url, None)
    site.fault('down', '/rest/*', count=1)
    with pytest.raises(TransientError):
        rest.get_order(1)
