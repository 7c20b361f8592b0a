"""1C-Bitrix site simulator: CommerceML exchange, sale.* REST, cart rules."""
import io
import unittest
import uuid
import zipfile
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

import requests

from sandbox.bitrix_site import (PRICE_PATH, BitrixSiteSimulator,
    price_basket, seed_rules)
from sandbox.clock import MSK
from sandbox.control import SandboxControl

NS = 'urn:1C.ru:commerceml_2'
MACHINE = '5f1b2c3d-1001-11ee-be56-0242ac120002'
LAVAZZA = '5f1b2c3d-2001-11ee-be56-0242ac120002'
DESCALER = '5f1b2c3d-3001-11ee-be56-0242ac120002'
SIM = None


def setUpModule():
    global SIM
    SIM = BitrixSiteSimulator()
    SIM.start()


def tearDownModule():
    SIM.stop()


class Exchange:
    "What 1C (or the hub posing as 1C) does against 1c_exchange.php"

    def __init__(self, url, login, password, type_):
        self.url = url
        self.type = type_
        self.http = requests.Session()
        self.http.auth = (login, password)
        self.sessid = None

    def get(self, mode, method='GET', data=None, **params):
        params = {'type': self.type, 'mode': mode, **params}
        if self.sessid:
            params['sessid'] = self.sessid
        response = self.http.request(method, self.url, params=params,
            data=data, timeout=5)
        response.raise_for_status()
        return response

    def lines(self, mode, **kwargs):
        return self.get(mode, **kwargs).content.decode('cp1251').split('\n')

    def handshake(self):
        lines = self.lines('checkauth')
        assert lines[0] == 'success', lines
        # like UT11: line 2/3 = cookie, line 4 = sessid (requests keeps the
        # cookie from Set-Cookie too; set it explicitly as 1C does)
        self.http.cookies.set(lines[1], lines[2])
        self.sessid = lines[3][len('sessid='):]
        return lines

    def upload(self, name, data, limit):
        for start in range(0, len(data), limit):
            answer = self.lines('file', method='POST', filename=name,
                data=data[start:start + limit])
            assert answer[0] == 'success', answer
        return answer

    def import_until_done(self, name):
        answers = []
        while True:
            answer = self.lines('import', filename=name)
            answers.append(answer[0])
            if answer[0] != 'progress':
                return answers, answer


def el(parent, tag, text=None, **attrs):
    node = ET.SubElement(parent, f'{{{NS}}}{tag}', attrs)
    if text is not None:
        node.text = str(text)
    return node


def cml_root():
    return ET.Element(f'{{{NS}}}КоммерческаяИнформация',
        {'ВерсияСхемы': '2.07', 'ДатаФормирования': '2024-04-07T13:16:06'})


def import_xml():
    root = cml_root()
    classifier = el(root, 'Классификатор')
    el(classifier, 'Ид', 'cls-1')
    groups = el(el(classifier, 'Группы'), 'Группа')
    el(groups, 'Ид', 'grp-tea')
    el(groups, 'Наименование', 'Чай')
    catalog = el(root, 'Каталог', СодержитТолькоИзменения='false')
    el(catalog, 'Ид', 'cat-1')
    goods = el(catalog, 'Товары')
    for guid, name in (('tea-1', 'Чай Ahmad Earl Grey, 100 пак.'),
            (MACHINE, 'Кофемашина De\'Longhi Magnifica S')):
        item = el(goods, 'Товар')
        el(item, 'Ид', guid)
        el(item, 'Артикул', guid.upper())
        el(item, 'Наименование', name)
        el(item, 'БазоваяЕдиница', 'шт', Код='796 ',
            НаименованиеПолное='Штука', МеждународноеСокращение='PCE')
        el(el(item, 'Группы'), 'Ид', 'grp-tea')
        tax = el(el(item, 'СтавкиНалогов'), 'СтавкаНалога')
        el(tax, 'Наименование', 'НДС')
        el(tax, 'Ставка', '20')
    return ET.tostring(root, encoding='utf-8', xml_declaration=True)


