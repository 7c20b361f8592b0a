"""CommerceML order documents of the 1C-Bitrix site (bitrix_site.md A.4–A.8).

Pure functions of bytes and plain values: no HTTP, no Tryton.  Amounts and
quantities are Decimal; dates are the site's local time (naive).
"""
import datetime as dt
import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal, InvalidOperation

ORDER_OPERATION = 'Заказ товара'
DELIVERY_ROW = 'ORDER_DELIVERY'
# order properties are exported by their names, which each site configures
PROPERTY_NAMES = {
    'full_name': 'Ф.И.О.', 'email': 'E-Mail', 'phone': 'Телефон',
    'postcode': 'Индекс', 'city': 'Город', 'address': 'Адрес доставки',
    'delivery_terms': 'Срок доставки', 'bonus_balance': 'Бонусный баланс',
    'loyalty_level': 'Уровень лояльности', 'promo_code': 'Промокод',
    }


def decimal(value, default=None):
    "CommerceML number: '1 234,50' or '1234.5000'"
    if value in (None, ''):
        return default
    try:
        return Decimal(str(value).replace('\u00a0', '').replace(' ', '')
            .replace(',', '.'))
    except InvalidOperation:
        return default


def strip_namespaces(root):
    "CML 2 comes with or without urn:1C.ru:commerceml_2, CML 3.1 with _3"
    for el in root.iter():
        if isinstance(el.tag, str) and '}' in el.tag:
            el.tag = el.tag.split('}', 1)[1]
    return root


def text(el, path, default=None):
    found = el.find(path) if el is not None else None
    if found is None or found.text is None:
        return default
    return found.text.strip()


def requisites(el):
    return {text(r, 'Наименование'): text(r, 'Значение', '')
        for r in el.findall('ЗначенияРеквизитов/ЗначениеРеквизита')}


def flag(value):
    return (value or '').strip().lower() == 'true'


def unzip_answer(body):
    "mode=query answers a zip (PK…) when the site compresses the export"
    if body[:2] != b'PK':
        return body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        name = next(n for n in archive.namelist() if n.endswith('.xml'))
        return archive.read(name)


def parse_orders(xml_bytes, property_names=PROPERTY_NAMES):
    "Orders of a mode=query answer as plain dicts, in document order"
    root = strip_namespaces(ET.fromstring(unzip_answer(xml_bytes)))
    return [parse_order(doc, property_names) for doc in root.iter('Документ')
        if text(doc, 'ХозОперация') == ORDER_OPERATION]


def parse_order(doc, property_names=PROPERTY_NAMES):
    reqs = requisites(doc)
    props = {key: reqs.get(name) or None
        for key, name in property_names.items()}
    rows = doc.findall('Товары/Товар')
    lines = [parse_line(row) for row in rows if text(row, 'Ид') != DELIVERY_ROW]
    delivery_cost = sum((decimal(text(row, 'Сумма'), Decimal(0))
        for row in rows if text(row, 'Ид') == DELIVERY_ROW), Decimal(0))
    return {
        'site_order_id': text(doc, 'Ид'), 'number': text(doc, 'Номер'),
        'date': parse_datetime(text(doc, 'Дата'), text(doc, 'Время')),
        'currency': 'RUB', 'comment': text(doc, 'Комментарий') or '',
        'customer': parse_customer(doc.find('Контрагенты/Контрагент'), props),
        'bonus_balance': decimal(props['bonus_balance']),
        'loyalty_level': props['loyalty_level'],
        'promo_code': props['promo_code'],
        'delivery': parse_delivery(reqs, props, delivery_cost),
        'payment': parse_payment(reqs),
        'status': parse_status(reqs),
        'lines': lines,
        'discounts': parse_discounts(doc),
        'totals': order_totals(lines, delivery_cost, text(doc, 'Сумма')),
        }


def parse_datetime(date, time=None):
    if not date:
        return None
    moment = dt.datetime.strptime(date[:10], '%Y-%m-%d')
    if time:
        clock = dt.datetime.strptime(time[:8], '%H:%M:%S').time()
        moment = dt.datetime.combine(moment.date(), clock)
    return moment


