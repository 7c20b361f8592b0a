"""The HTTP base of the bridges' clients against a remote over real HTTP"""
import unittest

from trytond.modules.hub_sync import errors
from trytond.modules.hub_sync.http import HttpClient
from trytond.modules.hub_sync.retry import backoff

from .shop import ShopClient, ShopSimulator


class HttpClientTestCase(unittest.TestCase):
    "The HTTP base classifies failures (no database)"

    @classmethod
    def setUpClass(cls):
        cls.shop = ShopSimulator()
        cls.shop.start()
        cls.addClassCleanup(cls.shop.stop)

    def setUp(self):
        self.shop.reset()
        self.client = ShopClient(self.shop.base_url, timeout=0.5)

    def test_success(self):
        self.assertEqual(self.client.create_order('k', {}), 'R-1')

    def test_5xx_is_transient(self):
        self.shop.faults.add(kind='error', status=502, count=1)
        with self.assertRaises(errors.TransientError) as cm:
            self.client.create_order('k', {})
        self.assertEqual(cm.exception.status, 502)
        self.assertIn('-> 502', cm.exception.detail)

    def test_429_retry_after(self):
        with self.assertRaises(errors.TransientError) as cm:
            self.client.request('GET', '/limited')
        self.assertEqual((cm.exception.status, cm.exception.retry_after),
            (429, 120))

    def test_4xx_is_permanent_with_body(self):
        self.shop.refusal = "Нет такого товара"
        with self.assertRaises(errors.PermanentError) as cm:
            self.client.create_order('k', {})
        self.assertEqual(cm.exception.status, 422)
        self.assertEqual(cm.exception.message, "Нет такого товара")
        self.assertIn("Нет такого товара", cm.exception.body)

    def test_timeout_and_down_are_transient(self):
        self.shop.faults.add(kind='slow', delay=1.5, count=1)
        self.assertRaises(errors.TransientError,
            self.client.create_order, 'k', {})
        self.shop.faults.add(kind='down', count=1)
        self.assertRaises(errors.TransientError,
            self.client.create_order, 'k', {})

    def test_bad_url_is_configuration(self):
        client = HttpClient('nowhere', timeout=1)
        self.assertRaises(errors.ConfigurationError,
            client.request, 'GET', '/x')

    def test_backoff(self):
        self.assertEqual(backoff(1, rand=lambda: 0), 10)
        self.assertEqual(backoff(3, rand=lambda: 0), 40)
        self.assertEqual(backoff(30, rand=lambda: 1), 3600)
        self.assertEqual(backoff(1, retry_after=120, rand=lambda: 0), 120)