def offers_xml():
    root = cml_root()
    package = el(root, 'ПакетПредложений', СодержитТолькоИзменения='false')
    price_type = el(el(package, 'ТипыЦен'), 'ТипЦены')
    el(price_type, 'Ид', 'pt-base')
    el(price_type, 'Наименование', 'BASE')
    el(price_type, 'Валюта', 'RUB')
    stores = el(package, 'Склады')
    for guid, name in (('wh-msk', 'Москва'), ('wh-spb', 'Санкт-Петербург')):
        store = el(stores, 'Склад')
        el(store, 'Ид', guid)
        el(store, 'Наименование', name)
    offer = el(el(package, 'Предложения'), 'Предложение')
    el(offer, 'Ид', 'tea-1')
    el(offer, 'Наименование', 'Чай Ahmad Earl Grey, 100 пак.')
    price = el(el(offer, 'Цены'), 'Цена')
    el(price, 'ИдТипаЦены', 'pt-base')
    el(price, 'ЦенаЗаЕдиницу', '349,90')
    el(price, 'Валюта', 'RUB')
    el(offer, 'Количество', '377')
    el(offer, 'Склад', ИдСклада='wh-msk', КоличествоНаСкладе='376')
    el(offer, 'Склад', ИдСклада='wh-spb', КоличествоНаСкладе='1')
    return ET.tostring(root, encoding='utf-8', xml_declaration=True)


def order_update_xml(number, **requisites):
    "What UT11 writes back for an order (no namespace, CML 2.05)"
    root = ET.Element('КоммерческаяИнформация', {'ВерсияСхемы': '2.05'})
    doc = ET.SubElement(root, 'Документ')
    for tag, value in (('Ид', number), ('Номер', number),
            ('ХозОперация', 'Заказ товара')):
        ET.SubElement(doc, tag).text = value
    box = ET.SubElement(doc, 'ЗначенияРеквизитов')
    for name, value in requisites.items():
        item = ET.SubElement(box, 'ЗначениеРеквизита')
        ET.SubElement(item, 'Наименование').text = name.replace('_', ' ')
        ET.SubElement(item, 'Значение').text = value
    return ET.tostring(root, encoding='utf-8', xml_declaration=True)


def parse_orders(response):
    body = response.content
    assert body.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    return ET.fromstring(body)


def requisites_of(node):
    return {r.findtext('Наименование'): r.findtext('Значение')
        for r in node.findall('ЗначенияРеквизитов/ЗначениеРеквизита')}


class SiteCase(unittest.TestCase):
    def setUp(self):
        SIM.reset()
        self.control = SandboxControl(SIM.base_url)
        self.creds = self.control.action('credentials')

    def exchange(self, type_):
        return Exchange(self.creds['exchange_url'], self.creds['login'],
            self.creds['password'], type_)


class HandshakeTest(SiteCase):
    def test_checkauth_answers(self):
        catalog = self.exchange('catalog')
        response = catalog.get('checkauth')
        self.assertEqual(response.headers['Content-Type'],
            'text/html; charset=windows-1251')
        lines = response.content.decode('cp1251').split('\n')
        self.assertEqual((lines[0], lines[1], len(lines)),
            ('success', 'PHPSESSID', 5))
        self.assertTrue(lines[3].startswith('sessid='))
        self.assertTrue(lines[4].startswith('timestamp='))
        self.assertEqual(response.cookies['PHPSESSID'], lines[2])
        self.assertEqual(len(self.exchange('sale').lines('checkauth')), 4)

    def test_bad_password_and_unknown_type(self):
        bad = Exchange(self.creds['exchange_url'], self.creds['login'], 'x',
            'sale')
        lines = bad.lines('checkauth')
        self.assertEqual(lines[0], 'failure')
        self.assertIn('Ошибка авторизации', lines[1])
        self.assertEqual(bad.lines('init')[0], 'failure')
        other = self.exchange('listen_later')
        self.assertEqual(other.lines('init'),
            ['failure', 'Unknown command type.'])

    def test_init_is_two_lines(self):
        catalog = self.exchange('catalog')
        catalog.handshake()
        self.assertEqual(catalog.lines('init'), ['zip=yes', 'file_limit=204800'])
        self.control.action('exchange_settings', zip=False, file_limit=1024)
        self.assertEqual(catalog.lines('init'), ['zip=no', 'file_limit=1024'])
        sale = self.exchange('sale')
        sale.handshake()
        lines = sale.lines('init', version='3.1')
        self.assertEqual(lines[0], 'zip=no')
        self.assertEqual(lines[2:], [f'sessid={sale.sessid}', 'version=2.09'])

    def test_strict_source_check_after_first_sessid(self):
        sale = self.exchange('sale')
        sale.handshake()
        plain = self.exchange('sale')   # Basic auth only, no sessid
        self.assertTrue(plain.lines('init')[0].startswith('zip='))
        sale.lines('init')              # a valid sessid switches checking on
        self.assertEqual(plain.lines('init')[0], 'failure')
        self.assertIn('Ошибка проверки источника запроса', plain.lines('init')[1])
        self.assertTrue(sale.lines('init')[0].startswith('zip='))