def parse_site_datetime(value):
    "Requisite dates are written as 11.02.2021 18:45:21"
    if not value:
        return None
    return dt.datetime.strptime(value.strip()[:19], '%d.%m.%Y %H:%M:%S')


def parse_customer(party, props):
    "Контрагент/Ид of a site user is USER_ID#LOGIN#name"
    party_id = text(party, 'Ид', '')
    user_id, login = (party_id.split('#') + ['', ''])[:2]
    contacts = {text(c, 'Тип'): text(c, 'Значение')
        for c in (party.findall('Контакты/Контакт') if party is not None
            else [])}
    return {'site_user_id': user_id or None, 'login': login or None,
        'full_name': props['full_name'] or text(party, 'ПолноеНаименование')
            or text(party, 'Наименование'),
        'last_name': text(party, 'Фамилия'), 'first_name': text(party, 'Имя'),
        'phone': props['phone'] or contacts.get('Телефон рабочий')
            or contacts.get('Телефон мобильный'),
        'email': props['email'] or contacts.get('Почта')}


def parse_delivery(reqs, props, cost):
    return {'service_id': reqs.get('Метод доставки ИД') or None,
        'service': reqs.get('Способ доставки') or None,
        'terms': props['delivery_terms'], 'cost': cost,
        'postcode': props['postcode'], 'city': props['city'],
        'address': props['address'] or reqs.get('Адрес доставки') or None,
        'allowed': flag(reqs.get('Доставка разрешена'))}


def parse_payment(reqs):
    return {'method_id': reqs.get('Метод оплаты ИД') or None,
        'method': reqs.get('Метод оплаты') or None,
        'paid': flag(reqs.get('Заказ оплачен')),
        'paid_at': parse_site_datetime(reqs.get('Дата оплаты')),
        'document': reqs.get('Номер платежного документа') or None}


def parse_status(reqs):
    return {'id': reqs.get('Статуса заказа ИД') or None,
        'name': reqs.get('Статус заказа') or None,
        'changed_at': parse_site_datetime(reqs.get('Дата изменения статуса')),
        'canceled': flag(reqs.get('Отменен')),
        'cancel_reason': reqs.get('Причина отмены') or None,
        'final': flag(reqs.get('Финальный статус'))}


def parse_line(row):
    "A goods row: Ид is the offer XML_ID = 1C GUID[#characteristic GUID]"
    xml_id = text(row, 'Ид')
    product, _, characteristic = xml_id.partition('#')
    reqs = requisites(row)
    return {'xml_id': xml_id, 'product_guid': product,
        'characteristic_guid': characteristic or None,
        'name': text(row, 'Наименование'), 'article': text(row, 'Артикул'),
        'basket_id': reqs.get('НомерПозицииКорзины') or None,
        'quantity': decimal(text(row, 'Количество'), Decimal(0)),
        'price': decimal(text(row, 'ЦенаЗаЕдиницу'), Decimal(0)),
        'discount': sum((decimal(text(d, 'Сумма'), Decimal(0))
            for d in row.findall('Скидки/Скидка')), Decimal(0)),
        'amount': decimal(text(row, 'Сумма'), Decimal(0))}


def parse_discounts(doc):
    return [{'name': text(d, 'Наименование'),
        'amount': decimal(text(d, 'Сумма'), Decimal(0))}
        for d in doc.findall('Скидки/Скидка')]


def order_totals(lines, delivery_cost, total):
    goods = sum((line['amount'] for line in lines), Decimal(0))
    return {'goods': goods,
        'discount': sum((line['discount'] for line in lines), Decimal(0)),
        'delivery': delivery_cost,
        'total': decimal(total, goods + delivery_cost)}


def parse_answer(body):
    """Text answer of 1c_exchange.php: (first word lower-cased, messages).

    The old-protocol sale endpoint appends errors to the first line
    ('success Заказ №… не найден.'), so its remainder is a message too."""
    lines = [l.strip() for l in
        body.decode('cp1251', 'replace').replace('\r', '').split('\n')]
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
