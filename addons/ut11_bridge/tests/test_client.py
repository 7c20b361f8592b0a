"""UT11 OData client against the sandbox simulator over real HTTP.

No Tryton database: the client and the payload builders are plain Python.
"""
import datetime as dt
import os
import unittest
from decimal import Decimal

import trytond.modules

ADDONS = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
try:
    import trytond.modules.hub_sync  # noqa: F401
except ImportError:
    # hub_sync not installed as a Tryton module yet: use the source tree
    trytond.modules.__path__.append(ADDONS)

from sandbox.ut11 import UT11Simulator, stable_ref  # noqa: E402
from trytond.modules.hub_sync.errors import (  # noqa: E402
    ConfigurationError, PermanentError, TransientError)

from .. import odata, payloads  # noqa: E402
from ..client import UT11Client  # noqa: E402

EMPTY = odata.EMPTY_REF
SHOP = stable_ref('wh', 'Магазин на Тверской')
CENTRE = stable_ref('wh', 'Центральный склад')
SNEAKERS = stable_ref('item', 'КР-1001')
SIZE_42 = stable_ref('size', 'КР-1001', '42')
HAT = stable_ref('item', 'АК-9001')
RETAIL_PARTNER = stable_ref('partner', 'retail')
RETAIL_CP = stable_ref('cp', 'retail')
NOW = dt.datetime(2024, 6, 1, 10, 0)


def setUpModule():
    global SIM, URL
    SIM = UT11Simulator()
    URL = SIM.start() + '/ut/odata/standard.odata'


def tearDownModule():
    SIM.stop()


class SimulatorTestCase(unittest.TestCase):
    def setUp(self):
        SIM.reset()
        self.client = UT11Client(URL, 'odata', 'odata', timeout=5)
        SIM.set_stock('КР-1001', 'Магазин на Тверской', 3, '42')

    def free(self, product=SNEAKERS, warehouse=SHOP, characteristic='42'):
        info, = SIM.stock(product, warehouse, characteristic)
        return Decimal(str(info['free']))

    def order_values(self, quantity=2, **values):
        refs = SIM.refs
        line = {'product': SNEAKERS, 'characteristic': SIZE_42,
            'quantity': Decimal(quantity), 'price': Decimal('6990'),
            'warehouse': SHOP, 'vat_rate': refs['vat20'],
            'price_type': refs['retail']}
        return {'date': NOW, 'organization': refs['org'],
            'partner': RETAIL_PARTNER, 'counterparty': RETAIL_CP,
            'agreement': refs['agreement'], 'currency': refs['rub'],
            'warehouse': SHOP, 'lines': [line], 'hub_number': 'HUB-000132',
            **values}

    def requests_to(self, path):
        return SIM.journal.list(path)


