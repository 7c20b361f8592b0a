"""CommerceML order documents of the 1C-Bitrix site (bitrix_site.md A.4–A.8).

Pure functions of bytes and plain values: no HTTP, no Tryton.  Amounts and
quantities are Decimal; dates are the site's local time (naive) unless the
document names a zone.  Schema versions 2.03–3.1, with or without the
namespace, windows-1251 or UTF-8, with or without a byte-order mark.

What cannot be read raises ``Unreadable`` with a Russian reason;
``read_orders`` keeps the other orders of the file and returns the
unreadable ones apart, with their XML, so one bad order never holds up
the rest (the hub quarantines it).
"""
import datetime as dt
import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .limits import (
    MAX_COMMENT_CHARS, MAX_DOCUMENT_CHARS, MAX_FILE_BYTES, MAX_ORDER_BYTES,
    MAX_TEXT_CHARS)

ORDER_OPERATION = 'Заказ товара'
DELIVERY_ROW = 'ORDER_DELIVERY'
# order properties are exported by their names, which each site configures
PROPERTY_NAMES = {
    'full_name': 'Ф.И.О.', 'email': 'E-Mail', 'phone': 'Телефон',
    'postcode': 'Индекс', 'city': 'Город', 'address': 'Адрес доставки',
    'delivery_terms': 'Срок доставки', 'bonus_balance': 'Бонусный баланс',
    'loyalty_level': 'Уровень лояльности', 'promo_code': 'Промокод',
    }
# contact types: 2.05 writes Почта/ТелефонРабочий, later versions
# Электронная почта/Телефон рабочий (sale/general/export.php)
EMAIL_TYPES = {'почта', 'электронная почта', 'e-mail', 'email'}
PHONE_TYPE = re.compile(r'^телефон', re.I)
TEXT_LABELS = {'comment': 'Комментарий', 'full_name': 'Ф.И.О.',
    'address': 'Адрес доставки', 'phone': 'Телефон', 'email': 'E-Mail',
    'name': 'Наименование товара'}

BOM = b'\xef\xbb\xbf'
XML_DECLARATION = re.compile(r'^\s*<\?xml[^>]*\?>')
XML_ENCODING = re.compile(
    rb'^\s*<\?xml[^>]*encoding\s*=\s*["\']([A-Za-z0-9._-]+)["\']')
# XML 1.0 forbids these; sites write them raw from what customers paste
CONTROL_CHARS = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f]')
DOCUMENT = re.compile(r'<Документ>.*?</Документ>', re.S)
DATE = re.compile(r'''
    (?: (?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})
      | (?P<day2>\d{1,2})\.(?P<month2>\d{1,2})\.(?P<year2>\d{4}) )
    (?: (?:T|\s+) (?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) )?
    \s* (?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?''', re.X)
TIME = re.compile(
    r'(?P<hour>\d{1,2}):(?P<minute>\d{2})'
    r'(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?')


class Unreadable(ValueError):
    "A value or an order the hub cannot read; str() is the Russian reason"


@dataclass(frozen=True)
class OrdersFile:
    "The orders of a mode=query answer or of a captured file"
    orders: list                    # readable orders, in document order
    unreadable: list = field(default_factory=list)  # see unreadable_order
    exported_at: dt.datetime = None     # ДатаФормирования
    schema: str = None                  # ВерсияСхемы


# -- bytes and text -------------------------------------------------------
def strip_bom(body):
    """Leading byte-order marks and white space: a PHP file of the site
    saved with a BOM prints one before any answer, XML or text"""
    body = body.lstrip()
    while body.startswith(BOM):
        body = body[len(BOM):].lstrip()
    return body


def content_charset(content_type):
    "The charset of a Content-Type header, or None"
    match = re.search(r'charset\s*=\s*["\']?([\w.:-]+)', content_type or '',
        re.I)
    return match.group(1) if match else None


def decode(body, *encodings):
    """Text of body: a BOM means UTF-8 unless the bytes say otherwise (a BOM
    printed before windows-1251), else the encodings given, UTF-8, then
    windows-1251"""
    bom = body.lstrip().startswith(BOM)
    body = strip_bom(body)
    candidates = (['utf-8'] if bom else []) + [
        e for e in encodings if e] + ['utf-8', 'cp1251']
    for encoding in candidates:
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode('cp1251', 'replace')


