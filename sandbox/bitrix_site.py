"""1C-Bitrix site ("БУС") simulator: the e-shop the hub takes orders from.

Follows docs/external/bitrix_site.md: the CommerceML 2 exchange at
``/bitrix/admin/1c_exchange.php`` (1C, or the hub posing as 1C, is the client),
the ``sale.*`` REST methods of the site's ``rest`` module, and cart rules with
coupons kept in state (priced by :func:`price_basket`).
"""
import copy
import fnmatch
import hashlib
import io
import random
import secrets
import zipfile
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

from flask import Response, jsonify, request

from .bitrix24 import (MSK, BitrixRest, RestError, apply_filter,
    apply_order, as_list, paginate, rest)
from . import page
from .core import control, route
from .demo import random_order

EXCHANGE_PATH = '/bitrix/admin/1c_exchange.php'
BOM = '\ufeff'.encode('utf-8')
CML_NS = 'urn:1C.ru:commerceml_2'
SCRIPT_EXTENSIONS = ('.php', '.phtml', '.php3', '.php4', '.php5', '.phar',
    '.pl', '.py', '.cgi', '.asp', '.aspx', '.shtml', '.htaccess')
PAYMENT_OPERATIONS = {'Выплата наличных денег', 'Выплата безналичных денег',
    'Эквайринговая операция'}
MSG_AUTH = 'Ошибка авторизации. Неверный логин или пароль.'
MSG_SOURCE = 'Ошибка проверки источника запроса. Обновите модуль обмена.'

STATUSES = [  # (id, name, sort) of the default install + one custom status
    ('N', 'Принят, ожидается оплата', 10),
    ('P', 'Оплачен, формируется к отправке', 20),
    ('DS', 'Передан в службу доставки', 30),
    ('F', 'Выполнен', 40),
    ]
FINAL_STATUS = 'F'
PAY_SYSTEMS = {1: 'Наличные курьеру', 2: 'Банковская карта (ЮKassa)',
    3: 'Внутренний счёт', 4: 'СБП'}
INNER_PAY_SYSTEM = 3
DELIVERIES = {1: 'Без доставки', 2: 'Самовывоз из магазина',
    3: 'СДЭК: до пункта выдачи', 4: 'СДЭК: курьером',
    5: 'Почта России: посылка'}
ORDER_PROPERTIES = [  # (id, code, name) for person type 1 "Физическое лицо"
    (1, 'FIO', 'Ф.И.О.'), (2, 'EMAIL', 'E-Mail'), (3, 'PHONE', 'Телефон'),
    (4, 'ZIP', 'Индекс'), (5, 'CITY', 'Город'), (6, 'ADDRESS', 'Адрес доставки'),
    (7, 'DELIVERY_TERMS', 'Срок доставки'),
    (8, 'BONUS_BALANCE', 'Бонусный баланс'),
    (9, 'LOYALTY_LEVEL', 'Уровень лояльности'),
    (10, 'PROMO_CODE', 'Промокод'),
    ]
CATALOG_XML_ID = 'bd72d8f9-55bc-11d9-848a-00112f43529a'
BASE_PRICE_TYPE = 'bd72d90c-55bc-11d9-848a-00112f43529a'
SEED_STORE = 'c7e3a2b1-0001-11ee-9a2a-0242ac120002'
SEED_SECTIONS = {
    'a1f0c1e2-0001-11ee-8c90-0242ac120002': 'Кофемашины',
    'a1f0c1e2-0002-11ee-8c90-0242ac120002': 'Кофе в зёрнах',
    'a1f0c1e2-0003-11ee-8c90-0242ac120002': 'Аксессуары',
    }
SEED_PRODUCTS = [  # (xml id, article, name, section, price, stock)
    ('5f1b2c3d-1001-11ee-be56-0242ac120002', 'DL-ECAM22', 'Кофемашина De\'Longhi'
        ' Magnifica S ECAM22.110.B', 'a1f0c1e2-0001-11ee-8c90-0242ac120002',
        42990, 7),
    ('5f1b2c3d-1002-11ee-be56-0242ac120002', 'PH-EP2231', 'Кофемашина Philips'
        ' EP2231/40', 'a1f0c1e2-0001-11ee-8c90-0242ac120002', 36490, 4),
    ('5f1b2c3d-2001-11ee-be56-0242ac120002', 'LV-ORO-1KG', 'Кофе в зёрнах'
        ' Lavazza Qualità Oro, 1 кг', 'a1f0c1e2-0002-11ee-8c90-0242ac120002',
        1899, 120),
    ('5f1b2c3d-2002-11ee-be56-0242ac120002', 'JC-CR-1KG', 'Кофе в зёрнах'
        ' Jardin Crema, 1 кг', 'a1f0c1e2-0002-11ee-8c90-0242ac120002', 1290,
        85),
    ('5f1b2c3d-3001-11ee-be56-0242ac120002', 'DL-DLSC002', 'Средство от накипи'
        ' De\'Longhi EcoDecalk, 500 мл', 'a1f0c1e2-0003-11ee-8c90-0242ac120002',
        990, 60),
    ]


def iso(dt):
    return dt.isoformat() if dt else None


def parse_dt(value):
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=MSK)


def catalog_product(xml_id, article, name, section):
    "A catalogue element as the site keeps it"
    return {'xml_id': xml_id, 'article': article, 'name': name,
        'barcode': None, 'sections': [section], 'description': '',
        'unit': '796', 'vat_rate': 20, 'properties': {},
        'requisites': {'ВидНоменклатуры': 'Товар'}, 'active': True,
        'touched': 0}


def catalog_offer(xml_id, name, price, quantity, stores=None):
    "An offer (trade offer of a product or of its size) at the BASE price"
    return {'xml_id': xml_id, 'name': name,
        'prices': {BASE_PRICE_TYPE: {'price': price, 'currency': 'RUB'}},
        'quantity': quantity, 'stores': stores or {}}


def rest_id(value):
    """An id as the site's sale REST answers it: a JSON string ("255"), the
    way PHP hands database integers over (bitrix_site notes, unconfirmed
    point 21)"""
    return None if value is None else str(value)


def money(value):
    return round(float(value) + 1e-9, 2)


# -- cart rules ("Правила работы с корзиной") ------------------------------------

def seed_rules(today):
    """Realistic cart rules and coupons, in b_sale_discount /
    b_sale_discount_coupon terms; dates are relative to today."""
    day = timedelta(days=1)
    rules = [
        {'ID': 1, 'XML_ID': 'spring10', 'LID': 's1', 'ACTIVE': 'Y',
            'NAME': 'Весенняя распродажа: −10% по промокоду',
            'ACTIVE_FROM': iso(today - 30 * day), 'ACTIVE_TO': iso(today + 60 * day),
            'SORT': 100, 'PRIORITY': 1, 'LAST_DISCOUNT': 'N',
            'LAST_LEVEL_DISCOUNT': 'N', 'USE_COUPONS': 'Y', 'CURRENCY': 'RUB',
            'USER_GROUPS': [2], 'CONDITIONS': {},
            'ACTION': {'type': 'percent', 'value': 10}},
        {'ID': 2, 'XML_ID': 'minus500', 'LID': 's1', 'ACTIVE': 'Y',
            'NAME': '500 ₽ на заказ от 5 000 ₽',
            'ACTIVE_FROM': None, 'ACTIVE_TO': None, 'SORT': 100, 'PRIORITY': 1,
            'LAST_DISCOUNT': 'N', 'LAST_LEVEL_DISCOUNT': 'N',
            'USE_COUPONS': 'Y', 'CURRENCY': 'RUB', 'USER_GROUPS': [2],
            'CONDITIONS': {'min_amount': 5000},
            'ACTION': {'type': 'fixed', 'value': 500}},
        {'ID': 3, 'XML_ID': 'coffee-machines-7', 'LID': 's1', 'ACTIVE': 'Y',
            'NAME': 'Скидка 7% на кофемашины',
            'ACTIVE_FROM': iso(today - 10 * day), 'ACTIVE_TO': iso(today + 20 * day),
            'SORT': 200, 'PRIORITY': 2, 'LAST_DISCOUNT': 'N',
            'LAST_LEVEL_DISCOUNT': 'N', 'USE_COUPONS': 'N', 'CURRENCY': 'RUB',
            'USER_GROUPS': [2],
            'CONDITIONS': {'section_xml_ids': ['a1f0c1e2-0001-11ee-8c90-0242ac120002']},
            'ACTION': {'type': 'percent', 'value': 7}},
        {'ID': 4, 'XML_ID': 'lavazza-gift', 'LID': 's1', 'ACTIVE': 'Y',
            'NAME': '−300 ₽ на каждую пачку Lavazza Oro по купону',
            'ACTIVE_FROM': None, 'ACTIVE_TO': iso(today + 90 * day), 'SORT': 100,
            'PRIORITY': 1, 'LAST_DISCOUNT': 'N', 'LAST_LEVEL_DISCOUNT': 'N',
            'USE_COUPONS': 'Y', 'CURRENCY': 'RUB', 'USER_GROUPS': [2],
            'CONDITIONS': {'product_xml_ids': ['5f1b2c3d-2001-11ee-be56-0242ac120002']},
            'ACTION': {'type': 'fixed_per_unit', 'value': 300}},
        {'ID': 5, 'XML_ID': 'summer-2023', 'LID': 's1', 'ACTIVE': 'Y',
            'NAME': 'Летняя акция 2023: −15%',
            'ACTIVE_FROM': iso(today - 500 * day), 'ACTIVE_TO': iso(today - 400 * day),
            'SORT': 100, 'PRIORITY': 1, 'LAST_DISCOUNT': 'Y',
            'LAST_LEVEL_DISCOUNT': 'N', 'USE_COUPONS': 'Y', 'CURRENCY': 'RUB',
            'USER_GROUPS': [2], 'CONDITIONS': {},
            'ACTION': {'type': 'percent', 'value': 15}},
        ]
    coupons = [
        # TYPE: 1 one basket row, 2 one order, 4 reusable (multi-order)
        {'ID': 1, 'DISCOUNT_ID': 1, 'COUPON': 'ВЕСНА10', 'ACTIVE': 'Y',
            'ACTIVE_FROM': None, 'ACTIVE_TO': None, 'TYPE': 4, 'MAX_USE': 100,
            'USE_COUNT': 0, 'USER_ID': 0, 'DATE_APPLY': None,
            'DESCRIPTION': 'Рассылка март'},
        {'ID': 2, 'DISCOUNT_ID': 2, 'COUPON': 'SL-7QK2-M9XD', 'ACTIVE': 'Y',
            'ACTIVE_FROM': None, 'ACTIVE_TO': iso(today + 30 * day), 'TYPE': 2,
            'MAX_USE': 1, 'USE_COUNT': 0, 'USER_ID': 0, 'DATE_APPLY': None,
            'DESCRIPTION': 'Одноразовый купон за отзыв'},
        {'ID': 3, 'DISCOUNT_ID': 4, 'COUPON': 'LAVAZZA300', 'ACTIVE': 'Y',
            'ACTIVE_FROM': None, 'ACTIVE_TO': None, 'TYPE': 1, 'MAX_USE': 0,
            'USE_COUNT': 0, 'USER_ID': 0, 'DATE_APPLY': None,
            'DESCRIPTION': 'Промо Lavazza'},
        {'ID': 4, 'DISCOUNT_ID': 5, 'COUPON': 'ЛЕТО2023', 'ACTIVE': 'Y',
            'ACTIVE_FROM': None, 'ACTIVE_TO': None, 'TYPE': 4, 'MAX_USE': 0,
            'USE_COUNT': 57, 'USER_ID': 0, 'DATE_APPLY': None,
            'DESCRIPTION': 'Прошлогодняя акция'},
        {'ID': 5, 'DISCOUNT_ID': 1, 'COUPON': 'VIP-PETROVA', 'ACTIVE': 'Y',
            'ACTIVE_FROM': None, 'ACTIVE_TO': None, 'TYPE': 4, 'MAX_USE': 3,
            'USE_COUNT': 3, 'USER_ID': 0, 'DATE_APPLY': None,
            'DESCRIPTION': 'Исчерпан'},
        ]
    return rules, coupons