class CatalogImportTest(SiteCase):
    def test_zip_upload_in_chunks_then_import(self):
        self.control.action('exchange_settings', file_limit=1024)
        catalog = self.exchange('catalog')
        catalog.handshake()
        self.assertEqual(catalog.lines('init')[1], 'file_limit=1024')
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as zf:
            zf.writestr('import0_1.xml', import_xml())
            zf.writestr('offers0_1.xml', offers_xml())
            zf.writestr('import_files/ab/pic.jpg', b'\xff\xd8' * 900)
        data = buffer.getvalue()
        self.assertGreater(len(data), 1024)
        catalog.upload('import.zip', data, 1024)
        answers, last = catalog.import_until_done('import0_1.xml')
        self.assertEqual(answers, ['progress', 'progress', 'progress',
            'success'])   # unzip + 2 steps
        self.assertIn('товаров: 2', last[1])
        answers, _ = catalog.import_until_done('offers0_1.xml')
        self.assertEqual(answers[-1], 'success')
        state = self.control.action('catalog')
        tea = state['products']['tea-1']
        self.assertEqual((tea['unit'], tea['vat_rate'], tea['sections']),
            ('796', 20.0, ['grp-tea']))
        self.assertEqual(state['sections']['grp-tea']['name'], 'Чай')
        offer = state['offers']['tea-1']
        self.assertEqual(offer['prices']['pt-base']['price'], 349.9)
        self.assertEqual((offer['quantity'], offer['stores']),
            (377, {'wh-msk': 376, 'wh-spb': 1}))
        # full upload: seeded products missing from the file are deactivated
        self.assertFalse(state['products'][LAVAZZA]['active'])
        self.assertTrue(state['products'][MACHINE]['active'])
        self.assertEqual(catalog.lines('complete')[0], 'success')

    def test_file_limits_and_names(self):
        self.control.action('exchange_settings', file_limit=10)
        catalog = self.exchange('catalog')
        catalog.handshake()
        self.assertEqual(catalog.lines('file', method='POST',
            filename='import0_1.xml', data=b'x' * 11)[0], 'failure')
        self.assertEqual(catalog.lines('file', method='POST',
            filename='shell.php', data=b'<?php')[0], 'failure')
        self.assertEqual(catalog.lines('import', filename='nothing.xml')[0],
            'failure')