class PayloadTest(unittest.TestCase):
    "Builders and literals, without HTTP"

    def test_order_payload(self):
        payload = payloads.order_payload(date=NOW, organization=CENTRE,
            partner=RETAIL_PARTNER, counterparty=RETAIL_CP, agreement=None,
            currency=HAT, warehouse=CENTRE, hub_number=132,
            hub_date=dt.date(2024, 6, 1), ref_key=SNEAKERS.upper(),
            lines=[{'product': SNEAKERS, 'characteristic': SIZE_42,
                    'quantity': Decimal('3'), 'price': Decimal('999.99'),
                    'discount': Decimal('100'), 'warehouse': SHOP},
                {'product': HAT, 'quantity': Decimal(1),
                    'price': Decimal('890'), 'supply': 'КОбеспечению',
                    'cancelled': True}])
        self.assertEqual(payload['Ref_Key'], SNEAKERS)
        self.assertEqual(payload['Date'], '2024-06-01T10:00:00')
        self.assertEqual(payload['Статус'], 'КОбеспечению')
        self.assertIs(payload['Согласован'], True)
        self.assertEqual(payload['Соглашение_Key'], EMPTY)
        self.assertEqual(payload['НомерПоДаннымКлиента'], '132')
        self.assertEqual(payload['ДатаПоДаннымКлиента'], '2024-06-01T00:00:00')
        first, second = payload['Товары']
        self.assertEqual(first['LineNumber'], '1')
        self.assertEqual(first['Сумма'], Decimal('2899.97'))
        self.assertEqual(first['СуммаСНДС'], Decimal('2899.97'))
        self.assertEqual(first['СуммаРучнойСкидки'], Decimal('100'))
        self.assertEqual(first['Склад_Key'], SHOP)
        self.assertEqual(first['ВариантОбеспечения'], 'СоСклада')
        self.assertEqual(second['Склад_Key'], CENTRE)
        self.assertEqual(second['Характеристика_Key'], EMPTY)
        self.assertEqual(second['ВариантОбеспечения'], 'КОбеспечению')
        self.assertTrue(second['Отменено'])
        # cancelled lines do not count
        self.assertEqual(payload['СуммаДокумента'], Decimal('2899.97'))

    def test_order_update_payload_only_given(self):
        self.assertEqual(payloads.order_update_payload(status='Закрыт'),
            {'Статус': 'Закрыт', 'Согласован': True})
        payload = payloads.order_update_payload(lines=[{'product': HAT,
                'quantity': Decimal(2), 'price': Decimal('10.5'),
                'vat_amount': Decimal('3.5')}], price_includes_vat=False)
        self.assertEqual(set(payload), {'Товары', 'СуммаДокумента'})
        self.assertEqual(payload['СуммаДокумента'], Decimal('24.5'))

    def test_transfer_payloads(self):
        order = payloads.transfer_order_payload(date=NOW, organization=HAT,
            sender=CENTRE, receiver=SHOP, basis_order=SNEAKERS,
            lines=[{'product': HAT, 'quantity': Decimal(4)}])
        self.assertEqual(order['Статус'], 'КВыполнению')
        self.assertEqual(order['ОрганизацияПолучатель_Key'], HAT)
        self.assertEqual(order['ДокументОснование'], SNEAKERS)
        self.assertEqual(order['ДокументОснование_Type'],
            'StandardODATA.Document_ЗаказКлиента')
        self.assertEqual(order['Товары'][0]['ВариантОбеспечения'], 'СоСклада')
        transfer = payloads.transfer_payload(date=NOW, organization=HAT,
            sender=CENTRE, receiver=SHOP, transfer_order=SNEAKERS,
            status='Отгружено', lines=[{'product': HAT, 'quantity': 4}])
        self.assertEqual(transfer['Товары'][0]['ЗаказНаПеремещение_Key'],
            SNEAKERS)
        self.assertIs(transfer['ПеремещениеПоЗаказам'], False)

    def test_sale_and_return_payloads(self):
        common = {'date': NOW, 'organization': HAT, 'partner': HAT,
            'counterparty': HAT, 'agreement': HAT, 'currency': HAT}
        line = {'product': HAT, 'quantity': Decimal(1),
            'price': Decimal('890')}
        sale = payloads.sale_payload(order=SNEAKERS, warehouse=SHOP,
            lines=[line], **common)
        self.assertEqual(sale['ЗаказКлиента_Key'], SNEAKERS)
        self.assertEqual(sale['Товары'][0]['ЗаказКлиента_Key'], SNEAKERS)
        self.assertEqual(sale['Товары'][0]['Склад_Key'], SHOP)
        ret = payloads.return_payload(sale=SNEAKERS, warehouse=SHOP,
            lines=[line], **common)
        self.assertEqual(ret['ДокументРеализации_Type'],
            'StandardODATA.Document_РеализацияТоваровУслуг')
        self.assertEqual(ret['Товары'][0]['ДокументРеализации'], SNEAKERS)
        self.assertNotIn('ВидЦены_Key', ret['Товары'][0])

    def test_bad_reference_is_refused_before_sending(self):
        with self.assertRaises(ValueError):
            payloads.transfer_payload(date=NOW, organization='ЦБ',
                sender=CENTRE, receiver=SHOP, lines=[])

    def test_literals(self):
        self.assertEqual(odata.string("O'Hara"), "'O''Hara'")
        self.assertEqual(odata.virtual_table('R', 'Balance',
                dt.datetime(2024, 6, 1), f'Склад_Key eq {odata.guid(SHOP)}'),
            f"R/Balance(Period=datetime'2024-06-01T00:00:00',"
            f"Condition='Склад_Key eq guid''{SHOP}''')")
        with self.assertRaises(ValueError):
            odata.format_date(dt.datetime.now(dt.timezone.utc))
        self.assertEqual(odata.dumps({'a': Decimal('2.50'), 'b': Decimal(3)}),
            b'{"a": 2.5, "b": 3}')

    def test_parse_error(self):
        body = ('{"odata.error": {"code": "-1", "message": {"lang": "ru", '
            '"value": "Не удалось провести"}}}').encode()
        self.assertEqual(odata.parse_error(body),
            ('-1', 'Не удалось провести'))
        xml = ('<?xml version="1.0"?><m:error xmlns:m="http://schemas.'
            'microsoft.com/ado/2007/08/dataservices/metadata"><m:code>6'
            '</m:code><m:message xml:lang="ru">Неверный URL</m:message>'
            '</m:error>')
        self.assertEqual(odata.parse_error(xml), ('6', 'Неверный URL'))
        self.assertEqual(odata.parse_error(b'<html>Not Found</html>'),
            (None, None))


