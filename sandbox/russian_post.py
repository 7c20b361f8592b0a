"""Russian Post simulator: tracking SOAP services and the Otpravka REST API.

Follows /work/shared/docs/external/russian_post.md.  One simulator serves
both hosts of the real system, so point the hub's tracking URL
(tracking.russianpost.ru) and its Otpravka URL (otpravka-api.pochta.ru) at
the same base URL:

- ``/rtm34`` single-access tracking, SOAP 1.2 (WSDL at ``/rtm34?wsdl``);
- ``/fc`` batch tracking, SOAP 1.1 (WSDL at ``/fc?wsdl``);
- ``/1.0/...`` and ``/2.0/...`` Otpravka REST/JSON.
"""
import base64
import itertools
import re
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Response, jsonify, request
from lxml import etree

from .core import Simulator, control, route

WSDL_DIR = Path(__file__).with_name('wsdl')
WSDL_FILES = {('rtm34', 'wsdl'): 'rtm34.wsdl',
    ('rtm34', '1'): 'rtm34_operationhistory.xsd',
    ('rtm34', '2'): 'rtm34_data.xsd', ('fc', 'wsdl'): 'fc.wsdl'}

SOAP12 = 'http://www.w3.org/2003/05/soap-envelope'
SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
OPER = 'http://russianpost.org/operationhistory'
DATA = 'http://russianpost.org/operationhistory/data'
POSTSERVER = 'http://fclient.russianpost.org/postserver'
FCLIENT = 'http://fclient.russianpost.org'
# prefixes the real single-access service declares (russian_post.md A.1)
RTM34_NSMAP = {'ns2': 'http://russianpost.org/sms-info/data', 'ns3': DATA,
    'ns4': SOAP11, 'ns5': 'http://www.russianpost.org/custom-duty-info/data',
    'ns6': 'http://www.russianpost.org/RTM/DataExchangeESPP/Data',
    'ns7': OPER}

LIMIT_REACHED = ('Ошибка авторизации: Превышен лимит количества '
    'запросов')
BAD_FORMAT = ('Формат данных запроса не соответствует установленному в '
    'регламенте обмена')
MOSCOW = timezone(timedelta(hours=3))
TICKET_DELAY = 15 * 60
TICKET_LIFETIME = 32 * 3600
MAX_TICKET_ITEMS = 3000

DEFAULT_CREDENTIALS = {'tracking_login': 'sandbox-tracking',
    'tracking_password': 'sandbox-tracking-password',
    'access_token': 'sandbox-otpravka-token',
    'login': 'shop@example.com', 'password': 'sandbox-otpravka-password'}

# (OperType, OperAttr) -> (operation name, attribute name), russian_post.md
# A.3; operations without a real attribute use attribute 0
OPERATIONS = {
    (1, 1): ('Прием', 'Единичный'), (1, 2): ('Прием', 'Партионный'),
    (1, 3): ('Прием', 'Партионный электронно'),
    (2, 1): ('Вручение', 'Вручение адресату'),
    (2, 2): ('Вручение', 'Вручение отправителю'),
    (2, 3): ('Вручение', 'Выдано адресату через почтомат'),
    (3, 1): ('Возврат', 'Истёк срок хранения'),
    (3, 2): ('Возврат', 'Заявление отправителя'),
    (3, 4): ('Возврат', 'Отказ адресата'),
    (5, 1): ('Невручение', 'Утрачено'), (5, 2): ('Невручение', 'Изъято'),
    (6, 3): ('Хранение', 'Установленный срок хранения'),
    (8, 0): ('Обработка', 'Сортировка'),
    (8, 1): ('Обработка', 'Покинуло место приёма'),
    (8, 2): ('Обработка', 'Прибыло в место вручения'),
    (8, 3): ('Обработка', 'Прибыло в сортировочный центр'),
    (8, 4): ('Обработка', 'Покинуло сортировочный центр'),
    (8, 39): ('Обработка', 'Сдано в ПВЗ'),
    (12, 1): ('Неудачная попытка вручения',
        'Временное отсутствие адресата'),
    (12, 6): ('Неудачная попытка вручения', 'Отказ от получения'),
    (16, 0): ('Уничтожение', ''), (18, 0): ('Регистрация утраты', ''),
    (63, 0): ('НП оплачен', ''),
    }
FINAL_OPERATIONS = {2, 15, 16, 17, 18}
FINAL_OPERATION_PAIRS = {(5, 1), (5, 2)}

# where each step of a route happens: the parcel's own offices or the
# sorting centres of their cities
FORWARD_ROUTE = [(1, 1, 'from'), (8, 1, 'from'), (8, 3, 'from_sc'),
    (8, 4, 'from_sc'), (8, 3, 'to_sc'), (8, 4, 'to_sc'), (8, 2, 'to'),
    (2, 1, 'to')]
RETURN_ROUTE = [(8, 1, 'to'), (8, 3, 'to_sc'), (8, 4, 'to_sc'),
    (8, 3, 'from_sc'), (8, 4, 'from_sc'), (8, 2, 'from'), (2, 2, 'from')]

# index prefix -> (city, UTC offset in hours, sorting centre index)
PLACES = [('10', 'Москва', 3, '140980'), ('11', 'Москва', 3, '140980'),
    ('12', 'Москва', 3, '140980'), ('14', 'Московская обл.', 3, '140980'),
    ('19', 'Санкт-Петербург', 3, '200960'), ('420', 'Казань', 3, '420960'),
    ('603', 'Нижний Новгород', 3, '603960'),
    ('620', 'Екатеринбург', 5, '620960'),
    ('630', 'Новосибирск', 7, '630960'), ('17', 'Тверь', 3, '170960'),
    ('443', 'Самара', 4, '443960'), ('600', 'Владимир', 3, '600960'),
    ('614', 'Пермь', 5, '614960'), ('350', 'Краснодар', 3, '350960'),
    ('300', 'Тула', 3, '300960')]
RUSSIA = {'Id': 643, 'Code2A': 'RU', 'Code3A': 'RUS', 'NameRU': 'Россия',
    'NameEN': 'Russian Federation'}

# Otpravka mail-type / mail-category -> tracking MailType / MailCtg
MAIL_TYPES = {'POSTAL_PARCEL': (4, 'Посылка'),
    'ONLINE_PARCEL': (23, 'Посылка онлайн'),
    'ONLINE_COURIER': (24, 'Курьер онлайн'), 'EMS': (7, 'Отправление EMS'),
    'ECOM': (53, 'ЕКОМ'), 'PARCEL_CLASS_1': (47, 'Отправление 1 класса')}
MAIL_CATEGORIES = {'ORDERED': (1, 'Заказное'),
    'WITH_DECLARED_VALUE': (2, 'С объявленной ценностью'),
    'ORDINARY': (3, 'Обыкновенное'),
    'WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY': (4,
        'С объявленной ценностью и наложенным платежом')}


def place_of(index):
    index = str(index or '')
    for prefix, city, offset, sorting_centre in PLACES:
        if index.startswith(prefix):
            return city, offset, sorting_centre
    return 'Россия', 3, index


def oper_date(moment, index):
    "ISO date in the local offset of the office, as the real service gives"
    offset = timezone(timedelta(hours=place_of(index)[1]))
    return moment.astimezone(offset).isoformat(timespec='milliseconds')


def valid_barcode(barcode):
    "14 digits (domestic) or UPU S10 (RA644000001RU)"
    return bool(re.fullmatch(r'\d{14}|[A-Z]{2}\d{9}[A-Z]{2}', barcode or ''))


def make_barcode(index, serial, month):
    "Domestic ШПИ: index, month, item number, check digit"
    body = f'{index}{month:02d}{serial:05d}'
    odd = sum(int(d) for d in body[0::2])
    even = sum(int(d) for d in body[1::2])
    return body + str((10 - (odd * 3 + even) % 10) % 10)


# -- SOAP helpers -----------------------------------------------------------
def qn(ns, tag):
    return f'{{{ns}}}{tag}'


def sub(parent, ns, tag, text=None):
    element = etree.SubElement(parent, qn(ns, tag))
    if text is not None:
        element.text = str(text)
    return element


def soap_response(envelope, status=200, version=12):
    content_type = ('application/soap+xml; charset=utf-8' if version == 12
        else 'text/xml; charset=utf-8')
    return Response(etree.tostring(envelope, xml_declaration=True,
            encoding='UTF-8'), status=status, content_type=content_type)


def soap12_envelope():
    envelope = etree.Element(qn(SOAP12, 'Envelope'), nsmap={'S': SOAP12})
    return envelope, sub(envelope, SOAP12, 'Body')