class OrderExchangeTest(SiteCase):
    def place(self, **kwargs):
        order = {'lines': [{'product_xml_id': MACHINE, 'quantity': 1},
            {'product_xml_id': DESCALER, 'quantity': 2}],
            'promo_code': 'ВЕСНА10', 'bonus_balance': 1250, 'bonus_spent': 500,
            'loyalty_level': 'Золотой', 'delivery_id': 4, 'delivery_cost': 490,
            'delivery_terms': '1–2 дня', 'pay_system_id': 2}
        order.update(kwargs)
        return self.control.action('place_order', **order)

    def test_query_document_structure(self):
        placed = self.place(comment='Позвонить за час')
        sale = self.exchange('sale')
        sale.handshake()
        response = sale.get('query')
        self.assertEqual(response.headers['Content-Type'],
            'application/xml; charset=windows-1251')
        root = parse_orders(response)
        self.assertEqual(root.tag, 'КоммерческаяИнформация')
        self.assertEqual(root.get('ВерсияСхемы'), '2.05')
        doc = root.find('Документ')
        number = placed['account_number']
        self.assertEqual((doc.findtext('Ид'), doc.findtext('Номер'),
            doc.findtext('ХозОперация'), doc.findtext('Роль')),
            (number, number, 'Заказ товара', 'Продавец'))
        self.assertEqual(doc.findtext('Сумма'), '%.4f' % placed['price'])
        party = doc.find('Контрагенты/Контрагент')
        self.assertEqual(party.findtext('Ид'), '2#ivanova.m#Иванова Мария')
        self.assertEqual(party.findtext('Роль'), 'Покупатель')
        goods = doc.findall('Товары/Товар')
        self.assertEqual([g.findtext('Ид') for g in goods],
            [MACHINE, DESCALER, 'ORDER_DELIVERY'])
        machine = goods[0]
        # −7 % for coffee machines (priority 2) then −10 % by coupon
        self.assertEqual(machine.findtext('ЦенаЗаЕдиницу'), '35982.6300')
        self.assertEqual(machine.find('БазоваяЕдиница').get('Код'), '796')
        self.assertEqual(requisites_of(machine)['ВидНоменклатуры'], 'Товар')
        self.assertEqual(requisites_of(goods[2])['ВидНоменклатуры'], 'Услуга')
        self.assertEqual(goods[2].findtext('Сумма'), '490.00')
        reqs = requisites_of(doc)
        self.assertEqual(reqs['Метод оплаты ИД'], '2')
        self.assertEqual(reqs['Метод доставки ИД'], '4')
        self.assertEqual(reqs['Статуса заказа ИД'], 'N')
        self.assertEqual(reqs['Статус заказа'], '[N] Принят, ожидается оплата')
        self.assertEqual(reqs['Заказ оплачен'], 'false')
        self.assertEqual(reqs['Промокод'], 'ВЕСНА10')
        self.assertEqual(reqs['Бонусный баланс'], '1250')
        self.assertEqual(reqs['Уровень лояльности'], 'Золотой')
        self.assertEqual(reqs['Срок доставки'], '1–2 дня')
        self.assertEqual(reqs['Комментарии покупателя'], 'Позвонить за час')
        self.assertEqual(len(doc.findall('Скидки/Скидка')), 2)

    def test_success_commits_and_changes_reexport(self):
        first = self.place()
        sale = self.exchange('sale')
        sale.handshake()
        self.assertEqual(len(parse_orders(sale.get('query')).findall(
            'Документ')), 1)
        second = self.place(promo_code=None)   # arrives during the export
        self.assertEqual(sale.lines('success'), ['success'])
        numbers = [d.findtext('Номер') for d in
            parse_orders(sale.get('query')).findall('Документ')]
        self.assertEqual(numbers, [second['account_number']])
        sale.lines('success')
        self.assertIsNone(parse_orders(sale.get('query')).find('Документ'))
        self.control.action('edit_order', id=first['id'], status_id='DS')
        numbers = [d.findtext('Номер') for d in
            parse_orders(sale.get('query')).findall('Документ')]
        self.assertEqual(numbers, [first['account_number']])
        # success from another session than the query's is refused
        other = self.exchange('sale')
        other.handshake()
        self.assertEqual(other.lines('success'), ['error'])

    def test_order_update_from_1c(self):
        placed = self.place()
        sale = self.exchange('sale')
        sale.handshake()
        parse_orders(sale.get('query'))
        sale.lines('success')
        self.assertEqual(sale.lines('init'), ['zip=yes', 'file_limit=204800'])
        name = f'orders-{uuid.uuid4()}_1.xml'
        data = order_update_xml(placed['account_number'], **{
            'Номер_по_1С': 'ЗК-000123', 'Статуса_заказа_ИД': 'P',
            'Номер_оплаты_по_1С': 'ПП-77', 'Дата_оплаты_по_1С': '2024-04-08',
            'Идентификатор_отправления': '10012345678'})
        self.assertEqual(sale.lines('file', method='POST', filename=name,
            data=data), ['success'])
        self.assertEqual(sale.lines('import', filename=name)[0], 'success')
        order = self.control.action('orders')['orders'][0]
        self.assertEqual((order['id1c'], order['status_id'], order['payed'],
            order['delivery']['tracking_number']),
            ('ЗК-000123', 'P', 'Y', '10012345678'))
        # a change that came from 1C is not exported back
        self.assertIsNone(parse_orders(sale.get('query')).find('Документ'))
        bad = order_update_xml('999999', Отменен='true')
        answer = sale.lines('file', method='POST', filename='orders-x_1.xml',
            data=bad)
        self.assertTrue(answer[0].startswith('success'))
        self.assertIn('999999', answer[0])

    def test_info(self):
        sale = self.exchange('sale')
        sale.handshake()
        root = parse_orders(sale.get('info'))
        ids = [e.findtext('Ид') for e in root.findall('Cтатусы/Элемент')]
        self.assertEqual(ids[0], 'N')
        self.assertTrue(root.findall('ПлатежныеСистемы/Элемент'))