class ReadTest(SimulatorTestCase):
    def test_catalogue(self):
        products = list(self.client.products())
        self.assertEqual(len(products), 21)
        sneakers, = [p for p in products if p['key'] == SNEAKERS]
        self.assertEqual(sneakers['article'], 'КР-1001')
        self.assertEqual(sneakers['marking'], 'ОбувнаяПродукция')
        groups = {g['key']: g for g in self.client.product_groups()}
        self.assertEqual(groups[sneakers['group']]['name'], 'Кроссовки')
        sizes = list(self.client.characteristics(SNEAKERS))
        self.assertEqual(sorted(s['name'] for s in sizes),
            ['39', '40', '41', '42', '43', '44'])
        self.assertEqual(len(list(self.client.characteristics())), 86)

    def test_warehouses_and_parties(self):
        warehouses = {w['name']: w for w in self.client.warehouses()}
        self.assertEqual(len(warehouses), 8)
        shop = warehouses['Магазин на Баумана']
        self.assertEqual(shop['city'], 'Казань')
        self.assertIn('ул. Баумана', shop['address'])
        self.assertEqual(len(list(self.client.partners())), 2)
        company, = self.client.counterparties(inn='7712345671')
        self.assertEqual(company['kpp'], '771201001')
        self.assertEqual(company['partner'], stable_ref('partner', 'b2b'))

    def test_prices_slice_last(self):
        retail = SIM.refs['retail']
        now = {p['product']: p for p in self.client.prices(retail)}
        spring = {p['product']: p for p in self.client.prices(retail,
                dt.datetime(2024, 5, 1))}
        jacket = stable_ref('item', 'КТ-4003')
        self.assertEqual(now[jacket]['price'], Decimal('3990'))
        self.assertEqual(spring[jacket]['price'], Decimal('4990'))
        self.assertEqual(len(now), 21)

    def test_versions_and_get(self):
        versions = dict(self.client.versions('Catalog_Склады'))
        self.assertEqual(len(versions), 8)
        row = self.client.get('Catalog_Склады', SHOP, ['Description'])
        self.assertEqual(row['Description'], 'Магазин на Тверской')

    def test_paging_over_generated_dataset(self):
        result = SIM.seed(products=2345, warehouses=3)
        client = UT11Client(URL, 'odata', 'odata', page_size=500)
        SIM.journal.clear()
        keys = [p['key'] for p in client.products()]
        self.assertEqual(len(keys), 2345)
        self.assertEqual(keys, sorted(set(keys)))
        # this client's pages only ($top 500): a request of an earlier
        # test may still be journalled after the clear
        pages = [p for p in self.requests_to('*/Catalog_*')
            if p['query'].get('$top') == ['500']]
        self.assertEqual([p['query']['$skip'] for p in pages],
            [['0'], ['500'], ['1000'], ['1500'], ['2000']],
            [(p['path'], p['query']) for p in self.requests_to('*')])
        self.assertEqual(pages[0]['query']['$orderby'], ['Ref_Key'])
        stock = list(client.free_stock(result['warehouses']))
        expected = sum(1 for k in SIM.ledger.keys() if SIM.ledger.on_hand(k))
        self.assertEqual(len(stock), expected)
        self.assertEqual({s['warehouse'] for s in stock},
            set(result['warehouses']))

    def test_free_stock_11_4(self):
        SIM.configure(version='11.4')
        client = UT11Client(URL, 'odata', 'odata', version='11.4')
        stock = list(client.free_stock([SHOP]))
        row, = [s for s in stock if s['characteristic'] == SIZE_42
            and s['product'] == SNEAKERS]
        self.assertEqual(row['free'], Decimal(3))
        self.assertEqual(len(list(client.prices(SIM.refs['retail']))), 21)


