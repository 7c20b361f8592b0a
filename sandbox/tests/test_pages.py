"""Every simulator's control page (GET /__sandbox__/): readable HTML with
its state and its control actions; the site's and 1C's show what a demo
user wants to see, and the page's buttons run their actions."""
import unittest

import requests

import sandbox
from sandbox import demo
from sandbox.clock import FakeClock
from sandbox.ut11 import demo_dataset, stable_ref


class PagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb = sandbox.start(clock=FakeClock())
        cls.addClassCleanup(cls.sb.stop)

    def page(self, system):
        response = requests.get(self.sb.urls[system] + '/__sandbox__/',
            timeout=5)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers['Content-Type'],
            'text/html; charset=utf-8')
        return response.text

    def test_every_simulator_has_a_page(self):
        for system, simulator in self.sb.simulators.items():
            with self.subTest(system):
                html = self.page(system)
                self.assertIn(f'<h1>{simulator.title}</h1>', html)
                self.assertIn('<h2>Состояние</h2>', html)
                for action in simulator.control_actions():
                    self.assertIn(f'/__sandbox__/{action}', html)
                self.assertNotIn('<script', html)

    def test_site_orders_and_button(self):
        site = self.sb['bitrix_site']
        site.load_catalog(**demo.site_catalogue(demo_dataset(), stable_ref))
        url = self.sb.urls['bitrix_site'] + '/__sandbox__/'
        response = requests.post(url, data={'action': 'place_random_order'},
            timeout=5)
        self.assertEqual(response.url, url + '?done=place_random_order')
        self.assertIn('Выполнено: Разместить заказ', response.text)
        order, = site.orders.values()
        html = self.page('bitrix_site')
        self.assertIn(f'<td>{order["account_number"]}</td>', html)
        self.assertIn(order['lines'][0]['name'], html)
        self.assertIn('<button type="submit">Разместить заказ</button>', html)
        refused = requests.post(url, data={'action': 'reset'}, timeout=5)
        self.assertEqual(refused.status_code, 404)
        site.load_catalog()     # nothing to sell: the page says why
        failed = requests.post(url, data={'action': 'place_random_order'},
            timeout=5)
        self.assertEqual(failed.status_code, 400)
        self.assertIn('Не выполнено: the site has no offer', failed.text)

    def test_ut11_documents_and_stock(self):
        ut11 = self.sb['ut11']
        for seed in range(6):
            ut11.move_random_stock(seed=seed)
        html = self.page('ut11')
        for title in ('Заказы клиентов (ЗаказКлиента)', 'Перемещения',
                'Реализации (РеализацияТоваровУслуг)', 'Остатки по складам',
                'Последние движения демо'):
            self.assertIn(title, html)
        for document in ut11.documents():
            self.assertIn(f'<td>{document["Number"]}</td>', html)
        self.assertIn('<td>Центральный склад</td>', html)
        self.assertIn(ut11.activity[0][1].split(':')[0], html)
