"""CDEK API v2 simulator.

Follows /work/shared/docs/external/cdek.md: OAuth client_credentials tokens,
asynchronous order registration (the entity/requests envelope), order
statuses and ORDER_STATUS webhooks, delivery points and the tariff
calculator, print forms (waybill and barcode PDFs) and PRINT_FORM webhooks.
All paths live under /v2/ as on api.cdek.ru and api.edu.cdek.ru.
"""
import base64
import copy
import itertools
import json
import math
import secrets
import uuid
from datetime import timedelta

from flask import Response, jsonify, request

from .core import Simulator, control, error_page, route
from .page import counts

# CDEK's public test account (cdek.md §1)
TEST_CLIENT_ID = 'wqGwiQx0gg8mLtiEKsUinjVSICCjtTEP'
TEST_CLIENT_SECRET = 'RmAmgvSgSl1yirlz9QupbzOJVqhCxcP5'
TOKEN_TTL = 3600

# code -> (Russian name, legacy numeric code or None), cdek.md §7
STATUSES = {
    'ACCEPTED': ('Принят', None),
    'CREATED': ('Создан', '1'),
    'REMOVED': ('Удален', '2'),
    'RECEIVED_AT_SHIPMENT_WAREHOUSE': ('Принят на склад отправителя', '3'),
    'READY_FOR_SHIPMENT_IN_SENDER_CITY': (
        'Выдан на отправку в г. отправителе', '6'),
    'RETURNED_TO_SENDER_CITY_WAREHOUSE': ('Возвращен на склад отправителя',
        '16'),
    'TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY': (
        'Сдан перевозчику в г. отправителе', '7'),
    'SENT_TO_TRANSIT_CITY': ('Отправлен в г. транзит', '21'),
    'ACCEPTED_IN_TRANSIT_CITY': ('Встречен в г. транзите', '22'),
    'ACCEPTED_AT_TRANSIT_WAREHOUSE': ('Принят на склад транзита', '13'),
    'RETURNED_TO_TRANSIT_WAREHOUSE': ('Возвращен на склад транзита', '17'),
    'READY_FOR_SHIPMENT_IN_TRANSIT_CITY': ('Выдан на отправку в г. транзите',
        '19'),
    'TAKEN_BY_TRANSPORTER_FROM_TRANSIT_CITY': (
        'Сдан перевозчику в г. транзите', '20'),
    'SENT_TO_SENDER_CITY': ('Отправлен в г. отправитель', '27'),
    'SENT_TO_RECIPIENT_CITY': ('Отправлен в г. получатель', '8'),
    'ACCEPTED_IN_SENDER_CITY': ('Встречен в г. отправителе', '28'),
    'ACCEPTED_IN_RECIPIENT_CITY': ('Встречен в г. получателе', '9'),
    'ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE': ('Принят на склад доставки',
        '10'),
    'ACCEPTED_AT_PICK_UP_POINT': ('Принят на склад до востребования', '12'),
    'TAKEN_BY_COURIER': ('Выдан на доставку', '11'),
    'RETURNED_TO_RECIPIENT_CITY_WAREHOUSE': ('Возвращен на склад доставки',
        '18'),
    'DELIVERED': ('Вручен', '4'),
    'NOT_DELIVERED': ('Не вручен', '5'),
    'INVALID': ('Некорректный заказ', None),
    'IN_CUSTOMS_INTERNATIONAL': (
        'Таможенное оформление в стране отправления', None),
    'SHIPPED_TO_DESTINATION': ('Отправлено в страну назначения', None),
    'PASSED_TO_TRANSIT_CARRIER': ('Передано транзитному перевозчику', None),
    'IN_CUSTOMS_LOCAL': ('Таможенное оформление в стране назначения', None),
    'CUSTOMS_COMPLETE': ('Таможенное оформление завершено', None),
    'POSTOMAT_POSTED': ('Заложен в постамат', None),
    'POSTOMAT_SEIZED': ('Изъят из постамата курьером', None),
    'POSTOMAT_RECEIVED': ('Изъят из постамата клиентом', None),
    'ENTERED_TO_TRANSIT_WAREHOUSE': ('Поступил в г. транзита', None),
    'ENTERED_TO_RECIPIENT_CITY_WAREHOUSE': ('Поступил на склад доставки',
        None),
    'ENTERED_TO_PICK_UP_POINT': ('Поступил на склад до востребования', None),
    }
# statuses newer than the numeric scheme share this code (cdek.md §7)
LEGACY_CODE_FALLBACK = '1000'
FINAL_STATUSES = {'DELIVERED', 'NOT_DELIVERED', 'REMOVED', 'INVALID',
    'POSTOMAT_RECEIVED'}
DELETABLE_STATUSES = {'ACCEPTED', 'CREATED'}

# statuses after CREATED, by where the parcel ends up
_LINEHAUL = ['RECEIVED_AT_SHIPMENT_WAREHOUSE',
    'READY_FOR_SHIPMENT_IN_SENDER_CITY',
    'TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY', 'SENT_TO_RECIPIENT_CITY',
    'ACCEPTED_IN_RECIPIENT_CITY']
ROUTES = {
    'warehouse': _LINEHAUL + ['ACCEPTED_AT_PICK_UP_POINT', 'DELIVERED'],
    'door': _LINEHAUL + ['ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE',
        'TAKEN_BY_COURIER', 'DELIVERED'],
    'postamat': _LINEHAUL + ['POSTOMAT_POSTED', 'POSTOMAT_RECEIVED'],
    }
# statuses that happen in the recipient's city
_DESTINATION_STATUSES = set(ROUTES['door'][5:] + ROUTES['warehouse'][5:]
    + ROUTES['postamat'][5:] + ['NOT_DELIVERED', 'POSTOMAT_SEIZED',
        'RETURNED_TO_RECIPIENT_CITY_WAREHOUSE'])

# tariff code -> (name, delivery_mode, base price RUB, price per kg, extra
# days).  Names follow third-party enums and are unconfirmed (cdek.md §4.5).
TARIFFS = {
    136: ('Посылка склад-склад', 4, 250, 40, 0),
    137: ('Посылка склад-дверь', 3, 350, 45, 1),
    138: ('Посылка дверь-склад', 2, 340, 45, 1),
    139: ('Посылка дверь-дверь', 1, 440, 50, 2),
    366: ('Посылка дверь-постамат', 6, 320, 45, 1),
    368: ('Посылка склад-постамат', 7, 230, 40, 0),
    233: ('Экономичная посылка склад-дверь', 3, 280, 30, 3),
    234: ('Экономичная посылка склад-склад', 4, 190, 25, 3),
    }
FROM_DOOR_MODES = {1, 2, 6}
TO_DOOR_MODES = {1, 3}
TO_POSTAMAT_MODES = {6, 7}

WEBHOOK_TYPES = {'ORDER_STATUS', 'PRINT_FORM', 'PREALERT_CLOSED',
    'ACCOMPANYING_WAYBILL', 'OFFICE_AVAILABILITY', 'ORDER_MODIFIED',
    'DELIV_AGREEMENT', 'DELIV_PROBLEM', 'COURIER_INFO', 'DOWNLOAD_PHOTO',
    'RECEIPT'}
VAT_RATES = {None, 0, 10, 12, 20, 22}
MAX_ITEMS = 126

# CDEK city codes of the seeded cities
CITIES = {
    44: {'city': 'Москва', 'region': 'Москва', 'region_code': 81,
        'postal_prefix': ('10', '11', '12'), 'lat': 55.7558,
        'lon': 37.6173, 'tz': 'Europe/Moscow'},
    137: {'city': 'Санкт-Петербург', 'region': 'Санкт-Петербург',
        'region_code': 82, 'postal_prefix': ('19',), 'lat': 59.9386,
        'lon': 30.3141, 'tz': 'Europe/Moscow'},
    424: {'city': 'Казань', 'region': 'Республика Татарстан',
        'region_code': 11, 'postal_prefix': ('420',), 'lat': 55.7963,
        'lon': 49.1088, 'tz': 'Europe/Moscow'},
    250: {'city': 'Екатеринбург', 'region': 'Свердловская область',
        'region_code': 19, 'postal_prefix': ('620',), 'lat': 56.8389,
        'lon': 60.6057, 'tz': 'Asia/Yekaterinburg'},
    270: {'city': 'Новосибирск', 'region': 'Новосибирская область',
        'region_code': 23, 'postal_prefix': ('630',), 'lat': 55.0302,
        'lon': 82.9204, 'tz': 'Asia/Novosibirsk'},
    414: {'city': 'Нижний Новгород', 'region': 'Нижегородская область',
        'region_code': 39, 'postal_prefix': ('603',), 'lat': 56.3269,
        'lon': 44.0059, 'tz': 'Europe/Moscow'},
    }