def decode_xml(body, charset=None):
    "XML text, declaration dropped: its encoding, else the Content-Type's"
    match = XML_ENCODING.match(strip_bom(body))
    declared = match.group(1).decode('ascii') if match else None
    text = XML_DECLARATION.sub('', decode(body, declared, charset), count=1)
    return CONTROL_CHARS.sub('', text)


def unzip_answer(body):
    "mode=query answers a zip (PK…) when the site compresses the export"
    if strip_bom(body)[:2] != b'PK':
        return body
    with zipfile.ZipFile(io.BytesIO(strip_bom(body))) as archive:
        info = next(i for i in archive.infolist()
            if i.filename.lower().endswith('.xml'))
        if info.file_size > MAX_FILE_BYTES:
            raise Unreadable(f'файл {info.filename} в архиве больше '
                f'{MAX_FILE_BYTES // 2**20} МБ')
        return archive.read(info)


# -- values ---------------------------------------------------------------
def strip_namespaces(root):
    "CML 2 comes with or without urn:1C.ru:commerceml_2, CML 3.1 with _3"
    for el in root.iter():
        if isinstance(el.tag, str) and '}' in el.tag:
            el.tag = el.tag.split('}', 1)[1]
    return root


def text(el, path, default=None):
    "The element's text, trimmed (1C pads strings with spaces)"
    found = el.find(path) if el is not None else None
    if found is None or found.text is None or not found.text.strip():
        return default
    return found.text.strip()


def requisites(el):
    return {text(r, 'Наименование'): text(r, 'Значение', '')
        for r in el.findall('ЗначенияРеквизитов/ЗначениеРеквизита')}


def flag(value):
    return (value or '').strip().lower() in {'true', 'да', '1', 'y'}


def number(value, label, default=None):
    "CommerceML number: '1 234,50' or '1234.5000'"
    if value is None or not str(value).strip():
        return default
    cleaned = re.sub(r'[\s\u00a0]', '', str(value)).replace(',', '.')
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise Unreadable(f'{label}: «{value}» — не число')


def parse_date(value, time=None):
    """One parser for every date the site writes: 2007-10-30,
    2007-10-30T15:19:27, 2007-10-30 15:19:27, 30.10.2007 15:19:27,
    30.10.2007 9:05, fractions of seconds, Z or +03:00; time (Время) is
    the separate time of a date-only value.  1C's empty date 0001-01-01 is
    None.  A zone gives an aware datetime, else it is the site's time."""
    value = (value or '').strip()
    if not value:
        return None
    match = DATE.fullmatch(value)
    if not match:
        raise Unreadable(f'дата «{value}» не распознана')
    year, month, day = (int(match['year'] or match['year2']),
        int(match['month'] or match['month2']),
        int(match['day'] or match['day2']))
    if year == 1:
        return None
    clock = (time or '').strip() or match['time']
    try:
        return dt.datetime(year, month, day, *parse_time(clock),
            tzinfo=parse_zone(match['zone']))
    except ValueError:
        raise Unreadable(f'дата «{value}» не существует')


def parse_time(value):
    "(hour, minute, second, microsecond) of 18:45:21, 9:05 or 18:45:21.5"
    if not value:
        return 0, 0, 0, 0
    match = TIME.fullmatch(value)
    if not match:
        raise Unreadable(f'время «{value}» не распознано')
    fraction = (match['fraction'] or '0')[:6].ljust(6, '0')
    return (int(match['hour']), int(match['minute']),
        int(match['second'] or 0), int(fraction))


def parse_zone(value):
    if not value:
        return None
    if value == 'Z':
        return dt.UTC
    digits = value[1:].replace(':', '')
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return dt.timezone(-offset if value[0] == '-' else offset)


def read_date(value, label, time=None):
    try:
        return parse_date(value, time)
    except Unreadable as error:
        raise Unreadable(f'{label}: {error}')