class OrderTest(SimulatorTestCase):
    def test_create_post_reserves_and_read_back(self):
        doc = self.client.create_order(**self.order_values())
        self.assertTrue(doc['posted'])
        self.assertEqual(doc['number'], 'ЦБ00-000001')
        self.assertEqual(doc['date'], NOW)
        self.assertEqual(self.free(), Decimal(1))
        stock, = [s for s in self.client.free_stock([SHOP])
            if s['characteristic'] == SIZE_42]
        self.assertEqual((stock['on_hand'], stock['reserved'], stock['free']),
            (Decimal(3), Decimal(2), Decimal(1)))
        found, = self.client.find_orders('HUB-000132')
        self.assertEqual(found['key'], doc['key'])
        self.assertEqual(self.client.document(payloads.ORDER, doc['key']),
            doc)

    def test_retry_with_same_ref_key_creates_no_duplicate(self):
        values = self.order_values(ref_key=stable_ref('hub-order', '132'))
        first = self.client.create_order(**values)
        again = self.client.create_order(**values)
        self.assertEqual(again['key'], first['key'])
        self.assertEqual(len(SIM.documents('ЗаказКлиента')), 1)
        self.assertEqual(self.free(), Decimal(1))

    def test_update_replaces_lines_and_reposts(self):
        doc = self.client.create_order(**self.order_values())
        line = dict(self.order_values()['lines'][0], quantity=Decimal(3))
        updated = self.client.update_order(doc['key'], lines=[line],
            data_version=doc['version'])
        self.assertNotEqual(updated['version'], doc['version'])
        self.assertEqual(self.free(), Decimal(0))
        self.client.update_order(doc['key'], status='Закрыт')
        self.assertEqual(self.free(), Decimal(3))

    def test_stale_data_version_is_permanent(self):
        doc = self.client.create_order(**self.order_values())
        self.client.update_order(doc['key'], post=False, comment='1C edit')
        with self.assertRaises(PermanentError) as cm:
            self.client.update_order(doc['key'], status='Закрыт',
                data_version=doc['version'])
        self.assertEqual(cm.exception.status, 412)

    def test_posting_refusal_carries_russian_reason(self):
        with self.assertRaises(PermanentError) as cm:
            self.client.create_order(**self.order_values(quantity=5))
        exc = cm.exception
        self.assertIn('Недостаточно свободного остатка товара "Кроссовки '
            'беговые AirRun, 42" на складе "Магазин на Тверской": свободно 3 '
            'шт, требуется 5 шт', str(exc))
        self.assertTrue(exc.detail.startswith('Не удалось провести "Заказ '
            'клиента ЦБ00-000001'))
        self.assertEqual(exc.status, 500)
        order, = SIM.documents('ЗаказКлиента')
        self.assertFalse(order['Posted'])
        self.assertEqual(self.free(), Decimal(3))

    def test_refusal_by_1c_rule_is_permanent(self):
        SIM.refuse_posting('ЗаказКлиента', 'Запрещено редактирование '
            'документов в закрытом периоде')
        with self.assertRaisesRegex(PermanentError, 'закрытом периоде'):
            self.client.create_order(**self.order_values())