class AnswerEncodingTest(SiteCase):
    "The answer_encoding action: byte-order marks and the exchange's charset"
    BOM = b'\xef\xbb\xbf'
    place = OrderExchangeTest.place

    def test_bom_on_every_answer(self):
        self.control.action('answer_encoding', bom=True)
        sale = self.exchange('sale')
        raw = sale.get('checkauth').content
        self.assertTrue(raw.startswith(self.BOM + b'success\n'), raw)
        rest = requests.post(self.creds['rest_url'] + 'sale.status.list',
            timeout=5)
        self.assertTrue(rest.content.startswith(self.BOM + b'{'))
        self.assertEqual(rest.headers['Content-Length'],
            str(len(rest.content)))
        self.control.action('answer_encoding', bom=False)
        self.assertTrue(sale.get('checkauth').content.startswith(b'success'))

    def test_bom_on_some_paths(self):
        self.control.action('answer_encoding', bom=True, bom_paths='/rest/*')
        self.assertTrue(self.exchange('sale').get('checkauth').content
            .startswith(b'success'))
        self.assertTrue(requests.post(self.creds['rest_url']
                + 'sale.status.list', timeout=5).content.startswith(self.BOM))

    def test_bom_before_the_orders_document(self):
        self.place()
        sale = self.exchange('sale')
        sale.handshake()
        self.control.action('answer_encoding', bom=True)
        raw = sale.get('query').content
        self.assertTrue(raw.startswith(self.BOM + b'<?xml version="1.0" '
            b'encoding="windows-1251"?>'))
        self.assertIn('Иванова'.encode('cp1251'), raw)

    def test_utf8_exchange(self):
        self.place()
        answer = self.control.action('answer_encoding', encoding='UTF-8')
        self.assertEqual(answer['encoding'], 'utf-8')
        sale = self.exchange('sale')
        response = sale.get('checkauth')
        self.assertEqual(response.headers['Content-Type'],
            'text/html; charset=utf-8')
        sale.handshake()
        response = sale.get('query')
        self.assertEqual(response.headers['Content-Type'],
            'application/xml; charset=utf-8')
        self.assertTrue(response.content.startswith(
            b'<?xml version="1.0" encoding="utf-8"?>'))
        self.assertIn('Иванова'.encode('utf-8'), response.content)
        with self.assertRaises(requests.HTTPError):
            self.control.action('answer_encoding', encoding='koi8-r')