def clip(value, limit, label, cuts, note=False):
    "value cut to limit characters; the cut told in cuts (and in the text)"
    if not isinstance(value, str) or len(value) <= limit:
        return value
    cuts.append({'field': label, 'length': len(value), 'kept': limit})
    if note:
        return value[:limit] + (f'\n[Обрезано: {len(value):,} символов, '
            f'сохранены первые {limit:,}.]').replace(',', '\u00a0')
    return value[:limit]


# -- documents ------------------------------------------------------------
def parse_orders(xml_bytes, property_names=PROPERTY_NAMES):
    "Readable orders of a mode=query answer as plain dicts, in order"
    return read_orders(xml_bytes, property_names=property_names).orders


def read_orders(body, charset=None, property_names=PROPERTY_NAMES):
    """The orders of a mode=query answer or a captured file (any schema
    version, encoding, zipped or not): an OrdersFile.  Raises Unreadable
    only when nothing of it can be read."""
    if len(body) > MAX_FILE_BYTES:
        raise Unreadable(f'файл больше {MAX_FILE_BYTES // 2**20} МБ')
    source = decode_xml(unzip_answer(body), charset)
    try:
        root = strip_namespaces(ET.fromstring(source))
    except ET.ParseError as error:
        return read_broken(source, error, property_names)
    if root.tag != 'КоммерческаяИнформация':
        raise Unreadable(f'это не файл CommerceML (корень <{root.tag}>)')
    orders, unreadable = [], []
    for doc in root.iter('Документ'):
        if text(doc, 'ХозОперация') != ORDER_OPERATION:
            continue
        try:
            orders.append(checked_order(doc, property_names))
        except Exception as error:
            unreadable.append(unreadable_order(doc, error))
    return OrdersFile(orders, unreadable,
        exported_at=safe_date(root.get('ДатаФормирования')),
        schema=root.get('ВерсияСхемы'))


def read_broken(source, error, property_names):
    """A file that is not well-formed XML: each <Документ> on its own, so
    one broken order does not take the others with it"""
    chunks = DOCUMENT.findall(source)
    if not chunks:
        raise Unreadable(f'файл не читается как XML CommerceML: {error}')
    orders, unreadable = [], []
    for chunk in chunks:
        try:
            doc = strip_namespaces(ET.fromstring(chunk))
        except ET.ParseError as chunk_error:
            unreadable.append(unreadable_order(chunk, Unreadable(
                        f'ошибка XML: {chunk_error}')))
            continue
        if text(doc, 'ХозОперация') != ORDER_OPERATION:
            continue
        try:
            orders.append(checked_order(doc, property_names))
        except Exception as doc_error:
            unreadable.append(unreadable_order(doc, doc_error))
    exported = re.search(r'ДатаФормирования\s*=\s*"([^"]*)"', source)
    schema = re.search(r'ВерсияСхемы\s*=\s*"([^"]*)"', source)
    return OrdersFile(orders, unreadable,
        exported_at=safe_date(exported and exported.group(1)),
        schema=schema and schema.group(1))


def read_document(source, property_names=PROPERTY_NAMES):
    "One order of its <Документ> XML (as unreadable_order kept it)"
    try:
        doc = strip_namespaces(ET.fromstring(source))
    except ET.ParseError as error:
        raise Unreadable(f'ошибка XML: {error}')
    try:
        return checked_order(doc, property_names)
    except Unreadable:
        raise
    except Exception as error:
        raise Unreadable(f'{type(error).__name__}: {error}')


def safe_date(value):
    try:
        return parse_date(value)
    except Unreadable:
        return None


def checked_order(doc, property_names):
    "parse_order, refused when even cut down it is too big to keep"
    order = parse_order(doc, property_names)
    size = len(json.dumps(order, default=str, ensure_ascii=False).encode())
    if size > MAX_ORDER_BYTES:
        raise Unreadable(f'заказ слишком велик: {size // 1024} КБ '
            f'(предел {MAX_ORDER_BYTES // 1024} КБ)')
    return order