class StockDocumentsTest(SimulatorTestCase):
    def setUp(self):
        super().setUp()
        SIM.set_stock('КР-1001', 'Центральный склад', 10, '42')

    def line(self, quantity, **values):
        return {'product': SNEAKERS, 'characteristic': SIZE_42,
            'quantity': Decimal(quantity), **values}

    def test_transfer_order_then_two_step_transfer(self):
        org = SIM.refs['org']
        order = self.client.create_transfer_order(date=NOW, organization=org,
            sender=CENTRE, receiver=SHOP, lines=[self.line(4)])
        self.assertTrue(order['posted'])
        self.assertEqual(self.free(warehouse=CENTRE), Decimal(6))
        transfer = self.client.create_transfer(date=NOW, organization=org,
            sender=CENTRE, receiver=SHOP, transfer_order=order['key'],
            status='Отгружено', lines=[self.line(4)])
        self.assertTrue(transfer['posted'])
        self.assertEqual(self.free(warehouse=CENTRE), Decimal(6))
        self.assertEqual(self.free(), Decimal(3))
        self.client.receive_transfer(transfer['key'])
        self.assertEqual(self.free(), Decimal(7))

    def test_sale_on_basis_of_order_then_return(self):
        refs = SIM.refs
        order = self.client.create_order(**self.order_values())
        parties = {'date': NOW, 'organization': refs['org'],
            'partner': RETAIL_PARTNER, 'counterparty': RETAIL_CP,
            'agreement': refs['agreement'], 'currency': refs['rub']}
        priced = self.line(2, price=Decimal('6990'))
        sale = self.client.create_sale(order=order['key'], warehouse=SHOP,
            lines=[priced], **parties)
        self.assertTrue(sale['posted'])
        info, = SIM.stock(SNEAKERS, SHOP, '42')
        self.assertEqual((info['on_hand'], info['reserved']), (1, 0))
        ret = self.client.create_return(sale=sale['key'], warehouse=SHOP,
            lines=[self.line(1, price=Decimal('6990'))], **parties)
        self.assertTrue(ret['posted'])
        self.assertEqual(self.free(), Decimal(2))

    def test_unpost(self):
        order = self.client.create_order(**self.order_values())
        self.assertFalse(self.client.unpost(payloads.ORDER,
                order['key'])['posted'])
        self.assertEqual(self.free(), Decimal(3))


class FailureTest(SimulatorTestCase):
    def test_bad_credentials(self):
        client = UT11Client(URL, 'odata', 'wrong')
        with self.assertRaises(ConfigurationError) as cm:
            list(client.warehouses())
        self.assertEqual(cm.exception.status, 401)
        self.assertIn('Ошибка аутентификации', str(cm.exception))

    def test_cyrillic_login(self):
        SIM.credentials('Интеграция', 'пароль')
        client = UT11Client(URL, 'Интеграция', 'пароль')
        self.assertEqual(len(list(client.warehouses())), 8)

    def test_unpublished_set_and_publication(self):
        SIM.unpublish(['Catalog_Склады'])
        with self.assertRaisesRegex(ConfigurationError, 'Catalog_Склады'):
            list(self.client.warehouses())
        client = UT11Client(URL.replace('/ut/', '/trade/'), 'odata', 'odata')
        with self.assertRaises(ConfigurationError):
            list(client.products())

    def test_missing_document_is_permanent(self):
        with self.assertRaises(PermanentError) as cm:
            self.client.document(payloads.ORDER, HAT)
        self.assertEqual(cm.exception.status, 404)

    def test_503_and_internal_error_are_transient(self):
        SIM.faults.add(kind='error', status=503, count=1)
        with self.assertRaises(TransientError) as cm:
            list(self.client.products())
        self.assertEqual(cm.exception.status, 503)
        self.assertEqual(len(list(self.client.products())), 21)
        SIM.faults.add(kind='error', endpoint='*/Post', count=1)
        with self.assertRaisesRegex(TransientError, 'внутренняя ошибка'):
            self.client.create_order(**self.order_values())

    def test_down_and_rate_limit_are_transient(self):
        SIM.faults.add(kind='down', count=1)
        with self.assertRaises(TransientError):
            list(self.client.warehouses())
        SIM.faults.add(kind='rate_limit', count=1)
        with self.assertRaises(TransientError) as cm:
            list(self.client.warehouses())
        self.assertEqual(cm.exception.status, 429)

    def test_timeout_is_transient(self):
        SIM.faults.add(kind='slow', delay=1.5, count=1)
        client = UT11Client(URL, 'odata', 'odata', timeout=0.5)
        with self.assertRaises(TransientError):
            list(client.warehouses())


if __name__ == '__main__':
    unittest.main()