def _in_period(item, moment):
    start, end = parse_dt(item.get('ACTIVE_FROM')), parse_dt(item.get('ACTIVE_TO'))
    return (start is None or start <= moment) and (end is None or moment <= end)


def coupon_status(coupon, rules, user, moment):
    "Why a coupon can or cannot be used (names mirror DiscountCouponsManager)"
    if coupon is None:
        return 'not_found'
    rule = rules.get(coupon['DISCOUNT_ID'])
    if coupon['ACTIVE'] != 'Y' or not rule or rule['ACTIVE'] != 'Y':
        return 'not_found'
    if not _in_period(coupon, moment) or not _in_period(rule, moment):
        return 'freeze'   # expired or not yet active
    if coupon['MAX_USE'] and coupon['USE_COUNT'] >= coupon['MAX_USE']:
        return 'freeze'
    if coupon['USER_ID'] and (user or {}).get('id') != coupon['USER_ID']:
        return 'not_found'
    return 'entered'


def _line_matches(rule, line):
    cond = rule['CONDITIONS']
    products, sections = cond.get('product_xml_ids'), cond.get('section_xml_ids')
    if products and line['product_xml_id'] not in products:
        return False
    if sections and not set(line.get('section_xml_ids') or ()) & set(sections):
        return False
    return True


def _rule_discounts(rule, lines, single_row):
    "Discount per unit for each matching line (index -> amount)"
    action = rule['ACTION']
    matching = [i for i, line in enumerate(lines) if _line_matches(rule, line)]
    if single_row:
        matching = matching[:1]
    if action['type'] == 'percent':
        return {i: lines[i]['price'] * action['value'] / 100 for i in matching}
    if action['type'] == 'fixed_per_unit':
        return {i: min(action['value'], lines[i]['price']) for i in matching}
    # 'fixed': an amount off the order, spread over lines by their sums
    total = sum(lines[i]['price'] * lines[i]['quantity'] for i in matching)
    amount = min(action['value'], total)
    return {i: amount * lines[i]['price'] / total for i in matching} if total else {}


def price_basket(items, rules, coupons, coupon=None, user=None, *, moment):
    """Apply cart rules to a basket; pure (state is passed in, not changed).

    items: [{product_xml_id, name, price, quantity, section_xml_ids}];
    returns priced lines (base_price, discount, price, sum), the discounts
    applied and the coupon's status.
    """
    rules = {r['ID']: r for r in rules}
    lines = [{**item, 'base_price': money(item['price']),
        'price': float(item['price']), 'quantity': float(item['quantity']),
        'discounts': []} for item in items]
    found = next((c for c in coupons if coupon and c['COUPON'].lower()
        == str(coupon).strip().lower()), None)
    status = coupon_status(found, rules, user, moment) if coupon else None
    applied = []
    ordered = sorted(rules.values(), key=lambda r: (-r['PRIORITY'], r['SORT'],
        r['ID']))
    for rule in ordered:
        if rule['ACTIVE'] != 'Y' or not _in_period(rule, moment):
            continue
        uses_coupon = rule['USE_COUPONS'] == 'Y'
        if uses_coupon and not (status == 'entered'
                and found['DISCOUNT_ID'] == rule['ID']):
            continue
        base = sum(line['price'] * line['quantity'] for line in lines)
        if base < rule['CONDITIONS'].get('min_amount', 0):
            continue
        per_unit = _rule_discounts(rule, lines, uses_coupon and found['TYPE'] == 1)
        amount = 0.0
        for i, value in per_unit.items():
            value = money(value)
            lines[i]['price'] = money(lines[i]['price'] - value)
            lines[i]['discounts'].append({'rule_id': rule['ID'],
                'name': rule['NAME'], 'amount': value})
            amount += value * lines[i]['quantity']
        if not per_unit:
            continue
        applied.append({'rule_id': rule['ID'], 'name': rule['NAME'],
            'coupon': found['COUPON'] if uses_coupon else None,
            'amount': money(amount)})
        if uses_coupon:
            status = 'applied'
        if rule['LAST_DISCOUNT'] == 'Y':
            break
    if status == 'entered':
        status = 'not_applied'   # valid coupon, but its conditions failed
    for line in lines:
        line['discount'] = money(line['base_price'] - line['price'])
        line['sum'] = money(line['price'] * line['quantity'])
    base_total = money(sum(l['base_price'] * l['quantity'] for l in lines))
    total = money(sum(l['sum'] for l in lines))
    return {'lines': lines, 'discounts': applied, 'base_total': base_total,
        'discount_total': money(base_total - total), 'total': total,
        'coupon': {'coupon': coupon, 'status': status} if coupon else None}


# -- hub pricing endpoint: the retailer's site module (docs/site-pricing-api.md)

PRICE_PATH = '/local/api/hub/basket/price/'
PRICE_API_VERSION = '1'
PRICE_MAX_ITEMS = 200
COUPON_MESSAGES = {
    'applied': 'Промокод {code} применён, скидка {amount}.',
    'not_found': 'Промокод {code} не найден. Проверьте написание.',
    'other_customer': 'Промокод {code} выдан другому покупателю.',
    'used_up': 'Промокод {code} уже использован: лимит применений исчерпан.',
    'period_ended': 'Срок действия промокода {code} истёк {date}.',
    'period_not_started': 'Промокод {code} начнёт действовать {date}.',
    'min_amount': 'Промокод {code} действует на заказ от {min_amount}, '
        'сумма корзины {amount}.',
    'no_matching_items': 'Промокод {code} не распространяется на товары '
        'в корзине.',
    'conditions_not_met': 'Условия промокода {code} не выполнены для этой '
        'корзины.',
    }


class PriceApiError(Exception):
    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status, self.code, self.details = status, code, details

    def body(self):
        error = {'code': self.code, 'message': str(self)}
        if self.details:
            error['details'] = self.details
        return {'api_version': PRICE_API_VERSION, 'error': error}


def rub(value):
    "5000 -> '5 000,00 ₽' as the hub shows amounts"
    return f'{money(value):,.2f}'.replace(',', '\u00a0').replace(
        '.', ',') + '\u00a0₽'


def money_text(value):
    return '%.2f' % money(value)


def qty_text(value):
    return ('%.4f' % float(value)).rstrip('0').rstrip('.')


def parse_price_request(body):
    "Validate the request JSON; PriceApiError(400) names the first problem"
    def bad(message, field):
        raise PriceApiError(400, 'bad_request', message, {'field': field})
    if not isinstance(body, dict):
        bad('Тело запроса должно быть JSON-объектом.', None)
    if str(body.get('api_version', '')) != PRICE_API_VERSION:
        raise PriceApiError(400, 'unsupported_version', 'Версия API '
            f'{body.get("api_version")!r} не поддерживается, ожидается '
            f'{PRICE_API_VERSION}.', {'supported': [PRICE_API_VERSION]})
    if body.get('currency', 'RUB') != 'RUB':
        bad('Поддерживается только валюта RUB.', 'currency')
    if body.get('site_id', 's1') != 's1':
        bad(f'Сайт {body.get("site_id")} не найден.', 'site_id')
    items = body.get('items')
    if not isinstance(items, list) or not items:
        bad('Корзина пуста: передайте хотя бы одну позицию.', 'items')
    if len(items) > PRICE_MAX_ITEMS:
        bad(f'Не больше {PRICE_MAX_ITEMS} позиций за запрос.', 'items')
    keys = set()
    for n, item in enumerate(items):
        where = f'items[{n}]'
        if not isinstance(item, dict) or not item.get('xml_id') or \
                item.get('key') in (None, ''):
            bad(f'Позиция {n + 1}: нужны key и xml_id.', where)
        if str(item['key']) in keys:
            bad(f'Ключ позиции {item["key"]} повторяется.', where + '.key')
        keys.add(str(item['key']))
        qty = cml_number(item.get('quantity'), None)
        if qty is None or qty <= 0:
            bad(f'Позиция {item["key"]}: количество должно быть больше нуля.',
                where + '.quantity')
    coupon = body.get('coupon')
    if coupon is not None and not isinstance(coupon, str):
        bad('Промокод должен быть строкой.', 'coupon')
    customer = body.get('customer') or {}
    if not isinstance(customer, dict):
        bad('customer должен быть объектом.', 'customer')
    return {'items': items, 'coupon': (coupon or '').strip() or None,
        'customer': customer, 'order_number': body.get('order_number'),
        'request_id': body.get('request_id')}