def unreadable_order(doc, error):
    """What the hub keeps of an order it cannot read: its ids as far as
    they can be found, the reason and its XML (cut to a size)"""
    if isinstance(doc, str):
        source = doc
        order_id = re.search(r'<Ид>\s*([^<]*?)\s*</Ид>', doc)
        number_ = re.search(r'<Номер>\s*([^<]*?)\s*</Номер>', doc)
        order_id = order_id and order_id.group(1)
        number_ = number_ and number_.group(1)
    else:
        source = ET.tostring(doc, encoding='unicode')
        order_id, number_ = text(doc, 'Ид'), text(doc, 'Номер')
    reason = str(error) if isinstance(error, Unreadable) else (
        f'{type(error).__name__}: {error}')
    return {'site_order_id': order_id or None,
        'number': number_ or order_id or None, 'reason': reason,
        'document': source[:MAX_DOCUMENT_CHARS],
        'cut': len(source) > MAX_DOCUMENT_CHARS}


def parse_order(doc, property_names=PROPERTY_NAMES):
    reqs = requisites(doc)
    props = {key: reqs.get(name) or None
        for key, name in property_names.items()}
    site_order_id = text(doc, 'Ид')
    if not site_order_id:
        raise Unreadable('у заказа нет Ид')
    rows = doc.findall('Товары/Товар')
    lines = [parse_line(row) for row in rows if text(row, 'Ид') != DELIVERY_ROW]
    delivery_cost = sum((number(text(row, 'Сумма'), 'Сумма доставки',
                Decimal(0)) for row in rows if text(row, 'Ид') == DELIVERY_ROW),
        Decimal(0))
    cuts = []
    order = {
        'site_order_id': site_order_id, 'number': text(doc, 'Номер'),
        'date': read_date(text(doc, 'Дата'), 'Дата заказа', text(doc, 'Время')),
        'version': parse_version(text(doc, 'НомерВерсии')),
        **parse_dates(reqs, text(doc, 'DateUpdate')),
        'currency': 'RUB',
        'comment': clip(parse_comment(doc, reqs), MAX_COMMENT_CHARS,
            TEXT_LABELS['comment'], cuts, note=True),
        'customer': parse_customer(doc.find('Контрагенты/Контрагент'), props),
        'bonus_balance': number(props['bonus_balance'], 'Бонусный баланс'),
        'loyalty_level': props['loyalty_level'],
        'promo_code': props['promo_code'],
        'delivery': parse_delivery(reqs, props, delivery_cost,
            doc.find('Контрагенты/Контрагент')),
        'payment': parse_payment(reqs),
        'status': parse_status(reqs),
        'lines': lines,
        'discounts': parse_discounts(doc),
        'totals': order_totals(lines, delivery_cost, text(doc, 'Сумма')),
        }
    clip_texts(order, cuts)
    if cuts:
        order['truncated'] = cuts
    return order


def parse_version(value):
    """НомерВерсии: the site's order VERSION (a number, schema > 2.05); 1C
    writes an opaque data version (base64) that does not order"""
    return int(value) if value and value.isdigit() else None


def parse_dates(reqs, date_update=None):
    """The order's change date (requisite «Дата изменения», or DateUpdate of
    the CRM export) and when delivery was allowed"""
    return {
        'changed_at': read_date(reqs.get('Дата изменения'), 'Дата изменения')
        or read_date(date_update, 'DateUpdate'),
        'delivery_allowed_at': read_date(
            reqs.get('Дата разрешения доставки')
            or reqs.get('Дата последнего разрешения по доставке'),
            'Дата разрешения доставки'),
        }


def parse_comment(doc, reqs):
    """The customer's comment (requisite «Комментарии покупателя», the
    order's USER_DESCRIPTION) and the document's «Комментарий» (the site
    manager's COMMENTS, the customer's on simple sites): both, once"""
    customer = reqs.get('Комментарии покупателя') or ''
    site = text(doc, 'Комментарий') or ''
    if not site or site == customer:
        return customer
    if not customer:
        return site
    return f'{customer}\n\nКомментарий на сайте: {site}'


def clip_texts(value, cuts, key=None):
    "Every other text of the order cut to MAX_TEXT_CHARS"
    if isinstance(value, dict):
        for name, item in value.items():
            if name == 'comment' and key is None:
                continue
            if isinstance(item, str):
                value[name] = clip(item, MAX_TEXT_CHARS,
                    TEXT_LABELS.get(name, name), cuts)
            else:
                clip_texts(item, cuts, name)
    elif isinstance(value, list):
        for item in value:
            clip_texts(item, cuts, key)


