"""Photos of codes from the shop's phone portal (with hub_portal), through
Tryton's WSGI application (werkzeug's test client)."""
import io
import unittest
from decimal import Decimal

from werkzeug.datastructures import FileStorage

from trytond.modules.hub_portal.tests.tools import BASE, PortalClient
from trytond.modules.order_hub.tests.tools import (
    create_city, create_product, create_user, create_warehouse, set_company,
    setup_company)
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.transaction import Transaction

from .photos import photos
from .samples import code, gtin

PASSWORD = 'Shop-portal-2026'
EAN = gtin('460777000111')


class MarkingPortalTestCase(PortalClient, unittest.TestCase):
    password = PASSWORD

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        test_tryton.activate_module(['marking', 'hub_portal'], lang='ru')
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            company = setup_company()
            User = pool.get('res.user')
            User.write([User(1)], {'companies': [('add', [company.id])],
                    'company': company.id})
            with set_company(company):
                product, = create_product("Ботинки", '9000', marked=True)
                pool.get('product.template').write([product.template],
                    {'marking_group': 'shoes'})
                pool.get('product.identifier').create([{
                            'product': product.id, 'type': 'ean',
                            'code': EAN}])
                city = create_city("Москва", '55.75', '37.61')
                shop = create_warehouse("Магазин на Тверской", city)
                # shop staff see the orders picked up at (or reserved in)
                # their shops
                order, = pool.get('order_hub.order').create([{
                            'delivery_service': 'pickup',
                            'pickup_shop': shop.id, 'delivery_city': city.id,
                            'customer_name': "Петров Пётр",
                            'phone': '+7 916 000-00-01',
                            'lines': [('create', [{'product': product.id,
                                            'quantity': Decimal(2)}])]}])
                cls.line = order.lines[0].id
                user = create_user('shop.one', ['group_shop'], [shop])
                other = create_user('shop.two', ['group_shop'],
                    [create_warehouse("Магазин на Невском", city)])
                User.write([user, other], {'password': PASSWORD})
            transaction.commit()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def client(self, login='shop.one'):
        return super().client(login)

    def upload(self, client, page, unit, data):
        return client.post(f'{BASE}/marking_photo/{self.line}/{unit}',
            data={'csrf_token': self.token(page), 'photo': FileStorage(
                    stream=io.BytesIO(data),
                    filename='IMG_1.jpg', content_type='image/jpeg')},
            follow_redirects=True)

    def codes(self):
        with Transaction().start(DB_NAME, 0, readonly=True):
            Code = Pool().get('marking.code')
            return [(c.unit, c.state, c.code, bool(c.photo))
                for c in Code.search([('line', '=', self.line)])]

    def test_photo_of_each_unit(self):
        client = self.client()
        home = client.get(f'{BASE}/')
        self.assertIn("Коды маркировки", home.text)
        listing = client.get(f'{BASE}/marking')
        self.assertIn("Ботинки", listing.text)
        page = client.get(f'{BASE}/marking_line/{self.line}')
        self.assertEqual(page.status_code, 200)
        self.assertEqual(page.text.count('capture="environment"'), 2)

        text = code('shoes', gtin_='0' + EAN)
        answer = self.upload(client, page, 1, photos([text], seed=3)[0])
        self.assertIn("распознан с фото", answer.text)
        blurred = photos([text], seed=3, blur=9)[0]
        page = client.get(f'{BASE}/marking_line/{self.line}')
        answer = self.upload(client, page, 2, blurred)
        self.assertIn("не распознан", answer.text)
        self.assertEqual(self.codes(), [(1, 'pending', text, True),
                (2, 'unreadable', None, True)])
        # the unreadable unit may be photographed again
        self.assertEqual(answer.text.count('capture="environment"'), 1)
        answer = self.upload(client, answer, 2, b'')
        self.assertIn("Сфотографируйте код", answer.text)

    def test_other_shop_cannot_post_a_photo(self):
        "Another shop's staff: the line is not theirs, nothing is stored"
        client = self.client('shop.two')
        before = self.codes()
        home = client.get(f'{BASE}/')
        page = client.get(f'{BASE}/marking_line/{self.line}')
        self.assertEqual(page.status_code, 404)
        answer = self.upload(client, home, 1,
            photos([code('shoes', gtin_='0' + EAN)], seed=5)[0])
        self.assertEqual(answer.status_code, 404)
        self.assertEqual(self.codes(), before)