class RestTest(SiteCase):
    def call(self, method, payload=None, status=200):
        response = requests.post(self.creds['rest_url'] + method, timeout=5,
            json=payload or {})
        self.assertEqual(response.status_code, status, response.text)
        return response.json()

    def test_sale_order_methods(self):
        placed = self.control.action('place_order',
            lines=[{'product_xml_id': LAVAZZA, 'quantity': 3}],
            bonus_spent=300, pay_system_id=4, delivery_id=2, delivery_cost=0)
        body = self.call('sale.order.list', {'filter': {'statusId': 'N'},
            'select': ['id', 'accountNumber', 'price', 'updated1c']})
        self.assertEqual(body['total'], 1)
        # ids come as JSON strings, as the real site's REST sends them
        self.assertEqual(body['result']['orders'], [{'id': str(placed['id']),
            'accountNumber': placed['account_number'],
            'price': placed['price'], 'updated1c': 'N'}])
        order = self.call('sale.order.get', {'id': placed['id']})['result']['order']
        self.assertEqual(order['basketItems'][0]['productXmlId'], LAVAZZA)
        self.assertEqual([p['paySystemId'] for p in order['payments']],
            ['3', '4'])
        self.assertEqual(order['payments'][0]['paid'], 'Y')   # bonuses
        codes = {v['code']: v['value'] for v in order['propertyValues']}
        self.assertEqual(codes['LOYALTY_LEVEL'], 'Серебряный')
        self.call('sale.order.update', {'id': placed['id'],
            'fields': {'statusId': 'P'}})
        payment = order['payments'][1]['id']
        paid = self.call('sale.payment.update', {'id': payment,
            'fields': {'paid': 'Y'}})['result']['payment']
        self.assertEqual(paid['paid'], 'Y')
        order = self.call('sale.order.get', {'id': placed['id']})['result']['order']
        self.assertEqual((order['statusId'], order['payed']), ('P', 'Y'))
        body = self.call('sale.order.get', {'id': 1}, status=400)
        self.assertEqual(set(body), {'error', 'error_description'})

    def test_basket_item_methods(self):
        placed = self.control.action('place_order', delivery_cost=350,
            promo_code=None, lines=[{'product_xml_id': LAVAZZA, 'quantity': 1},
                {'product_xml_id': DESCALER, 'quantity': 1}])
        coffee, descaler = (l['basket_id'] for l in placed['lines'])
        item = self.call('sale.basketitem.update', {'id': coffee, 'fields': {
            'quantity': 3, 'basePrice': 1899, 'price': 1709.1,
            'discountPrice': 189.9}})['result']['basketItem']
        self.assertEqual((item['quantity'], item['price'], item['customPrice']),
            (3, 1709.1, 'Y'))
        added = self.call('sale.basketitem.add', {'fields': {
            'orderId': placed['id'], 'productId': 0, 'currency': 'RUB',
            'quantity': 2, 'name': 'Кофемашина', 'customPrice': 'Y',
            'basePrice': 100, 'price': 90, 'discountPrice': 10,
            'xmlId': 'hub-line-7', 'productXmlId': MACHINE}})
        self.assertEqual(added['result']['basketItem']['xmlId'], 'hub-line-7')
        self.assertEqual(item['id'], str(coffee))
        self.assertIsInstance(added['result']['basketItem']['id'], str)
        self.assertIs(self.call('sale.basketitem.delete',
            {'id': descaler})['result'], True)
        order = self.call('sale.order.get', {'id': placed['id']})['result']['order']
        self.assertEqual([(i['productXmlId'], i['quantity'])
            for i in order['basketItems']], [(LAVAZZA, 3), (MACHINE, 2)])
        self.assertEqual(order['price'], 5657.3)   # 1709.1 × 3 + 90 × 2 + 350
        self.assertEqual(order['updated1c'], 'N')     # exported again
        bad = self.call('sale.basketitem.add', {'fields': {
            'orderId': placed['id'], 'productId': 0, 'currency': 'USD',
            'quantity': 1}}, status=400)
        self.assertEqual(bad['error'], '200140400011')
        self.call('sale.basketitem.update', {'id': descaler,
            'fields': {'quantity': 1}}, status=400)

    def test_auth_and_faults(self):
        response = requests.get(SIM.base_url + '/rest/1/nope/sale.order.list',
            timeout=5)
        self.assertEqual(response.json()['error'], 'NO_AUTH_FOUND')
        self.control.fault('error', '/rest/*', count=1)
        self.assertEqual(self.call('sale.status.list', status=500)['error'],
            'INTERNAL_SERVER_ERROR')
        statuses = self.call('sale.status.list')['result']['statuses']
        self.assertEqual(statuses[0]['id'], 'N')
        self.control.fault('error', '/bitrix/admin/*', count=1, status=503)
        sale = self.exchange('sale')
        self.assertEqual(sale.http.get(self.creds['exchange_url'], params={
            'type': 'sale', 'mode': 'checkauth'}, timeout=5).status_code, 503)
        self.assertEqual(sale.lines('checkauth')[0], 'success')