def parse_customer(party, props):
    """Контрагент/Ид of a site user is USER_ID#LOGIN#name; the name is all
    some sites write when the name fields are left empty"""
    party_id = text(party, 'Ид', '')
    user_id, login, id_name = (
        [p.strip() for p in party_id.split('#', 2)] + ['', ''])[:3]
    contacts = [(text(c, 'Тип', ''), text(c, 'Значение'))
        for c in (party.findall('Контакты/Контакт') if party is not None
            else [])]
    names = [text(party, tag) for tag in ('Фамилия', 'Имя', 'Отчество')]
    return {'site_user_id': user_id or None, 'login': login or None,
        'full_name': props['full_name'] or text(party, 'ПолноеНаименование')
            or text(party, 'Наименование')
            or ' '.join(filter(None, names)) or id_name or None,
        'last_name': names[0], 'first_name': names[1],
        'phone': props['phone'] or next((v for t, v in contacts
                    if v and PHONE_TYPE.match(t)), None),
        'email': props['email'] or next((v for t, v in contacts
                    if v and t.lower() in EMAIL_TYPES), None)}


def address_fields(party):
    "{Тип: Значение} of the counterparty's addresses (delivery one first)"
    fields_ = {}
    for path in ('Адрес/АдресноеПоле', 'АдресРегистрации/АдресноеПоле'):
        for item in (party.findall(path) if party is not None else []):
            fields_.setdefault(text(item, 'Тип'), text(item, 'Значение'))
    return fields_


def parse_delivery(reqs, props, cost, party=None):
    fields_ = address_fields(party)
    postcode = re.search(r'\b\d{6}\b', fields_.get('Почтовый индекс') or '')
    return {'service_id': reqs.get('Метод доставки ИД') or None,
        'service': reqs.get('Способ доставки')
            or reqs.get('Метод доставки') or None,
        'terms': props['delivery_terms'], 'cost': cost,
        'postcode': props['postcode'] or (postcode and postcode.group(0)),
        'city': props['city'] or fields_.get('Город')
            or fields_.get('Населенный пункт'),
        'address': props['address'] or reqs.get('Адрес доставки')
            or text(party, 'Адрес/Представление') or None,
        'allowed': flag(reqs.get('Доставка разрешена'))}


def parse_payment(reqs):
    return {'method_id': reqs.get('Метод оплаты ИД') or None,
        'method': reqs.get('Метод оплаты') or None,
        'paid': flag(reqs.get('Заказ оплачен')),
        'paid_at': read_date(reqs.get('Дата оплаты'), 'Дата оплаты'),
        'document': reqs.get('Номер платежного документа') or None}


def parse_status(reqs):
    return {'id': reqs.get('Статуса заказа ИД') or None,
        'name': reqs.get('Статус заказа') or None,
        'changed_at': read_date(reqs.get('Дата изменения статуса'),
            'Дата изменения статуса'),
        'canceled': flag(reqs.get('Отменен')),
        'canceled_at': read_date(reqs.get('Дата отмены заказа'),
            'Дата отмены заказа'),
        'cancel_reason': reqs.get('Причина отмены') or None,
        'final': flag(reqs.get('Финальный статус'))}


def parse_line(row):
    """A goods row: Ид is the offer XML_ID = 1C GUID[#characteristic GUID].
    The price per unit is ЦенаЗаЕдиницу, or Цена (CML 3.x, 1C's
    documents), or the row's sum over its quantity.

    A row's ``Скидки/Скидка/Сумма`` is the discount of ONE unit: the sale
    module's export writes the basket row's DISCOUNT_PRICE there
    (PRICE = BASE_PRICE - DISCOUNT_PRICE, both per unit).  ``discount``
    returned is the whole row's (per unit × quantity), as the hub keeps it."""
    xml_id = text(row, 'Ид')
    if not xml_id:
        raise Unreadable('у позиции заказа нет Ид товара')
    name = text(row, 'Наименование') or xml_id
    product, _, characteristic = xml_id.partition('#')
    reqs = requisites(row)
    quantity = number(text(row, 'Количество'), f'{name}: количество')
    if not quantity or quantity <= 0:
        raise Unreadable(
            f'{name}: количество «{text(row, "Количество") or ""}»')
    price = (number(text(row, 'ЦенаЗаЕдиницу'), f'{name}: цена')
        or number(text(row, 'Цена'), f'{name}: цена'))
    amount = number(text(row, 'Сумма'), f'{name}: сумма')
    if amount is None:
        amount = (price or Decimal(0)) * quantity
    return {'xml_id': xml_id, 'product_guid': product,
        'characteristic_guid': characteristic or None,
        'name': text(row, 'Наименование'), 'article': text(row, 'Артикул')
            or reqs.get('СвойствоКорзины#ARTIKUL') or None,
        'barcode': text(row, 'Штрихкод'),
        'basket_id': reqs.get('НомерПозицииКорзины') or None,
        'quantity': quantity,
        'price': price if price is not None else amount / quantity,
        'discount': quantity * sum((number(text(d, 'Сумма'),
                        f'{name}: скидка', Decimal(0))
                    for d in row.findall('Скидки/Скидка')), Decimal(0)),
        'amount': amount}