def coupon_verdict(code, priced, coupons, rules, moment):
    """The contract's coupon answer: status, reason code, Russian message.

    Refines the DiscountCouponsManager-like status of price_basket ('freeze'
    covers both expired and exhausted; a spent one-time coupon is inactive).
    """
    found = next((c for c in coupons if c['COUPON'].lower() == code.lower()),
        None)
    rule = next((r for r in rules if found and r['ID'] == found['DISCOUNT_ID']),
        None)
    status, reason, args = priced['coupon']['status'], None, {'code': code}
    if status == 'applied':
        args['amount'] = rub(sum(d['amount'] for d in priced['discounts']
            if d['coupon']))
        reason = 'applied'
    elif found is None or rule is None:
        status = reason = 'not_found'
    elif found['MAX_USE'] and found['USE_COUNT'] >= found['MAX_USE'] or (
            found['ACTIVE'] != 'Y' and found['DATE_APPLY']):
        status = reason = 'used_up'
    elif status == 'freeze':
        status, reason, args['date'] = _period_problem(found, rule, moment)
    elif status == 'not_found':
        reason = 'other_customer' if found['USER_ID'] else 'not_found'
    else:
        status = 'not_applicable'
        reason, extra = _unmet_condition(rule, priced)
        args.update(extra)
    result = {'code': code, 'status': status,
        'reason': None if status == 'applied' else reason,
        'message': COUPON_MESSAGES[reason].format(**args)}
    if reason == 'min_amount':
        result['details'] = {'min_amount': money_text(args['min']),
            'basket_amount': money_text(args['total'])}
    return result


def _period_problem(coupon, rule, moment):
    for item in (coupon, rule):
        start, end = parse_dt(item.get('ACTIVE_FROM')), parse_dt(
            item.get('ACTIVE_TO'))
        if end is not None and end < moment:
            return 'expired', 'period_ended', end.strftime('%d.%m.%Y')
        if start is not None and moment < start:
            return 'expired', 'period_not_started', start.strftime('%d.%m.%Y')
    return 'expired', 'period_ended', ''


def _unmet_condition(rule, priced):
    min_amount = rule['CONDITIONS'].get('min_amount', 0)
    if priced['total'] < min_amount:
        return 'min_amount', {'min': min_amount, 'total': priced['total'],
            'min_amount': rub(min_amount), 'amount': rub(priced['total'])}
    if not any(_line_matches(rule, line) for line in priced['lines']):
        return 'no_matching_items', {}
    return 'conditions_not_met', {}


def price_answer(req, priced, verdict, customer, rules, moment):
    "The contract's response for a basket priced by price_basket"
    xml_ids = {r['ID']: r['XML_ID'] for r in rules}
    coupons = {d['rule_id']: d['coupon'] for d in priced['discounts']}

    def applied(d, factor=1):
        return {'rule_id': d['rule_id'], 'rule_xml_id': xml_ids.get(
            d['rule_id']), 'name': d['name'], 'coupon': coupons.get(
            d['rule_id']), 'amount': money_text(d['amount'] * factor)}

    lines = [{'key': str(item['key']), 'xml_id': line['product_xml_id'],
        'name': line['name'], 'quantity': qty_text(line['quantity']),
        'base_price': money_text(line['base_price']),
        'price': money_text(line['price']),
        'discount': money_text(line['discount'] * line['quantity']),
        'sum': money_text(line['sum']),
        'discounts': [applied(d, line['quantity']) for d in line['discounts']]}
        for item, line in zip(req['items'], priced['lines'])]
    return {'api_version': PRICE_API_VERSION, 'request_id': req['request_id'],
        'site_id': 's1', 'currency': 'RUB', 'priced_at': iso(moment),
        'customer': customer, 'items': lines,
        'discounts': [applied(d) for d in priced['discounts']],
        'totals': {'base': money_text(priced['base_total']),
            'discount': money_text(priced['discount_total']),
            'total': money_text(priced['total'])},
        'coupon': verdict}


# -- CommerceML helpers -----------------------------------------------------------------

def sub(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = str(text)
    return el


def requisites(parent, pairs, tag='ЗначенияРеквизитов'):
    box = sub(parent, tag)
    for name, value in pairs:
        item = sub(box, 'ЗначениеРеквизита')
        sub(item, 'Наименование', name)
        sub(item, 'Значение', value)
    return box


def xml_bool(value):
    return 'true' if value else 'false'


def strip_namespaces(root):
    "CML 2 files come with or without urn:1C.ru:commerceml_2; CML 3 with _3"
    for el in root.iter():
        if isinstance(el.tag, str) and '}' in el.tag:
            el.tag = el.tag.split('}', 1)[1]
        for key in [k for k in el.attrib if '}' in k]:
            el.attrib[key.split('}', 1)[1]] = el.attrib.pop(key)
    return root


def text(el, path, default=None):
    found = el.find(path) if el is not None else None
    if found is None or found.text is None:
        return default
    return found.text.strip()


def read_requisites(el):
    return {text(r, 'Наименование'): text(r, 'Значение', '')
        for r in el.findall('ЗначенияРеквизитов/ЗначениеРеквизита')}


def cml_number(value, default=0.0):
    try:
        return float(str(value).replace(',', '.').replace(' ', ''))
    except (TypeError, ValueError):
        return default


def fmt4(value):
    return '%.4f' % value


def cml_xml(root, encoding='windows-1251'):
    """Serialise as the site does: windows-1251 (or the encoding given) with
    a double-quoted declaration"""
    body = ET.tostring(root, encoding='unicode')
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n' + body).encode(
        encoding, 'xmlcharrefreplace')