def soap12_fault(code, reason, detail=None, status=500):
    "A SOAP 1.2 Fault; detail is (element name in the data namespace, text)"
    envelope, body = soap12_envelope()
    fault = sub(body, SOAP12, 'Fault')
    sub(sub(fault, SOAP12, 'Code'), SOAP12, 'Value', f'S:{code}')
    text = sub(sub(fault, SOAP12, 'Reason'), SOAP12, 'Text', reason)
    text.set('{http://www.w3.org/XML/1998/namespace}lang', 'ru')
    if detail:
        holder = sub(fault, SOAP12, 'Detail')
        element = etree.SubElement(holder, qn(DATA, detail[0]),
            nsmap={'ns3': DATA})
        element.text = detail[1]
    return soap_response(envelope, status)


def soap11_envelope():
    envelope = etree.Element(qn(SOAP11, 'Envelope'), nsmap={'S': SOAP11})
    return envelope, sub(envelope, SOAP11, 'Body')


def soap11_fault(code, reason, status=500):
    envelope, body = soap11_envelope()
    fault = sub(body, SOAP11, 'Fault')
    etree.SubElement(fault, 'faultcode').text = f'S:{code}'
    etree.SubElement(fault, 'faultstring').text = reason
    return soap_response(envelope, status, version=11)


class SoapError(Exception):
    "A request the service answers with a fault"

    def __init__(self, code, reason, detail=None):
        super().__init__(reason)
        self.code, self.reason, self.detail = code, reason, detail


def parse_envelope(raw, soap_ns):
    "The first element of the Body; SoapError when it is not a SOAP message"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise SoapError('Sender', f'Malformed XML: {exc}')
    if root.tag in (qn(SOAP11, 'Envelope'), qn(SOAP12, 'Envelope')) and (
            root.tag != qn(soap_ns, 'Envelope')):
        raise SoapError('VersionMismatch', 'Wrong SOAP version')
    body = root.find(qn(soap_ns, 'Body'))
    if body is None or len(body) == 0:
        raise SoapError('Sender', 'The message has no SOAP Body')
    return body[0]


def text_of(element, *path):
    "Text at a path of (namespace, tag) steps, matched by URI not prefix"
    for ns, tag in path:
        element = element.find(qn(ns, tag) if ns else tag) if (
            element is not None) else None
    return (element.text or '').strip() if element is not None else None


# -- tracking records -------------------------------------------------------
def render_history(parcel, parent, message_type):
    "Append one historyRecord per operation, oldest first"
    if message_type == 1:
        return  # registered notices are not simulated: an empty history
    for operation in parcel['operations']:
        render_record(parcel, operation, sub(parent, DATA, 'historyRecord'))


def render_record(parcel, operation, record):
    address = sub(record, DATA, 'AddressParameters')
    destination = sub(address, DATA, 'DestinationAddress')
    sub(destination, DATA, 'Index', parcel['index_to'])
    sub(destination, DATA, 'Description', office_name(parcel['index_to']))
    where = sub(address, DATA, 'OperationAddress')
    sub(where, DATA, 'Index', operation['index'])
    sub(where, DATA, 'Description', operation['description'])
    for tag in ('MailDirect', 'CountryFrom', 'CountryOper'):
        country = sub(address, DATA, tag)
        for key, value in RUSSIA.items():
            sub(country, DATA, key, value)
    finance = sub(record, DATA, 'FinanceParameters')
    # amounts "appear only when known" (A.1): zeros are left out, but
    # CustomDuty, which real answers carry even alone
    for tag in ('Payment', 'Value', 'MassRate', 'InsrRate', 'AirRate', 'Rate',
            'CustomDuty'):
        amount = parcel['finance'].get(tag, 0)
        if amount or tag == 'CustomDuty':
            sub(finance, DATA, tag, amount)
    render_item(parcel, sub(record, DATA, 'ItemParameters'))
    params = sub(record, DATA, 'OperationParameters')
    pair(params, 'OperType', operation['type'], operation['type_name'])
    pair(params, 'OperAttr', operation['attr'], operation['attr_name'])
    sub(params, DATA, 'OperDate', oper_date(operation['date'],
            operation['index']))
    user = sub(record, DATA, 'UserParameters')
    pair(user, 'SendCtg', 1, 'Население')
    sub(user, DATA, 'Sndr', parcel['sender'])
    sub(user, DATA, 'Rcpn', parcel['recipient'])


def render_item(parcel, item):
    sub(item, DATA, 'Barcode', parcel['barcode'])
    domestic = parcel['barcode'].isdigit()
    sub(item, DATA, 'ValidRuType', 'true')
    sub(item, DATA, 'ValidEnType', 'false' if domestic else 'true')
    sub(item, DATA, 'ComplexItemName', parcel['complex_name'])
    pair(item, 'MailRank', 0, 'Без разряда')
    pair(item, 'PostMark', 0, 'Без отметки')
    pair(item, 'MailType', *parcel['mail_type'])
    pair(item, 'MailCtg', *parcel['mail_ctg'])
    sub(item, DATA, 'Mass', parcel['mass'])
    sub(item, DATA, 'MaxMassRu', 20000)
    sub(item, DATA, 'MaxMassEn', 20000)


def pair(parent, tag, id_, name):
    element = sub(parent, DATA, tag)
    sub(element, DATA, 'Id', id_)
    sub(element, DATA, 'Name', name)


def office_name(index):
    return f'{place_of(index)[0]} {index}'


def is_final(operation):
    return (operation['type'] in FINAL_OPERATIONS
        or (operation['type'], operation['attr']) in FINAL_OPERATION_PAIRS)


def new_parcel(barcode, index_from, index_to, mass=1000, mail_type=None,
        mail_ctg=None, sender='', recipient='', payment=0, value=0,
        mass_rate=0):
    mail_type = tuple(mail_type or MAIL_TYPES['POSTAL_PARCEL'])
    mail_ctg = tuple(mail_ctg or MAIL_CATEGORIES['ORDINARY'])
    return {'barcode': barcode, 'index_from': str(index_from),
        'index_to': str(index_to), 'mass': mass, 'mail_type': mail_type,
        'mail_ctg': mail_ctg,
        'complex_name': f'{mail_type[1]} {mail_ctg[1].lower()}',
        'sender': sender, 'recipient': recipient,
        'finance': {'Payment': payment, 'Value': value,
            'MassRate': mass_rate},
        'operations': [], 'returning': False, 'step': 0,
        'auto_from': None, 'auto_done': 0}


# -- Otpravka ---------------------------------------------------------------
OTPRAVKA_PREFIXES = ('/1.0/', '/2.0/', '/postoffice/')
ENUMS = {
    'mail-type': {'POSTAL_PARCEL', 'ONLINE_PARCEL', 'ONLINE_COURIER',
        'PARCEL_CLASS_1', 'EMS', 'EMS_OPTIMAL', 'EMS_RT', 'EMS_TENDER',
        'BUSINESS_COURIER', 'BUSINESS_COURIER_ES', 'BANDEROL',
        'BANDEROL_CLASS_1', 'LETTER', 'LETTER_CLASS_1', 'VSD', 'ECOM',
        'COMBINED', 'EASY_RETURN', 'VGPO_CLASS_1', 'SMALL_PACKET',
        'UNDEFINED'},
    'mail-category': {'SIMPLE', 'ORDERED', 'ORDINARY', 'WITH_DECLARED_VALUE',
        'WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY',
        'WITH_DECLARED_VALUE_AND_COMPULSORY_PAYMENT',
        'WITH_COMPULSORY_PAYMENT', 'COMBINED_ORDINARY', 'COMBINED_ORDERED',
        'COMBINED_WITH_DECLARED_VALUE',
        'COMBINED_WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY'},
    'address-type-to': {'DEFAULT', 'PO_BOX', 'DEMAND', 'UNIT'},
    'payment-method': {'CASHLESS', 'STAMP', 'FRANKING', 'TO_FRANKING',
        'ONLINE_PAYMENT_MARK'},
    'notice-payment-method': {'CASHLESS', 'STAMP', 'FRANKING', 'TO_FRANKING',
        'ONLINE_PAYMENT_MARK'},
    'transport-type': {'SURFACE', 'AVIA', 'COMBINED', 'EXPRESS'},
    }
COD_CATEGORIES = {'WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY',
    'COMBINED_WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY'}
INT_FIELDS = {'mail-direct', 'mass', 'index-to', 'tel-address', 'payment',
    'insr-value', 'compulsory-payment', 'sms-notice-recipient', 'height',
    'length', 'width', 'quantity', 'value', 'vat-rate', 'payattr',
    'lineattr', 'weight', 'delivery-rate', 'delivery-vat-rate', 'excise'}
BOOL_FIELDS = {'fragile', 'delivery-with-cod', 'with-order-of-notice',
    'with-simple-notice', 'with-electronic-notice', 'courier',
    'completeness-checking', 'inventory', 'vsd', 'easy-return', 'no-return',
    'wo-mail-rank'}