class CartRulesTest(unittest.TestCase):
    "The pure pricing function, on a fixed day"
    today = datetime(2026, 3, 2, 10, tzinfo=MSK)

    def setUp(self):
        self.rules, self.coupons = seed_rules(self.today)
        self.basket = [
            {'product_xml_id': MACHINE, 'name': 'Кофемашина', 'price': 42990,
                'quantity': 1,
                'section_xml_ids': ['a1f0c1e2-0001-11ee-8c90-0242ac120002']},
            {'product_xml_id': LAVAZZA, 'name': 'Lavazza', 'price': 1899,
                'quantity': 2,
                'section_xml_ids': ['a1f0c1e2-0002-11ee-8c90-0242ac120002']}]

    def price(self, basket=None, coupon=None, moment=None, **kwargs):
        return price_basket(basket or self.basket, self.rules, self.coupons,
            coupon, moment=moment or self.today, **kwargs)

    def test_section_rule_without_coupon(self):
        priced = self.price()
        self.assertEqual([l['price'] for l in priced['lines']], [39980.7, 1899])
        self.assertEqual(priced['discounts'][0]['name'],
            'Скидка 7% на кофемашины')
        self.assertIsNone(priced['coupon'])

    def test_percent_coupon_and_min_amount(self):
        priced = self.price(coupon='весна10')
        self.assertEqual(priced['coupon']['status'], 'applied')
        self.assertEqual(priced['lines'][1]['price'], 1709.1)
        small = [dict(self.basket[1], quantity=1)]
        priced = self.price(small, coupon='SL-7QK2-M9XD')   # 500 from 5000
        self.assertEqual(priced['coupon']['status'], 'not_applied')
        priced = self.price(coupon='SL-7QK2-M9XD')
        self.assertEqual(priced['discounts'][-1]['amount'], 500)
        self.assertEqual(priced['total'], priced['base_total'] - 500 - 3009.3)

    def test_single_row_coupon_and_invalid_ones(self):
        basket = self.basket + [dict(self.basket[1], quantity=1)]
        priced = self.price(basket, coupon='LAVAZZA300')
        self.assertEqual([l['discount'] for l in priced['lines']], [3009.3,
            300, 0])
        self.assertEqual(self.price(coupon='ЛЕТО2023')['coupon']['status'],
            'freeze')   # expired
        self.assertEqual(self.price(coupon='VIP-PETROVA')['coupon']['status'],
            'freeze')   # MAX_USE reached
        self.assertEqual(self.price(coupon='NOPE')['coupon']['status'],
            'not_found')
        later = self.today + timedelta(days=40)
        self.assertEqual(self.price(coupon='SL-7QK2-M9XD', moment=later)
            ['coupon']['status'], 'freeze')

    def test_one_time_coupon_is_spent_by_an_order(self):
        control = SandboxControl(SIM.base_url)
        SIM.reset()
        lines = [{'product_xml_id': MACHINE, 'quantity': 1}]
        first = control.action('place_order', lines=lines,
            promo_code='SL-7QK2-M9XD')
        self.assertEqual(first['discounts'][-1]['amount'], 500)
        again = control.action('price_basket', items=lines,
            coupon='SL-7QK2-M9XD')
        self.assertEqual(again['coupon']['status'], 'not_found')


