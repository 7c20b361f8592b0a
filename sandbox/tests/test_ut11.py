"""The UT11 OData simulator, seen from an OData client."""
import unittest
from decimal import Decimal

import requests

from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.ut11 import UT11Simulator

EMPTY = '00000000-0000-0000-0000-000000000000'


class UT11TestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = UT11Simulator(clock=FakeClock())
        cls.url = cls.sim.start()
        cls.base = cls.url + '/ut/odata/standard.odata/'
        cls.control = SandboxControl(cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.control.reset()
        self.auth = ('odata', 'odata')

    # -- helpers -----------------------------------------------------------
    def request(self, method, path, params=None, **kwargs):
        params = {'$format': 'json', **(params or {})}
        kwargs.setdefault('auth', self.auth)
        return requests.request(method, self.base + path, params=params,
            timeout=10, **kwargs)

    def get(self, path, params=None, status=200, **kwargs):
        response = self.request('GET', path, params, **kwargs)
        self.assertEqual(response.status_code, status, response.text)
        return response.json()

    def error(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        body = response.json()['odata.error']
        self.assertEqual(body['code'], code)
        self.assertEqual(body['message']['lang'], 'ru')
        return body['message']['value']

    def one(self, entity_set, flt):
        rows = self.get(entity_set, {'$filter': flt})['value']
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def ref(self, entity_set, description):
        return self.one(entity_set, f"Description eq '{description}'")[
            'Ref_Key']

    def variant(self, article, size):
        item = self.one('Catalog_Номенклатура', f"Артикул eq '{article}'")
        char = self.one('Catalog_ХарактеристикиНоменклатуры',
            f"Owner_Key eq guid'{item['Ref_Key']}' and Description eq "
            f"'{size}'")
        return item['Ref_Key'], char['Ref_Key']

    def free_stock(self, item, char, warehouse):
        "Free stock the way a hub reads it from UT 11.5"
        rows = self.get("AccumulationRegister_ЗапасыИПотребности/Balance("
            f"Condition='Номенклатура_Key eq guid''{item}'' and Склад eq "
            f"guid''{warehouse}''')")['value']
        rows = [r for r in rows if r['Характеристика_Key'] == char]
        return sum(Decimal(str(r['ВНаличииBalance']))
            - Decimal(str(r['РезервироватьНаСкладеBalance'])) for r in rows)

    def on_hand(self, item, char, warehouse):
        rows = self.get("AccumulationRegister_ТоварыНаСкладах/Balance("
            f"Condition='Склад_Key eq guid''{warehouse}'' and "
            f"Номенклатура_Key eq guid''{item}'' and Характеристика_Key eq "
            f"guid''{char}''')")['value']
        return sum(Decimal(str(r['ВНаличииBalance'])) for r in rows)

    def create(self, entity_set, body, status=201):
        response = self.request('POST', entity_set, json=body)
        self.assertEqual(response.status_code, status, response.text)
        return response.json()

    def post(self, entity_set, key, action='Post'):
        return self.request('POST', f"{entity_set}(guid'{key}')/{action}",
            {'PostingModeOperational': 'false'})

    def order_body(self, lines, status='КОбеспечению'):
        refs = self.sim.refs
        partner = self.ref('Catalog_Партнеры', 'Розничный покупатель')
        counterparty = self.ref('Catalog_Контрагенты', 'Розничный покупатель')
        return {'Date': '2024-06-01T10:00:00', 'Организация_Key': refs['org'],
            'Партнер_Key': partner, 'Контрагент_Key': counterparty,
            'Соглашение_Key': refs['agreement'], 'Валюта_Key': refs['rub'],
            'ХозяйственнаяОперация': 'РеализацияКлиенту', 'Статус': status,
            'ЦенаВключаетНДС': True, 'НомерПоДаннымКлиента': '132',
            'Товары': [{'LineNumber': n, 'Номенклатура_Key': item,
                    'Характеристика_Key': char, 'Количество': qty,
                    'КоличествоУпаковок': qty, 'Цена': 1000,
                    'Сумма': 1000 * qty, 'Склад_Key': wh,
                    'ВариантОбеспечения': 'СоСклада'}
                for n, (item, char, wh, qty) in enumerate(lines, 1)]}


class AuthAndProtocolTest(UT11TestCase):
    def test_missing_and_wrong_credentials(self):
        response = self.request('GET', 'Catalog_Номенклатура', auth=None)
        self.error(response, 401, '20')
        self.assertIn('Basic', response.headers['WWW-Authenticate'])
        self.error(self.request('GET', 'Catalog_Номенклатура',
                auth=('odata', 'wrong')), 401, '20')

    def test_credentials_control_changes_the_user(self):
        self.control.action('credentials', user='hub', password='s3cret')
        self.error(self.request('GET', 'Catalog_Склады'), 401, '20')
        self.auth = ('hub', 's3cret')
        self.get('Catalog_Склады')

    def test_service_document_and_metadata_are_xml(self):
        response = requests.get(self.base, auth=self.auth, timeout=10)
        self.assertIn('<collection href="Document_ЗаказКлиента">',
            response.text)
        metadata = requests.get(self.base + '$metadata', auth=self.auth,
            timeout=10)
        self.assertIn('<EntityType Name="Catalog_Номенклатура">',
            metadata.text)
        self.assertIn('Document_ЗаказКлиента_Товары_RowType', metadata.text)

    def test_default_representation_is_atom(self):
        response = requests.get(self.base + 'Catalog_Склады', auth=self.auth,
            params={'$top': 1}, timeout=10)
        self.assertTrue(response.text.startswith('<?xml'))
        self.assertIn('<m:properties>', response.text)
        missing = requests.get(self.base + 'Catalog_Нет', auth=self.auth,
            timeout=10)
        self.assertEqual(missing.status_code, 404)
        self.assertIn('<m:code>6</m:code>', missing.text)

    def test_unknown_publication_is_the_web_servers_404(self):
        response = requests.get(self.url + '/other/odata/standard.odata/',
            auth=self.auth, timeout=10)
        self.assertEqual(response.status_code, 404)

    def test_injected_server_error_has_1c_body(self):
        SandboxControl(self.url).fault('error', '*/Catalog_Склады', count=1)
        message = self.error(self.request('GET', 'Catalog_Склады'), 500, '-1')
        self.assertIn('внутренняя ошибка OData', message)
        self.get('Catalog_Склады')


class QueryTest(UT11TestCase):
    def test_filter_select_top_skip_count(self):
        body = self.get('Catalog_Номенклатура', {
                '$filter': "IsFolder eq false and ОсобенностьУчета eq "
                "'ОбувнаяПродукция'", '$select': 'Ref_Key,Артикул,Description',
                '$orderby': 'Артикул desc', '$top': '2', '$skip': '1',
                '$inlinecount': 'allpages'})
        self.assertEqual(body['odata.count'], '6')
        self.assertTrue(body['odata.metadata'].endswith(
            '$metadata#Catalog_Номенклатура&$select=Ref_Key,Артикул,'
            'Description'))
        self.assertEqual([r['Артикул'] for r in body['value']],
            ['КР-1003', 'КР-1002'])
        self.assertEqual(set(body['value'][0]), {'Ref_Key', 'Артикул',
                'Description'})

    def test_functions_and_guid_literals(self):
        rows = self.get('Catalog_Номенклатура', {'$filter':
                "substringof('кроссовки', Description) and IsFolder eq false"}
            )['value']
        self.assertEqual(len(rows), 2)
        key = rows[0]['Ref_Key']
        rows = self.get('Catalog_Номенклатура', {
                '$filter': f"Ref_Key eq guid'{key.upper()}'"})['value']
        self.assertEqual([r['Ref_Key'] for r in rows], [key])

    def test_single_entity_by_key(self):
        item = self.one('Catalog_Номенклатура', "Артикул eq 'КР-1001'")
        body = self.get(f"Catalog_Номенклатура(guid'{item['Ref_Key']}')")
        self.assertTrue(body['odata.metadata'].endswith(
            '#Catalog_Номенклатура/@Element'))
        self.assertEqual(body['Description'], 'Кроссовки беговые AirRun')
        self.assertRegex(body['Code'], r'^00-\d{8}$')
        group = self.get(f"Catalog_Номенклатура(guid'{body['Parent_Key']}')")
        self.assertEqual((group['Description'], group['IsFolder']),
            ('Кроссовки', True))

    def test_query_errors(self):
        self.error(self.request('GET', f"Catalog_Номенклатура(guid'{EMPTY}')"),
            404, '9')
        self.error(self.request('GET', 'Catalog_Номенклатура(123)'), 400, '6')
        self.error(self.request('GET', 'Catalog_Номенклатура',
                {'$filter': 'Description eq'}), 400, '14')
        self.error(self.request('GET', 'Catalog_Номенклатура',
                {'$select': 'Штрихкод'}), 400, '10')
        self.error(self.request('GET', 'Catalog_Номенклатура',
                {'$top': '-1'}), 400, '14')
        self.error(self.request('GET', 'Catalog_Номенклатуры'), 404, '6')

    def test_nometadata_and_fullmetadata(self):
        body = self.get('Catalog_Склады', {'$top': '1',
                '$format': 'application/json;odata=nometadata'})
        self.assertNotIn('odata.metadata', body)
        body = self.get('Catalog_Склады', {'$top': '1',
                '$format': 'application/json;odata=fullmetadata'})
        self.assertIn('РозничныйВидЦены@navigationLinkUrl', body['value'][0])


class CatalogueTest(UT11TestCase):
    def test_products_sizes_marking_and_barcodes(self):
        products = self.get('Catalog_Номенклатура', {
                '$filter': 'IsFolder eq false'})['value']
        self.assertGreaterEqual(len(products), 20)
        marked = [p for p in products if p['ОсобенностьУчета']]
        self.assertTrue(marked and len(marked) < len(products))
        item, char = self.variant('КР-1001', '42')
        barcodes = self.get('InformationRegister_ШтрихкодыНоменклатуры', {
                '$filter': f"Характеристика_Key eq guid'{char}'"})['value']
        self.assertEqual(len(barcodes), 1)
        self.assertRegex(barcodes[0]['Штрихкод'], r'^\d{13}$')
        self.assertEqual(barcodes[0]['Номенклатура_Key'], item)

    def test_warehouses_with_cities(self):
        warehouses = self.get('Catalog_Склады')['value']
        cities = {w['КонтактнаяИнформация'][0]['Город'] for w in warehouses}
        self.assertGreaterEqual(len(warehouses), 7)
        self.assertGreaterEqual(len(cities), 4)
        central = [w for w in warehouses if w['ТипСклада'] == 'ОптовыйСклад']
        self.assertEqual(central[0]['КонтактнаяИнформация'][0]['Город'],
            'Москва')

    def test_prices_slice_last(self):
        item = self.one('Catalog_Номенклатура', "Артикул eq 'КТ-4003'")[
            'Ref_Key']
        retail = self.sim.refs['retail']
        condition = (f"Номенклатура_Key eq guid''{item}'' and ВидЦены_Key eq "
            f"guid''{retail}''")
        now = self.get("InformationRegister_ЦеныНоменклатуры25/SliceLast("
            f"Condition='{condition}')")['value']
        before = self.get("InformationRegister_ЦеныНоменклатуры25/SliceLast("
            f"Period=datetime'2024-03-01T00:00:00',Condition='{condition}')"
            )['value']
        self.assertEqual([r['Цена'] for r in now], [3990])
        self.assertEqual([r['Цена'] for r in before], [4990])
        response = self.request('GET', 'InformationRegister_'
            'ШтрихкодыНоменклатуры/SliceLast()')
        self.error(response, 400, '6')

    def test_version_11_4_registers(self):
        self.control.action('configure', version='11.4')
        self.error(self.request('GET', 'AccumulationRegister_'
            'ЗапасыИПотребности/Balance()'), 404, '6')
        rows = self.get('AccumulationRegister_СвободныеОстатки/Balance()',
            {'$top': '1'})['value']
        self.assertIn('ВРезервеСоСкладаBalance', rows[0])
        prices = self.get('InformationRegister_ЦеныНоменклатуры/SliceLast()',
            {'$top': '1'})['value']
        self.assertIn('Характеристика_Key', prices[0])

    def test_set_stock_and_dimensions(self):
        item, char = self.variant('ДЖ-6001', '32')
        self.control.action('set_stock', product='ДЖ-6001',
            characteristic='32', warehouse='Магазин на Невском', quantity=7)
        wh = self.ref('Catalog_Склады', 'Магазин на Невском')
        self.assertEqual(self.on_hand(item, char, wh), 7)
        totals = self.get("AccumulationRegister_ТоварыНаСкладах/Balance("
            f"Condition='Номенклатура_Key eq guid''{item}''',"
            "Dimensions='Номенклатура,Склад')")['value']
        self.assertEqual(set(totals[0]), {'Номенклатура_Key', 'Склад_Key',
                'ВНаличииBalance', 'КОтгрузкеBalance'})
        self.assertEqual(len({r['Склад_Key'] for r in totals}), len(totals))


class DocumentsTest(UT11TestCase):
    def setUp(self):
        super().setUp()
        self.item, self.char = self.variant('КР-1001', '42')
        self.shop = self.ref('Catalog_Склады', 'Магазин на Тверской')
        self.central = self.ref('Catalog_Склады', 'Центральный склад')
        self.control.action('set_stock', product='КР-1001',
            characteristic='42', warehouse='Магазин на Тверской', quantity=3)

    def test_create_order_numbers_and_shape(self):
        first = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 1)]))
        second = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 1)]))
        self.assertRegex(first['Number'], r'^ЦБ00-\d{6}$')
        self.assertEqual(int(second['Number'][-6:]),
            int(first['Number'][-6:]) + 1)
        self.assertFalse(first['Posted'])
        self.assertEqual(first['Товары'][0]['LineNumber'], '1')
        self.assertEqual(first['Товары'][0]['Ref_Key'], first['Ref_Key'])
        self.assertEqual(first['ДатаОтгрузки'], '0001-01-01T00:00:00')
        self.assertEqual(first['ДокументОснование_Type'],
            'StandardODATA.Undefined')
        rows = self.get('Document_ЗаказКлиента_Товары', {
                '$filter': f"Ref_Key eq guid'{first['Ref_Key']}'"})['value']
        self.assertEqual(len(rows), 1)

    def test_write_errors(self):
        body = self.order_body([(self.item, self.char, self.shop, 1)])
        self.error(self.request('POST', 'Document_ЗаказКлиента',
                json={**body, 'Статус': 'Выполнен'}), 400, '4')
        self.error(self.request('POST', 'Document_ЗаказКлиента',
                json={**body, 'ЖелаемаяДатаОтгрузки': '2024-06-03T00:00:00'}),
            400, '10')
        self.error(self.request('POST', 'Document_ЗаказКлиента',
                data='{not json', headers={'Content-Type':
                    'application/json'}), 400, '1')
        self.error(self.request('POST', 'Document_ЗаказКлиента_Товары',
                json={}), 400, '13')

    def test_posting_reserves_free_stock(self):
        self.assertEqual(self.free_stock(self.item, self.char, self.shop), 3)
        order = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 2)]))
        response = self.post('Document_ЗаказКлиента', order['Ref_Key'])
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.free_stock(self.item, self.char, self.shop), 1)
        self.assertEqual(self.on_hand(self.item, self.char, self.shop), 3)
        body = self.get(f"Document_ЗаказКлиента(guid'{order['Ref_Key']}')")
        self.assertTrue(body['Posted'])
        self.assertNotEqual(body['DataVersion'], order['DataVersion'])
        reserve = self.get("AccumulationRegister_ЗапасыИПотребности/Balance("
            f"Condition='Заказ eq guid''{order['Ref_Key']}''')")['value']
        self.assertEqual(reserve[0]['РезервироватьНаСкладеBalance'], 2)
        self.assertEqual(reserve[0]['Заказ_Type'],
            'StandardODATA.Document_ЗаказКлиента')
        # unposting releases the reserve
        self.post('Document_ЗаказКлиента', order['Ref_Key'], 'Unpost')
        self.assertEqual(self.free_stock(self.item, self.char, self.shop), 3)

    def test_posting_refused_when_free_stock_is_short(self):
        first = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 2)]))
        self.post('Document_ЗаказКлиента', first['Ref_Key'])
        second = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 2)]))
        message = self.error(self.post('Document_ЗаказКлиента',
                second['Ref_Key']), 500, '-1')
        self.assertIn(f'Не удалось провести "Заказ клиента {second["Number"]}',
            message)
        self.assertIn('свободно 1 шт, требуется 2 шт', message)
        body = self.get(f"Document_ЗаказКлиента(guid'{second['Ref_Key']}')")
        self.assertFalse(body['Posted'])

    def test_unchecked_warehouse_reserves_only_free_stock(self):
        self.control.action('stock_control', warehouse=self.shop,
            enabled=False)
        order = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 5)]))
        response = self.post('Document_ЗаказКлиента', order['Ref_Key'])
        self.assertEqual(response.status_code, 200, response.text)
        reserve = self.get("AccumulationRegister_ЗапасыИПотребности/Balance("
            f"Condition='Заказ eq guid''{order['Ref_Key']}''')")['value']
        self.assertEqual(reserve[0]['РезервироватьНаСкладеBalance'], 3)
        self.assertEqual(self.free_stock(self.item, self.char, self.shop), 0)

    def test_unapproved_order_does_not_reserve(self):
        order = self.create('Document_ЗаказКлиента', self.order_body(
                [(self.item, self.char, self.shop, 3)], status='НеСогласован'))
        self.assertEqual(self.post('Document_ЗаказКлиента',
                order['Ref_Key']).status_code, 200)
        self.assertEqual(self.free_stock(self.item, self.char, self.shop), 3)

    def test_fill_check_on_posting(self):
        body = self.order_body([(self.item, self.char, self.shop, 1)])
        del body['Партнер_Key']
        order = self.create('Document_ЗаказКлиента', body)
        message = self.error(self.post('Document_ЗаказКлиента',
                order['Ref_Key']), 500, '-1')
        self.assertIn('Поле "Партнер" не заполнено', message)

    def test_sale_on_basis_of_order_then_return(self):
        order = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 2)]))
        self.post('Document_ЗаказКлиента', order['Ref_Key'])
        sale = {k: order[k] for k in ('Организация_Key', 'Партнер_Key',
                'Контрагент_Key', 'Соглашение_Key', 'Валюта_Key')}
        sale.update({'ЗаказКлиента_Key': order['Ref_Key'], 'Статус':
            'Отгружено', 'ХозяйственнаяОперация': 'РеализацияКлиенту',
            'Товары': [{k: line[k] for k in ('Номенклатура_Key',
                    'Характеристика_Key', 'Количество', 'Цена', 'Сумма',
                    'Склад_Key')} | {'ЗаказКлиента_Key': order['Ref_Key']}
                for line in order['Товары']]})
        sale = self.create('Document_РеализацияТоваровУслуг', sale)
        response = self.post('Document_РеализацияТоваровУслуг',
            sale['Ref_Key'])
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.on_hand(self.item, self.char, self.shop), 1)
        # the order's reserve is released: 1 left on hand, all of it free
        self.assertEqual(self.free_stock(self.item, self.char, self.shop), 1)
        refund = self.create('Document_ВозвратТоваровОтКлиента', {
                **{k: order[k] for k in ('Организация_Key', 'Партнер_Key',
                        'Контрагент_Key', 'Валюта_Key')},
                'Склад_Key': self.shop,
                'ДокументРеализации': sale['Ref_Key'],
                'ДокументРеализации_Type':
                    'StandardODATA.Document_РеализацияТоваровУслуг',
                'ХозяйственнаяОперация': 'ВозвратТоваровОтКлиента',
                'Товары': [{'Номенклатура_Key': self.item,
                        'Характеристика_Key': self.char, 'Количество': 1}]})
        self.assertEqual(self.post('Document_ВозвратТоваровОтКлиента',
                refund['Ref_Key']).status_code, 200)
        self.assertEqual(self.on_hand(self.item, self.char, self.shop), 2)

    def test_transfer_order_and_two_step_transfer(self):
        before = self.on_hand(self.item, self.char, self.central)
        refs = self.sim.refs
        header = {'Организация_Key': refs['org'],
            'СкладОтправитель_Key': self.central,
            'СкладПолучатель_Key': self.shop,
            'ХозяйственнаяОперация': 'ПеремещениеТоваров'}
        lines = [{'Номенклатура_Key': self.item, 'Характеристика_Key':
                self.char, 'Количество': 4, 'ВариантОбеспечения': 'СоСклада'}]
        request_ = self.create('Document_ЗаказНаПеремещение', {**header,
                'Статус': 'КВыполнению', 'Товары': lines})
        self.post('Document_ЗаказНаПеремещение', request_['Ref_Key'])
        self.assertEqual(self.free_stock(self.item, self.char, self.central),
            before - 4)
        transfer = self.create('Document_ПеремещениеТоваров', {**header,
                'ЗаказНаПеремещение_Key': request_['Ref_Key'],
                'Статус': 'Отгружено', 'Товары': [{k: v for k, v in
                        lines[0].items() if k != 'ВариантОбеспечения'}]})
        self.post('Document_ПеремещениеТоваров', transfer['Ref_Key'])
        self.assertEqual(self.on_hand(self.item, self.char, self.central),
            before - 4)
        self.assertEqual(self.on_hand(self.item, self.char, self.shop), 3)
        self.request('PATCH', f"Document_ПеремещениеТоваров(guid'"
            f"{transfer['Ref_Key']}')", json={'Статус': 'Принято'})
        self.post('Document_ПеремещениеТоваров', transfer['Ref_Key'])
        self.assertEqual(self.on_hand(self.item, self.char, self.shop), 7)
        self.assertEqual(self.free_stock(self.item, self.char, self.central),
            before - 4)

    def test_patch_if_match_and_delete(self):
        order = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 1)]))
        path = f"Document_ЗаказКлиента(guid'{order['Ref_Key']}')"
        patched = self.request('PATCH', path, json={'Комментарий': 'звонок'},
            headers={'If-Match': order['DataVersion']})
        self.assertEqual(patched.status_code, 200, patched.text)
        self.assertEqual(patched.json()['Комментарий'], 'звонок')
        self.assertEqual(patched.json()['Number'], order['Number'])
        self.error(self.request('PATCH', path, json={'Комментарий': 'x'},
                headers={'If-Match': order['DataVersion']}), 412, '-1')
        self.assertEqual(self.request('DELETE', path).status_code, 204)
        self.error(self.request('GET', path), 404, '9')

    def test_refuse_posting_control_and_documents_list(self):
        self.control.action('refuse_posting', document='ЗаказКлиента',
            message='Заказ заблокирован менеджером')
        order = self.create('Document_ЗаказКлиента',
            self.order_body([(self.item, self.char, self.shop, 1)]))
        message = self.error(self.post('Document_ЗаказКлиента',
                order['Ref_Key']), 500, '-1')
        self.assertIn('Заказ заблокирован менеджером', message)
        self.assertEqual(self.post('Document_ЗаказКлиента',
                order['Ref_Key']).status_code, 200)
        docs = self.control.action('documents')
        self.assertEqual([(d['type'], d['Number'], d['Posted']) for d in docs],
            [('ЗаказКлиента', order['Number'], True)])


class LoadTest(UT11TestCase):
    def test_generated_catalogue_pages_lazily(self):
        result = self.control.action('seed', products=100000, warehouses=30)
        self.assertEqual(len(result['warehouses']), 30)
        count = requests.get(self.base + 'Catalog_Номенклатура/$count',
            auth=self.auth, timeout=10)
        self.assertEqual(count.text, '100010')   # plus 10 groups
        page = self.get('Catalog_Номенклатура', {'$orderby': 'Ref_Key',
                '$top': '500', '$skip': '99000', '$select': 'Ref_Key,Артикул'}
            )['value']
        keys = [r['Ref_Key'] for r in page]
        self.assertEqual(keys, sorted(keys))
        self.assertEqual(len(page), 500)
        stock = self.get("AccumulationRegister_ТоварыНаСкладах/Balance("
            f"Condition='Склад_Key eq guid''{result['warehouses'][3]}''')",
            {'$top': '100'})['value']
        self.assertEqual(len(stock), 100)
        product = stock[0]['Номенклатура_Key']
        self.assertEqual(self.get(f"Catalog_Номенклатура(guid'{product}')")[
            'Ref_Key'], product)


if __name__ == '__main__':
    unittest.main()