# required field -> description of the EMPTY_* error
REQUIRED = {'order-num': 'Номер заказа не указан',
    'mail-type': 'Вид РПО не указан',
    'mail-category': 'Категория РПО не указана',
    'mail-direct': 'Код страны назначения не указан',
    'mass': 'Масса не указана', 'address-type-to': 'Тип адреса не указан',
    'region-to': 'Регион не указан', 'place-to': 'Населенный пункт не указан',
    'surname': 'Фамилия получателя не указана',
    'given-name': 'Имя получателя не указано',
    'recipient-name': 'Наименование получателя не указано'}
KEBAB = re.compile(r'^[a-z0-9]+(-[a-z0-9]+)*$')


class JsonTypeError(Exception):
    "A body Jackson could not bind: the whole request gets HTTP 400"


def check_types(value, path='$'):
    """Reject what the real JSON binding rejects, strictly.

    Kopecks and grams must be integers, enums exact, names kebab-case.
    """
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_types(item, f'{path}[{i}]')
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        where = f'{path}.{key}'
        if not KEBAB.match(key):
            raise JsonTypeError(f'Unrecognized field "{key}" ({where}); '
                'field names are kebab-case')
        if item is None:
            continue
        if key in INT_FIELDS and (not isinstance(item, int)
                or isinstance(item, bool)):
            raise JsonTypeError(f'Cannot deserialize value of type `int` '
                f'from {item!r} ({where}): an integer is expected')
        if key in BOOL_FIELDS and not isinstance(item, bool):
            raise JsonTypeError(f'Cannot deserialize value of type `boolean` '
                f'from {item!r} ({where})')
        if key in ENUMS and item not in ENUMS[key]:
            raise JsonTypeError(f'Cannot deserialize value of type `{key}` '
                f'from String {item!r}: not one of the values accepted')
        check_types(item, where)


def order_errors(order, shipping_points):
    "Business errors of one backlog order, as {code, description}"
    errors = [{'code': 'EMPTY_' + key.upper().replace('-', '_'),
            'description': text} for key, text in REQUIRED.items()
        if order.get(key) in (None, '')]
    if order.get('index-to') is None and not order.get('str-index-to'):
        errors.append({'code': 'EMPTY_INDEX_TO',
                'description': 'Почтовый индекс не указан'})
    if isinstance(order.get('mass'), int) and order['mass'] <= 0:
        errors.append({'code': 'ILLEGAL_MASS',
                'description': 'Масса должна быть больше нуля'})
    errors += cod_errors(order)
    if order.get('mail-type') == 'ECOM' and not (order.get('ecom-data') or {}
            ).get('delivery-point-index'):
        errors.append({'code': 'EMPTY_DELIVERY_POINT_INDEX',
                'description': 'Индекс ПВЗ не указан'})
    office = order.get('postoffice-code')
    if office and office not in shipping_points:
        errors.append({'code': 'ILLEGAL_POSTOFFICE_CODE', 'description':
                f'ОПС {office} не является точкой сдачи пользователя'})
    return errors


def cod_errors(order):
    payment = order.get('payment') or 0
    if not payment:
        return []
    if order.get('mail-category') not in COD_CATEGORIES:
        return [{'code': 'ILLEGAL_MAIL_CATEGORY', 'description':
                'Наложенный платеж требует категории с объявленной '
                'ценностью и наложенным платежом'}]
    if payment > (order.get('insr-value') or 0):
        return [{'code': 'ILLEGAL_PAYMENT', 'description':
                'Сумма наложенного платежа больше объявленной ценности'}]
    return []