class PriceEndpointTest(SiteCase):
    "POST /local/api/hub/basket/price/ (docs/site-pricing-api.md)"
    ITEMS = [{'key': 'L1', 'xml_id': MACHINE, 'quantity': 1},
        {'key': 'L2', 'xml_id': LAVAZZA, 'quantity': '2'}]

    def post(self, body, status=200, auth=None):
        response = requests.post(SIM.base_url + PRICE_PATH, json=body,
            auth=auth or (self.creds['login'], self.creds['password']),
            timeout=5)
        self.assertEqual(response.status_code, status, response.text)
        return response.json()

    def price(self, coupon=None, items=None, **extra):
        return self.post({'api_version': '1', 'site_id': 's1',
            'currency': 'RUB', 'items': items or self.ITEMS,
            'coupon': coupon, **extra})

    def test_valid_coupon(self):
        body = self.price('весна10', request_id='r-1')
        machine, coffee = body['items']
        self.assertEqual((machine['key'], machine['base_price'],
            machine['price'], machine['discount'], machine['sum']),
            ('L1', '42990.00', '35982.63', '7007.37', '35982.63'))
        self.assertEqual([d['rule_xml_id'] for d in machine['discounts']],
            ['coffee-machines-7', 'spring10'])
        self.assertEqual((coffee['price'], coffee['discount'], coffee['sum']),
            ('1709.10', '379.80', '3418.20'))
        self.assertEqual(body['totals'], {'base': '46788.00',
            'discount': '7387.17', 'total': '39400.83'})
        self.assertEqual((body['coupon']['status'], body['coupon']['reason']),
            ('applied', None))
        self.assertIn('применён', body['coupon']['message'])
        self.assertEqual((body['api_version'], body['request_id']), ('1', 'r-1'))
        # a pure calculation: the coupon is not consumed
        self.assertEqual(SIM.coupons[0]['USE_COUNT'], 0)

    def test_coupon_problems(self):
        cases = {'NOPE': ('not_found', 'not_found', 'не найден'),
            'ЛЕТО2023': ('expired', 'period_ended', 'истёк'),
            'VIP-PETROVA': ('used_up', 'used_up', 'уже использован')}
        for code, (status, reason, words) in cases.items():
            coupon = self.price(code)['coupon']
            self.assertEqual((coupon['status'], coupon['reason']),
                (status, reason), code)
            self.assertIn(words, coupon['message'])
        body = self.price('SL-7QK2-M9XD', items=self.ITEMS[1:])
        self.assertEqual((body['coupon']['status'], body['coupon']['reason'],
            body['coupon']['details']), ('not_applicable', 'min_amount',
            {'min_amount': '5000.00', 'basket_amount': '3798.00'}))
        self.assertIn('5\u00a0000,00\u00a0₽', body['coupon']['message'])
        self.assertEqual(body['totals']['discount'], '0.00')

    def test_spent_one_time_coupon_and_its_own_order(self):
        placed = self.control.action('place_order', lines=[{'product_xml_id':
            MACHINE, 'quantity': 1}], promo_code='SL-7QK2-M9XD')
        self.assertEqual(self.price('SL-7QK2-M9XD')['coupon']['status'],
            'used_up')
        body = self.price('SL-7QK2-M9XD',
            order_number=placed['account_number'])
        self.assertEqual(body['coupon']['status'], 'applied')
        self.assertEqual(body['customer'], {'user_id': 2,
            'login': 'ivanova.m'})
        self.post({'api_version': '1', 'items': self.ITEMS,
            'order_number': '999999'}, status=422)

    def test_auth_and_bad_requests(self):
        body = self.post({'api_version': '1', 'items': self.ITEMS}, 401,
            auth=(self.creds['login'], 'wrong'))
        self.assertEqual(body['error']['code'], 'unauthorized')
        bad = {'items': []}, {'api_version': '1', 'items': []}, \
            {'api_version': '1', 'items': [{'key': 'a', 'xml_id': MACHINE,
                'quantity': 0}]}, {'api_version': '1', 'currency': 'USD',
                'items': self.ITEMS}
        codes = [self.post(b, 400)['error']['code'] for b in bad]
        self.assertEqual(codes, ['unsupported_version', 'bad_request',
            'bad_request', 'bad_request'])
        response = requests.post(SIM.base_url + PRICE_PATH, data=b'{oops',
            auth=(self.creds['login'], self.creds['password']), timeout=5,
            headers={'Content-Type': 'application/json'})
        self.assertEqual(response.status_code, 400)
        self.assertIn('JSON', response.json()['error']['message'])
        body = self.post({'api_version': '1', 'items': [{'key': 'x',
            'xml_id': 'no-such-guid', 'quantity': 1}]}, 422)
        self.assertEqual(body['error']['details']['items'], [{'key': 'x',
            'xml_id': 'no-such-guid', 'reason': 'not_found'}])

    def test_fault_injection(self):
        self.control.fault('error', PRICE_PATH, count=1, status=503)
        response = requests.post(SIM.base_url + PRICE_PATH, json={},
            auth=(self.creds['login'], self.creds['password']), timeout=5)
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.headers['Retry-After'], '5')
        self.assertEqual(response.json()['error']['code'], 'unavailable')
        self.assertEqual(self.price()['totals']['total'], '43778.70')


if __name__ == '__main__':
    unittest.main()
