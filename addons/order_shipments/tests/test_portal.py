"""The shipments' pages of the shop's phone portal, through Tryton's WSGI
application as a phone uses them (werkzeug's test client: routing, cookies,
CSRF): «Выдача», «Отправить», «Принять», the shipment page the pickup
slip's QR code opens, «Доставлено» and «Выдан» ending with the order
«Выдан» and its full-settlement receipt, and another shop refused."""
import unittest
from urllib.parse import quote, unquote
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.transaction import Transaction

from trytond.modules.order_hub.tests.tools import (
    create_user, set_company, setup_company)
from trytond.modules.hub_portal.tests.tools import BASE, PortalClient

from .tools import create_shops, paid_order

PASSWORD = 'Shop-portal-2026'


def setup_data():
    "Shops, their staff, pickups waiting in two shops, a transfer to send"
    pool = Pool()
    Shipment = pool.get('order_shipments.shipment')
    User = pool.get('res.user')
    shops = create_shops()

    def pickup(product, source, shop, **values):
        order = paid_order([(product, 1)], delivery_service='pickup',
            pickup_shop=shop.id, **values)
        return Shipment.request_goods(order, [(order.lines[0], Decimal(1))],
            source, shop, 'shop_pickup')

    data = {
        # in the pickup shop already: «Отправлено» at once
        'hat_listed': pickup(shops.hat, shops.tverskaya, shops.tverskaya,
            customer_name="Анна Листова"),
        'hat_handed': pickup(shops.hat, shops.tverskaya, shops.tverskaya,
            customer_name="Борис Выдачин"),
        'nevsky_own': pickup(shops.scarf, shops.nevsky, shops.nevsky,
            customer_name="Вера Невская"),
        # the goods must travel from Nevsky to Tverskaya
        'scarf_travel': pickup(shops.scarf, shops.nevsky, shops.tverskaya,
            customer_name="Глеб Путевой"),
        }
    users = {
        'tverskaya': create_user('shop.tverskaya', ['group_shop'],
            [shops.tverskaya]),
        'nevsky': create_user('shop.nevsky', ['group_shop'], [shops.nevsky]),
        'outsider': create_user('outsider'),
        }
    User.write(list(users.values()), {'password': PASSWORD})
    return ({k: s.number for k, s in data.items()},
        {k: u.id for k, u in users.items()})