def tariff(mass, index_from, index_to, fragile=False, insr_value=0):
    "Simulated Otpravka tariff in kopecks (rates without VAT, VAT 20 %)"
    far = place_of(index_from)[1] != place_of(index_to)[1] or (
        str(index_from)[:3] != str(index_to)[:3])
    rate = 25000 + 4000 * max(1, -(-mass // 1000)) * (2 if far else 1)
    result = {'ground-rate': {'rate': rate, 'vat': round(rate * 0.2)},
        'total-rate': rate, 'total-vat': round(rate * 0.2),
        'delivery-time': {'min-days': 3 if far else 1,
            'max-days': 7 if far else 3}}
    if fragile:
        fragile_rate = round(rate * 0.23)
        result['fragile-rate'] = {'rate': fragile_rate,
            'vat': round(fragile_rate * 0.2)}
        result['total-rate'] += fragile_rate
        result['total-vat'] += round(fragile_rate * 0.2)
    if insr_value:
        insr_rate = round(insr_value * 0.04)
        result['insurance-rate'] = {'rate': insr_rate,
            'vat': round(insr_rate * 0.2)}
        result['total-rate'] += insr_rate
        result['total-vat'] += round(insr_rate * 0.2)
    return result


def backlog_view(order):
    "GET /1.0/backlog/{id}: the request fields plus what the service adds"
    price = tariff(order['mass'], order.get('postoffice-code') or '101000',
        order.get('index-to') or '', order.get('fragile', False),
        order.get('insr-value') or 0)
    rate, vat = price['ground-rate']['rate'], price['ground-rate']['vat']
    view = {k: v for k, v in order.items() if not k.startswith('_')}
    view.update({'mail-rank': 'WO_RANK', 'manual-address-input': False,
            'postmarks': ['NONSTANDARD'] if order['mail-type'] ==
                'POSTAL_PARCEL' else [],
            'transport-type': order.get('transport-type') or 'SURFACE',
            'delivery-time': price['delivery-time'],
            'ground-rate': rate, 'ground-rate-with-vat': rate + vat,
            'ground-rate-wo-vat': rate, 'mass-rate': rate,
            'mass-rate-with-vat': rate + vat, 'mass-rate-wo-vat': rate,
            'total-rate-wo-vat': price['total-rate'],
            'total-vat': price['total-vat']})
    if 'insurance-rate' in price:
        insr = price['insurance-rate']
        view.update({'insr-rate': insr['rate'],
                'insr-rate-with-vat': insr['rate'] + insr['vat'],
                'insr-rate-wo-vat': insr['rate']})
    return view



# -- Otpravka normalisation (russian_post.md B.5) ---------------------------
# city -> (region as the cleaning service spells it, index of a central
# office); the cities of the demo data.  Region spelling ("обл. Тверская")
# follows the note's example ("г. Москва", "шоссе Каширское"): type first.
CLEAN_CITIES = {
    'москва': ('г. Москва', '101000'),
    'санкт-петербург': ('г. Санкт-Петербург', '190000'),
    'казань': ('Респ. Татарстан', '420111'),
    'екатеринбург': ('обл. Свердловская', '620014'),
    'нижний новгород': ('обл. Нижегородская', '603005'),
    'новосибирск': ('обл. Новосибирская', '630099'),
    'тверь': ('обл. Тверская', '170100'), 'самара': ('обл. Самарская',
        '443099'), 'владимир': ('обл. Владимирская', '600000'),
    'пермь': ('край Пермский', '614000'),
    'краснодар': ('край Краснодарский', '350000'),
    'тула': ('обл. Тульская', '300041')}
# deliverable when both hold (the spec's own rule, B.5)
GOOD_QUALITY = {'GOOD', 'POSTAL_BOX', 'ON_DEMAND', 'UNDEF_05'}
GOOD_VALIDATION = {'VALIDATED', 'OVERRIDDEN', 'CONFIRMED_MANUALLY'}
STREET_WORDS = re.compile(r'(^|\s)(ул\.?|улица|пр-кт|проспект|пр\.|шоссе|'
    r'ш\.|пер\.|переулок|бульвар|б-р|наб\.|набережная|пл\.|площадь|'
    r'проезд|мкр\.?|тракт)(\s|$)', re.I)
HOUSE = re.compile(r'^(?:д\.?|дом)?\s*(\d+[а-яa-z]?)(?:/(\d+))?'
    r'(?:\s*(?:к\.?|корп\.?|корпус)\s*(\d+))?'
    r'(?:\s*(?:стр\.?|строение)\s*(\d+))?$', re.I)
ROOM = re.compile(r'^(?:кв\.?|квартира|оф\.?|офис|пом\.?)\s*(\d+[а-я]?)$',
    re.I)
STREET_HOUSE = re.compile(r'^(.*?\D)\s+(?:д\.?\s*)?(\d+[а-я]?(?:/\d+)?'
    r'(?:\s*(?:к\.?|корп\.?)\s*\d+)?)$', re.I)


def clean_address(record_id, original):
    """One answer of /1.0/clean/address, parsed from a one-line address.

    A heuristic over comma-separated parts (the real service uses the
    address registry): index, city, street, house[/slash][ корп. N][ стр.
    N], flat; "а/я N" and "до востребования" give POSTAL_BOX / ON_DEMAND.
    What is not recognised stays unparsed and lowers the codes.
    """
    answer = {'id': record_id, 'original-address': original,
        'address-type': 'DEFAULT'}
    text = ' '.join(str(original or '').split())
    parts = [p.strip() for p in text.split(',') if p.strip()]
    city = index = None
    unparsed, street = [], None
    for part in parts:
        low = part.lower()
        match = re.fullmatch(r'(\d{6})(?:\s+(.*))?', part)
        if match:
            index = match.group(1)
            if not match.group(2):
                continue
            part, low = match.group(2), match.group(2).lower()
        name = re.sub(r'^(г\.?|город)\s*', '', low)
        if name in CLEAN_CITIES:
            city = name
            continue
        box = re.fullmatch(r'(?:а/я|абонентский ящик)\s*(\d+)', low)
        if box:
            answer.update({'address-type': 'PO_BOX',
                    'num-address-type': box.group(1)})
            continue
        if low == 'до востребования':
            answer['address-type'] = 'DEMAND'
            continue
        house = HOUSE.fullmatch(part)
        if house and street:
            answer.update({k: v for k, v in zip(('house', 'slash', 'corpus',
                            'building'), house.groups()) if v})
            continue
        room = ROOM.fullmatch(part)
        if room:
            answer['room'] = room.group(1)
            continue
        if STREET_WORDS.search(part) and not street:
            both = STREET_HOUSE.fullmatch(part)
            street = both.group(1).strip() if both else part
            if both:
                house = HOUSE.fullmatch(both.group(2))
                if house:
                    answer.update({k: v for k, v in zip(('house', 'slash',
                                    'corpus', 'building'), house.groups())
                            if v})
            continue
        unparsed.append(part)
    if city is None and index:
        known = place_of(index)[0].lower()
        city = known if known in CLEAN_CITIES else None
    if city:
        region, central = CLEAN_CITIES[city]
        title = ' '.join('-'.join(p.capitalize() for p in w.split('-'))
            for w in city.split())
        answer.update({'region': region, 'place': f'г. {title}',
                'index': index or central})
    elif index:
        answer['index'] = index
    if street:
        answer['street'] = street
    answer.update(address_codes(answer, city, unparsed))
    return answer


def address_codes(answer, city, unparsed):
    "quality-code and validation-code of a parsed address"
    kind = answer['address-type']
    if not city:
        quality, validation = (('UNDEF_02', 'NOT_VALIDATED_HAS_NO_MAIN_POINTS')
            if answer.get('index') else
            ('UNDEF_01', 'NOT_VALIDATED_HAS_NO_MAIN_POINTS'))
    elif kind == 'PO_BOX':
        quality, validation = 'POSTAL_BOX', 'VALIDATED'
    elif kind == 'DEMAND':
        quality, validation = 'ON_DEMAND', 'VALIDATED'
    elif not answer.get('street'):
        quality, validation = 'UNDEF_03', 'NOT_VALIDATED_HAS_NO_MAIN_POINTS'
    elif not answer.get('house'):
        quality, validation = 'UNDEF_04', 'NOT_VALIDATED_INCORRECT_HOUSE'
    elif not answer.get('room'):
        quality, validation = 'UNDEF_05', 'VALIDATED'
    else:
        quality, validation = 'GOOD', 'VALIDATED'
    if unparsed and city:
        validation = 'NOT_VALIDATED_HAS_UNPARSED_PARTS'
    return {'quality-code': quality, 'validation-code': validation}


def clean_fio(record_id, original):
    """/1.0/clean/physical: surname, name, middle-name (the answer's field
    names are unconfirmed, see notes/russian_post.md); quality EDITED for
    two or three Cyrillic words, NOT_SURE otherwise"""
    words = str(original or '').split()
    answer = {'id': record_id, 'original-fio': original}
    cyrillic = all(re.fullmatch(r'[А-Яа-яЁё-]+', w) for w in words)
    for key, word in zip(('surname', 'name', 'middle-name'), words):
        answer[key] = word[:1].upper() + word[1:].lower()
    answer['quality-code'] = ('EDITED' if cyrillic and 2 <= len(words) <= 3
        else 'NOT_SURE')
    return answer


def clean_phone(record_id, original):
    """/1.0/clean/phone: a Russian number split into country, city (DEF)
    code and number (field names and codes unconfirmed)"""
    digits = re.sub(r'\D', '', str(original or ''))
    answer = {'id': record_id, 'original-phone': original}
    if len(digits) == 11 and digits[0] in '78':
        digits = digits[1:]
    if len(digits) == 10 and digits[0] in '3489':
        answer.update({'phone-country-code': '7',
                'phone-city-code': digits[:3], 'phone-number': digits[3:],
                'phone-extension': '', 'quality-code': 'GOOD'})
    else:
        answer['quality-code'] = 'EMPTY' if not digits else 'GARBAGE'
    return answer


WEEKDAYS = ['понедельник', 'вторник', 'среда', 'четверг', 'пятница',
    'суббота', 'воскресенье']


def post_office(index, closed=False, temporary_closed=False):
    "GET /postoffice/1.0/{index}: the office passport, a subset"
    city, _, _ = place_of(index)
    region = CLEAN_CITIES.get(city.lower(), ('', ''))[0]
    hours = [{'weekday-id': day + 1, 'weekday-name': WEEKDAYS[day],
            'begin-worktime': '08:00:00',
            'end-worktime': '20:00:00' if day < 5 else '18:00:00',
            'lunches': []} for day in range(6)]
    return {'postal-code': str(index), 'type-code': 'ГОПС', 'type-id': 8,
        'region': region, 'settlement': city,
        'address-source': f'{city}, ул. Почтовая, д. {int(index) % 97 + 1}',
        'latitude': 55.75 + (int(index) % 1000) / 10000,
        'longitude': 37.61 + (int(index) % 997) / 10000,
        'is-closed': closed, 'is-temporary-closed': temporary_closed,
        'is-private-category': False, 'works-on-saturdays': True,
        'works-on-sundays': False, 'working-hours': hours,
        'phones': [{'is-fax': False, 'phone-number': '2000000',
                'phone-town-code': '800', 'phone-type-name': 'Справочная'}]}


# -- print forms: small real PDFs (B.4) -------------------------------------
TRANSLIT = dict(zip('абвгдеёжзийклмнопрстуфхцчшщъыьэюя',
        ['a', 'b', 'v', 'g', 'd', 'e', 'e', 'zh', 'z', 'i', 'y', 'k', 'l',
            'm', 'n', 'o', 'p', 'r', 's', 't', 'u', 'f', 'kh', 'ts', 'ch',
            'sh', 'shch', '', 'y', '', 'e', 'yu', 'ya']))


def latin(text):
    "The built-in PDF fonts have no Cyrillic: transliterate"
    out = []
    for char in str(text):
        low = char.lower()
        if low in TRANSLIT:
            value = TRANSLIT[low]
            out.append(value.capitalize() if char != low else value)
        elif ord(char) < 128:
            out.append(char)
        else:
            out.append('?')
    return ''.join(out).replace('\\', '\\\\').replace('(', '\\(').replace(
        ')', '\\)')


def pdf_document(pages):
    """A valid PDF, one page (A6, Helvetica) per list of text lines"""
    objects = ['<< /Type /Catalog /Pages 2 0 R >>', None,
        '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>']
    kids = []
    for lines in pages:
        stream = 'BT /F1 9 Tf 20 390 Td 12 TL\n' + ''.join(
            f'({latin(line)}) Tj T*\n' for line in lines) + 'ET'
        data = zlib.compress(stream.encode('latin-1'))
        objects.append(None)        # the page, once its content has a number
        page_number = len(objects)
        objects.append((f'<< /Length {len(data)} /Filter /FlateDecode >>\n'
                'stream\n', data, '\nendstream'))
        objects[page_number - 1] = (
            '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 298 420] '
            f'/Resources << /Font << /F1 3 0 R >> >> '
            f'/Contents {page_number + 1} 0 R >>')
        kids.append(f'{page_number} 0 R')
    objects[1] = (f"<< /Type /Pages /Kids [{' '.join(kids)}] "
        f'/Count {len(kids)} >>')
    out = bytearray(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f'{number} 0 obj\n'.encode()
        if isinstance(obj, tuple):
            out += obj[0].encode() + obj[1] + obj[2].encode()
        else:
            out += obj.encode()
        out += b'\nendobj\n'
    xref = len(out)
    out += f'xref\n0 {len(objects) + 1}\n0000000000 65535 f \n'.encode()
    for offset in offsets:
        out += f'{offset:010d} 00000 n \n'.encode()
    out += (f'trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n'
        f'startxref\n{xref}\n%%EOF\n').encode()
    return bytes(out)


def form_f7p(order):
    "Address label Ф7п: who, where, barcode, mass, amounts (kopecks)"
    address = ', '.join(str(order[k]) for k in ('index-to', 'region-to',
            'place-to', 'street-to', 'house-to', 'room-to') if order.get(k))
    return ['F7p ADDRESS LABEL (forma F7p)',
        f"Barcode (ShPI): {order.get('barcode') or '-'}",
        f"Order: {order['order-num']}",
        f"To: {order.get('recipient-name', '')}", f'Address: {address}',
        f"Phone: {order.get('tel-address') or '-'}",
        f"Mass: {order['mass']} g",
        f"Declared value: {(order.get('insr-value') or 0) / 100:.2f} RUB",
        f"Cash on delivery: {(order.get('payment') or 0) / 100:.2f} RUB",
        f"From office: {order.get('postoffice-code') or ''}"]


def form_f112(order):
    "Money order Ф112ЭК for the cash on delivery"
    return ['F112EK POSTAL MONEY ORDER (forma F112EK)',
        f"For item: {order.get('barcode') or '-'}",
        f"Order: {order['order-num']}",
        f"Amount: {(order.get('payment') or 0) / 100:.2f} RUB",
        'Payee: the sender (shop), cashless']


class RussianPostSimulator(Simulator):
    name = 'russian_post'
    title = 'Почта России: трекинг и Отправка (симулятор)'

    def now(self, tz=timezone.utc):
        return self.clock.now(tz)

    def spring_error(self, status, error, message):
        "Spring Boot style error body (the real schema is unconfirmed)"
        return jsonify({'timestamp': self.now().isoformat(
                    timespec='milliseconds'), 'status': status,
                'error': error, 'message': message, 'path': request.path
                }), status

    def page_summary(self):
        return [('Отправлений в трекинге', len(self.parcels)),
            ('Заказов в Отправке', len(self.backlog)),
            ('Партий', len(self.batches)),
            ('Пакетных запросов (тикетов)', len(self.tickets)),
            ('Логин трекинга', self.creds.get('tracking_login')),
            ('Единичных запросов сегодня', '{} из {}'.format(
                    self.tracking_calls.get(self.today(), 0),
                    self.tracking_daily_limit or '∞')),
            ('Тикетов сегодня', '{} из {}'.format(
                    self.batch_calls.get(self.today(), 0),
                    self.batch_daily_limit or '∞')),
            ('Движение отправлений', f'шаг каждые {self.auto_advance} с'
                if self.auto_advance else 'вручную')]

    def today(self):
        "The quota day: assumed to turn at midnight Moscow time"
        return self.now(MOSCOW).date()

    def start_demo(self):
        "Parcels move on by themselves: a route step every 20 minutes"
        with self.lock:
            self._set_auto_advance(1200)

    def init_state(self):
        with self.lock:
            self.creds = dict(DEFAULT_CREDENTIALS)
            self.dynamic_barcode = True
            self.ticket_delay = TICKET_DELAY
            self.tracking_daily_limit = None
            self.tracking_calls = {}          # date -> count
            self.batch_daily_limit = None
            self.batch_calls = {}             # date -> getTicket count
            self.auto_advance = None          # seconds per route step
            self.offices = {}                 # index -> {closed, temporary}
            self.shipping_points = ['109012']
            self.parcels = {}                 # barcode -> tracking data
            self.tickets = {}                 # ticket -> {issued, barcodes}
            self.backlog = {}                 # id -> order
            self.batches = {}                 # name -> batch
            self._order_ids = itertools.count(115322331)
            self._batch_names = itertools.count(1)
            self._serials = itertools.count(1)

    def fault_response(self, kind, status, rule):
        status = status or (429 if kind == 'rate_limit' else 500)
        reason = ('Too many requests' if kind == 'rate_limit'
            else 'Internal server error')
        if request.path == '/rtm34':
            return soap12_fault('Receiver', reason, status=status)
        if request.path == '/fc':
            return soap11_fault('Server', reason, status=status)
        return self.spring_error(status, 'Too Many Requests' if status == 429
            else 'Internal Server Error', reason)

    @route('/rtm34', defaults={'service': 'rtm34'})
    @route('/fc', defaults={'service': 'fc'})
    def _wsdl(self, service):
        key = next(iter(request.args), None)
        name = WSDL_FILES.get((service, request.args.get('xsd', key)))
        if name is None:
            return Response(f'{service} web service endpoint\n',
                content_type='text/plain; charset=utf-8')
        text = (WSDL_DIR / name).read_text(encoding='utf-8')
        return Response(text.replace('{base_url}',
                request.host_url.rstrip('/')),
            content_type='text/xml; charset=utf-8')

    # -- single-access tracking (SOAP 1.2) -----------------------------------
    @route('/rtm34', methods=['POST'])
    def _rtm34(self):
        try:
            operation = parse_envelope(request.get_data(), SOAP12)
            if operation.tag != qn(OPER, 'getOperationHistory'):
                raise SoapError('Sender', 'Cannot find dispatch method for '
                    f'{etree.QName(operation).localname}')
            return self._operation_history(operation)
        except SoapError as exc:
            return soap12_fault(exc.code, exc.reason, exc.detail)

    def _operation_history(self, operation):
        login = text_of(operation, (DATA, 'AuthorizationHeader'),
            (DATA, 'login'))
        password = text_of(operation, (DATA, 'AuthorizationHeader'),
            (DATA, 'password'))
        self._check_tracking_login(login, password)
        barcode = text_of(operation, (DATA, 'OperationHistoryRequest'),
            (DATA, 'Barcode'))
        message_type = text_of(operation, (DATA, 'OperationHistoryRequest'),
            (DATA, 'MessageType'))
        language = text_of(operation, (DATA, 'OperationHistoryRequest'),
            (DATA, 'Language')) or 'RUS'
        if language not in ('RUS', 'ENG'):
            raise SoapError('Receiver', 'Language is not supported',
                ('LanguageFaultReason', f'Язык {language} не поддерживается'))
        if not valid_barcode(barcode) or message_type not in ('0', '1'):
            raise SoapError('Receiver', BAD_FORMAT,
                ('OperationHistoryFaultReason', BAD_FORMAT))
        envelope, body = soap12_envelope()
        response = etree.SubElement(body, qn(OPER,
                'getOperationHistoryResponse'), nsmap=RTM34_NSMAP)
        data = sub(response, DATA, 'OperationHistoryData')
        with self.lock:
            parcel = self.parcels.get(barcode)
            if parcel:
                self._catch_up(parcel)
                render_history(parcel, data, int(message_type))
        return soap_response(envelope)

    def _check_tracking_login(self, login, password):
        with self.lock:
            if (login, password) != (self.creds['tracking_login'],
                    self.creds['tracking_password']):
                raise SoapError('Receiver', 'Authorization error',
                    ('AuthorizationFaultReason',
                        'Ошибка авторизации: неверный логин или пароль'))
            today = self.today()
            self.tracking_calls[today] = self.tracking_calls.get(today, 0) + 1
            limit = self.tracking_daily_limit
            if limit is not None and self.tracking_calls[today] > limit:
                # unconfirmed for single access: the batch service's text
                # (lapaygroup issue #35) in the fault the bad login gets
                raise SoapError('Receiver', 'Authorization error',
                    ('AuthorizationFaultReason', LIMIT_REACHED))

    # -- batch tracking (SOAP 1.1) -------------------------------------------
    @route('/fc', methods=['POST'])
    def _fc(self):
        try:
            operation = parse_envelope(request.get_data(), SOAP11)
        except SoapError as exc:
            return soap11_fault('Client' if exc.code == 'Sender'
                else exc.code, exc.reason)
        handlers = {qn(POSTSERVER, 'ticketRequest'): self._get_ticket,
            qn(POSTSERVER, 'answerByTicketRequest'): self._answer_by_ticket}
        handler = handlers.get(operation.tag)
        if handler is None:
            return soap11_fault('Client', 'Cannot find dispatch method for '
                f'{etree.QName(operation).localname}')
        envelope, body = soap11_envelope()
        handler(operation, body)
        return soap_response(envelope, version=11)

    @staticmethod
    def _batch_response(body, tag):
        return etree.SubElement(body, qn(POSTSERVER, tag),
            nsmap={'ns2': POSTSERVER, 'ns3': FCLIENT})

    @staticmethod
    def _batch_error(parent, code, name, tag='error'):
        element = etree.SubElement(parent, tag)
        element.set('ErrorTypeID', str(code))
        element.set('ErrorName', name)

    def _batch_login_ok(self, operation):
        return (text_of(operation, (None, 'login')),
            text_of(operation, (None, 'password'))) == (
            self.creds['tracking_login'], self.creds['tracking_password'])

    def _get_ticket(self, operation, body):
        response = self._batch_response(body, 'ticketResponse')
        items = operation.findall(f'request/{qn(FCLIENT, "Item")}')
        barcodes = [item.get('Barcode') or '' for item in items]
        language = text_of(operation, (None, 'language')) or 'RUS'
        with self.lock:
            problem = (
                (3, 'Ошибка авторизации') if not self._batch_login_ok(
                    operation)
                else (2, 'Неверный формат запроса') if not barcodes
                else (18, 'Превышено количество ШПИ в запросе')
                if len(barcodes) > MAX_TICKET_ITEMS
                else (20, 'Неверный язык') if language not in ('RUS', 'ENG')
                else (21, 'Слишком длинный ШПИ')
                if any(len(b) > 14 for b in barcodes) else None)
            if problem:
                self._batch_error(response, *problem)
                return
            today = self.today()
            self.batch_calls[today] = self.batch_calls.get(today, 0) + 1
            if (self.batch_daily_limit is not None
                    and self.batch_calls[today] > self.batch_daily_limit):
                # the real over-quota answer: in-band, HTTP 200 (A, #35)
                self._batch_error(response, 3, LIMIT_REACHED)
                return
            issued = self.now(MOSCOW)
            ticket = issued.strftime('%Y%m%d%H%M%S') + (
                f'{issued.microsecond // 1000:03d}'
                + self.creds['tracking_login'].upper())
            self.tickets[ticket] = {'issued': self.clock.time(),
                'barcodes': barcodes}
        etree.SubElement(response, 'value').text = ticket

    def _answer_by_ticket(self, operation, body):
        response = self._batch_response(body, 'answerByTicketResponse')
        with self.lock:
            ticket = self.tickets.get(text_of(operation, (None, 'ticket'))
                or '')
            age = self.clock.time() - ticket['issued'] if ticket else None
            if not self._batch_login_ok(operation):
                self._batch_error(response, 3, 'Ошибка авторизации')
            elif ticket is None or age > TICKET_LIFETIME:
                self._batch_error(response, 17, 'Ответ удален или не найден')
            elif age < self.ticket_delay:
                self._batch_error(response, 6, 'Ответ для тикета еще не '
                    'готов')
            else:
                self._render_answer(response, ticket)

    def _render_answer(self, response, ticket):
        value = etree.SubElement(response, 'value')
        for name, attr in (('FileName', 'tracking'), ('FileTypeID', '1'),
                ('FileNumber', '1'), ('RecipientID', '1'),
                ('DatePreparation', self.now(MOSCOW).strftime(
                        '%d.%m.%Y %H:%M:%S'))):
            value.set(name, attr)
        for barcode in ticket['barcodes']:
            item = sub(value, FCLIENT, 'Item')
            item.set('Barcode', barcode)
            parcel = self.parcels.get(barcode)
            if parcel:
                self._catch_up(parcel)
            if not parcel or not parcel['operations']:
                self._batch_error(item, 12, 'Сообщение не найдено',
                    qn(FCLIENT, 'Error'))
                continue
            for op in parcel['operations']:
                local = op['date'].astimezone(timezone(timedelta(
                            hours=place_of(op['index'])[1])))
                element = sub(item, FCLIENT, 'Operation')
                for name, attr in (('OperTypeID', op['type']),
                        ('OperCtgID', op['attr']),
                        ('OperName', op['type_name']),
                        ('DateOper', local.strftime('%d.%m.%Y %H:%M:%S')),
                        ('IndexOper', op['index'])):
                    element.set(name, str(attr))

    # -- Otpravka REST -------------------------------------------------------
    def before_route(self):
        "Otpravka's two headers (the SOAP services authenticate in the body)"
        if not request.path.startswith(OTPRAVKA_PREFIXES):
            return
        with self.lock:
            token = f"AccessToken {self.creds['access_token']}"
            user = 'Basic ' + base64.b64encode(
                f"{self.creds['login']}:{self.creds['password']}".encode()
                ).decode()
        if request.headers.get('Authorization') != token:
            return self.spring_error(401, 'Unauthorized',
                'Authorization: AccessToken is missing or invalid')
        if request.headers.get('X-User-Authorization') != user:
            return self.spring_error(401, 'Unauthorized',
                'X-User-Authorization: wrong login or password')

    def _json_list(self):
        body = request.get_json(silent=True)
        if not isinstance(body, list):
            raise JsonTypeError('JSON parse error: a JSON array is expected')
        return body

    def _bad_json(self, exc):
        return self.spring_error(400, 'Bad Request', str(exc))

    @route('/1.0/user/backlog', methods=['PUT'], defaults={'version': 1})
    @route('/2.0/user/backlog', methods=['PUT'], defaults={'version': 2})
    def _create_orders(self, version):
        try:
            orders = self._json_list()
            check_types(orders)
        except JsonTypeError as exc:
            return self._bad_json(exc)
        result, errors = [], []
        with self.lock:
            for position, order in enumerate(orders):
                problems = order_errors(order, self.shipping_points) if (
                    isinstance(order, dict)) else [{'code': 'ILLEGAL_ORDER',
                        'description': 'Заказ должен быть объектом'}]
                if problems:
                    errors.append({'error-codes': problems,
                            'position': position})
                else:
                    result.append(self._add_order(order))
        return jsonify(self._creation_answer(version, result, errors))

    @staticmethod
    def _creation_answer(version, created, errors):
        answer = {}
        if created and version == 1:
            answer['result-ids'] = [o['id'] for o in created]
        elif created:
            answer['orders'] = [{'barcode': o.get('barcode'),
                    'order-num': o['order-num'], 'result-id': o['id']}
                for o in created]
        if errors:
            answer['errors'] = errors
        return answer

    def _add_order(self, data):
        order = dict(data, id=next(self._order_ids), version=0)
        self.backlog[order['id']] = order
        if self.dynamic_barcode:
            self._assign_barcode(order)
        return order

    def _assign_barcode(self, order):
        office = order.get('postoffice-code') or self.shipping_points[0]
        order['barcode'] = make_barcode(office, next(self._serials),
            self.now(MOSCOW).month)
        index_to = order.get('index-to') or (order.get('ecom-data') or {}
            ).get('delivery-point-index') or order.get('str-index-to')
        self.parcels[order['barcode']] = self._start_auto(new_parcel(
                order['barcode'], office, index_to, order['mass'],
                MAIL_TYPES.get(order['mail-type']),
                MAIL_CATEGORIES.get(order['mail-category']),
                recipient=order.get('recipient-name', ''),
                payment=order.get('payment') or 0,
                value=order.get('insr-value') or 0,
                mass_rate=backlog_view(order)['mass-rate-with-vat']))

    @route('/1.0/backlog/<int:order_id>')
    def _get_order(self, order_id):
        with self.lock:
            order = self.backlog.get(order_id)
            if order is None or order.get('_batch'):
                return self.spring_error(404, 'Not Found',
                    f'Order {order_id} is not found')
            return jsonify(backlog_view(order))

    @route('/1.0/backlog/search')
    def _search_orders(self):
        query = request.args.get('query', '')
        with self.lock:
            return jsonify([backlog_view(o) for o in self.backlog.values()
                    if o['order-num'] == query and not o.get('_batch')])

    @route('/1.0/backlog', methods=['DELETE'])
    def _delete_orders(self):
        try:
            ids = self._json_list()
        except JsonTypeError as exc:
            return self._bad_json(exc)
        deleted, errors = [], []
        with self.lock:
            for position, order_id in enumerate(ids):
                order = self.backlog.get(order_id)
                if order is None or order.get('_batch'):
                    errors.append({'error-code': 'NOT_FOUND',
                            'position': position})
                    continue
                del self.backlog[order_id]
                self.parcels.pop(order.get('barcode'), None)
                deleted.append(order_id)
        return jsonify({'result-ids': deleted, **(
                    {'errors': errors} if errors else {})})

    @route('/1.0/shipment', methods=['DELETE'])
    def _delete_batched(self):
        """Remove orders from their batches, deleting them (B.4).  The
        answer's shape is assumed to be the backlog delete's: the reference
        gives only the body ``[id, ...]``.  An order still in the backlog
        (or unknown) is NOT_FOUND here."""
        try:
            ids = self._json_list()
        except JsonTypeError as exc:
            return self._bad_json(exc)
        deleted, errors = [], []
        with self.lock:
            for position, order_id in enumerate(ids):
                order = self._batched(order_id)
                if order is None:
                    errors.append({'error-code': 'NOT_FOUND',
                            'position': position})
                    continue
                del self.backlog[order_id]
                self.parcels.pop(order.get('barcode'), None)
                batch = self.batches.get(order['_batch'])
                if batch:
                    batch['shipment-count'] -= 1
                    batch['shipment-mass'] -= order['mass']
                deleted.append(order_id)
        return jsonify({'result-ids': deleted, **(
                    {'errors': errors} if errors else {})})

    @route('/1.0/user/shipment', methods=['POST'])
    def _create_batch(self):
        try:
            ids = self._json_list()
        except JsonTypeError as exc:
            return self._bad_json(exc)
        sending = (request.args.get('sending-date')
            or self.now(MOSCOW).date().isoformat())
        groups, errors = {}, []
        with self.lock:
            for position, order_id in enumerate(ids):
                order = self.backlog.get(order_id)
                if order is None or order.get('_batch'):
                    errors.append({'error-code': 'NOT_FOUND',
                            'error-description': 'Отправление не найдено',
                            'position': position})
                    continue
                key = (order['mail-type'], order['mail-category'])
                groups.setdefault(key, []).append(order)
            batches = [self._new_batch(orders, sending)
                for orders in groups.values()]
        answer = {'batches': batches, 'result-ids': [o['id']
                for orders in groups.values() for o in orders]}
        if errors:
            answer['errors'] = errors
        return jsonify(answer)

    def _new_batch(self, orders, sending):
        "Classic flow: barcodes are assigned when orders enter a batch"
        name = str(next(self._batch_names))
        for order in orders:
            if not order.get('barcode'):
                self._assign_barcode(order)
            order['_batch'] = name
        first = orders[0]
        batch = {'batch-name': name, 'batch-status': 'CREATED',
            'batch-status-date': self.now().isoformat(timespec='seconds'),
            'mail-type': first['mail-type'],
            'mail-category': first['mail-category'],
            'list-number-date': sending,
            'postoffice-code': first.get('postoffice-code')
                or self.shipping_points[0],
            'shipment-count': len(orders),
            'shipment-mass': sum(o['mass'] for o in orders)}
        # the rate sums' names are assumed (the note: "shipment-*-rate-sum")
        views = [backlog_view(o) for o in orders]
        batch.update({
                'shipment-mass-rate-sum': sum(v['mass-rate'] for v in views),
                'shipment-mass-rate-vat-sum': sum(v['mass-rate-with-vat']
                    - v['mass-rate'] for v in views),
                'shipment-insure-rate-sum': sum(v.get('insr-rate', 0)
                    for v in views),
                'shipment-insure-rate-vat-sum': sum(
                    v.get('insr-rate-with-vat', 0) - v.get('insr-rate', 0)
                    for v in views)})
        self.batches[name] = batch
        return batch

    @route('/1.0/batch/<name>')
    def _get_batch(self, name):
        with self.lock:
            batch = self.batches.get(name)
        if batch is None:
            return self.spring_error(404, 'Not Found',
                f'Batch {name} is not found')
        return jsonify(batch)

    @route('/1.0/shipment/search')
    def _search_shipments(self):
        query = request.args.get('query', '')
        with self.lock:
            # by barcode (B.4) or by the shop's order number (assumed:
            # the spec's search field is not confirmed by the note)
            found = [o for o in self.backlog.values()
                if o.get('_batch') and query in (o.get('barcode'),
                    o['order-num'])]
            return jsonify([{**backlog_view(o), 'batch-name': o['_batch']}
                    for o in found])

    @route('/1.0/tariff', methods=['POST'])
    def _tariff(self):
        body = request.get_json(silent=True)
        try:
            if not isinstance(body, dict):
                raise JsonTypeError('JSON parse error: an object is expected')
            check_types(body)
        except JsonTypeError as exc:
            return self._bad_json(exc)
        index_to = body.get('index-to') or body.get('delivery-point-index')
        missing = [k for k in ('mail-type', 'mail-category', 'mass',
                'index-from') if body.get(k) is None]
        if missing or not index_to:
            return self.spring_error(400, 'Bad Request', 'Required fields are '
                f"missing: {', '.join(missing or ['index-to'])}")
        price = tariff(body['mass'], body['index-from'], index_to,
            body.get('fragile', False), body.get('declared-value') or 0)
        method = body.get('payment-method', 'CASHLESS')
        return jsonify(dict(price, **{'payment-method': method,
                    'notice-payment-method': method}))

    # -- normalisation, post offices, forms ----------------------------------
    def _records(self, field):
        "The [{id, <field>}] body of the cleaning calls"
        body = self._json_list()
        for record in body:
            if not isinstance(record, dict) or 'id' not in record:
                raise JsonTypeError('Every record needs an "id"')
        check_types(body)
        return [(str(r['id']), r.get(field)) for r in body]

    @route('/1.0/clean/address', methods=['POST'])
    def _clean_address(self):
        try:
            records = self._records('original-address')
        except JsonTypeError as exc:
            return self._bad_json(exc)
        # the order of the answer is not guaranteed (B.5): reversed here,
        # so that a client matching by position fails its tests
        return jsonify([clean_address(i, a) for i, a in reversed(records)])

    @route('/1.0/clean/physical', methods=['POST'])
    def _clean_physical(self):
        try:
            records = self._records('original-fio')
        except JsonTypeError as exc:
            return self._bad_json(exc)
        return jsonify([clean_fio(i, f) for i, f in reversed(records)])

    @route('/1.0/clean/phone', methods=['POST'])
    def _clean_phone(self):
        try:
            records = self._records('original-phone')
        except JsonTypeError as exc:
            return self._bad_json(exc)
        return jsonify([clean_phone(i, f) for i, f in reversed(records)])

    @route('/postoffice/1.0/<index>')
    def _post_office(self, index):
        """An office of a known city (index prefix) or a shipping point;
        the answer for an unknown index is unconfirmed: 404 here"""
        known = re.fullmatch(r'\d{6}', index) and (
            index in self.shipping_points
            or place_of(index)[0] != 'Россия')
        if not known:
            return self.spring_error(404, 'Not Found',
                f'Post office {index} is not found')
        with self.lock:
            state = self.offices.get(index, {})
        return jsonify(post_office(index, **state))

    def _batched(self, order_id):
        order = self.backlog.get(order_id)
        return order if order and order.get('_batch') else None

    def _pdf(self, pages, name):
        response = Response(pdf_document(pages),
            content_type='application/pdf')
        response.headers['Content-Disposition'] = (
            f'attachment; filename="{name}.pdf"')
        return response

    @route('/1.0/forms/<int:order_id>/f7pdf', defaults={'form': 'f7p'})
    @route('/1.0/forms/<int:order_id>/f112pdf', defaults={'form': 'f112'})
    @route('/1.0/forms/<int:order_id>/forms', defaults={'form': 'all'})
    def _forms(self, order_id, form):
        """Forms of an order in a batch: the label Ф7п, the money order
        Ф112ЭК (cash on delivery only), or both in one PDF.  Real PDFs
        (the real service answers PDF for these three; zip only for the
        batch's zip-all, not simulated)."""
        with self.lock:
            order = self._batched(order_id)
            if order is None:
                return self.spring_error(404, 'Not Found',
                    f'Shipment {order_id} is not found in batches')
            return self._order_forms(order, form)

    @route('/1.0/forms/backlog/<int:order_id>/forms')
    def _backlog_forms(self, order_id):
        "Forms of an order still in the backlog (before batching)"
        with self.lock:
            order = self.backlog.get(order_id)
            if order is None or order.get('_batch'):
                return self.spring_error(404, 'Not Found',
                    f'Order {order_id} is not found')
            return self._order_forms(order, 'all')

    def _order_forms(self, order, form):
        cod = bool(order.get('payment'))
        if form == 'f112' and not cod:
            # the refusal's text and status are unconfirmed
            return self.spring_error(400, 'Bad Request', 'Форма Ф112ЭК '
                'формируется только для отправлений с наложенным платежом')
        pages = {'f7p': [form_f7p(order)], 'f112': [form_f112(order)],
            'all': [form_f7p(order)] + ([form_f112(order)] if cod else [])
            }[form]
        name = f"{form}-{order.get('barcode') or order['id']}"
        return self._pdf(pages, name)

    # -- control actions -----------------------------------------------------
    @control('credentials')
    def credentials(self, tracking_login=None, tracking_password=None,
            access_token=None, login=None, password=None):
        """Set (when given) and return the accepted credentials.

        Also returns the exact Otpravka header values a client must send.
        """
        given = {'tracking_login': tracking_login,
            'tracking_password': tracking_password,
            'access_token': access_token, 'login': login,
            'password': password}
        with self.lock:
            self.creds.update({k: v for k, v in given.items()
                    if v is not None})
            creds = dict(self.creds)
        basic = base64.b64encode(
            f"{creds['login']}:{creds['password']}".encode()).decode()
        return dict(creds, headers={
                'Authorization': f"AccessToken {creds['access_token']}",
                'X-User-Authorization': f'Basic {basic}'})

    @control('settings')
    def settings(self, dynamic_barcode=None, ticket_delay=None,
            tracking_daily_limit=None, shipping_points=None,
            batch_daily_limit=None, auto_advance=None):
        """Account behaviour: barcode at creation ("dynamic ДТИ") or at
        batching, batch-ticket readiness delay (s), daily quotas of single
        requests and of tickets (-1 = none), parcels moving on by
        themselves: a route step every auto_advance seconds (0 = off)."""
        with self.lock:
            if batch_daily_limit is not None:
                self.batch_daily_limit = (int(batch_daily_limit)
                    if batch_daily_limit >= 0 else None)
            if auto_advance is not None:
                self._set_auto_advance(float(auto_advance))
            if dynamic_barcode is not None:
                self.dynamic_barcode = bool(dynamic_barcode)
            if ticket_delay is not None:
                self.ticket_delay = float(ticket_delay)
            if tracking_daily_limit is not None:
                self.tracking_daily_limit = (int(tracking_daily_limit)
                    if tracking_daily_limit >= 0 else None)
            if shipping_points is not None:
                self.shipping_points = [str(p) for p in shipping_points]
            return {'dynamic_barcode': self.dynamic_barcode,
                'ticket_delay': self.ticket_delay,
                'tracking_daily_limit': self.tracking_daily_limit,
                'batch_daily_limit': self.batch_daily_limit,
                'auto_advance': self.auto_advance,
                'shipping_points': self.shipping_points}

    @control('exhaust_quota')
    def exhaust_quota(self, service='all'):
        """Today's tracking quota is used up: 'single' (rtm34), 'batch'
        (getTicket) or 'all'.  Without a limit set, the limit becomes what
        was used so far.  Tomorrow (Moscow) the quota is back."""
        today = self.today()
        with self.lock:
            if service in ('single', 'all'):
                used = self.tracking_calls.get(today, 0)
                if self.tracking_daily_limit is None:
                    self.tracking_daily_limit = used
                self.tracking_calls[today] = max(used,
                    self.tracking_daily_limit)
            if service in ('batch', 'all'):
                used = self.batch_calls.get(today, 0)
                if self.batch_daily_limit is None:
                    self.batch_daily_limit = used
                self.batch_calls[today] = max(used, self.batch_daily_limit)
            return {'tracking_daily_limit': self.tracking_daily_limit,
                'batch_daily_limit': self.batch_daily_limit}

    @control('quota')
    def quota(self):
        "Today's use of the tracking quotas"
        today = self.today()
        with self.lock:
            return {'day': today.isoformat(),
                'single': self.tracking_calls.get(today, 0),
                'single_limit': self.tracking_daily_limit,
                'batch': self.batch_calls.get(today, 0),
                'batch_limit': self.batch_daily_limit}

    @control('hold_tickets')
    def hold_tickets(self, seconds=None):
        "Every issued ticket is 'not ready' (ErrorTypeID 6) for seconds more"
        seconds = self.ticket_delay if seconds is None else float(seconds)
        with self.lock:
            for ticket in self.tickets.values():
                ticket['issued'] = (self.clock.time() - self.ticket_delay
                    + seconds)
            return {'tickets': len(self.tickets)}

    @control('set_office')
    def set_office(self, index, closed=False, temporary_closed=False):
        "Close a post office (for good or for a while) or open it again"
        with self.lock:
            self.offices[str(index)] = {'closed': bool(closed),
                'temporary_closed': bool(temporary_closed)}
            return post_office(str(index), **self.offices[str(index)])

    @control('seed_parcel')
    def seed_parcel(self, barcode=None, index_from='109012',
            index_to='630099', mass=1000, mail_type='POSTAL_PARCEL',
            mail_category='ORDINARY', sender='', recipient='', payment=0,
            value=0, operations=0):
        "Register a parcel for tracking and optionally advance it N steps"
        if barcode is not None and not valid_barcode(barcode):
            raise ValueError(f'{barcode!r} is not a valid barcode')
        with self.lock:
            barcode = barcode or make_barcode(index_from,
                next(self._serials), self.now(MOSCOW).month)
            self.parcels[barcode] = self._start_auto(new_parcel(barcode,
                    index_from, index_to, mass, MAIL_TYPES.get(mail_type),
                    MAIL_CATEGORIES.get(mail_category), sender, recipient,
                    payment, value))
            for _ in range(operations):
                self.advance_parcel(barcode)
            return {'barcode': barcode,
                'operations': len(self.parcels[barcode]['operations'])}

    @control('advance_parcel')
    def advance_parcel(self, barcode):
        "Add the next tracking operation of the parcel's route"
        with self.lock:
            parcel = self._parcel(barcode)
            self._catch_up(parcel)
            if parcel['operations'] and is_final(parcel['operations'][-1]):
                raise ValueError(f'{barcode} is already in a final state')
            return self._next_step(parcel)

    def _next_step(self, parcel, moment=None):
        route = RETURN_ROUTE if parcel['returning'] else FORWARD_ROUTE
        if not parcel['returning'] and place_of(parcel['index_from']
                )[2] == place_of(parcel['index_to'])[2]:
            route = [s for s in route if s[2] != 'to_sc']
        oper_type, attr, where = route[min(parcel['step'], len(route) - 1)]
        parcel['step'] += 1
        return self._add_operation(parcel, oper_type, attr,
            *self._route_place(parcel, where), moment=moment)

    def _catch_up(self, parcel):
        """With auto_advance on, the route steps due by the clock's time,
        each dated when it was due (histories move with the clock)"""
        if not self.auto_advance or parcel['auto_from'] is None:
            return
        due = int((self.clock.time() - parcel['auto_from'])
            // self.auto_advance)
        while parcel['auto_done'] < due:
            if parcel['operations'] and is_final(parcel['operations'][-1]):
                return
            parcel['auto_done'] += 1
            self._next_step(parcel, datetime.fromtimestamp(
                    parcel['auto_from'] + parcel['auto_done']
                    * self.auto_advance, timezone.utc))

    def _set_auto_advance(self, seconds):
        self.auto_advance = seconds or None
        for parcel in self.parcels.values():
            self._start_auto(parcel)

    def _start_auto(self, parcel):
        parcel['auto_from'] = self.clock.time() if self.auto_advance else None
        parcel['auto_done'] = 0
        return parcel

    @control('add_operation')
    def add_operation(self, barcode, oper_type, oper_attr=0, index=None,
            type_name=None, attr_name=None):
        """Add any operation, e.g. 3/4 (return: refused) or 12/1 (failed
        attempt).  A 3/x operation turns the parcel back to the sender."""
        with self.lock:
            parcel = self._parcel(barcode)
            if oper_type == 3:
                parcel.update(returning=True, step=0)
            index = str(index or self._current_index(parcel))
            return self._add_operation(parcel, int(oper_type),
                int(oper_attr), index, office_name(index), type_name,
                attr_name)

    def _parcel(self, barcode):
        parcel = self.parcels.get(barcode)
        if parcel is None:
            raise KeyError(f'unknown barcode {barcode}')
        return parcel

    @staticmethod
    def _route_place(parcel, where):
        "(index, description) of a route step: an office or a sorting centre"
        index = parcel['index_from' if where.startswith('from')
            else 'index_to']
        if where.endswith('_sc'):
            city, _, sorting_centre = place_of(index)
            return sorting_centre, f'Сортировочный центр {city}'
        return index, office_name(index)

    @staticmethod
    def _current_index(parcel):
        operations = parcel['operations']
        return operations[-1]['index'] if operations else parcel['index_from']

    def _add_operation(self, parcel, oper_type, attr, index, description,
            type_name=None, attr_name=None, moment=None):
        names = OPERATIONS.get((oper_type, attr), (str(oper_type), ''))
        moment = moment or self.now()
        if parcel['operations'] and moment <= parcel['operations'][-1]['date']:
            moment = parcel['operations'][-1]['date'] + timedelta(
                milliseconds=1)
        operation = {'type': oper_type, 'attr': attr,
            'type_name': type_name or names[0],
            'attr_name': attr_name or names[1], 'date': moment,
            'index': str(index), 'description': description}
        parcel['operations'].append(operation)
        return {'barcode': parcel['barcode'], 'oper_type': oper_type,
            'oper_attr': attr, 'name': operation['attr_name']
                or operation['type_name'], 'index': operation['index'],
            'final': is_final(operation)}

    @control('ready_tickets')
    def ready_tickets(self):
        "Make every batch-tracking ticket answerable now"
        with self.lock:
            for ticket in self.tickets.values():
                ticket['issued'] = min(ticket['issued'],
                    self.clock.time() - self.ticket_delay)
            return {'tickets': len(self.tickets)}