# (code, city code, type, postal code, address, metro/station, lat, lon)
_POINTS = [
    ('MSK2', 44, 'PVZ', '129090', 'пр-т Мира, 20, корп. 1', 'Проспект Мира',
        55.7797, 37.6335),
    ('MSK65', 44, 'PVZ', '115054', 'ул. Валовая, 26', 'Павелецкая',
        55.7316, 37.6368),
    ('MSK1234', 44, 'POSTAMAT', '125009', 'ул. Тверская, 9', 'Охотный Ряд',
        55.7613, 37.6095),
    ('SPB6', 137, 'PVZ', '191186', 'Невский пр-т, 28', 'Невский проспект',
        59.9357, 30.3259),
    ('SPB102', 137, 'PVZ', '196084', 'Московский пр-т, 97', 'Фрунзенская',
        59.8990, 30.3193),
    ('SPB2011', 137, 'POSTAMAT', '197101', 'Кронверкский пр-т, 49',
        'Горьковская', 59.9567, 30.3097),
    ('KZN4', 424, 'PVZ', '420111', 'ул. Баумана, 44/8', 'Кремлёвская',
        55.7902, 49.1133),
    ('KZN31', 424, 'POSTAMAT', '420021', 'ул. Парижской Коммуны, 17',
        'Площадь Тукая', 55.7841, 49.1188),
    ('EKB7', 250, 'PVZ', '620014', 'ул. Малышева, 51', 'Площадь 1905 года',
        56.8358, 60.6086),
    ('EKB58', 250, 'PVZ', '620075', 'ул. Луначарского, 81', 'Динамо',
        56.8431, 60.6182),
    ('NSK1', 270, 'PVZ', '630099', 'ул. Ленина, 12', 'Площадь Ленина',
        55.0303, 82.9179),
    ('NSK33', 270, 'POSTAMAT', '630091', 'Красный пр-т, 79', 'Гагаринская',
        55.0554, 82.9146),
    ('NNOV3', 414, 'PVZ', '603005', 'ул. Большая Покровская, 15',
        'Горьковская', 56.3231, 44.0027),
    ('NNOV27', 414, 'PVZ', '603002', 'ул. Советская, 14', 'Московская',
        56.3211, 43.9462),
    ]

# Print forms (cdek.md §6): route kind -> (related entity type, PRINT_FORM
# webhook attribute type).  Status names follow the apidoc.cdek.ru-derived
# enums (Spoleto PrintingOrderStatusCode); the real texts are unconfirmed.
PRINT_KINDS = {'orders': ('waybill', 'WAYBILL'),
    'barcodes': ('barcode', 'BARCODE')}
PRINT_STATUSES = {'ACCEPTED': 'Принят', 'PROCESSING': 'Формируется',
    'READY': 'Сформирован', 'REMOVED': 'Удален',
    'INVALID': 'Некорректный запрос'}
PRINT_FORM_TTL = 3600        # "the link expires in about 1 hour" (§6)
PRINT_MAX_ORDERS = 100
BARCODE_FORMATS = {'A4', 'A5', 'A6', 'A7'}
PRINT_LANGS = {'RUS', 'ENG'}

# What CDEK fills from the contract when an e-shop order omits the sender
# or the seller.  Whether the real order info then echoes the contract data
# or leaves the keys out is unconfirmed; the simulator echoes it.
CONTRACT_SENDER = {'company': 'ООО «Обувной хаб»', 'name': 'Склад отправителя',
    'contragent_type': 'LEGAL_ENTITY',
    'phones': [{'number': '+74951234567'}]}
CONTRACT_SELLER = {'name': 'ООО «Обувной хаб»', 'inn': '7701234567',
    'phone': '+74951234567', 'ownership_form': 63}

# Webhook variants real integrations meet (cdek.md §8.3): the 2019 payload of
# CDEK's own PHP SDK test carries ``city`` instead of ``city_name`` and no
# ``city_code``.  Which statuses still come that way is unconfirmed: by
# default the final ones do (``legacy_city='final'``).
LEGACY_CITY_MODES = {'none', 'final', 'all'}

API_PREFIX = '/v2/'
TOKEN_PATH = '/v2/oauth/token'


class CdekError(Exception):
    "A request CDEK rejects; rendered as the entity/requests envelope"

    def __init__(self, status, errors, request_type='GET', envelope=True):
        super().__init__(errors)
        self.status = status
        self.errors = errors
        self.request_type = request_type
        self.envelope = envelope


def error(code, message):
    return {'code': code, 'message': message}


def api_time(moment):
    "Order info style: 2026-03-05T21:47:22+00:00"
    return moment.isoformat()


def webhook_time(moment):
    "Webhook style: 2023-11-28T07:44:45+0000"
    return moment.strftime('%Y-%m-%dT%H:%M:%S%z')


def request_record(request_type, state, moment, errors=(), warnings=()):
    return {'request_uuid': str(uuid.uuid4()), 'type': request_type,
        'state': state, 'date_time': api_time(moment),
        'errors': list(errors), 'warnings': list(warnings)}


def envelope(entity=None, requests=(), related=()):
    body = {}
    if entity is not None:
        body['entity'] = entity
    body['requests'] = list(requests)
    body['related_entities'] = list(related)
    return body


def make_jwt(claims):
    "A JWT-shaped token; only the simulator checks it, so it is not signed"
    def part(data):
        raw = json.dumps(data, separators=(',', ':')).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b'=').decode()
    return '.'.join([part({'alg': 'RS256', 'typ': 'JWT'}), part(claims),
            secrets.token_urlsafe(32)])


def vat_part(value, rate):
    "VAT included in a gross sum at rate % (None: no VAT)"
    if not rate or not value:
        return 0
    return round(value * rate / (100 + rate), 2)


def city_uuid(code):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f'cdek-city-{code}'))


def full_location(location, city, point=None):
    """A location as order info renders it: what was sent plus what CDEK
    adds (city_uuid, country, region, coordinates).  For a ПВЗ order the
    location is the point's (assumed: the real answer's shape for points is
    unconfirmed)."""
    out = {}
    if point is not None:
        loc = point['location']
        out = {'code': loc['city_code'], 'postal_code': loc['postal_code'],
            'longitude': loc['longitude'], 'latitude': loc['latitude'],
            'address': loc['address']}
    out.update(location or {})
    if city:
        out.setdefault('code', city['code'])
        out.setdefault('city', city['city'])
        out.setdefault('region', city['region'])
        out.setdefault('region_code', city['region_code'])
        out.setdefault('longitude', city['lon'])
        out.setdefault('latitude', city['lat'])
        out['city_uuid'] = city_uuid(city['code'])
    out.setdefault('country_code', 'RU')
    out['country'] = 'Россия' if out['country_code'] == 'RU' else out[
        'country_code']
    return out


def _pdf_text(text):
    "Latin-1 safe text for the standard Helvetica font of a PDF"
    text = text.encode('latin-1', 'replace').decode('latin-1')
    return text.replace('\\', '\\\\').replace('(', '\\(').replace(
        ')', '\\)')


def make_pdf(title, lines, bars=''):
    """A small, valid one-page PDF: a title, text lines and, if bars is a
    string of digits, a barcode-like row of bars under them."""
    ops = ['BT /F1 16 Tf 40 790 Td (%s) Tj ET' % _pdf_text(title)]
    y = 760
    for line in lines:
        ops.append('BT /F1 11 Tf 40 %d Td (%s) Tj ET' % (y, _pdf_text(line)))
        y -= 18
    x = 40
    for digit in bars:
        width = 1 + int(digit) % 3
        ops.append('%d %d %d 60 re f' % (x, y - 70, width))
        x += width + 2
    stream = '\n'.join(ops).encode('latin-1')
    objects = [b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] '
        b'/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica '
        b'/Encoding /WinAnsiEncoding >>',
        b'<< /Length %d >>\nstream\n' % len(stream) + stream
        + b'\nendstream']
    out = bytearray(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b'%d 0 obj\n' % number + body + b'\nendobj\n'
    xref = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objects) + 1)
    for offset in offsets:
        out += b'%010d 00000 n \n' % offset
    out += (b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n'
        % (len(objects) + 1, xref))
    return bytes(out)


