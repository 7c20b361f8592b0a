"""Shop staff cannot reach another shop's items through the JSON-RPC or the
REST interface, the doors a script or another client would use."""
import base64
import json
import secrets

from werkzeug.test import Client
from werkzeug.wrappers import Response

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .tools import (
    HubTestCase, create_city, create_order, create_product, create_user,
    create_warehouse, set_company, set_stock, setup_company)

PASSWORD = 'Tverskaya-2026!'


class AccessTestCase(HubTestCase):
    "Shop scoping over HTTP"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.prepare()

    @classmethod
    @with_transaction()
    def prepare(cls):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Application = pool.get('res.user.application')
        User = pool.get('res.user')
        with set_company(setup_company()):
            moscow = create_city("Москва", 55.755826, 37.6173)
            spb = create_city("Санкт-Петербург", 59.939095, 30.315868)
            tver = create_city("Тверь", 56.859611, 35.911896)
            own = create_warehouse("Магазин на Тверской", moscow)
            other = create_warehouse("Магазин на Невском", spb)
            scarf, = create_product("Шарф шерстяной", '1990')
            set_stock(scarf, own, 1)
            set_stock(scarf, other, 5)
            order = create_order([(scarf, 3)], delivery_city=tver.id)
            Order.pay([order])
            Order.reserve([order])
            by_shop = {r.warehouse: r.id for r in order.reservations}
            cls.own_reservation = by_shop[own]
            cls.other_reservation = by_shop[other]
            clerk = create_user('shop.tverskaya', ['group_shop'], [own])
            User.write([clerk], {'password': PASSWORD})
            cls.key = secrets.token_hex(16)
            Application.create([{'key': cls.key, 'user': clerk.id,
                        'application': 'rest', 'state': 'validated'}])
        Transaction().commit()

    def setUp(self):
        self.client = Client(app, Response)

    def rest(self, path):
        return self.client.get(f'/{DB_NAME}/rest/model/{path}',
            headers={'Authorization': f'bearer {self.key}'})

    def rpc(self, method, *params, session=None):
        headers = {'Content-Type': 'application/json'}
        if session:
            token = base64.b64encode(session.encode()).decode()
            headers['Authorization'] = f'Session {token}'
        response = self.client.post(f'/{DB_NAME}/rpc/', headers=headers,
            data=json.dumps({'id': 1, 'method': method, 'params': params}))
        return response.status_code, json.loads(response.data)

    def test_rest_lists_only_own_shop(self):
        response = self.rest('order_hub.reservation?f=warehouse&f=quantity')
        self.assertEqual(response.status_code, 200)
        ids = [r['id'] for r in json.loads(response.data)]
        self.assertEqual(ids, [self.own_reservation])

    def test_rest_refuses_other_shop_record(self):
        self.assertEqual(
            self.rest(f'order_hub.reservation/{self.own_reservation}'
                ).status_code, 200)
        response = self.rest(
            f'order_hub.reservation/{self.other_reservation}?f=quantity')
        # the REST route answers as if the record did not exist
        self.assertIn(response.status_code, {403, 404})
        self.assertNotIn(b'quantity', response.data)

    def test_rpc_refuses_other_shop_record(self):
        status, result = self.rpc('common.db.login', 'shop.tverskaya',
            {'password': PASSWORD}, 'ru')
        self.assertEqual(status, 200, result)
        user_id, key = result['result'][:2]
        session = f'shop.tverskaya:{user_id}:{key}'
        _, result = self.rpc('model.order_hub.reservation.read',
            [self.own_reservation], ['quantity'], {}, session=session)
        self.assertEqual(result['result'][0]['quantity'],
            {'__class__': 'Decimal', 'decimal': '1'})
        _, result = self.rpc('model.order_hub.reservation.read',
            [self.other_reservation], ['quantity'], {}, session=session)
        self.assertNotIn('result', result)
        kind, (message, *_) = result['error']
        self.assertEqual(kind, 'UserError')
        self.assertIn("нет прав", message)
        _, result = self.rpc('model.order_hub.reservation.search',
            [], 0, None, None, {}, session=session)
        self.assertEqual(result['result'], [self.own_reservation])


del HubTestCase