class BitrixSiteSimulator(BitrixRest):
    name = 'bitrix_site'
    title = '1С-Битрикс: интернет-магазин (симулятор)'
    page_buttons = (('place_random_order', 'Разместить заказ'),)
    # box: the REST load is "configured on the server side"; off by default
    rate_limit_default = False

    @route(EXCHANGE_PATH, methods=['GET', 'POST'])
    def _exchange_route(self):
        with self.lock:
            return self._exchange(request.args.get('type'),
                request.args.get('mode'))

    @route(PRICE_PATH, methods=['GET', 'POST', 'PUT', 'DELETE'])
    def _price_route(self):
        with self.lock:
            try:
                response = jsonify(self._price_request())
            except PriceApiError as exc:
                response = self._price_error(exc)
            response.headers['Cache-Control'] = 'no-store'
            return response

    def fault_response(self, kind, status, rule):
        if request.path == PRICE_PATH:
            status = status or (429 if kind == 'rate_limit' else 500)
            code = {429: 'too_many_requests', 503: 'unavailable'}.get(status,
                'internal_error')
            return self._price_error(PriceApiError(status, code,
                'Сервис расчёта цен сайта временно недоступен. '
                'Повторите попытку позже.'))
        if request.path == EXCHANGE_PATH:
            # an overloaded PHP site answers with an HTML error page
            return Response('<html><body><h1>502 Bad Gateway</h1></body></html>',
                status or (503 if kind == 'rate_limit' else 502),
                content_type='text/html')
        return super().fault_response(kind, status, rule)

    def now(self):
        "The site's time (Moscow), to the second"
        return self.clock.now(MSK).replace(microsecond=0)

    def init_state(self):
        self.init_rest_state()
        self.login, self.password = 'exchange_1c', secrets.token_urlsafe(9)
        self.settings = {'zip': True, 'file_limit': 204800, 'import_steps': 2,
            'change_status_from_1c': True, 'query_zip': False,
            'element_action': 'A'}
        # how answers are serialised: see answer_encoding
        self.answers = {'bom': False, 'encoding': 'windows-1251',
            'bom_paths': '*'}
        self.sessions = {}
        self.strict = {'catalog': False, 'sale': False}
        self.uploads = {'catalog': {}, 'sale': {}}
        self.progress = {}
        self.applied_files = set()
        self.catalog = self._seed_catalog()
        self.users = {}
        self.orders = {}
        self.last_export = None
        self.rules, self.coupons = seed_rules(self.now())
        self.random = random.Random()
        self._order_ids = 1000   # site order numbers continue an old shop
        self._basket_ids = 5000

    # -- exchange: protocol ------------------------------------------------------------
    def _answer(self, *lines, status=200):
        encoding = self.answers['encoding']
        return Response('\n'.join(lines).encode(encoding, 'replace'), status,
            content_type=f'text/html; charset={encoding}')

    def _xml_answer(self, data):
        if self.settings['query_zip']:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, 'w') as zf:
                zf.writestr('orders.xml', data)
            data = buffer.getvalue()
            return Response(data, content_type='application/zip')
        return Response(data, content_type='application/xml; charset='
            + self.answers['encoding'],
            headers={'Content-Length': str(len(data))})

    def _basic_ok(self):
        auth = request.authorization
        return bool(auth and auth.username == self.login
            and secrets.compare_digest(auth.password or '', self.password))

    def _exchange(self, type_, mode):
        if type_ not in ('catalog', 'sale'):
            return self._answer('failure', 'Unknown command type.')
        session = self.sessions.get(request.cookies.get('PHPSESSID'))
        authorised = self._basic_ok() or session is not None
        if mode == 'checkauth':
            if not self._basic_ok():
                return self._answer('failure', MSG_AUTH)
            return self._checkauth(type_)
        if not authorised:
            return self._answer('failure', MSG_AUTH)
        if not self._source_ok(type_, session):
            return self._answer('failure', MSG_SOURCE)
        handler = {
            'init': self._init, 'file': self._file, 'import': self._import,
            'query': self._query, 'success': self._success, 'info': self._info,
            'deactivate': self._deactivate, 'complete': self._complete,
            }.get(mode)
        if handler is None or (type_ == 'catalog' and mode in
                ('query', 'success', 'info')) or (type_ == 'sale' and mode in
                ('deactivate', 'complete')):
            return self._answer('failure', 'Неизвестная команда.')
        return handler(type_, session)

    def _checkauth(self, type_):
        sid = secrets.token_hex(13)
        sessid = secrets.token_hex(16)
        self.sessions[sid] = {'sessid': sessid, 'type': type_,
            'created': self.clock.time(), 'new_version': False, 'query': None}
        lines = ['success', 'PHPSESSID', sid, f'sessid={sessid}']
        if type_ == 'catalog':
            lines.append(f'timestamp={int(self.clock.time())}')
        response = self._answer(*lines)
        response.set_cookie('PHPSESSID', sid, path='/', httponly=True)
        return response

    def _source_ok(self, type_, session):
        """sessid check: the first valid sessid switches strict checking on
        (DEFAULT_SKIP_SOURCE_CHECK=N / secure_1c_exchange=Y), after which a
        request without a valid one is refused."""
        sessid = request.args.get('sessid')
        valid = bool(session and sessid and secrets.compare_digest(sessid,
            session['sessid']))
        if valid:
            self.strict[type_] = True
            return True
        # before that the sessid is not checked at all (SKIP_SOURCE_CHECK)
        return not self.strict[type_]

    def _init(self, type_, session):
        self.uploads[type_].clear()
        self.progress.clear()
        lines = ['zip=yes' if self.settings['zip'] else 'zip=no',
            f'file_limit={self.settings["file_limit"]}']
        if type_ == 'sale' and request.args.get('version') and session:
            session['new_version'] = True
            lines += [f'sessid={session["sessid"]}', 'version=2.09']
        return self._answer(*lines)

    @staticmethod
    def _clean_filename(name):
        name = (name or '').replace('\\', '/')
        for prefix in ('/tmp/', 'upload/1c/webdata/', '/upload/1c/webdata/'):
            if name.startswith(prefix):
                name = name[len(prefix):]
        name = name.lstrip('/')
        if not name or '..' in name.split('/') or \
                name.lower().endswith(SCRIPT_EXTENSIONS):
            return None
        return name

    def _file(self, type_, session):
        if request.method != 'POST':
            return self._answer('failure', 'Ошибка загрузки файла.')
        name = self._clean_filename(request.args.get('filename'))
        if name is None:
            return self._answer('failure', 'Недопустимое имя файла.')
        data = request.get_data(cache=True)
        if len(data) > self.settings['file_limit']:
            return self._answer('failure', 'Превышен размер файла '
                f'(file_limit={self.settings["file_limit"]}).')
        self.uploads[type_][name] = self.uploads[type_].get(name, b'') + data
        if type_ == 'sale' and not (session and session['new_version']):
            # old-protocol sale endpoint applies the file right away (§A.4)
            errors = self._try_apply_sale(name, partial_ok=True)
            return self._answer('success' + (' ' + ' '.join(errors)
                if errors else ''))
        return self._answer('success')

    def _unpack(self, type_):
        "Expand uploaded zips into the upload folder; True if any was found"
        files = self.uploads[type_]
        zips = [n for n, d in files.items() if d[:2] == b'PK']
        for name in zips:
            with zipfile.ZipFile(io.BytesIO(files.pop(name))) as zf:
                for member in zf.namelist():
                    if not member.endswith('/'):
                        files[member] = zf.read(member)
        return bool(zips)

    def _import(self, type_, session):
        name = self._clean_filename(request.args.get('filename'))
        if self._unpack(type_):
            return self._answer('progress', 'Распаковка архива завершена.')
        if type_ == 'sale':
            if name not in self.uploads['sale']:
                return self._answer('failure', f'Файл {name} не найден.')
            errors = self._try_apply_sale(name, partial_ok=False)
            return self._answer('success' if not errors else 'failure',
                *errors)
        if name not in self.uploads['catalog']:
            return self._answer('failure', f'Файл {name} не найден.')
        step = self.progress.get(name, 0)
        if step < self.settings['import_steps']:
            # the real component imports step by step within INTERVAL seconds
            self.progress[name] = step + 1
            return self._answer('progress',
                f'Выполнен шаг {step + 1} импорта файла {name}.')
        try:
            summary = self._import_catalog_file(self.uploads['catalog'][name])
        except ET.ParseError as exc:
            return self._answer('failure', f'Ошибка разбора XML: {exc}')
        self.progress.pop(name, None)
        return self._answer('success', f'Импорт файла {name} завершен. '
            + summary)

    def _deactivate(self, type_, session):
        since = cml_number(request.args.get('timestamp'), 0)
        count = 0
        for product in self.catalog['products'].values():
            if product['active'] and product['touched'] < since:
                product['active'] = False
                count += 1
        return self._answer('success', f'Деактивировано элементов: {count}.')

    def _complete(self, type_, session):
        return self._answer('success', 'Импорт завершен.')

    def _query(self, type_, session):
        orders = [o for o in self.orders.values()
            if o['updated1c'] == 'N' and o['external_order'] == 'N']
        if session is not None:
            session['query'] = {o['id']: o['version'] for o in orders}
        return self._xml_answer(cml_xml(self._orders_document(orders),
                self.answers['encoding']))

    def _success(self, type_, session):
        if session is None or session.get('query') is None:
            return self._answer('error')
        for order_id, version in session['query'].items():
            order = self.orders.get(order_id)
            # an order changed after the query is exported again next time
            if order and order['version'] == version:
                order['updated1c'] = 'Y'
        session['query'] = None
        self.last_export = self.now()
        return self._answer('success')

    def _info(self, type_, session):
        root = ET.Element('Справочник')
        groups = [('Cтатусы', [(s[0], s[1]) for s in STATUSES]),  # Latin C
            ('ПлатежныеСистемы', list(PAY_SYSTEMS.items())),
            ('СлужбыДоставки', list(DELIVERIES.items()))]
        for tag, items in groups:
            box = sub(root, tag)
            for item_id, name in items:
                el = sub(box, 'Элемент')
                sub(el, 'Ид', item_id)
                sub(el, 'Название', name)
        return self._xml_answer(cml_xml(root, self.answers['encoding']))

    # -- exchange: catalog import ----------------------------------------------------------
    def _seed_catalog(self):
        catalog = {'xml_id': CATALOG_XML_ID, 'name': 'Основной каталог товаров',
            'sections': {k: {'name': v, 'parent': None}
                for k, v in SEED_SECTIONS.items()},
            'properties': {}, 'products': {}, 'offers': {},
            'price_types': {BASE_PRICE_TYPE: {'name': 'BASE',
                    'currency': 'RUB'}},
            'stores': {SEED_STORE: 'Склад Москва'}}
        for xml_id, article, name, section, price, stock in SEED_PRODUCTS:
            catalog['products'][xml_id] = catalog_product(xml_id, article,
                name, section)
            catalog['offers'][xml_id] = catalog_offer(xml_id, name, price,
                stock, {SEED_STORE: stock})
        return catalog

    def _import_catalog_file(self, data):
        root = strip_namespaces(ET.fromstring(data))
        counts = {'sections': 0, 'products': 0, 'offers': 0}
        classifier = root.find('Классификатор')
        if classifier is not None:
            counts['sections'] = self._import_groups(
                classifier.find('Группы'), None)
            self._import_properties(classifier.find('Свойства'))
        catalog = root.find('Каталог')
        if catalog is not None:
            counts['products'] = self._import_products(catalog)
        package = root.find('ПакетПредложений')
        if package is not None:
            counts['offers'] = self._import_offers(package)
        return ('Разделов: {sections}, товаров: {products}, '
            'предложений: {offers}.'.format(**counts))

    def _import_groups(self, groups, parent):
        count = 0
        for group in (groups.findall('Группа') if groups is not None else []):
            xml_id = text(group, 'Ид')
            self.catalog['sections'][xml_id] = {'name': text(group,
                'Наименование'), 'parent': parent}
            count += 1 + self._import_groups(group.find('Группы'), xml_id)
        return count

    def _import_properties(self, props):
        for prop in (props.findall('Свойство') if props is not None else []):
            values = {text(v, 'ИдЗначения'): text(v, 'Значение')
                for v in prop.findall('ВариантыЗначений/Справочник')}
            self.catalog['properties'][text(prop, 'Ид')] = {
                'name': text(prop, 'Наименование'),
                'type': text(prop, 'ТипЗначений'), 'values': values}

    def _import_products(self, catalog):
        stamp = self.clock.time()
        # an attribute in CML 2.07+, a child element in older files
        changes_only = catalog.get('СодержитТолькоИзменения') or \
            text(catalog, 'СодержитТолькоИзменения', 'false')
        full = changes_only.lower() == 'false'
        seen = set()
        for item in catalog.findall('Товары/Товар'):
            product = self._parse_product(item, stamp)
            seen.add(product['xml_id'])
            self.catalog['products'][product['xml_id']] = product
        if full and catalog.find('Товары') is not None \
                and self.settings['element_action'] == 'A':
            # full upload: elements missing from the file are deactivated
            for xml_id, product in self.catalog['products'].items():
                if xml_id not in seen:
                    product['active'] = False
        return len(seen)

    def _parse_product(self, item, stamp):
        unit = item.find('БазоваяЕдиница')
        deleted = text(item, 'ПометкаУдаления') == 'true' or \
            text(item, 'Статус') == 'Удален'
        props = {text(p, 'Ид'): text(p, 'Значение')
            for p in item.findall('ЗначенияСвойств/ЗначенияСвойства')}
        return {'xml_id': text(item, 'Ид'), 'article': text(item, 'Артикул'),
            'name': text(item, 'Наименование'),
            'barcode': text(item, 'Штрихкод'),
            'sections': [g.text.strip() for g in item.findall('Группы/Ид')
                if g.text],
            'description': text(item, 'Описание', ''),
            'unit': (unit.get('Код') or '796').strip() if unit is not None
                else '796',
            'vat_rate': cml_number(text(item, 'СтавкиНалогов/СтавкаНалога/Ставка'),
                None),
            'properties': props, 'requisites': read_requisites(item),
            'active': not deleted, 'touched': stamp}

    def _import_offers(self, package):
        for price_type in package.findall('ТипыЦен/ТипЦены'):
            self.catalog['price_types'][text(price_type, 'Ид')] = {
                'name': text(price_type, 'Наименование'),
                'currency': text(price_type, 'Валюта', 'RUB')}
        for store in package.findall('Склады/Склад'):
            self.catalog['stores'][text(store, 'Ид')] = text(store,
                'Наименование')
        count = 0
        for item in package.findall('Предложения/Предложение'):
            self._apply_offer(item)
            count += 1
        return count

    def _apply_offer(self, item):
        xml_id = text(item, 'Ид')
        offer = self.catalog['offers'].setdefault(xml_id, {'xml_id': xml_id,
            'name': None, 'prices': {}, 'quantity': 0, 'stores': {}})
        offer['name'] = text(item, 'Наименование') or offer['name']
        for price in item.findall('Цены/Цена'):
            offer['prices'][text(price, 'ИдТипаЦены')] = {
                'price': cml_number(text(price, 'ЦенаЗаЕдиницу')),
                'currency': text(price, 'Валюта', 'RUB')}
        if item.find('Количество') is not None:
            offer['quantity'] = cml_number(text(item, 'Количество'))
        for store in item.findall('Склад'):   # CML 2.07/2.08 attribute style
            offer['stores'][store.get('ИдСклада')] = cml_number(
                store.get('КоличествоНаСкладе'))
        rests = item.findall('Остатки/Остаток/Склад')   # CML 3.1 rests.xml
        for store in rests:
            offer['stores'][text(store, 'Ид')] = cml_number(text(store,
                'Количество'))
        if rests and item.find('Количество') is None:
            offer['quantity'] = sum(offer['stores'].values())

    # -- exchange: order XML (site -> 1C) -----------------------------------------------------
    def _orders_document(self, orders):
        stamp = self.now()
        root = ET.Element('КоммерческаяИнформация', {'ВерсияСхемы': '2.05',
            'ДатаФормирования': stamp.strftime('%Y-%m-%dT%H:%M:%S'),
            'ФорматДаты': 'ДФ=yyyy-MM-dd; ДЛФ=DT',
            'ФорматВремени': 'ДФ=ЧЧ:мм:сс; ДЛФ=T',
            'РазделительДатаВремя': 'T',
            'ФорматСуммы': 'ЧЦ=18; ЧДЦ=2; ЧРД=.',
            'ФорматКоличества': 'ЧЦ=18; ЧДЦ=2; ЧРД=.'})
        for order in orders:
            self._order_document(root, order)
        return root

    def _order_document(self, root, order):
        doc = sub(root, 'Документ')
        created = parse_dt(order['date_insert'])
        for tag, value in (('Ид', order['account_number']),
                ('Номер', order['account_number']),
                ('Дата', created.strftime('%Y-%m-%d')),
                ('ХозОперация', 'Заказ товара'), ('Роль', 'Продавец'),
                ('Валюта', 'руб'), ('Курс', '1'),
                ('Сумма', fmt4(order['price']))):
            sub(doc, tag, value)
        self._counterparty(sub(doc, 'Контрагенты'), order)
        sub(doc, 'Время', created.strftime('%H:%M:%S'))
        sub(doc, 'Комментарий', order['user_description'] or '')
        if order['discounts']:
            self._discounts(doc, order['discounts'])
        goods = sub(doc, 'Товары')
        for line in order['lines']:
            self._line_item(goods, line)
        self._delivery_item(goods, order)
        requisites(doc, self._order_requisites(order))

    def _counterparty(self, box, order):
        user = order['user']
        party = sub(box, 'Контрагент')
        full = ' '.join(filter(None, (user['last_name'], user['name'],
            user['second_name'])))
        sub(party, 'Ид', f'{user["id"]}#{user["login"]}#{user["last_name"]} '
            f'{user["name"]}'.rstrip())
        sub(party, 'Наименование', full)
        sub(party, 'ПолноеНаименование', full)
        sub(party, 'Фамилия', user['last_name'])
        sub(party, 'Имя', user['name'])
        address = sub(party, 'АдресРегистрации')
        delivery = order['delivery']
        sub(address, 'Представление', ', '.join(filter(None, (delivery['zip'],
            delivery['city'], delivery['address']))))
        for kind, value in (('Почтовый индекс', delivery['zip']),
                ('Город', delivery['city']), ('Улица', delivery['address'])):
            if value:
                field = sub(address, 'АдресноеПоле')
                sub(field, 'Тип', kind)
                sub(field, 'Значение', value)
        contacts = sub(party, 'Контакты')
        for kind, value in (('Почта', user['email']),
                ('Телефон рабочий', user['phone'])):
            if value:
                contact = sub(contacts, 'Контакт')
                sub(contact, 'Тип', kind)
                sub(contact, 'Значение', value)
        agents = sub(party, 'Представители')
        agent = sub(agents, 'Представитель')
        sub(agent, 'Отношение', 'Контактное лицо')
        sub(agent, 'Наименование', full)
        sub(party, 'Роль', 'Покупатель')

    @staticmethod
    def _discounts(parent, discounts):
        box = sub(parent, 'Скидки')
        for discount in discounts:
            item = sub(box, 'Скидка')
            sub(item, 'Наименование', discount['name'])
            sub(item, 'Сумма', '%.2f' % discount['amount'])
            sub(item, 'УчтеноВСумме', 'true')

    def _line_item(self, goods, line):
        item = sub(goods, 'Товар')
        sub(item, 'Ид', line['product_xml_id'])
        sub(item, 'ИдКаталога', CATALOG_XML_ID)
        sub(item, 'Наименование', line['name'])
        sub(item, 'БазоваяЕдиница', 'шт', Код='796',
            НаименованиеПолное='Штука', МеждународноеСокращение='PCE')
        sub(item, 'ЦенаЗаЕдиницу', fmt4(line['price']))
        sub(item, 'Количество', fmt4(line['quantity']))
        sub(item, 'Сумма', '%.2f' % line['sum'])
        if line['discount']:
            box = sub(item, 'Скидки')
            discount = sub(box, 'Скидка')
            sub(discount, 'Наименование', 'Скидка на товар')
            # per unit, as the sale module writes DISCOUNT_PRICE
            sub(discount, 'Сумма', '%.2f' % line['discount'])
            sub(discount, 'УчтеноВСумме', 'true')
        requisites(item, [('ВидНоменклатуры', 'Товар'),
            ('ТипНоменклатуры', 'Товар'),
            ('НомерПозицииКорзины', line['basket_id']),
            ('СвойствоКорзины#CATALOG.XML_ID', CATALOG_XML_ID),
            ('СвойствоКорзины#PRODUCT.XML_ID', line['product_xml_id'])])

    @staticmethod
    def _delivery_item(goods, order):
        cost = order['delivery']['price']
        if not cost:
            return
        item = sub(goods, 'Товар')
        sub(item, 'Ид', 'ORDER_DELIVERY')
        sub(item, 'Наименование', 'Доставка заказа')
        sub(item, 'БазоваяЕдиница', 'шт', Код='796',
            НаименованиеПолное='Штука', МеждународноеСокращение='PCE')
        sub(item, 'ЦенаЗаЕдиницу', fmt4(cost))
        sub(item, 'Количество', fmt4(1))
        sub(item, 'Сумма', '%.2f' % cost)
        requisites(item, [('ВидНоменклатуры', 'Услуга'),
            ('ТипНоменклатуры', 'Услуга')])

    def _order_requisites(self, order):
        status = dict((s[0], s[1]) for s in STATUSES)[order['status_id']]
        payment = order['payments'][-1]
        delivery = order['delivery']
        pairs = [('Способ доставки', delivery['name']),
            ('Метод доставки ИД', delivery['id']),
            ('Метод оплаты', PAY_SYSTEMS[payment['pay_system_id']]),
            ('Метод оплаты ИД', payment['pay_system_id']),
            ('Заказ оплачен', xml_bool(order['payed'] == 'Y')),
            ('Доставка разрешена', xml_bool(delivery['allow_delivery'] == 'Y')),
            ('Отменен', xml_bool(order['canceled'] == 'Y')),
            ('Финальный статус', xml_bool(order['status_id'] == FINAL_STATUS)),
            ('Статус заказа', f'[{order["status_id"]}] {status}'),
            ('Статуса заказа ИД', order['status_id']),
            ('Дата изменения статуса', parse_dt(order['date_status']).strftime(
                '%d.%m.%Y %H:%M:%S')),
            ('Комментарии покупателя', order['user_description'] or ''),
            ('Сайт', '[s1] Интернет-магазин')]
        if order['payed'] == 'Y':
            pairs += [('Дата оплаты', parse_dt(payment['date_paid']).strftime(
                '%d.%m.%Y %H:%M:%S')),
                ('Номер платежного документа', payment['pay_voucher_num'] or '')]
        if order['canceled'] == 'Y':
            pairs += [('Дата отмены заказа', parse_dt(order['date_canceled'])
                .strftime('%d.%m.%Y %H:%M:%S')),
                ('Причина отмены', order['reason_canceled'] or '')]
        if delivery['address']:
            pairs.append(('Адрес доставки', delivery['address']))
        pairs += [(p['name'], p['value']) for p in order['properties']
            if p['value'] not in (None, '')]
        return pairs

    # -- exchange: order updates (1C -> site) ---------------------------------------------------
    def _try_apply_sale(self, name, partial_ok):
        data = self.uploads['sale'][name]
        digest = hashlib.sha1(name.encode() + data).hexdigest()
        if digest in self.applied_files:
            return []     # UT11 sends mode=import after mode=file: idempotent
        try:
            root = strip_namespaces(ET.fromstring(data))
        except ET.ParseError as exc:
            # a file still arriving in chunks parses later
            return [] if partial_ok else [f'Ошибка разбора XML: {exc}']
        self.applied_files.add(digest)
        errors = []
        for doc in root.iter('Документ'):
            error = self._apply_document(doc)
            if error:
                errors.append(error)
        return errors

    def _find_order(self, number):
        return next((o for o in self.orders.values()
            if o['account_number'] == str(number).strip()), None)

    def _apply_document(self, doc):
        operation = text(doc, 'ХозОперация')
        reqs = read_requisites(doc)
        if operation in PAYMENT_OPERATIONS or operation == 'Отпуск товара':
            order = self._find_order(text(doc, 'Основание', ''))
            if order is None:
                return f'Заказ №{text(doc, "Основание")} не найден.'
            if operation == 'Отпуск товара':
                self._mark_shipped(order, text(doc, 'Номер'))
            else:
                self._mark_paid(order, text(doc, 'Номер'), text(doc, 'Дата'))
            return None
        if operation != 'Заказ товара':
            return None
        number = text(doc, 'Номер') or text(doc, 'Ид')
        order = self._find_order(number)
        if order is None:
            return f'Заказ №{number} не найден.'
        if order['status_id'] == FINAL_STATUS:
            return f'Заказ №{number} не может быть изменен, т.к. он в финальном статусе.'
        self._apply_order_requisites(order, reqs, text(doc, 'НомерВерсии'))
        return None

    def _apply_order_requisites(self, order, reqs, version):
        if reqs.get('Номер по 1С'):
            order['id1c'] = reqs['Номер по 1С']
        if version:
            order['version1c'] = version
        if reqs.get('Отменен') == 'true' or reqs.get('ПометкаУдаления') == 'true':
            self._cancel(order, 'Отменен в 1С')
        if reqs.get('Номер оплаты по 1С') or reqs.get('Дата оплаты по 1С'):
            self._mark_paid(order, reqs.get('Номер оплаты по 1С'),
                reqs.get('Дата оплаты по 1С'))
        if reqs.get('Отгружен') == 'true' or reqs.get('Номер отгрузки по 1С'):
            self._mark_shipped(order, reqs.get('Номер отгрузки по 1С'))
        if reqs.get('Идентификатор отправления'):
            order['delivery']['tracking_number'] = reqs['Идентификатор отправления']
        status = reqs.get('Статуса заказа ИД')
        if status and self.settings['change_status_from_1c'] and \
                status in {s[0] for s in STATUSES}:
            self._set_status(order, status)
        order['date_update'] = iso(self.now())
        order['updated1c'] = 'Y'    # the change came from 1C: no re-export

    # -- orders ------------------------------------------------------------------------------------
    def _touch(self, order):
        "A change made on the site: the order is exported to 1C again"
        order['version'] += 1
        order['date_update'] = iso(self.now())
        order['updated1c'] = 'N'

    def _set_status(self, order, status):
        if order['status_id'] != status:
            order['status_id'], order['date_status'] = status, iso(self.now())

    def _cancel(self, order, reason):
        order.update(canceled='Y', reason_canceled=reason,
            date_canceled=iso(self.now()))

    def _mark_paid(self, order, number=None, date=None):
        for payment in order['payments']:
            if payment['paid'] != 'Y':
                payment.update(paid='Y', date_paid=iso(self.now()),
                    pay_voucher_num=number or payment['pay_voucher_num'])
        order['payed'] = 'Y'

    def _mark_shipped(self, order, number=None):
        order['delivery'].update(allow_delivery='Y', deducted='Y')
        order['deducted'] = 'Y'

    def _user(self, login, name, last_name, second_name, email, phone):
        user = self.users.get(login)
        if user is None:
            user = {'id': len(self.users) + 2, 'login': login}   # 1 = admin
            self.users[login] = user
        user.update(name=name, last_name=last_name, second_name=second_name,
            email=email, phone=phone)
        return user

    def _basket_item(self, line):
        "A line of place_order with catalog data filled in"
        xml_id = line.get('product_xml_id')
        product = self.catalog['products'].get(xml_id, {})
        offer = self.catalog['offers'].get(xml_id, {})
        price = line.get('price')
        if price is None:
            prices = list(offer.get('prices', {}).values())
            if not prices:
                raise ValueError(f'no price for product {xml_id!r}')
            price = prices[0]['price']
        name = line.get('name') or product.get('name') or offer.get('name')
        if not name:
            raise ValueError(f'unknown product {xml_id!r}: give name and price')
        return {'product_xml_id': xml_id, 'name': name, 'price': float(price),
            'quantity': float(line.get('quantity', 1)),
            'section_xml_ids': product.get('sections', []),
            'vat_rate': product.get('vat_rate', 20)}

    def price_basket(self, items, coupon=None, user=None):
        "Price lines ({product_xml_id, quantity[, price, name]}) with the rules"
        with self.lock:
            basket = [self._basket_item(i) for i in items]
            return price_basket(basket, self.rules, self.coupons, coupon, user,
                moment=self.now())

    def _use_coupon(self, code):
        coupon = next(c for c in self.coupons
            if c['COUPON'].lower() == code.lower())
        coupon['USE_COUNT'] += 1
        coupon['DATE_APPLY'] = iso(self.now())
        if coupon['TYPE'] in (1, 2):   # one-time coupons are spent
            coupon['ACTIVE'] = 'N'

    # -- hub pricing endpoint -------------------------------------------------------------------
    def _price_error(self, exc):
        response = jsonify(exc.body())
        response.status_code = exc.status
        if exc.status == 401:
            response.headers['WWW-Authenticate'] = 'Basic realm="hub"'
        if exc.status in (429, 503):
            response.headers['Retry-After'] = '5'
        return response

    def _price_request(self):
        "POST /local/api/hub/basket/price/: pure calculation, nothing saved"
        if request.method != 'POST':
            raise PriceApiError(405, 'method_not_allowed',
                'Используйте метод POST.')
        if not self._basic_ok():
            raise PriceApiError(401, 'unauthorized', MSG_AUTH)
        req = parse_price_request(request.get_json(silent=True))
        order = self._price_order(req['order_number'])
        user = self._price_customer(req['customer'], order)
        coupons = self._coupons_for(order)
        moment = self.now()
        priced = price_basket(self._price_items(req['items']), self.rules,
            coupons, req['coupon'], user, moment=moment)
        verdict = req['coupon'] and coupon_verdict(req['coupon'], priced,
            coupons, self.rules, moment)
        customer = user and {'user_id': user['id'], 'login': user['login']}
        return price_answer(req, priced, verdict, customer, self.rules, moment)

    def _price_order(self, number):
        if number in (None, ''):
            return None
        order = self._find_order(number)
        if order is None:
            raise PriceApiError(422, 'order_not_found',
                f'Заказ №{number} не найден на сайте.', {'order_number':
                str(number)})
        return order

    def _price_customer(self, customer, order):
        "The site user by id or login; unknown users are priced as guests"
        if customer.get('user_id') is not None:
            return next((u for u in self.users.values()
                if str(u['id']) == str(customer['user_id'])), None)
        if customer.get('login'):
            return self.users.get(customer['login'])
        return order['user'] if order else None

    def _coupons_for(self, order):
        """The order's own coupon stays valid when that order is re-priced
        (DiscountCouponsManager MODE_ORDER loads the order's coupons)"""
        coupons = copy.deepcopy(self.coupons)
        for coupon in coupons:
            if order and order['coupon'] and \
                    coupon['COUPON'].lower() == order['coupon'].lower():
                coupon.update(ACTIVE='Y', DATE_APPLY=None,
                    USE_COUNT=max(coupon['USE_COUNT'] - 1, 0))
        return coupons

    def _price_items(self, items):
        unknown, basket = [], []
        for item in items:
            xml_id = item['xml_id']
            product = self.catalog['products'].get(xml_id.split('#')[0])
            offer = self.catalog['offers'].get(xml_id, {})
            reason = ('not_found' if product is None else 'inactive'
                if not product['active'] else 'no_price'
                if not offer.get('prices') else None)
            if reason:
                unknown.append({'key': str(item['key']), 'xml_id': xml_id,
                    'reason': reason})
                continue
            basket.append(self._basket_item({'product_xml_id': xml_id,
                'quantity': cml_number(item['quantity'])}))
        if unknown:
            raise PriceApiError(422, 'unknown_items', 'Товары не найдены в '
                'каталоге сайта или не продаются: ' + ', '.join(
                u['xml_id'] for u in unknown) + '.', {'items': unknown})
        return basket

    # -- REST: sale.* ---------------------------------------------------------------------------------
    def _order(self, order_id):
        try:
            order = self.orders.get(int(order_id or 0))
        except (TypeError, ValueError):
            order = None
        if order is None:
            raise RestError('', 'order is not exists')
        return order

    @staticmethod
    def order_fields(o):
        return {'id': rest_id(o['id']),
            'accountNumber': o['account_number'], 'lid': 's1',
            'personTypeId': '1', 'statusId': o['status_id'],
            'dateInsert': o['date_insert'], 'dateUpdate': o['date_update'],
            'dateStatus': o['date_status'], 'price': o['price'],
            'discountValue': o['discount_value'], 'taxValue': 0.0,
            'currency': 'RUB', 'userId': rest_id(o['user']['id']),
            'responsibleId': None,
            'userDescription': o['user_description'], 'comments': o['comments'],
            'payed': o['payed'], 'deducted': o['deducted'],
            'canceled': o['canceled'], 'reasonCanceled': o['reason_canceled'],
            'marked': 'N', 'xmlId': o['xml_id'], 'id1c': o['id1c'],
            'version1c': o['version1c'], 'updated1c': o['updated1c'],
            'externalOrder': o['external_order']}

    @staticmethod
    def basket_fields(o, line):
        return {'id': rest_id(line['basket_id']), 'orderId': rest_id(o['id']),
            'productId': rest_id(line['product_id']), 'name': line['name'],
            'price': line['price'], 'basePrice': line['base_price'],
            'discountPrice': line['discount'], 'quantity': line['quantity'],
            'currency': 'RUB',
            'xmlId': line.get('xml_id') or f'bx_{line["basket_id"]}',
            'customPrice': line.get('custom_price', 'N'),
            'productXmlId': line['product_xml_id'],
            'catalogXmlId': CATALOG_XML_ID, 'measureCode': '796',
            'measureName': 'шт', 'vatRate': line['vat_rate'] / 100,
            'vatIncluded': 'Y', 'discountName': ', '.join(
                d['name'] for d in line['discounts']) or None,
            'discountCoupon': line.get('coupon'),
            'properties': [], 'reservations': []}

    @staticmethod
    def payment_fields(o, p):
        return {'id': rest_id(p['id']), 'orderId': rest_id(o['id']),
            'paySystemId': rest_id(p['pay_system_id']),
            'paySystemName': PAY_SYSTEMS[p['pay_system_id']], 'sum': p['sum'],
            'currency': 'RUB', 'paid': p['paid'], 'datePaid': p['date_paid'],
            'payVoucherNum': p['pay_voucher_num'], 'psStatus': None,
            'isReturn': 'N'}

    @staticmethod
    def shipment_fields(o):
        d = o['delivery']
        return {'id': rest_id(d['shipment_id']), 'orderId': rest_id(o['id']),
            'deliveryId': rest_id(d['id']), 'deliveryName': d['name'],
            'allowDelivery': d['allow_delivery'], 'deducted': d['deducted'],
            'statusId': 'DF' if d['deducted'] == 'Y' else 'DN',
            'priceDelivery': d['price'], 'basePriceDelivery': d['price'],
            'currency': 'RUB', 'trackingNumber': d['tracking_number'],
            'shipmentItems': [{'basketId': rest_id(l['basket_id']),
                'quantity': l['quantity']} for l in o['lines']]}

    @staticmethod
    def property_values(o):
        return [{'id': rest_id(o['id'] * 100 + p['id']),
            'orderId': rest_id(o['id']), 'orderPropsId': rest_id(p['id']),
            'code': p['code'], 'name': p['name'],
            'value': p['value']} for p in o['properties']]

    def _list(self, rows, p, wrap, default_order='id'):
        rows = apply_filter(rows, p.get('filter'))
        rows = apply_order(rows, p.get('order'), default=default_order)
        select = [str(s) for s in as_list(p.get('select'))]
        page = paginate(rows, p.start(), wrap=wrap)
        if select and '*' not in select:
            page.items = [{k: v for k, v in r.items() if k in select}
                for r in page.items]
        return page

    @rest('sale.order.list')
    def order_list(self, p, ctx):
        return self._list([self.order_fields(o) for o in self.orders.values()],
            p, 'orders')

    @rest('sale.order.get')
    def order_get(self, p, ctx):
        o = self._order(p.get('id'))
        order = self.order_fields(o)
        order.update(basketItems=[self.basket_fields(o, l) for l in o['lines']],
            payments=[self.payment_fields(o, pay) for pay in o['payments']],
            shipments=[self.shipment_fields(o)],
            propertyValues=self.property_values(o),
            clients=[{'entityTypeId': 3, 'entityId': o['user']['id'],
                'isPrimary': 'Y'}], tradeBindings=[], requisiteLink=[])
        return {'order': order}

    @rest('sale.order.update')
    def order_update(self, p, ctx):
        o = self._order(p.get('id'))
        fields = p.fields()
        if fields.get('statusId'):
            if fields['statusId'] not in {s[0] for s in STATUSES}:
                raise RestError('', 'status is not exists')
            self._set_status(o, fields['statusId'])
        if fields.get('canceled') == 'Y' and o['canceled'] != 'Y':
            self._cancel(o, fields.get('reasonCanceled'))
        elif fields.get('canceled') == 'N':
            o['canceled'] = 'N'
        for key, attr in (('comments', 'comments'), ('xmlId', 'xml_id'),
                ('id1c', 'id1c'), ('version1c', 'version1c')):
            if key in fields:
                o[attr] = fields[key]
        self._touch(o)
        return {'order': self.order_fields(o)}

    @rest('sale.basketitem.list')
    def basket_list(self, p, ctx):
        rows = [self.basket_fields(o, l) for o in self.orders.values()
            for l in o['lines']]
        return self._list(rows, p, 'basketItems')

    @rest('sale.basketitem.get')
    def basket_get(self, p, ctx):
        item_id = int(p.get('id') or 0)
        for o in self.orders.values():
            for line in o['lines']:
                if line['basket_id'] == item_id:
                    return {'basketItem': self.basket_fields(o, line)}
        raise RestError('', 'basket item is not exists')

    def _basket_line(self, item_id):
        for o in self.orders.values():
            for line in o['lines']:
                if line['basket_id'] == item_id:
                    return o, line
        raise RestError('200140400001', 'basket item does not exist')

    @staticmethod
    def _set_prices(line, fields):
        """price/basePrice/discountPrice per unit, as given: a price set
        from outside is a custom one (b_sale_basket.CUSTOM_PRICE = Y)"""
        if not {'price', 'basePrice', 'discountPrice'} & set(fields):
            return
        base = cml_number(fields.get('basePrice', line['base_price']))
        price = cml_number(fields.get('price', line['price']))
        line.update(base_price=money(base), price=money(price),
            discount=money(cml_number(fields.get('discountPrice',
                base - price))), custom_price='Y', discounts=[])

    def _recalc(self, order):
        "The order's sum follows its basket, as the site recomputes it on save"
        for line in order['lines']:
            line['sum'] = money(line['price'] * line['quantity'])
        order['price'] = money(sum(l['sum'] for l in order['lines'])
            + order['delivery']['price'])
        order['discount_value'] = money(sum(l['discount'] * l['quantity']
            for l in order['lines']))
        self._touch(order)

    @rest('sale.basketitem.add')
    def basket_add(self, p, ctx):
        """fields: orderId, productId (0: not a catalog product), currency,
        quantity, name; customPrice Y with price, basePrice, discountPrice
        (basePrice = price + discountPrice); xmlId, productXmlId,
        catalogXmlId"""
        fields = p.fields()
        if not fields.get('orderId'):
            raise RestError('200140400008', 'Required fields: fields[ORDER_ID]')
        order = self.orders.get(int(fields['orderId']))
        if order is None:
            raise RestError('200140400009', 'Order not found')
        if fields.get('currency') != 'RUB':
            raise RestError('200140400011',
                'Currency must be the currency of the order')
        missing = [k for k in ('productId', 'quantity') if k not in fields]
        if missing:
            raise RestError('100', 'Required fields: ' + ', '.join(missing))
        line = self._new_basket_line(fields)
        order['lines'].append(line)
        self._recalc(order)
        return {'basketItem': self.basket_fields(order, line)}

    def _new_basket_line(self, fields):
        ids = {v: k for k, v in self.catalog.get('element_ids', {}).items()}
        product_id = int(fields['productId'] or 0)
        xml_id = ids.get(product_id) if product_id else fields.get(
            'productXmlId')
        custom = fields.get('customPrice') == 'Y'
        if (product_id and xml_id is None) or not xml_id or (
                not product_id and not (custom and fields.get('name'))):
            raise RestError('200140400007', 'basket item is not saved - bad data')
        if custom:
            base, price = (cml_number(fields.get(k)) for k in ('basePrice',
                'price'))
            if abs(base - price - cml_number(fields.get('discountPrice'))) \
                    > 0.005:
                raise RestError('200140400007',
                    'basket item is not saved - bad data')
            item = {'product_xml_id': xml_id, 'name': fields['name'],
                'price': price, 'quantity': 0,
                'section_xml_ids': [], 'vat_rate': 20}
        else:
            item = self._basket_item({'product_xml_id': xml_id,
                'name': fields.get('name')})
            base = price = item['price']
        self._basket_ids += 1
        return {**item, 'base_price': money(base), 'price': money(price),
            'discount': money(base - price),
            'quantity': cml_number(fields['quantity']), 'discounts': [],
            'basket_id': self._basket_ids, 'product_id': product_id,
            'xml_id': fields.get('xmlId'), 'coupon': None,
            'custom_price': 'Y' if custom else 'N', 'sum': 0}

    @rest('sale.basketitem.update')
    def basket_update(self, p, ctx):
        "fields: quantity, price, basePrice, discountPrice, name, xmlId, sort"
        order, line = self._basket_line(p.id())
        fields = p.fields()
        if 'quantity' in fields:
            line['quantity'] = cml_number(fields['quantity'])
        for key, attr in (('name', 'name'), ('xmlId', 'xml_id')):
            if key in fields:
                line[attr] = fields[key]
        self._set_prices(line, fields)
        self._recalc(order)
        return {'basketItem': self.basket_fields(order, line)}

    @rest('sale.basketitem.delete')
    def basket_delete(self, p, ctx):
        order, line = self._basket_line(p.id())
        order['lines'].remove(line)
        self._recalc(order)
        return True

    @rest('sale.payment.list')
    def payment_list(self, p, ctx):
        rows = [self.payment_fields(o, pay) for o in self.orders.values()
            for pay in o['payments']]
        return self._list(rows, p, 'payments')

    def _payment(self, payment_id):
        for o in self.orders.values():
            for pay in o['payments']:
                if pay['id'] == int(payment_id or 0):
                    return o, pay
        raise RestError('', 'payment is not exists')

    @rest('sale.payment.get')
    def payment_get(self, p, ctx):
        return {'payment': self.payment_fields(*self._payment(p.get('id')))}

    @rest('sale.payment.update')
    def payment_update(self, p, ctx):
        o, pay = self._payment(p.get('id'))
        fields = p.fields()
        if fields.get('paid') == 'Y' and pay['paid'] != 'Y':
            pay.update(paid='Y', date_paid=iso(self.now()))
        elif fields.get('paid') == 'N':
            pay.update(paid='N', date_paid=None)
        if 'payVoucherNum' in fields:
            pay['pay_voucher_num'] = fields['payVoucherNum']
        o['payed'] = 'Y' if all(x['paid'] == 'Y' for x in o['payments']) else 'N'
        self._touch(o)
        return {'payment': self.payment_fields(o, pay)}

    @rest('sale.shipment.list')
    def shipment_list(self, p, ctx):
        return self._list([self.shipment_fields(o) for o in self.orders.values()],
            p, 'shipments')

    def _shipment(self, shipment_id):
        for o in self.orders.values():
            if o['delivery']['shipment_id'] == int(shipment_id or 0):
                return o
        raise RestError('', 'shipment is not exists')

    @rest('sale.shipment.get')
    def shipment_get(self, p, ctx):
        return {'shipment': self.shipment_fields(self._shipment(p.get('id')))}

    @rest('sale.shipment.update')
    def shipment_update(self, p, ctx):
        o = self._shipment(p.get('id'))
        fields = p.fields()
        for key, attr in (('allowDelivery', 'allow_delivery'),
                ('deducted', 'deducted'), ('trackingNumber', 'tracking_number')):
            if key in fields:
                o['delivery'][attr] = fields[key]
        o['deducted'] = o['delivery']['deducted']
        self._touch(o)
        return {'shipment': self.shipment_fields(o)}

    @rest('sale.propertyvalue.list')
    def property_list(self, p, ctx):
        rows = [v for o in self.orders.values() for v in self.property_values(o)]
        return self._list(rows, p, 'propertyValues')

    @rest('sale.status.list')
    def status_list(self, p, ctx):
        rows = [{'id': sid, 'type': 'O', 'sort': sort, 'notify': 'Y',
            'name': name, 'color': None, 'xmlId': sid}
            for sid, name, sort in STATUSES]
        return self._list(rows, p, 'statuses', default_order='sort')

    # -- control actions -----------------------------------------------------------------------------
    @control('credentials')
    def credentials(self, login=None, password=None):
        "Return (or set) the exchange login/password and the REST webhook"
        with self.lock:
            if login is not None:
                self.login = login
            if password is not None:
                self.password = password
            return {'login': self.login, 'password': self.password,
                'exchange_url': self.base_url + EXCHANGE_PATH,
                'rest_url': f'{self.base_url}/rest/{self.webhook_user}/'
                    f'{self.webhook_code}/'}

    @control('answer_encoding')
    def answer_encoding(self, bom=None, encoding=None, bom_paths=None):
        """bom: answers start with a UTF-8 byte-order mark, as when a PHP
        file of the site was saved with one (bom_paths: a glob of the paths
        that get it, default every one: exchange, REST, pricing);
        encoding: of the CommerceML exchange's answers, text and XML —
        windows-1251 (default, as the real exchange) or utf-8"""
        with self.lock:
            if encoding is not None:
                if encoding.lower() not in ('windows-1251', 'utf-8'):
                    raise ValueError('encoding must be windows-1251 or utf-8')
                self.answers['encoding'] = encoding.lower()
            if bom is not None:
                self.answers['bom'] = bool(bom)
            if bom_paths is not None:
                self.answers['bom_paths'] = bom_paths
            return dict(self.answers)

    def after_route(self, response):
        if self.answers['bom'] and fnmatch.fnmatchcase(request.path,
                self.answers['bom_paths']):
            response.direct_passthrough = False
            response.set_data(BOM + response.get_data())
        return response

    @control('exchange_settings')
    def exchange_settings(self, **settings):
        """zip, file_limit, import_steps, change_status_from_1c, query_zip,
        element_action (A deactivate / N none)"""
        with self.lock:
            unknown = set(settings) - set(self.settings)
            if unknown:
                raise ValueError(f'unknown settings {sorted(unknown)}')
            self.settings.update(settings)
            return dict(self.settings)

    @control('seed_cart_rules')
    def seed_cart_rules(self, rules=None, coupons=None):
        "Replace the cart rules and coupons (default: the realistic seed set)"
        with self.lock:
            if rules is None and coupons is None:
                self.rules, self.coupons = seed_rules(self.now())
            else:
                self.rules, self.coupons = list(rules or []), list(coupons or [])
            return {'rules': self.rules, 'coupons': self.coupons}

    @control('cart_rules')
    def cart_rules(self):
        with self.lock:
            return {'rules': copy.deepcopy(self.rules),
                'coupons': copy.deepcopy(self.coupons)}

    @control('price_basket')
    def price_basket_action(self, items, coupon=None, user=None):
        return self.price_basket(items, coupon, user)

    @control('place_order')
    def place_order(self, lines, login='ivanova.m', name='Мария',
            last_name='Иванова', second_name='Сергеевна',
            email='ivanova.m@example.ru', phone='+79161234567',
            bonus_balance=0, bonus_spent=0, loyalty_level='Серебряный',
            delivery_id=3, delivery_cost=350, delivery_terms='2–4 рабочих дня',
            city='Москва', postcode='119021',
            address='ул. Льва Толстого, д. 16, кв. 5',
            pay_system_id=2, promo_code=None, comment='', paid=False):
        """A customer places an order on the site; it waits for mode=query.

        lines: [{product_xml_id, quantity[, price, name]}]; promo_code is
        priced through the cart rules; bonus_spent is paid from the internal
        account (a second, paid payment)."""
        with self.lock:
            if int(delivery_id) not in DELIVERIES or \
                    int(pay_system_id) not in PAY_SYSTEMS:
                raise ValueError('unknown delivery_id or pay_system_id')
            user = self._user(login, name, last_name, second_name, email, phone)
            priced = price_basket([self._basket_item(l) for l in lines],
                self.rules, self.coupons, promo_code, user, moment=self.now())
            if promo_code and priced['coupon']['status'] == 'applied':
                self._use_coupon(promo_code)
            order = self._new_order(user, priced, {
                'bonus_balance': bonus_balance, 'bonus_spent': bonus_spent,
                'loyalty_level': loyalty_level, 'delivery_id': int(delivery_id),
                'delivery_cost': float(delivery_cost),
                'delivery_terms': delivery_terms, 'city': city,
                'zip': postcode, 'address': address,
                'pay_system_id': int(pay_system_id), 'promo_code': promo_code,
                'comment': comment, 'paid': bool(paid)})
            return self._summary(order)

    def _new_order(self, user, priced, args):
        self._order_ids += 1
        moment = iso(self.now())
        order_id = self._order_ids
        coupon_rules = {d['rule_id'] for d in priced['discounts'] if d['coupon']}
        lines = []
        for line in priced['lines']:
            self._basket_ids += 1
            by_coupon = any(d['rule_id'] in coupon_rules
                for d in line['discounts'])
            lines.append({**line, 'basket_id': self._basket_ids,
                'product_id': self._product_id(line['product_xml_id']),
                'coupon': args['promo_code'] if by_coupon else None})
        total = money(priced['total'] + float(args['delivery_cost']))
        bonus = money(min(float(args['bonus_spent']), total))
        payments = []
        if bonus:
            payments.append({'id': order_id * 10 + 1,
                'pay_system_id': INNER_PAY_SYSTEM, 'sum': bonus, 'paid': 'Y',
                'date_paid': moment, 'pay_voucher_num': None})
        payments.append({'id': order_id * 10 + 2,
            'pay_system_id': int(args['pay_system_id']),
            'sum': money(total - bonus), 'paid': 'Y' if args['paid'] else 'N',
            'date_paid': moment if args['paid'] else None,
            'pay_voucher_num': None})
        values = {'FIO': ' '.join(filter(None, (user['last_name'], user['name'],
            user['second_name']))), 'EMAIL': user['email'],
            'PHONE': user['phone'], 'ZIP': args['zip'], 'CITY': args['city'],
            'ADDRESS': args['address'], 'DELIVERY_TERMS': args['delivery_terms'],
            'BONUS_BALANCE': str(args['bonus_balance']),
            'LOYALTY_LEVEL': args['loyalty_level'],
            'PROMO_CODE': args['promo_code'] or ''}
        order = {'id': order_id, 'account_number': str(order_id),
            'status_id': 'N', 'date_insert': moment, 'date_update': moment,
            'date_status': moment, 'user': dict(user), 'lines': lines,
            'price': total, 'discount_value': priced['discount_total'],
            'discounts': priced['discounts'], 'coupon': args['promo_code'],
            'delivery': {'id': int(args['delivery_id']),
                'name': DELIVERIES[int(args['delivery_id'])],
                'price': float(args['delivery_cost']), 'terms':
                args['delivery_terms'], 'city': args['city'], 'zip': args['zip'],
                'address': args['address'], 'allow_delivery': 'N',
                'deducted': 'N', 'tracking_number': None,
                'shipment_id': order_id * 10 + 5},
            'payments': payments,
            'payed': 'Y' if all(p['paid'] == 'Y' for p in payments) else 'N',
            'deducted': 'N', 'canceled': 'N', 'reason_canceled': None,
            'date_canceled': None, 'user_description': args['comment'],
            'comments': None, 'xml_id': None, 'id1c': None, 'version1c': None,
            'updated1c': 'N', 'external_order': 'N', 'version': 1,
            'properties': [{'id': pid, 'code': code, 'name': pname,
                'value': values.get(code)} for pid, code, pname in
                ORDER_PROPERTIES]}
        self.orders[order_id] = order
        return order

    def _product_id(self, xml_id):
        "The site's numeric element id for a 1C product GUID"
        ids = self.catalog.setdefault('element_ids', {})
        return ids.setdefault(xml_id, 100 + len(ids))

    def _summary(self, order):
        return {'id': order['id'], 'account_number': order['account_number'],
            'price': order['price'], 'discount_value': order['discount_value'],
            'discounts': order['discounts'], 'payed': order['payed'],
            'lines': [{k: l[k] for k in ('basket_id', 'product_xml_id', 'name',
                'base_price', 'price', 'quantity', 'sum')} for l in order['lines']]}

    @control('edit_order')
    def edit_order(self, id, status_id=None, paid=None, allow_delivery=None,
            canceled=None, reason=None, properties=None):
        """A site manager changes an order in the admin: it is re-exported.

        properties: {code: value} of order properties (PHONE, ADDRESS…)"""
        with self.lock:
            order = self.orders.get(int(id))
            if order is None:
                raise KeyError(f'no order {id}')
            for prop in order['properties']:
                if prop['code'] in (properties or {}):
                    prop['value'] = properties[prop['code']]
            if status_id:
                self._set_status(order, status_id)
            if paid:
                self._mark_paid(order)
            if allow_delivery:
                order['delivery']['allow_delivery'] = 'Y'
            if canceled:
                self._cancel(order, reason)
            self._touch(order)
            return self.order_fields(order)

    @control('load_catalog')
    def load_catalog(self, sections=None, products=(), replace=True):
        """Put a catalogue on the site as 1C's upload would.

        sections: {xml_id: {name, parent}}; products: [{xml_id, article,
        name, section, price, quantity, offers: [{xml_id, name[, price,
        quantity]}]}] (no offers: the product is its own offer); replace:
        the old catalogue goes"""
        with self.lock:
            catalog = self.catalog
            if replace:
                for part in ('sections', 'products', 'offers'):
                    catalog[part].clear()
            catalog['sections'].update(sections or {})
            for product in products:
                self._load_product(product)
            return {part: len(catalog[part])
                for part in ('sections', 'products', 'offers')}

    def _load_product(self, product):
        catalog = self.catalog
        catalog['products'][product['xml_id']] = catalog_product(
            product['xml_id'], product.get('article'), product['name'],
            product.get('section'))
        for offer in product.get('offers') or [product]:
            catalog['offers'][offer['xml_id']] = catalog_offer(
                offer['xml_id'], offer.get('name', product['name']),
                offer.get('price', product['price']),
                offer.get('quantity', product.get('quantity', 10)))

    @control('place_random_order')
    def place_random_order(self, seed=None):
        """A random customer orders 1–3 offers of the catalogue (Russian
        names, phones, e-mails, the demo's cities, various deliveries and
        payments, now and then a promo code or bonuses); seed makes it
        repeatable"""
        rng = random.Random(seed) if seed is not None else self.random
        with self.lock:
            args = random_order(rng, self._offers_for_sale(),
                self._usable_coupons())
            code = args['promo_code']
            if code and self.price_basket(args['lines'], code)['coupon'][
                    'status'] != 'applied':
                args['promo_code'] = None   # a site keeps only applied ones
            return self.place_order(**args)

    def _offers_for_sale(self):
        products = self.catalog['products']
        return sorted(xml_id for xml_id, offer in self.catalog[
                'offers'].items() if offer['prices'] and products.get(
                xml_id.split('#')[0], {}).get('active'))

    def _usable_coupons(self):
        rules = {r['ID']: r for r in self.rules}
        return [c['COUPON'] for c in self.coupons if coupon_status(
                c, rules, None, self.now()) == 'entered']

    def start_demo(self, interval=60):
        "Place a random order every interval seconds until stop()"
        self.repeat(interval, self.place_random_order)

    # -- control page ---------------------------------------------------------------------------
    def page_summary(self):
        return [('Заказов', len(self.orders)),
            ('Товаров в каталоге', len(self.catalog['products'])),
            ('Торговых предложений', len(self.catalog['offers'])),
            ('Новых и изменённых заказов для 1С', sum(
                    o['updated1c'] == 'N' for o in self.orders.values())),
            ('Последняя выгрузка заказов', iso(self.last_export) or '—'),
            ('Логин обмена', self.login)]

    def page_sections(self):
        sections = super().page_sections()
        return sections[:1] + [('Заказы (новые сверху)',
                page.table(('№', 'Создан', 'Покупатель', 'Город', 'Доставка',
                        'Оплата', 'Статус', 'Оплачен', 'Отменён',
                        'Корзина: товар × кол-во по цене (скидка)',
                        'Промокод', 'Сумма'), [self._page_order(o)
                        for o in sorted(self.orders.values(),
                            key=lambda o: -o['id'])[:50]]))] + sections[1:]

    @staticmethod
    def _page_order(order):
        statuses = {s[0]: s[1] for s in STATUSES}
        rows = '; '.join(f"{l['name']} × {l['quantity']:g} по {l['price']:g}"
            + (f" (−{l['discount']:g})" if l['discount'] else '')
            for l in order['lines'])
        user = order['user']
        return (order['account_number'], order['date_insert'][:16].replace(
                'T', ' '), f"{user['last_name']} {user['name']}",
            order['delivery']['city'], order['delivery']['name'],
            PAY_SYSTEMS[order['payments'][-1]['pay_system_id']],
            statuses.get(order['status_id'], order['status_id']),
            'да' if order['payed'] == 'Y' else 'нет',
            'да' if order['canceled'] == 'Y' else '', rows,
            order['coupon'] or '', order['price'])

    @control('orders')
    def orders_state(self):
        with self.lock:
            return {'orders': copy.deepcopy(list(self.orders.values()))}

    @control('catalog')
    def catalog_state(self):
        with self.lock:
            return copy.deepcopy(self.catalog)