def distance_km(a, b):
    lat1, lon1, lat2, lon2 = map(math.radians,
        (a['lat'], a['lon'], b['lat'], b['lon']))
    h = (math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 6371 * 2 * math.asin(math.sqrt(h))


def volume_weight(package):
    "Volumetric weight in grams: L*W*H cm / 5000 per kg"
    dims = [package.get(k) for k in ('length', 'width', 'height')]
    if all(isinstance(d, int) and d > 0 for d in dims):
        return dims[0] * dims[1] * dims[2] // 5
    return 0


def calc_weight(packages):
    return sum(max(p.get('weight') or 0, volume_weight(p)) for p in packages)


def city_info(code):
    info = CITIES.get(code)
    if info:
        return {'code': code, **info}
    # any other positive code is a real CDEK city the seed does not hold
    return {'code': code, 'city': f'Город {code}', 'region': '',
        'region_code': 0, 'postal_prefix': (), 'lat': 55.0, 'lon': 45.0}


def resolve_location(location):
    "The city a location dict points at, or None if CDEK would not know it"
    if not isinstance(location, dict):
        return None
    code = location.get('code')
    if isinstance(code, int) and not isinstance(code, bool) and code > 0:
        return city_info(code)
    postal = str(location.get('postal_code') or '')
    for city_code, info in CITIES.items():
        if postal and postal.startswith(info['postal_prefix']):
            return city_info(city_code)
    text = f"{location.get('city') or ''} {location.get('address') or ''}"
    for city_code, info in CITIES.items():
        if info['city'].lower() in text.lower():
            return city_info(city_code)
    return None


def build_point(code, city_code, kind, postal, address, station, lat, lon):
    city = CITIES[city_code]
    postamat = kind == 'POSTAMAT'
    point = {
        'code': code, 'name': f"{city['city']}, {address}",
        'uuid': str(uuid.uuid5(uuid.NAMESPACE_URL, f'cdek-point-{code}')),
        'address_comment': '' if postamat else 'Вход со двора',
        'nearest_station': station, 'nearest_metro_station': station,
        'work_time': 'Пн-Вс 08:00-22:00' if postamat
            else 'Пн-Пт 09:00-21:00, Сб-Вс 10:00-18:00',
        'work_time_list': [{'day': d, 'time': '08:00/22:00' if postamat
                else ('09:00/21:00' if d <= 5 else '10:00/18:00')}
            for d in range(1, 8)],
        'work_time_exception_list': [],
        'phones': [{'number': '+78002501405'}],
        'email': '' if postamat else f'{code.lower()}@cdek.ru',
        'note': '', 'type': kind, 'owner_code': 'CDEK',
        'take_only': False, 'is_handout': True, 'is_reception': not postamat,
        'is_dressing_room': not postamat, 'is_ltl': False,
        'have_cashless': True, 'have_cash': not postamat,
        'have_fast_payment_system': True, 'allowed_cod': True,
        'fulfillment': False, 'site': '',
        'weight_min': 0, 'weight_max': 20 if postamat else 30,
        'location': {'country_code': 'RU', 'region_code': city['region_code'],
            'region': city['region'], 'city_code': city_code,
            'city': city['city'], 'postal_code': postal,
            'longitude': lon, 'latitude': lat, 'address': address,
            'address_full': f"{postal}, Россия, {city['region']}, "
                f"{city['city']}, {address}",
            'city_uuid': city_uuid(city_code)},
        }
    if postamat:
        point['dimensions'] = [{'width': 40, 'height': 40, 'depth': 60}]
    return point


def default_points():
    return [build_point(*row) for row in _POINTS]


POINT_FLAGS = ('have_cashless', 'have_cash', 'allowed_cod',
    'is_dressing_room', 'take_only', 'is_handout', 'is_reception',
    'is_marketplace', 'is_ltl', 'fulfillment')
POINT_LOCATION_FILTERS = {'postal_code': str, 'city_code': int,
    'country_code': str, 'region_code': int, 'fias_guid': str}


def _flag(value):
    if value.lower() in ('true', '1'):
        return True
    if value.lower() in ('false', '0'):
        return False
    raise CdekError(400, [error('v2_invalid_value_type',
                f'Boolean expected, got {value!r}')], envelope=False)


def _number(name, value, kind=int):
    try:
        return kind(value)
    except ValueError:
        raise CdekError(400, [error('v2_invalid_value_type',
                    f'Parameter {name} must be a number')], envelope=False)


def point_matches(point, args):
    kind = args.get('type', 'ALL')
    if kind not in ('PVZ', 'POSTAMAT', 'ALL'):
        raise CdekError(400, [error('v2_invalid_format',
                    f'Unknown delivery point type {kind!r}')], envelope=False)
    if kind != 'ALL' and point['type'] != kind:
        return False
    if 'code' in args and point['code'] != args['code']:
        return False
    for name, cast in POINT_LOCATION_FILTERS.items():
        if name in args and point['location'].get(name) != (
                _number(name, args[name]) if cast is int else args[name]):
            return False
    for name in POINT_FLAGS:
        if name in args and bool(point.get(name)) != _flag(args[name]):
            return False
    if 'weight_max' in args and point['weight_max'] < _number(
            'weight_max', args['weight_max'], float):
        return False
    if 'weight_min' in args and point['weight_min'] > _number(
            'weight_min', args['weight_min'], float):
        return False
    return True


def page(items, args):
    if 'size' not in args:
        return items
    size = _number('size', args['size'])
    number = _number('page', args.get('page', '0'))
    return items[number * size:(number + 1) * size]


def quote(tariff_code, origin, destination, packages, today, services=()):
    "The simulated price and terms of one tariff on a route"
    name, mode, base, per_kg, extra_days = TARIFFS[tariff_code]
    weight = calc_weight(packages)
    km = distance_km(origin, destination)
    kg = max(1, math.ceil(weight / 1000))
    delivery_sum = round(base + per_kg * kg * (1 + km / 1000), 2)
    period_min = 1 + int(km // 700) + extra_days
    period_max = period_min + 2
    calendar_min = period_min + 2 * (period_min // 5)
    calendar_max = period_max + 2 * math.ceil(period_max / 5)
    priced = [service_cost(s) for s in services]
    return {
        'delivery_sum': delivery_sum,
        'period_min': period_min, 'period_max': period_max,
        'calendar_min': calendar_min, 'calendar_max': calendar_max,
        'weight_calc': weight, 'services': priced,
        'total_sum': round(delivery_sum + sum(s['total_sum'] for s in priced),
            2),
        'currency': 'RUB',
        'delivery_date_range': {
            'min': (today + timedelta(days=calendar_min)).isoformat(),
            'max': (today + timedelta(days=calendar_max)).isoformat()},
        }


def service_cost(service):
    "INSURANCE costs 0.75 % of the declared sum; the others are free here"
    code = service.get('code')
    total = 0.0
    if code == 'INSURANCE':
        try:
            total = round(float(service.get('parameter') or 0) * 0.0075, 2)
        except ValueError:
            total = 0.0
    return {'code': code, 'parameter': service.get('parameter'),
        'sum': total, 'total_sum': total, 'discount_percent': 0,
        'discount_sum': 0, 'vat_rate': 0, 'vat_sum': 0}


SERVICE_CODES = {'INSURANCE', 'TAKE_SENDER', 'DELIV_RECEIVER', 'TRYING_ON',
    'PART_DELIV', 'INSPECTION_CARGO', 'REVERSE', 'DANGER_CARGO', 'PACKAGE_1',
    'WAIT_FOR_RECEIVER', 'WAIT_FOR_SENDER', 'REPEATED_DELIVERY', 'SMS',
    'CALL', 'NOTIFY_ORDER_CREATED', 'NOTIFY_ORDER_DELIVERY',
    'GET_UP_FLOOR_BY_HAND', 'GET_UP_FLOOR_BY_ELEVATOR', 'THERMAL_MODE',
    'BAN_ATTACHMENT_INSPECTION', 'DELIV_WEEKEND', 'COURIER_PACKAGE_A2',
    'SECURE_PACKAGE_A2', 'SECURE_PACKAGE_A3', 'SECURE_PACKAGE_A4',
    'SECURE_PACKAGE_A5', 'CARTON_BOX_XS', 'CARTON_BOX_S', 'CARTON_BOX_M',
    'CARTON_BOX_L', 'CARTON_BOX_500GR', 'CARTON_BOX_1KG', 'CARTON_BOX_2KG',
    'CARTON_BOX_3KG', 'CARTON_BOX_5KG', 'CARTON_BOX_10KG', 'CARTON_BOX_15KG',
    'CARTON_BOX_20KG', 'CARTON_BOX_30KG', 'BUBBLE_WRAP', 'WASTE_PAPER',
    'CARTON_FILLER'}


class OrderChecker:
    """Synchronous pre-validation of POST /v2/orders.

    Collects every problem as a CDEK {code, message} error, so a client sees
    all of them at once like in the real ``requests[].errors``.
    """

    def __init__(self):
        self.errors = []

    def add(self, code, message):
        self.errors.append(error(code, message))

    def field(self, obj, key, path, kinds, required=True):
        "Return obj[key] if present and of an allowed type, else record why"
        value = obj.get(key)
        if value is None or value == '' or value == []:
            if required:
                self.add('v2_field_is_empty', f'Field {path} is empty')
            return None
        if isinstance(value, bool) and bool not in kinds:
            value = object()
        if not isinstance(value, kinds):
            self.add('v2_invalid_value_type', f'Field {path} has wrong type')
            return None
        return value

    def check(self, body):
        if not isinstance(body, dict):
            self.add('v2_bad_request', 'Request body must be a JSON object')
            return self.errors
        self.field(body, 'tariff_code', 'tariff_code', (int,))
        order_type = self.field(body, 'type', 'type', (int,), required=False)
        if order_type not in (None, 1, 2):
            self.add('v2_invalid_format', 'Field type must be 1 or 2')
        number = self.field(body, 'number', 'number', (str,), required=False)
        if number and (len(number) > 40 or not number.isascii()):
            self.add('v2_invalid_format',
                'Field number must be ASCII, at most 40 characters')
        self.check_places(body)
        self.check_contact(body, 'recipient', required=True)
        self.check_contact(body, 'sender', required=order_type == 2)
        self.check_packages(body, eshop=order_type in (None, 1))
        self.check_services(body)
        if body.get('print') not in (None, 'waybill', 'barcode'):
            self.add('v2_invalid_format',
                'Field print must be waybill or barcode')
        return self.errors

    def check_places(self, body):
        pairs = (('shipment_point', 'from_location', 'v2_shipment_address',
                'v2_order_location_from_and_shipment_point_empty'),
            ('delivery_point', 'to_location', 'v2_delivery_address',
                'v2_order_location_to_and_delivery_point_empty'))
        for point, location, prefix, empty_code in pairs:
            has_point = bool(body.get(point))
            has_location = bool(body.get(location))
            if has_point and has_location:
                self.add(f'{prefix}_multivalued',
                    f'Only one of {point} and {location} may be given')
            elif not has_point and not has_location:
                self.add(empty_code, f'Either {point} or {location} is needed')
            elif has_point:
                self.field(body, point, point, (str,))
            else:
                loc = self.field(body, location, location, (dict,))
                if loc is not None:
                    self.field(loc, 'address', f'{location}.address', (str,))

    def check_contact(self, body, key, required):
        contact = self.field(body, key, key, (dict,), required)
        if contact is None:
            return
        self.field(contact, 'name', f'{key}.name', (str,))
        phones = self.field(contact, 'phones', f'{key}.phones', (list,),
            required=key == 'recipient')
        for i, phone in enumerate((phones or [])[:11]):
            path = f'{key}.phones[{i}]'
            number = self.field(phone if isinstance(phone, dict) else {},
                'number', f'{path}.number', (str,))
            if number and len(number) > 24:
                self.add('v2_invalid_format', f'{path}.number is too long')
        if phones and len(phones) > 10:
            self.add('v2_invalid_format', f'{key}.phones: at most 10 phones')

    def check_packages(self, body, eshop):
        packages = self.field(body, 'packages', 'packages', (list,))
        positions = 0
        for i, package in enumerate(packages or []):
            path = f'packages[{i}]'
            if not isinstance(package, dict):
                self.add('v2_invalid_value_type', f'{path} must be an object')
                continue
            self.field(package, 'number', f'{path}.number', (str,))
            weight = self.field(package, 'weight', f'{path}.weight', (int,))
            if weight is not None and weight <= 0:
                self.add('v2_invalid_format', f'{path}.weight must be > 0')
            for dim in ('length', 'width', 'height'):
                self.field(package, dim, f'{path}.{dim}', (int,),
                    required=False)
            if not eshop:
                self.field(package, 'comment', f'{path}.comment', (str,))
            items = self.field(package, 'items', f'{path}.items', (list,),
                required=eshop)
            positions += len(items or [])
            for j, item in enumerate(items or []):
                self.check_item(item, f'{path}.items[{j}]')
        if positions > MAX_ITEMS:
            self.add('v2_number_items_is_more_126',
                f'At most {MAX_ITEMS} item positions are allowed')

    def check_item(self, item, path):
        if not isinstance(item, dict):
            self.add('v2_invalid_value_type', f'{path} must be an object')
            return
        self.field(item, 'name', f'{path}.name', (str,))
        self.field(item, 'ware_key', f'{path}.ware_key', (str,))
        self.field(item, 'cost', f'{path}.cost', (int, float))
        self.field(item, 'weight', f'{path}.weight', (int,))
        amount = self.field(item, 'amount', f'{path}.amount', (int,))
        if amount is not None and amount <= 0:
            self.add('v2_invalid_format', f'{path}.amount must be > 0')
        payment = self.field(item, 'payment', f'{path}.payment', (dict,))
        if payment is not None:
            self.field(payment, 'value', f'{path}.payment.value',
                (int, float))
            if payment.get('vat_rate') not in VAT_RATES:
                self.add('v2_invalid_format',
                    f'{path}.payment.vat_rate is not an allowed VAT rate')

    def check_services(self, body):
        services = self.field(body, 'services', 'services', (list,),
            required=False)
        for i, service in enumerate(services or []):
            if not isinstance(service, dict) or not service.get('code'):
                self.add('v2_field_is_empty', f'Field services[{i}].code '
                    'is empty')


def route_of(mode):
    if mode in TO_DOOR_MODES:
        return 'door'
    if mode in TO_POSTAMAT_MODES:
        return 'postamat'
    return 'warehouse'


def business_errors(body, points):
    """Checks CDEK makes after accepting an order (INVALID on a later GET).

    Returns (errors, origin city, destination city).
    """
    errors = []
    tariff = TARIFFS.get(body['tariff_code'])
    if tariff is None:
        errors.append(error('v2_invalid_format',
                f"Tariff {body['tariff_code']} is not available"))
    origin = place_city(body, 'shipment_point', 'from_location', points,
        'shipment_location_is_not_recognized',
        'v2_sender_location_not_recognized', errors)
    destination = place_city(body, 'delivery_point', 'to_location', points,
        'delivery_location_is_not_recognized',
        'v2_recipient_location_not_recognized', errors)
    if tariff:
        errors += tariff_place_errors(body, tariff[1], points)
    for service in body.get('services') or []:
        if service['code'] not in SERVICE_CODES:
            errors.append(error('v2_unable_add_service',
                    f"Service {service['code']} can not be added"))
    return errors, origin, destination


def place_city(body, point_key, location_key, points, point_code,
        location_code, errors):
    if body.get(point_key):
        point = points.get(body[point_key])
        if point is None:
            errors.append(error(point_code,
                    f'Delivery point {body[point_key]} is not found'))
            return None
        return city_info(point['location']['city_code'])
    city = resolve_location(body[location_key])
    if city is None:
        errors.append(error(location_code,
                f'{location_key} is not recognized'))
    return city


def tariff_place_errors(body, mode, points):
    "A tariff fixes where the parcel is picked up and handed out"
    errors = []
    if mode not in FROM_DOOR_MODES and not body.get('shipment_point'):
        errors.append(error('v2_field_is_empty', 'Field shipment_point is '
                f"required for tariff {body['tariff_code']}"))
    if mode in FROM_DOOR_MODES and not body.get('from_location'):
        errors.append(error('v2_field_is_empty', 'Field from_location is '
                f"required for tariff {body['tariff_code']}"))
    if mode in TO_DOOR_MODES and not body.get('to_location'):
        errors.append(error('v2_field_is_empty', 'Field to_location is '
                f"required for tariff {body['tariff_code']}"))
    if mode not in TO_DOOR_MODES:
        point = points.get(body.get('delivery_point'))
        wanted = 'POSTAMAT' if mode in TO_POSTAMAT_MODES else 'PVZ'
        if not body.get('delivery_point'):
            errors.append(error('v2_field_is_empty', 'Field delivery_point '
                    f"is required for tariff {body['tariff_code']}"))
        elif point and point['type'] != wanted:
            errors.append(error('v2_invalid_format',
                    f"Delivery point {point['code']} is not a {wanted}"))
    return errors


class CdekSimulator(Simulator):
    name = 'cdek'
    title = 'СДЭК API v2 (симулятор)'

    def now(self):
        "CDEK's time (UTC), to the second"
        return self.clock.now().replace(microsecond=0)

    def page_summary(self):
        return [('Заказов', len(self.orders)),
            ('По последнему статусу', counts(o['statuses'][-1]['code']
                    for o in self.orders.values()
                    if o['statuses']) or '—'),
            ('Подписок на вебхуки', len(self.subscriptions)),
            ('Печатных форм', len(self.print_forms)),
            ('Пунктов выдачи', len(self.points)),
            ('Обработка запросов, с', self.processing_delay),
            ('Вебхуков отправлено', len(self.webhooks.deliveries))]

    def init_state(self):
        with self.lock:
            self.client_id = TEST_CLIENT_ID
            self.client_secret = TEST_CLIENT_SECRET
            self.token_ttl = TOKEN_TTL
            self.tokens = {}              # access token -> expiry (epoch)
            self.orders = {}              # uuid -> internal order record
            self.subscriptions = {}       # uuid -> {uuid, type, url}
            self.print_forms = {}         # uuid -> internal print form
            self.legacy_city = 'final'    # see LEGACY_CITY_MODES
            self.numeric_ids = False      # cdek_number as a JSON number
            self.points = {p['code']: p for p in default_points()}
            self.processing_delay = 1.0
            # emptying the queue orphans the timers of the previous state
            getattr(self, '_jobs', {}).clear()
            self._jobs = {}
            self._job_ids = itertools.count(1)
            self._cdek_numbers = itertools.count(1107009111)

    # -- HTTP ----------------------------------------------------------------
    def fault_response(self, kind, status, rule):
        if kind == 'rate_limit':
            errors = [error('v2_too_many_requests', 'Too many requests')]
        else:
            errors = [error('v2_internal_error', 'System error')]
        return self._render_error(CdekError(status or (
                    429 if kind == 'rate_limit' else 500), errors,
                self._request_type()))

    @staticmethod
    def _request_type():
        return {'POST': 'CREATE', 'PATCH': 'UPDATE', 'DELETE': 'DELETE'}.get(
            request.method, 'GET')

    @error_page(CdekError)
    def _render_error(self, exc):
        if not exc.envelope:
            return jsonify({'errors': exc.errors}), exc.status
        return jsonify(envelope(requests=[request_record(exc.request_type,
                        'INVALID', self.now(), exc.errors)])), exc.status

    def before_route(self):
        if not request.path.startswith(API_PREFIX) or (
                request.path == TOKEN_PATH):
            return
        scheme, _, token = request.headers.get('Authorization', ''
            ).partition(' ')
        with self.lock:
            expiry = self.tokens.get(token.strip())
        if scheme.lower() != 'bearer' or expiry is None or (
                expiry <= self.clock.time()):
            # real clients re-authenticate on this code (cdek.md §11)
            raise CdekError(401, [error('v2_token_expired',
                        'Token is expired or invalid')], 'AUTH')

    @route(TOKEN_PATH, methods=['POST'])
    def _token(self):
        params = {**request.args.to_dict(), **request.form.to_dict()}
        grant = params.get('grant_type')
        if not grant:
            return jsonify({'error': 'invalid_request',
                    'error_description': 'Missing grant type'}), 400
        if grant != 'client_credentials':
            return jsonify({'error': 'unsupported_grant_type',
                    'error_description': f'Unsupported grant type: {grant}'}
                ), 400
        with self.lock:
            if (params.get('client_id'), params.get('client_secret')) != (
                    self.client_id, self.client_secret):
                return jsonify({'error': 'invalid_client',
                        'error_description': 'Bad client credentials'}), 401
            return jsonify(self._issue_token())

    def _issue_token(self):
        jti = str(uuid.uuid4())
        issued = int(self.clock.time())
        token = make_jwt({'scope': ['order:all', 'payment:all'],
                'exp': issued + self.token_ttl, 'authorities': [
                    'SHARDING_ID:1', 'CONTRAGENT_UUID:' + str(
                        uuid.uuid5(uuid.NAMESPACE_URL, self.client_id))],
                'jti': jti, 'client_id': self.client_id})
        self.tokens[token] = issued + self.token_ttl
        return {'access_token': token, 'token_type': 'bearer',
            'expires_in': self.token_ttl - 1,
            'scope': 'order:all payment:all', 'jti': jti}

    @staticmethod
    def _json_body(request_type, envelope_errors=True):
        body = request.get_json(silent=True)
        if body is None:
            raise CdekError(400, [error('v2_bad_request',
                        'Request body is not valid JSON')], request_type,
                envelope_errors)
        return body

    # -- orders --------------------------------------------------------------
    @route('/v2/orders', methods=['POST'])
    def _create_order(self):
        body = self._json_body('CREATE')
        errors = OrderChecker().check(body)
        if errors:
            raise CdekError(400, errors, 'CREATE')
        with self.lock:
            order = self._new_order(body)
            record = self._start_request(order, 'CREATE',
                self._process_create)
        return jsonify(envelope({'uuid': order['uuid']}, [record])), 202

    def _new_order(self, body):
        order_uuid = str(uuid.uuid4())
        tariff = TARIFFS.get(body['tariff_code'])
        order = {'uuid': order_uuid, 'data': copy.deepcopy(body),
            'number': body.get('number') or order_uuid, 'created': self.now(),
            'cdek_number': None, 'mode': tariff[1] if tariff else None,
            'statuses': [], 'requests': [], 'related': [], 'origin': None,
            'destination': None, 'quote': None, 'delivery_detail': None,
            'keep_free_until': None}
        self.orders[order_uuid] = order
        self._add_status(order, 'ACCEPTED')
        return order

    def _start_request(self, order, request_type, processor):
        "Queue an async request on an order, as CDEK does for every change"
        if any(r['type'] == request_type and r['state'] == 'ACCEPTED'
                for r in order['requests']):
            raise CdekError(400, [error('v2_similar_request_still_processed',
                        'A request of this type is still processed')],
                request_type)
        record = request_record(request_type, 'ACCEPTED', self.now())
        order['requests'].append(record)
        self._schedule(processor, order['uuid'], record['request_uuid'])
        return record

    def _finish_request(self, order, request_uuid, errors=()):
        for record in order['requests']:
            if record['request_uuid'] == request_uuid:
                record['state'] = 'INVALID' if errors else 'SUCCESSFUL'
                record['errors'] = list(errors)
                record['date_time'] = api_time(self.now())

    def _process_create(self, order_uuid, request_uuid):
        order = self.orders.get(order_uuid)
        if order is None or order['statuses'][-1]['code'] != 'ACCEPTED':
            return
        errors, origin, destination = business_errors(order['data'],
            self.points)
        self._finish_request(order, request_uuid, errors)
        if errors:
            self._add_status(order, 'INVALID')
            return
        order.update(origin=origin, destination=destination,
            cdek_number=str(next(self._cdek_numbers)),
            quote=quote(order['data']['tariff_code'], origin, destination,
                order['data']['packages'], self.now().date(),
                order['data'].get('services') or []))
        self._add_status(order, 'CREATED')
        kind = {'waybill': 'orders', 'barcode': 'barcodes'}.get(
            order['data'].get('print'))
        if kind:
            # "print": the form is made right after registration (§4.1)
            self._new_print_form(kind, {'orders': [
                        {'order_uuid': order['uuid']}]})

    def _process_delete(self, order_uuid, request_uuid):
        order = self.orders[order_uuid]
        if order['statuses'][-1]['code'] not in DELETABLE_STATUSES:
            self._finish_request(order, request_uuid, [error(
                        'v2_entity_invalid', 'The order can be deleted only '
                        'before it is handed over to CDEK')])
            return
        self._finish_request(order, request_uuid)
        self._add_status(order, 'REMOVED')

    def _process_refusal(self, order_uuid, request_uuid):
        order = self.orders[order_uuid]
        current = order['statuses'][-1]['code']
        if current in FINAL_STATUSES or current == 'ACCEPTED':
            self._finish_request(order, request_uuid, [error(
                        'v2_entity_invalid',
                        f'Refusal is impossible in status {current}')])
            return
        self._finish_request(order, request_uuid)
        self._add_status(order, 'NOT_DELIVERED', reason_code=11)

    def _process_update(self, order_uuid, request_uuid, changes):
        order = self.orders[order_uuid]
        current = order['statuses'][-1]['code']
        if current in FINAL_STATUSES:
            self._finish_request(order, request_uuid, [error(
                        'v2_entity_invalid',
                        f'The order can not be changed in status {current}')])
            return
        order['data'].update(changes)
        if 'number' in changes:
            order['number'] = changes['number']
        self._finish_request(order, request_uuid)

    @route('/v2/orders/<order_uuid>')
    def _get_order(self, order_uuid):
        with self.lock:
            return jsonify(self._render(self._order(order_uuid)))

    @route('/v2/orders')
    def _find_order(self):
        cdek_number = request.args.get('cdek_number')
        im_number = request.args.get('im_number')
        if not cdek_number and not im_number:
            raise CdekError(400, [error('v2_order_number_empty',
                        'Neither cdek_number nor im_number is given')])
        with self.lock:
            found = [o for o in self.orders.values()
                if (cdek_number and o['cdek_number'] == cdek_number)
                or (im_number and o['number'] == im_number)]
            if not found:
                raise CdekError(404, [error('v2_entity_not_found',
                            'Order is not found')])
            # the most recently created wins (cdek.md §5)
            return jsonify(self._render(found[-1]))

    @route('/v2/orders/<order_uuid>', methods=['DELETE'])
    def _delete_order(self, order_uuid):
        with self.lock:
            order = self._order(order_uuid, 'DELETE')
            record = self._start_request(order, 'DELETE',
                self._process_delete)
        return jsonify(envelope({'uuid': order_uuid}, [record])), 202

    @route('/v2/orders/<order_uuid>/refusal', methods=['POST'])
    def _refuse_order(self, order_uuid):
        with self.lock:
            order = self._order(order_uuid, 'CREATE_REFUSAL')
            record = self._start_request(order, 'CREATE_REFUSAL',
                self._process_refusal)
        return jsonify(envelope({'uuid': order_uuid}, [record])), 202

    @route('/v2/orders', methods=['PATCH'])
    def _update_order(self):
        body = self._json_body('UPDATE')
        if not isinstance(body, dict) or not (body.get('uuid')
                or body.get('cdek_number')):
            raise CdekError(400, [error('v2_order_number_empty',
                        'Neither uuid nor cdek_number is given')], 'UPDATE')
        changes = {k: v for k, v in body.items()
            if k not in ('uuid', 'cdek_number')}
        with self.lock:
            order = self._order_by(uuid=body.get('uuid'),
                cdek_number=body.get('cdek_number') and str(
                    body['cdek_number']), request_type='UPDATE')
            record = self._start_request(order, 'UPDATE',
                lambda o, r: self._process_update(o, r, changes))
        return jsonify(envelope({'uuid': order['uuid']}, [record])), 202

    def _order(self, order_uuid, request_type='GET'):
        order = self.orders.get(order_uuid)
        if order is None:
            raise CdekError(404, [error('v2_entity_not_found',
                        f'Order {order_uuid} is not found')], request_type)
        return order

    def _order_by(self, uuid=None, cdek_number=None, number=None,
            request_type='GET'):
        for order in reversed(list(self.orders.values())):
            if ((uuid and order['uuid'] == uuid)
                    or (cdek_number and order['cdek_number'] == str(
                            cdek_number))
                    or (number and order['number'] == number)):
                return order
        raise CdekError(404, [error('v2_entity_not_found',
                    'Order is not found')], request_type)

    def _render(self, order):
        "The order info entity, shaped like the real answer (cdek.md §5)"
        data = order['data']
        entity = copy.deepcopy(data)
        entity.update({'uuid': order['uuid'], 'type': entity.get('type', 1),
                'number': order['number'], 'is_return': False,
                'is_reverse': False,
                'is_client_return': bool(entity.get('is_client_return')),
                'items_cost_currency': 'RUB', 'recipient_currency': 'RUB',
                'delivery_problem': [], 'transacted_payment': False})
        if order['cdek_number']:
            entity['cdek_number'] = order['cdek_number']
        if order['mode']:
            entity['delivery_mode'] = str(order['mode'])
        contacts = {'recipient': None, 'sender': CONTRACT_SENDER}
        for key, default in contacts.items():
            contact = entity.get(key) or copy.deepcopy(default)
            if contact is not None:
                contact['passport_requirements_satisfied'] = False
                entity[key] = contact
        entity.setdefault('seller', copy.deepcopy(CONTRACT_SELLER))
        for point_key, location_key, city in (
                ('shipment_point', 'from_location', order['origin']),
                ('delivery_point', 'to_location', order['destination'])):
            point = self.points.get(data.get(point_key) or '')
            if city or data.get(location_key):
                entity[location_key] = full_location(data.get(location_key),
                    city, point)
        cost = entity.get('delivery_recipient_cost')
        if isinstance(cost, dict):
            cost.setdefault('vat_sum', vat_part(cost.get('value'),
                    cost.get('vat_rate')))
        for i, package in enumerate(entity['packages']):
            self._render_package(order, package, i)
        if order['quote']:
            entity['services'] = order['quote']['services']
            entity['planned_delivery_date'] = (order['created'].date()
                + timedelta(days=order['quote']['calendar_max'])).isoformat()
            entity['delivery_detail'] = self._delivery_costs(order)
        if order['delivery_detail']:
            entity['delivery_detail'] = {**entity.get('delivery_detail', {}),
                **order['delivery_detail']}
        if order['keep_free_until']:
            entity['keep_free_until'] = api_time(order['keep_free_until'])
        entity['statuses'] = [self._render_status(s)
            for s in reversed(order['statuses'])]
        entity['related_entities'] = [dict(r) for r in order.get(
                'related', [])]
        return envelope(entity, order['requests'])

    @staticmethod
    def _delivery_costs(order):
        "delivery_detail as soon as CDEK priced the order"
        total = order['quote']['total_sum']
        return {'delivery_sum': order['quote']['delivery_sum'],
            'total_sum': total, 'delivery_vat_rate': 20,
            'delivery_vat_sum': vat_part(total, 20),
            'delivery_discount_percent': 0, 'delivery_discount_sum': 0}

    @staticmethod
    def _render_package(order, package, index):
        package['package_id'] = str(uuid.uuid5(uuid.UUID(order['uuid']),
                str(index)))
        if order['cdek_number']:
            package['barcode'] = f"{order['cdek_number']}{index + 1:03d}"
        package['weight_volume'] = volume_weight(package)
        package['weight_calc'] = max(package['weight'],
            package['weight_volume'])
        package.setdefault('comment', '')
        delivered = order['delivery_detail'] is not None
        for item in package.get('items') or []:
            item.setdefault('weight_gross', item.get('weight'))
            payment = item.get('payment')
            if isinstance(payment, dict):
                payment.setdefault('vat_rate', None)
                payment.setdefault('vat_sum', vat_part(payment.get('value'),
                        payment.get('vat_rate')))
            item.setdefault('excise', False)
            if delivered:
                item['delivery_amount'] = item.get('amount')

    @staticmethod
    def _render_status(status):
        out = {'code': status['code'], 'name': status['name'],
            'date_time': api_time(status['date_time']),
            'city': status['city'], 'deleted': False}
        if status['city_code']:
            out['city_uuid'] = city_uuid(status['city_code'])
        if status['reason_code'] is not None:
            out['reason_code'] = str(status['reason_code'])
        return out

    # -- statuses and webhooks -----------------------------------------------
    def _add_status(self, order, code, reason_code=None, name=None):
        city = (order['destination'] if code in _DESTINATION_STATUSES
            else order['origin']) or {}
        status = {'code': code, 'name': name or STATUSES.get(code, (code,))[0],
            'date_time': self._next_status_time(order),
            'reason_code': reason_code, 'city': city.get('city'),
            'city_code': city.get('code')}
        order['statuses'].append(status)
        self._apply_status_effects(order, code)
        self._notify(order, status)
        return status

    def _next_status_time(self, order):
        "Strictly later than the previous status, so the history stays ordered"
        moment = self.now()
        if order['statuses'] and moment <= order['statuses'][-1]['date_time']:
            moment = order['statuses'][-1]['date_time'] + timedelta(seconds=1)
        return moment

    def _apply_status_effects(self, order, code):
        if code in ('ACCEPTED_AT_PICK_UP_POINT', 'POSTOMAT_POSTED'):
            order['keep_free_until'] = self.now() + timedelta(days=7)
        if code in ('DELIVERED', 'POSTOMAT_RECEIVED'):
            order['delivery_detail'] = self._delivery_detail(order)

    def _delivery_detail(self, order):
        data = order['data']
        payment_sum = sum((item.get('payment') or {}).get('value', 0)
            * item.get('amount', 1) for package in data['packages']
            for item in package.get('items') or [])
        payment_sum += (data.get('delivery_recipient_cost') or {}).get(
            'value', 0)
        delivery_sum = order['quote']['total_sum'] if order['quote'] else 0
        return {'date': self.now().date().isoformat(),
            'recipient_name': data['recipient'].get('name'),
            'payment_sum': payment_sum, 'delivery_sum': delivery_sum,
            'total_sum': delivery_sum,
            'payment_info': [{'type': 'CARD', 'sum': payment_sum}]
                if payment_sum else [],
            'delivery_vat_rate': None, 'delivery_vat_sum': 0,
            'delivery_discount_percent': 0, 'delivery_discount_sum': 0}

    def _notify(self, order, status):
        if status['code'] == 'ACCEPTED':
            # ACCEPTED is the pre-validation state order info shows; the
            # first ORDER_STATUS webhook real integrations receive is CREATED
            # (an ACCEPTED webhook was an invention of this simulator)
            return
        legacy = STATUSES.get(status['code'], (None, None))[1]
        attributes = {'is_return': False, 'is_reverse': False,
            'is_client_return': bool(order['data'].get('is_client_return')),
            'number': order['number'], 'related_entities': [],
            'code': status['code'],
            'status_code': legacy or LEGACY_CODE_FALLBACK,
            'status_date_time': webhook_time(status['date_time']),
            'city_name': status['city'],
            'city_code': str(status['city_code']) if status['city_code']
                else None,
            'deleted': False}
        if order['cdek_number']:
            attributes['cdek_number'] = (int(order['cdek_number'])
                if self.numeric_ids else order['cdek_number'])
        if status['reason_code'] is not None:
            attributes['status_reason_code'] = str(status['reason_code'])
        if self.legacy_city == 'all' or (self.legacy_city == 'final'
                and status['code'] in FINAL_STATUSES):
            # the older form: ``city`` (a name), no city_name / city_code
            attributes['city'] = attributes.pop('city_name')
            attributes.pop('city_code')
        payload = {'type': 'ORDER_STATUS',
            'date_time': webhook_time(status['date_time']),
            'uuid': order['uuid'], 'attributes': attributes}
        for sub in list(self.subscriptions.values()):
            if sub['type'] == 'ORDER_STATUS':
                self.webhooks.send(sub['url'], payload, event='ORDER_STATUS')

    # -- background processing -----------------------------------------------
    def _schedule(self, func, *args):
        job_id = next(self._job_ids)
        jobs = self._jobs
        jobs[job_id] = (func, args)
        self.clock.call_later(self.processing_delay, self._run_job, jobs,
            job_id)

    def _run_job(self, jobs, job_id):
        with self.lock:
            job = jobs.pop(job_id, None)
            if job:
                job[0](*job[1])

    def _run_pending(self, order_uuid=None):
        with self.lock:
            for job_id, (func, args) in sorted(self._jobs.items()):
                if order_uuid is None or args[0] == order_uuid:
                    self._run_job(self._jobs, job_id)

    # -- webhook subscriptions ----------------------------------------------
    @route('/v2/webhooks', methods=['POST'])
    def _subscribe(self):
        body = self._json_body('CREATE')
        body = body if isinstance(body, dict) else {}
        if not body.get('type'):
            raise CdekError(400, [error('v2_field_is_empty',
                        'Field type is empty')], 'CREATE')
        if body['type'] not in WEBHOOK_TYPES:
            raise CdekError(400, [error('v2_webhook_type_incorrect',
                        f"Webhook type {body['type']} is incorrect")],
                'CREATE')
        url = body.get('url')
        if not url:
            raise CdekError(400, [error('v2_field_is_empty',
                        'Field url is empty')], 'CREATE')
        if not isinstance(url, str) or not url.startswith(
                ('http://', 'https://')):
            raise CdekError(400, [error('v2_invalid_format',
                        'Field url must be an http(s) URL')], 'CREATE')
        sub = {'uuid': str(uuid.uuid4()), 'type': body['type'], 'url': url}
        with self.lock:
            # a second subscription of a type is added, not merged (§8.1)
            self.subscriptions[sub['uuid']] = sub
        return jsonify(envelope({'uuid': sub['uuid']},
                [request_record('CREATE', 'ACCEPTED', self.now())]))

    @route('/v2/webhooks')
    def _subscriptions(self):
        with self.lock:
            return jsonify(list(self.subscriptions.values()))

    def _subscription_or_404(self, sub_uuid, request_type):
        sub = self.subscriptions.get(sub_uuid)
        if sub is None:
            raise CdekError(404, [error('v2_entity_not_found',
                        f'Webhook {sub_uuid} is not found')], request_type)
        return sub

    @route('/v2/webhooks/<sub_uuid>')
    def _subscription(self, sub_uuid):
        with self.lock:
            sub = self._subscription_or_404(sub_uuid, 'GET')
            return jsonify(envelope(dict(sub),
                    [request_record('GET', 'SUCCESSFUL', self.now())]))

    @route('/v2/webhooks/<sub_uuid>', methods=['DELETE'])
    def _unsubscribe(self, sub_uuid):
        with self.lock:
            self._subscription_or_404(sub_uuid, 'DELETE')
            del self.subscriptions[sub_uuid]
        return jsonify(envelope({'uuid': sub_uuid},
                [request_record('DELETE', 'ACCEPTED', self.now())]))

    # -- print forms (cdek.md §6) --------------------------------------------
    @route('/v2/print/<any(orders, barcodes):kind>', methods=['POST'])
    def _create_print_form(self, kind):
        body = self._json_body('CREATE')
        errors = self._print_form_errors(kind, body)
        if errors:
            raise CdekError(400, errors, 'CREATE')
        with self.lock:
            form = self._new_print_form(kind, body)
        return jsonify(envelope({'uuid': form['uuid']},
                [form['requests'][0]])), 202

    @staticmethod
    def _print_form_errors(kind, body):
        checker = OrderChecker()
        if not isinstance(body, dict):
            checker.add('v2_bad_request', 'Request body must be a JSON object')
            return checker.errors
        orders = checker.field(body, 'orders', 'orders', (list,)) or []
        if len(orders) > PRINT_MAX_ORDERS:
            checker.add('v2_invalid_format',
                f'At most {PRINT_MAX_ORDERS} orders in one print form')
        for i, ref in enumerate(orders):
            if not isinstance(ref, dict) or not (ref.get('order_uuid')
                    or ref.get('cdek_number')):
                checker.add('v2_order_number_empty', f'orders[{i}]: neither '
                    'order_uuid nor cdek_number is given')
        copies = checker.field(body, 'copy_count', 'copy_count', (int,),
            required=False)
        if copies is not None and copies < 1:
            checker.add('v2_invalid_format', 'copy_count must be > 0')
        if kind == 'barcodes':
            if body.get('format', 'A4') not in BARCODE_FORMATS:
                checker.add('v2_invalid_format',
                    'format must be one of A4, A5, A6, A7')
            if body.get('lang', 'RUS') not in PRINT_LANGS:
                checker.add('v2_invalid_format', 'lang must be RUS or ENG')
        return checker.errors

    def _new_print_form(self, kind, body):
        form = {'uuid': str(uuid.uuid4()), 'kind': kind,
            'orders': [{k: (str(v) if k == 'cdek_number' else v)
                    for k, v in ref.items()
                    if k in ('order_uuid', 'cdek_number')}
                for ref in body['orders']],
            # CDEK prints two copies of a waybill and one of a barcode
            # unless asked (defaults from the SDKs; unconfirmed)
            'copy_count': body.get('copy_count') or (
                2 if kind == 'orders' else 1),
            'statuses': [], 'requests': [
                request_record('CREATE', 'ACCEPTED', self.now())],
            'ready': None, 'url': None, 'pdf': None}
        if kind == 'barcodes':
            form['format'] = body.get('format', 'A4')
            form['lang'] = body.get('lang', 'RUS')
        elif body.get('type'):
            form['type'] = body['type']
        self._print_status(form, 'ACCEPTED')
        self.print_forms[form['uuid']] = form
        self._schedule(self._process_print_form, form['uuid'])
        return form

    def _print_status(self, form, code):
        form['statuses'].append({'code': code, 'name': PRINT_STATUSES[code],
                'date_time': api_time(self.now())})

    def _process_print_form(self, form_uuid):
        form = self.print_forms.get(form_uuid)
        if form is None or form['statuses'][-1]['code'] != 'ACCEPTED':
            return
        orders, errors = [], []
        for ref in form['orders']:
            try:
                order = self._order_by(ref.get('order_uuid'),
                    ref.get('cdek_number'))
            except CdekError:
                errors.append(error('v2_entity_not_found', 'Order '
                        f"{ref.get('order_uuid') or ref.get('cdek_number')} "
                        'is not found'))
                continue
            if not order['cdek_number'] or order['statuses'][-1]['code'] in (
                    'INVALID', 'REMOVED'):
                errors.append(error('v2_entity_invalid', 'Order '
                        f"{order['uuid']} has no CDEK number: a print form "
                        'can not be made'))
            orders.append(order)
        record = form['requests'][0]
        record['date_time'] = api_time(self.now())
        if errors:
            record.update(state='INVALID', errors=errors)
            self._print_status(form, 'INVALID')
            return
        record['state'] = 'SUCCESSFUL'
        self._print_status(form, 'PROCESSING')
        form['pdf'] = self._print_pdf(form, orders)
        form['url'] = (f"{self.base_url}/v2/print/{form['kind']}/"
            f"{form['uuid']}.pdf")
        form['ready'] = self.clock.time()
        self._print_status(form, 'READY')
        entity_type, hook_type = PRINT_KINDS[form['kind']]
        for order in orders:
            order['related'].append({'type': entity_type,
                    'uuid': form['uuid'], 'url': form['url'],
                    'create_time': api_time(self.now())})
        payload = {'type': 'PRINT_FORM', 'date_time': webhook_time(self.now()),
            'uuid': form['uuid'],
            'attributes': {'type': hook_type, 'url': form['url']}}
        for sub in list(self.subscriptions.values()):
            if sub['type'] == 'PRINT_FORM':
                self.webhooks.send(sub['url'], payload, event='PRINT_FORM')

    @staticmethod
    def _print_pdf(form, orders):
        lines, bars = [], ''
        for order in orders:
            data = order['data']
            phones = ', '.join(p.get('number', '') for p in
                data['recipient'].get('phones') or [])
            lines += [f"CDEK {order['cdek_number']}  order {order['number']}",
                f"Tariff {data['tariff_code']}  places "
                f"{len(data['packages'])}  recipient phone {phones}", '']
            bars = bars or order['cdek_number']
        title = ('CDEK waybill' if form['kind'] == 'orders'
            else f"CDEK barcode {form.get('format', 'A4')}")
        lines.append(f"Copies: {form['copy_count']}")
        return make_pdf(title, lines, bars)

    def _print_form(self, kind, form_uuid):
        form = self.print_forms.get(form_uuid)
        if form is None or form['kind'] != kind:
            raise CdekError(404, [error('v2_entity_not_found',
                        f'Print form {form_uuid} is not found')])
        if (form['ready'] and form['statuses'][-1]['code'] == 'READY'
                and self.clock.time() - form['ready'] > PRINT_FORM_TTL):
            self._print_status(form, 'REMOVED')
            form['url'] = form['pdf'] = None
        return form

    @route('/v2/print/<any(orders, barcodes):kind>/<form_uuid>')
    def _get_print_form(self, kind, form_uuid):
        with self.lock:
            if form_uuid.endswith('.pdf'):
                return self._print_form_pdf(kind, form_uuid[:-4])
            form = self._print_form(kind, form_uuid)
            entity = {'uuid': form['uuid'], 'orders': form['orders'],
                'copy_count': form['copy_count']}
            for key in ('type', 'format', 'lang'):
                if key in form:
                    entity[key] = form[key]
            if form['url']:
                entity['url'] = form['url']
            entity['statuses'] = list(form['statuses'])
            return jsonify(envelope(entity, form['requests']))

    def _print_form_pdf(self, kind, form_uuid):
        form = self._print_form(kind, form_uuid)
        code = form['statuses'][-1]['code']
        if code == 'REMOVED':
            raise CdekError(400, [error('v2_entity_expired',
                        'The print form has expired')])
        if code != 'READY':
            raise CdekError(400, [error('v2_entity_invalid',
                        f'The print form is not ready ({code})')])
        return Response(form['pdf'], mimetype='application/pdf')

    # -- reference data ------------------------------------------------------
    @route('/v2/deliverypoints')
    def _delivery_points(self):
        args = request.args.to_dict()
        with self.lock:
            points = [p for p in self.points.values()
                if point_matches(p, args)]
        return jsonify(page(points, args))

    @route('/v2/location/cities')
    def _cities(self):
        args = request.args
        wanted_countries = set(filter(None, args.get('country_codes', ''
                    ).split(',')))
        cities = []
        for code, info in CITIES.items():
            if wanted_countries and 'RU' not in wanted_countries:
                continue
            if args.get('city') and args['city'].lower() != info[
                    'city'].lower():
                continue
            if args.get('code') and args['code'] != str(code):
                continue
            if args.get('postal_code') and not args['postal_code'].startswith(
                    info['postal_prefix']):
                continue
            # payment_limit: the cash-on-delivery ceiling, -1 = none (as
            # the SDKs describe it; the seeded cities have no limit)
            cities.append({'code': code, 'city_uuid': city_uuid(code),
                    'city': info['city'], 'payment_limit': -1,
                    'country_code': 'RU', 'country': 'Россия',
                    'region': info['region'],
                    'region_code': info['region_code'],
                    'longitude': info['lon'], 'latitude': info['lat'],
                    'time_zone': info['tz']})
        return jsonify(page(cities, args.to_dict()))

    # -- calculator ----------------------------------------------------------
    def _calc_body(self, with_tariff):
        "Validated (body, origin, destination) of a calculator request"
        body = self._json_body('GET', envelope_errors=False)
        checker = OrderChecker()
        body = body if isinstance(body, dict) else {}
        if with_tariff:
            tariff = checker.field(body, 'tariff_code', 'tariff_code', (int,))
            if tariff is not None and tariff not in TARIFFS:
                checker.add('v2_invalid_format',
                    f'Tariff {tariff} is not available')
        cities = []
        for key, code in (
                ('from_location', 'v2_sender_location_not_recognized'),
                ('to_location', 'v2_recipient_location_not_recognized')):
            location = checker.field(body, key, key, (dict,))
            cities.append(resolve_location(location))
            if location is not None and cities[-1] is None:
                checker.add(code, f'{key} is not recognized')
        packages = checker.field(body, 'packages', 'packages', (list,)) or []
        for i, package in enumerate(packages):
            weight = checker.field(package if isinstance(package, dict)
                else {}, 'weight', f'packages[{i}].weight', (int,))
            if weight is not None and weight <= 0:
                checker.add('v2_invalid_format',
                    f'packages[{i}].weight must be > 0')
        if checker.errors:
            raise CdekError(400, checker.errors, envelope=False)
        return body, cities[0], cities[1]

    @route('/v2/calculator/tariff', methods=['POST'])
    def _calc_tariff(self):
        body, origin, destination = self._calc_body(with_tariff=True)
        return jsonify(quote(body['tariff_code'], origin, destination,
                body['packages'], self.now().date(),
                body.get('services') or []))

    @route('/v2/calculator/tarifflist', methods=['POST'])
    def _calc_tarifflist(self):
        body, origin, destination = self._calc_body(with_tariff=False)
        codes = []
        for code, (name, mode, *_) in sorted(TARIFFS.items()):
            offer = quote(code, origin, destination, body['packages'],
                self.now().date())
            codes.append({'tariff_code': code, 'tariff_name': name,
                    'tariff_description': name, 'delivery_mode': mode,
                    **{k: offer[k] for k in ('delivery_sum', 'period_min',
                            'period_max', 'calendar_min', 'calendar_max',
                            'delivery_date_range')}})
        return jsonify({'tariff_codes': codes})

    # -- control actions -----------------------------------------------------
    @control('credentials')
    def credentials(self, client_id=None, client_secret=None,
            token_ttl=None):
        "Set (when given) and return the accepted account and token lifetime"
        with self.lock:
            if client_id is not None:
                self.client_id = client_id
            if client_secret is not None:
                self.client_secret = client_secret
            if token_ttl is not None:
                self.token_ttl = int(token_ttl)
            return {'client_id': self.client_id,
                'client_secret': self.client_secret,
                'token_ttl': self.token_ttl}

    @control('expire_tokens')
    def expire_tokens(self):
        "Make every issued token expired, as after an hour"
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0)
            return {'expired': len(self.tokens)}

    @control('webhook_format')
    def webhook_format(self, legacy_city=None, numeric_ids=None):
        """How ORDER_STATUS webhooks look: legacy_city 'none' | 'final'
        (default: final statuses carry the older ``city`` instead of
        city_name/city_code) | 'all'; numeric_ids sends cdek_number as a
        JSON number"""
        with self.lock:
            if legacy_city is not None:
                if legacy_city not in LEGACY_CITY_MODES:
                    raise ValueError('legacy_city must be one of '
                        f'{sorted(LEGACY_CITY_MODES)}')
                self.legacy_city = legacy_city
            if numeric_ids is not None:
                self.numeric_ids = bool(numeric_ids)
            return {'legacy_city': self.legacy_city,
                'numeric_ids': self.numeric_ids}

    @control('print_forms')
    def list_print_forms(self):
        "Every print form with its status"
        with self.lock:
            return [{'uuid': f['uuid'], 'kind': f['kind'],
                    'orders': f['orders'],
                    'status': f['statuses'][-1]['code']}
                for f in self.print_forms.values()]

    @control('processing')
    def processing(self, delay=None, run_pending=False):
        "Set how long async requests stay ACCEPTED; optionally finish them now"
        with self.lock:
            if delay is not None:
                self.processing_delay = float(delay)
            if run_pending:
                self._run_pending()
            return {'delay': self.processing_delay,
                'pending': len(self._jobs)}

    @control('advance_order')
    def advance_order(self, uuid=None, cdek_number=None, number=None):
        "Move an order to its next status on a realistic route"
        with self.lock:
            order = self._control_order(uuid, cdek_number, number)
            if order['statuses'][-1]['code'] == 'ACCEPTED':
                self._run_pending(order['uuid'])
            else:
                self._add_status(order, self._next_status(order))
            return self._control_summary(order)

    def _next_status(self, order):
        current = order['statuses'][-1]['code']
        if current in FINAL_STATUSES:
            raise ValueError(f'order is in the final status {current}')
        route = ROUTES[route_of(order['mode'])]
        if current in route:
            return route[route.index(current) + 1]
        if current in _DESTINATION_STATUSES:
            # e.g. after a failed attempt: back to the last leg
            return route[-2]
        return route[0]

    @control('set_order_status')
    def set_order_status(self, code, uuid=None, cdek_number=None, number=None,
            reason_code=None, name=None):
        """Give an order any status (unknown codes too, to test clients).

        Finishes a pending registration first, so the order has its number.
        """
        with self.lock:
            order = self._control_order(uuid, cdek_number, number)
            self._run_pending(order['uuid'])
            self._add_status(order, code, reason_code, name)
            return self._control_summary(order)

    @control('seed_delivery_points')
    def seed_delivery_points(self, points=None, replace=False):
        """Add delivery points (full CDEK objects) or restore the default set.

        Each point needs at least code, type and location.city_code.
        """
        with self.lock:
            if replace or points is None:
                self.points = {} if points else {
                    p['code']: p for p in default_points()}
            for point in points or []:
                if not point.get('code') or point.get('type') not in (
                        'PVZ', 'POSTAMAT'):
                    raise ValueError('a point needs code and type '
                        'PVZ|POSTAMAT')
                self.points[point['code']] = self._complete_point(point)
            return {'count': len(self.points)}

    @staticmethod
    def _complete_point(point):
        city_code = (point.get('location') or {}).get('city_code')
        if city_code not in CITIES:
            raise ValueError(f'location.city_code must be one of '
                f'{sorted(CITIES)}')
        base = build_point(point['code'], city_code, point['type'],
            point['location'].get('postal_code', ''),
            point['location'].get('address', ''), '',
            point['location'].get('latitude', CITIES[city_code]['lat']),
            point['location'].get('longitude', CITIES[city_code]['lon']))
        location = {**base['location'], **point['location']}
        return {**base, **point, 'location': location}

    @control('orders')
    def list_orders(self):
        "Every order with its current status"
        with self.lock:
            return [self._control_summary(o) for o in self.orders.values()]

    def _control_order(self, uuid, cdek_number, number):
        if not (uuid or cdek_number or number):
            raise ValueError('give uuid, cdek_number or number')
        try:
            return self._order_by(uuid, cdek_number, number)
        except CdekError:
            raise KeyError('order not found') from None

    @staticmethod
    def _control_summary(order):
        return {'uuid': order['uuid'], 'number': order['number'],
            'cdek_number': order['cdek_number'],
            'status': order['statuses'][-1]['code']}
