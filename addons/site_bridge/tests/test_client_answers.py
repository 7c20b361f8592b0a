"""The site client against answers as real 1C-Bitrix sites give them, over
real HTTP: a byte-order mark before every answer (a PHP file of the site
saved with one), windows-1251 XML behind it, JSON with a BOM, an answer
too big to keep.

No database: the client is plain Python."""
import unittest
from pathlib import Path
from unittest import mock

from trytond.modules.hub_sync.errors import PermanentError

from .. import client as client_module
from ..client import SiteClient, SiteRestClient
from .fake_site import FakeSite

SAMPLES = Path(__file__).parent / 'samples'


class AnswersTestCase(unittest.TestCase):

    def site(self, query=b'', bom=True, **kwargs):
        site = FakeSite(query=query, bom=bom, **kwargs)
        site.start()
        self.addCleanup(site.stop)
        return site

    def client(self, site):
        return SiteClient(site.base_url, site.login, site.password,
            timeout=3)

    def test_exchange_with_a_bom_before_every_answer(self):
        "checkauth, init, query (windows-1251 XML), success: all behind a BOM"
        site = self.site((SAMPLES / 'orders-2.03-cp1251.xml').read_bytes())
        client = self.client(site)
        batch = client.fetch_orders()
        order, = batch.orders
        self.assertEqual(order['customer']['full_name'], 'Петров Алексей')
        self.assertEqual(order['comment'], 'Позвоните за час до приезда')
        client.confirm_orders(batch)
        self.assertEqual(site.modes(), ['checkauth', 'init', 'query',
                'success'])

    def test_exchange_utf8_export_with_bom(self):
        site = self.site((SAMPLES / 'orders-2.08-utf8-bom.xml').read_bytes(),
            bom=False, query_type='application/xml; charset=utf-8')
        batch = self.client(site).fetch_orders()
        self.assertEqual([o['number'] for o in batch.orders], ['5201', '5202'])

    def test_unreadable_orders_come_apart_and_are_confirmed(self):
        site = self.site((SAMPLES
                / 'orders-2.05-quarantine-cp1251.xml').read_bytes())
        client = self.client(site)
        batch = client.fetch_orders()
        self.assertEqual([o['number'] for o in batch.orders], ['5501', '5503'])
        self.assertEqual([u['number'] for u in batch.unreadable], ['5502'])
        self.assertEqual(str(batch.exported_at), '2024-04-08 10:20:00')
        client.confirm_orders(batch)
        self.assertEqual(site.modes()[-1], 'success')

    def test_rest_answer_with_a_bom(self):
        site = self.site()
        site.rest['sale.order.get'] = {'order': {'id': 1001, 'price': 890}}
        rest = SiteRestClient(site.base_url, site.webhook, timeout=3)
        self.assertEqual(rest.get_order(1001), {'id': 1001, 'price': 890})

    def test_pricing_answer_with_a_bom(self):
        site = self.site()
        site.price = {'api_version': '1', 'request_id': 'r',
            'priced_at': '2024-04-08T10:00:00+03:00',
            'items': [{'key': '1', 'xml_id': 'x', 'name': 'Шапка',
                    'quantity': '1', 'base_price': '890', 'price': '801',
                    'discount': '89', 'sum': '801'}],
            'totals': {'base': '890', 'discount': '89', 'total': '801'}}
        priced = self.client(site).price_basket(
            [{'key': 1, 'xml_id': 'x', 'quantity': 1}])
        self.assertEqual(str(priced.total), '801')

    def test_answer_too_big_is_refused(self):
        site = self.site((SAMPLES / 'orders-2.03-cp1251.xml').read_bytes())
        with mock.patch.object(client_module, 'MAX_FILE_BYTES', 1000):
            with self.assertRaises(PermanentError) as cm:
                self.client(site).fetch_orders()
        self.assertIn('Ответ сайта больше', cm.exception.message)
        self.assertNotIn('success', site.modes())