def parse_discounts(doc):
    return [{'name': text(d, 'Наименование'),
        'amount': number(text(d, 'Сумма'), 'Скидка на заказ', Decimal(0))}
        for d in doc.findall('Скидки/Скидка')]


def order_totals(lines, delivery_cost, total):
    goods = sum((line['amount'] for line in lines), Decimal(0))
    return {'goods': goods,
        'discount': sum((line['discount'] for line in lines), Decimal(0)),
        'delivery': delivery_cost,
        'total': number(total, 'Сумма заказа', goods + delivery_cost)}


def parse_answer(body, charset=None):
    """Text answer of 1c_exchange.php: (first word lower-cased, messages);
    windows-1251 as the Content-Type says, a BOM before it ignored.

    The old-protocol sale endpoint appends errors to the first line
    ('success Заказ №… не найден.'), so its remainder is a message too."""
    lines = [l.strip() for l in
        decode(body, charset).replace('\r', '').split('\n')]
    head, _, rest = lines[0].partition(' ')
    return head.lower(), [m for m in [rest.strip()] + lines[1:] if m]


def order_update_xml(update):
    """A 1C → site order file (A.8) for one order.

    update: number (site order number) and any of id_1c, status_id,
    canceled, paid_number, paid_date, shipped_number, tracking_number.
    """
    root = ET.Element('КоммерческаяИнформация', {'ВерсияСхемы': '2.05',
        'ДатаФормирования': dt.datetime.now().strftime('%Y-%m-%dT%H:%M:%S')})
    doc = ET.SubElement(root, 'Документ')
    for tag, value in (('Ид', update['number']), ('Номер', update['number']),
            ('ХозОперация', ORDER_OPERATION), ('Роль', 'Продавец')):
        ET.SubElement(doc, tag).text = str(value)
    box = ET.SubElement(doc, 'ЗначенияРеквизитов')
    for name, value in update_requisites(update):
        item = ET.SubElement(box, 'ЗначениеРеквизита')
        ET.SubElement(item, 'Наименование').text = name
        ET.SubElement(item, 'Значение').text = value
    return ET.tostring(root, encoding='utf-8', xml_declaration=True)


def update_requisites(update):
    def date(value):
        return value.strftime('%Y-%m-%d') if hasattr(value, 'strftime') \
            else str(value)
    pairs = [('Номер по 1С', update.get('id_1c')),
        ('Статуса заказа ИД', update.get('status_id')),
        ('Номер оплаты по 1С', update.get('paid_number')),
        ('Дата оплаты по 1С', update.get('paid_date')
            and date(update['paid_date'])),
        ('Номер отгрузки по 1С', update.get('shipped_number')),
        ('Идентификатор отправления', update.get('tracking_number'))]
    if update.get('canceled'):
        pairs.append(('Отменен', 'true'))
    if update.get('shipped'):
        pairs.append(('Отгружен', 'true'))
    return [(name, str(value)) for name, value in pairs if value]


def update_filename(key=None):
    "UT11 names order files orders-<uuid>_<n>.xml; a stable key → same name"
    name = uuid.uuid5(uuid.NAMESPACE_URL, key) if key else uuid.uuid4()
    return f'orders-{name}_1.xml'
