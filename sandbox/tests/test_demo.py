"""Demo activity: random site orders and 1C stock changes on the clock."""
import re
import unittest

import requests

import sandbox
from sandbox import demo
from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.ut11 import demo_dataset, stable_ref

CITIES = {city for city, _, _ in demo.CITIES}


class DemoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clock = FakeClock()
        cls.sb = sandbox.start(['bitrix_site', 'ut11'], clock=cls.clock)
        cls.addClassCleanup(cls.sb.stop)
        cls.site, cls.ut11 = cls.sb['bitrix_site'], cls.sb['ut11']

    def setUp(self):
        self.sb.reset()

    def ut11_catalogue(self):
        return self.site.load_catalog(**demo.site_catalogue(demo_dataset(),
                stable_ref))

    def test_the_site_sells_the_ut11_catalogue(self):
        counts = self.ut11_catalogue()
        self.assertEqual(counts['products'], len(demo_dataset()['products']))
        sneakers_42 = (f"{stable_ref('item', 'КР-1001')}#"
            f"{stable_ref('size', 'КР-1001', '42')}")
        offer = self.site.catalog['offers'][sneakers_42]
        self.assertEqual(offer['name'], 'Кроссовки беговые AirRun, 42')
        self.assertEqual(list(offer['prices'].values())[0]['price'], 6990)
        # the summer price (a later SliceLast record) wins
        windbreaker = self.site.catalog['offers'][
            f"{stable_ref('item', 'КТ-4003')}#"
            f"{stable_ref('size', 'КТ-4003', 'M')}"]
        self.assertEqual(list(windbreaker['prices'].values())[0]['price'],
            3990)

    def test_random_order(self):
        self.ut11_catalogue()
        control = SandboxControl(self.site.base_url)
        placed = control.action('place_random_order', seed=7)
        order = self.site.orders[placed['id']]
        props = {p['code']: p['value'] for p in order['properties']}
        self.assertIn(order['delivery']['city'], CITIES)
        self.assertRegex(props['FIO'], r'^[А-ЯЁ][а-яё]+ [А-ЯЁ][а-яё]+ '
            r'[А-ЯЁ][а-яё]+$')
        self.assertRegex(props['PHONE'], r'^\+79\d{9}$')
        self.assertRegex(props['EMAIL'], r'^[a-z]+\.\d+@[a-z.]+$')
        offers = self.site.catalog['offers']
        self.assertTrue(all(l['product_xml_id'] in offers
                for l in order['lines']))
        self.assertTrue(1 <= len(order['lines']) <= 3)
        if order['delivery']['id'] == demo.PICKUP:
            self.assertEqual(order['delivery']['address'], '')
        # the same seed, the same customer and basket
        again = control.action('place_random_order', seed=7)
        self.assertEqual([l['product_xml_id'] for l in again['lines']],
            [l['product_xml_id'] for l in placed['lines']])

    def test_many_random_orders_vary(self):
        self.ut11_catalogue()
        orders = [self.site.place_random_order(seed=n) for n in range(40)]
        placed = [self.site.orders[o['id']] for o in orders]
        self.assertGreater(len({o['delivery']['id'] for o in placed}), 2)
        self.assertGreater(len({o['payments'][-1]['pay_system_id']
                    for o in placed}), 1)
        self.assertGreater(len({o['delivery']['city'] for o in placed}), 4)
        with_code = [o for o in placed if o['coupon']]
        self.assertTrue(with_code)
        # only codes the site applied are kept
        self.assertTrue(all(o['discounts'] for o in with_code))

    def test_demo_off_by_default(self):
        self.clock.advance(600)
        self.assertEqual(self.site.orders, {})
        self.assertEqual(list(self.ut11.activity), [])

    def test_demo_activity_on_the_clock(self):
        sb = sandbox.start(['bitrix_site', 'ut11'], clock=self.clock)
        try:
            demo.start(sb)
            site, ut11 = sb['bitrix_site'], sb['ut11']
            start = ut11.now()
            self.clock.advance(59)
            self.assertEqual(len(site.orders), 0)
            self.assertEqual(len(ut11.activity), 1)     # at 30 s
            self.clock.advance(1)
            self.assertEqual(len(site.orders), 1)
            self.assertEqual(len(ut11.activity), 2)
            self.assertTrue(re.match('Продажа|Перемещение|Поступление',
                    ut11.activity[0][1]))
            self.assert_turnovers(ut11, start)
        finally:
            sb.stop()
        self.clock.advance(600)     # stopped: its timers are gone
        self.assertEqual(len(site.orders), 1)

    def assert_turnovers(self, ut11, start):
        "1C's Turnovers see the demo's movements, as a posting's"
        url = (f"{ut11.base_url}/ut/odata/standard.odata/"
            "AccumulationRegister_ЗапасыИПотребности/Turnovers("
            f"StartPeriod=datetime'{start}')")
        rows = requests.get(url, params={'$format': 'json'},
            auth=('odata', 'odata'), timeout=5).json()['value']
        self.assertTrue(rows)
        self.assertTrue(all(r['ВНаличииTurnover'] or
                r['РезервироватьНаСкладеTurnover'] for r in rows))

    def test_moves_of_each_kind(self):
        kinds = set()
        for seed in range(30):
            done = self.ut11.move_random_stock(seed=seed)['done']
            kinds.add(done.split(':')[0])
        self.assertEqual(kinds, {'Продажа в магазине', 'Перемещение',
                'Поступление от поставщика'})
        documents = self.ut11.documents()
        self.assertTrue(all(d['Posted'] for d in documents))
        self.assertEqual({d['type'] for d in documents},
            {'РеализацияТоваровУслуг', 'ПеремещениеТоваров'})