class ShipmentPortalTestCase(PortalClient, unittest.TestCase):
    "The shop's phone pages for pickups and transfers"
    password = PASSWORD

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        test_tryton.activate_module(['order_shipments', 'hub_portal'],
            lang='ru')
        with Transaction().start(DB_NAME, 0) as transaction:
            with set_company(setup_company()):
                cls.numbers, cls.users = setup_data()
            transaction.commit()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def shipment(self, key):
        with Transaction().start(DB_NAME, 0, readonly=True):
            Shipment = Pool().get('order_shipments.shipment')
            shipment, = Shipment.search([('number', '=', self.numbers[key])])
            order = shipment.order
            return {'state': shipment.state, 'order': order.state,
                'receipts': [(r.kind, r.total) for r in order.receipts],
                'total': order.total,
                'messages': Pool().get('hub_notify.message').search_count(
                    [('origin', '=', str(shipment))]),
                'transfers': [t.id for t in shipment.transfers]}

    def test_menu_for_shop_staff_only(self):
        "«Выдача», «Отправить», «Принять» on «Главная» of shop staff only"
        home = self.client('shop.tverskaya').get(f'{BASE}/')
        for label in ["Выдача", "Отправить", "Принять"]:
            self.assertIn(label, home.text)
        outsider = self.client('outsider')
        home = outsider.get(f'{BASE}/')
        self.assertNotIn("Выдача", home.text)
        response = outsider.get(f'{BASE}/pickups')
        self.assertEqual(response.status_code, 403)
        self.assertIn('lang="ru"', response.text)

    def test_pickups_of_own_shop_only(self):
        "Each shop sees its own pickups: customer, order, goods, since when"
        page = self.client('shop.tverskaya').get(f'{BASE}/pickups')
        self.assertEqual(page.status_code, 200)
        self.assertIn(self.numbers['hat_listed'], page.text)
        self.assertIn("Анна Листова", page.text)
        self.assertIn("Шапка вязаная × 1", page.text)
        self.assertIn("Отправлено с ", page.text)
        self.assertNotIn(self.numbers['nevsky_own'], page.text)
        self.assertNotIn("Вера Невская", page.text)

        page = self.client('shop.nevsky').get(f'{BASE}/pickups')
        self.assertIn("Вера Невская", page.text)
        self.assertIn("Шарф шерстяной", page.text)
        self.assertNotIn("Анна Листова", page.text)

    def test_arrive_then_hand_over_issues_the_order(self):
        """«Доставлено» then «Выдан» from the phone: the customer is told,
        the order (its only shipment) is «Выдан» with its receipt"""
        number = self.numbers['hat_handed']
        client = self.client('shop.tverskaya')
        page = client.get(f'{BASE}/shipment/{number}')
        self.assertEqual(page.status_code, 200)
        self.assertIn("Борис Выдачин", page.text)
        self.assertIn("Шапка вязаная", page.text)
        self.assertIn("Доставлено</button>", page.text)
        self.assertNotIn("Выдан</button>", page.text)

        response = self.post(client, page, f'shipment_arrive/{number}',
            next=f'{BASE}/shipment/{number}')
        self.assertEqual(response.status_code, 303)
        self.assertEqual(unquote(response.location), f'{BASE}/shipment/{number}')
        after = self.shipment('hat_handed')
        self.assertEqual(after['state'], 'delivered')
        self.assertEqual(after['messages'], 2, "e-mail and SMS")

        page = client.get(f'{BASE}/shipment/{number}')
        self.assertIn("покупателю отправлено уведомление", page.text)
        self.assertIn("Выдан</button>", page.text)
        self.assertNotIn("Доставлено</button>", page.text)
        response = self.post(client, page, f'shipment_hand_over/{number}')
        self.assertEqual(response.status_code, 303)
        after = self.shipment('hat_handed')
        self.assertEqual(after['state'], 'issued')
        self.assertEqual(after['order'], 'issued')
        self.assertIn(('settlement', after['total']), after['receipts'])
        page = client.get(f'{BASE}/shipment/{number}')
        self.assertIn("выдано покупателю", page.text)
        self.assertNotIn("</button>", page.text.split('</header>')[1])

    def test_another_shop_refused(self):
        "Nevsky's staff neither see nor hand over Tverskaya's pickup"
        number = self.numbers['hat_listed']
        tverskaya = self.client('shop.tverskaya')
        page = tverskaya.get(f'{BASE}/shipment/{number}')
        nevsky = self.client('shop.nevsky')
        response = nevsky.get(f'{BASE}/shipment/{number}')
        self.assertEqual(response.status_code, 404)
        self.assertIn("не найден", response.text.lower())
        own = nevsky.get(f'{BASE}/pickups')
        response = self.post(nevsky, own, f'shipment_arrive/{number}')
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.shipment('hat_listed')['state'], 'sent')
        # nor with the other shop's page's token
        response = self.post(nevsky, page, f'shipment_arrive/{number}')
        self.assertIn(response.status_code, {403, 404})
        self.assertEqual(self.shipment('hat_listed')['state'], 'sent')

    def test_csrf_enforced(self):
        "A button pressed without the form's token changes nothing"
        number = self.numbers['hat_listed']
        client = self.client('shop.tverskaya')
        response = client.post(f'{BASE}/shipment_arrive/{number}',
            data={'csrf_token': 'forged'})
        self.assertEqual(response.status_code, 403)
        self.assertIn('lang="ru"', response.text)
        response = client.post(f'{BASE}/shipment_arrive/{number}')
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.shipment('hat_listed')['state'], 'sent')

    def test_send_and_receive_transfer(self):
        """«Отправить» in Nevsky, «Принять» in Tverskaya: the pickup is then
        on its way to the counter («Выдача»)"""
        number = self.numbers['scarf_travel']
        transfer, = self.shipment('scarf_travel')['transfers']
        tverskaya = self.client('shop.tverskaya')
        page = tverskaya.get(f'{BASE}/to_send')
        self.assertIn("Отправлять нечего", page.text)
        # Tverskaya cannot send Nevsky's goods
        response = self.post(tverskaya, page, f'transfer_ship/{transfer}',
            next=f'{BASE}/to_send')
        self.assertEqual(response.status_code, 303)
        page = tverskaya.get(response.location)
        self.assertIn("flash error", page.text)
        self.assertIn("Магазин на Невском", page.text)

        nevsky = self.client('shop.nevsky')
        page = nevsky.get(f'{BASE}/to_send')
        self.assertIn("Шарф шерстяной × 1", page.text)
        self.assertIn("Магазин на Тверской", page.text)
        response = self.post(nevsky, page, f'transfer_ship/{transfer}')
        self.assertEqual(response.status_code, 303)
        self.assertIn("Отправлять нечего",
            nevsky.get(response.location).text)

        page = tverskaya.get(f'{BASE}/arriving')
        self.assertIn("Шарф шерстяной × 1", page.text)
        response = self.post(tverskaya, page, f'transfer_receive/{transfer}')
        self.assertEqual(response.status_code, 303)
        page = tverskaya.get(response.location)
        self.assertIn("получено", page.text)
        self.assertIn("Товаров в пути нет", page.text)
        self.assertEqual(self.shipment('scarf_travel')['state'], 'sent')
        self.assertIn(number, tverskaya.get(f'{BASE}/pickups').text)

    def test_slip_qr_and_typed_number_open_the_shipment(self):
        """The slip's QR code holds the portal's address of the shipment
        (with the database); a number typed by hand opens it too"""
        number = self.numbers['hat_listed']
        with Transaction().start(DB_NAME, 0, readonly=True):
            Shipment = Pool().get('order_shipments.shipment')
            shipment, = Shipment.search([('number', '=', number)])
            url = shipment.slip_url
        self.assertTrue(url.startswith('http'), url)
        self.assertTrue(url.endswith(f'{BASE}/shipment/{quote(number)}'), url)
        client = self.client('shop.tverskaya')
        digits = number.split('-')[-1]
        host = url.split('/')[2]     # the phone reaches the hub there
        for code in [url, number, number.lower(), digits.lstrip('0')]:
            response = client.get(f'{BASE}/scan', query_string={'code': code},
                base_url=f'http://{host}')
            self.assertEqual(response.status_code, 303, code)
            self.assertEqual(unquote(response.location),
                f'{BASE}/shipment/{number}')
        # a number of another shop's shipment is not found there
        other = self.numbers['nevsky_own']
        response = client.get(f'{BASE}/scan', query_string={'code': other})
        self.assertEqual(response.status_code, 422)
