"""«Возвраты» on the shop's phone portal (with hub_portal), through
Tryton's WSGI application as a phone uses it: the returns of the user's
shops with goods to take in, «Товар получен», another shop refused."""
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.transaction import Transaction

from trytond.modules.hub_portal.tests.tools import BASE, PortalClient
from trytond.modules.order_hub.tests.tools import (
    create_user, set_company, setup_company)
from trytond.modules.order_shipments.tests.tools import (
    create_shops, paid_order)

PASSWORD = 'Shop-portal-2026'


def setup_data():
    """A hat handed over on Tverskaya and brought back there; a return of
    a scarf never shipped (nothing to take in); the shops' staff"""
    pool = Pool()
    Shipment = pool.get('order_shipments.shipment')
    Block = pool.get('order_returns.block')
    Reason = pool.get('order_returns.reason')
    User = pool.get('res.user')
    shops = create_shops()
    reason, = Reason.search([], limit=1)

    order = paid_order([(shops.hat, 1)], delivery_service='pickup',
        pickup_shop=shops.tverskaya.id, customer_name="Ольга Возвратова")
    line, = order.lines
    shipment = Shipment.request_goods(order, [(line, Decimal(1))],
        shops.tverskaya, shops.tverskaya, 'shop_pickup')
    Shipment.arrive([shipment])
    Shipment.hand_over([shipment])
    back = Block.create_return(order.__class__(order.id),
        [(line, Decimal(1))], reason, channel='shop', shop=shops.tverskaya)

    unshipped = paid_order([(shops.hat, 1)], delivery_service='pickup',
        pickup_shop=shops.tverskaya.id, customer_name="Пётр Неотгрузов")
    never = Block.create_return(unshipped, [(unshipped.lines[0],
                Decimal(1))], reason, channel='shop', shop=shops.tverskaya)

    users = [create_user('shop.tverskaya', ['group_shop'],
            [shops.tverskaya]),
        create_user('shop.nevsky', ['group_shop'], [shops.nevsky]),
        create_user('outsider')]
    User.write(users, {'password': PASSWORD})
    return back.id, never.id


class ReturnsPortalTestCase(PortalClient, unittest.TestCase):
    "The shop's phone page of returns to take in"
    password = PASSWORD

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        test_tryton.activate_module(['order_returns', 'hub_portal'],
            lang='ru')
        with Transaction().start(DB_NAME, 0) as transaction:
            with set_company(setup_company()):
                cls.back, cls.never = setup_data()
            transaction.commit()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def received(self, block_id):
        with Transaction().start(DB_NAME, 0, readonly=True):
            return bool(Pool().get('order_returns.block')(block_id).received)

    def test_receive_from_the_phone(self):
        "Listed for its shop, taken in with «Товар получен», then gone"
        client = self.client('shop.tverskaya')
        home = client.get(f'{BASE}/')
        self.assertIn("Возвраты", home.text)
        page = client.get(f'{BASE}/returns')
        self.assertEqual(page.status_code, 200)
        self.assertIn("Ольга Возвратова", page.text)
        self.assertIn("Шапка вязаная × 1", page.text)
        self.assertIn("Товар получен</button>", page.text)
        self.assertNotIn("Пётр Неотгрузов", page.text)

        response = self.post(client, page, f'return_receive/{self.back}')
        self.assertEqual(response.status_code, 303)
        self.assertTrue(self.received(self.back))
        page = client.get(f'{BASE}/returns')
        self.assertIn("товар получен", page.text)
        self.assertIn("Возвратов к приёму нет.", page.text)

    def test_another_shop_refused(self):
        "Nevsky's staff neither see nor take in Tverskaya's return"
        client = self.client('shop.nevsky')
        page = client.get(f'{BASE}/returns')
        self.assertNotIn("Ольга Возвратова", page.text)
        response = self.post(client, page, f'return_receive/{self.never}')
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.received(self.never))
        outsider = self.client('outsider')
        self.assertEqual(outsider.get(f'{BASE}/returns').status_code, 403)
