"""Shop scoping of a *directory* user through JSON-RPC: a shop employee who
logs in with the directory password (real slapd), and whose shop comes from
the directory-group mapping, reads only that shop's orders, shipments and
returns; another shop's records are refused."""
import base64
import json
import unittest
from decimal import Decimal

from werkzeug.test import Client
from werkzeug.wrappers import Response

from trytond.config import config
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, set_company, setup_company)
from trytond.modules.order_shipments.tests.tools import (
    create_shops, paid_order)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .slapd import BASE, SERVICE_DN, SERVICE_PASSWORD, Slapd, available

MODELS = {
    'order': 'order_hub.order',
    'shipment': 'order_shipments.shipment',
    'return': 'order_returns.block',
    }


@unittest.skipUnless(available(), "slapd is not installed (apt: slapd)")
class DirectoryShopScopingTestCase(HubTestCase):
    "A directory user of one shop over JSON-RPC"
    modules = ['hub_auth', 'order_returns']

    @classmethod
    def setUpClass(cls):
        cls.server = Slapd()
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        cls.configure()
        super().setUpClass()
        cls.prepare()

    @classmethod
    def configure(cls):
        if not config.has_section('hub_auth'):
            config.add_section('hub_auth')
            cls.addClassCleanup(config.remove_section, 'hub_auth')
        values = {
            'uri': f'ldaps://127.0.0.1:{cls.server.tls_port}',
            'base': BASE, 'bind_dn': SERVICE_DN,
            'bind_password': SERVICE_PASSWORD,
            'ca_file': cls.server.ca_file,
            }
        saved = {(s, n): config.get(s, n) for s, n in [
                ('session', 'authentications'), *(
                    ('hub_auth', n) for n in values)]}
        for name, value in values.items():
            config.set('hub_auth', name, value)
        config.set('session', 'authentications', 'password,directory')

        def restore():
            for (section, name), value in saved.items():
                config.set(section, name, value or '')
        cls.addClassCleanup(restore)

    @classmethod
    @with_transaction()
    def prepare(cls):
        pool = Pool()
        GroupMap = pool.get('hub_auth.group_map')
        Shipment = pool.get('order_shipments.shipment')
        Block = pool.get('order_returns.block')
        Reason = pool.get('order_returns.reason')
        ModelData = pool.get('ir.model.data')
        with set_company(setup_company()):
            shops = create_shops()
            reason, = Reason.search([], limit=1)
            cls.records = {'own': {}, 'other': {}}
            for side, shop, product in [
                    ('own', shops.tverskaya, shops.hat),
                    ('other', shops.nevsky, shops.scarf)]:
                order = paid_order([(product, 1)],
                    delivery_service='pickup', pickup_shop=shop.id)
                line, = order.lines
                shipment = Shipment.request_goods(order,
                    [(line, Decimal(1))], shop, shop, 'shop_pickup')
                block = Block.create_return(order, [(line, Decimal(1))],
                    reason)
                cls.records[side] = {'order': order.id,
                    'shipment': shipment.id, 'return': block.id}
        GroupMap.create([{
                    'name': "Магазин на Тверской",
                    'directory_group': f'cn=hub-msk,ou=groups,{BASE}',
                    'groups': [('add', [
                                ModelData.get_id('order_hub', 'group_shop')])],
                    'shops': [('add', [shops.tverskaya.id])],
                    }])
        Transaction().commit()

    def setUp(self):
        self.client = Client(app, Response)
        status, result = self.rpc('common.db.login', 'ivan',
            {'password': 'Ivan-passw0rd'}, 'ru')
        self.assertEqual(status, 200, result)
        user_id, key = result['result'][:2]
        self.session = f'ivan:{user_id}:{key}'

    def rpc(self, method, *params):
        headers = {'Content-Type': 'application/json'}
        if getattr(self, 'session', None):
            token = base64.b64encode(self.session.encode()).decode()
            headers['Authorization'] = f'Session {token}'
        response = self.client.post(f'/{DB_NAME}/rpc/', headers=headers,
            data=json.dumps({'id': 1, 'method': method, 'params': params}))
        return response.status_code, json.loads(response.data)

    def test_lists_hold_own_shop_only(self):
        for kind, model in MODELS.items():
            with self.subTest(kind=kind):
                status, result = self.rpc(f'model.{model}.search',
                    [], 0, None, None, {})
                self.assertEqual(status, 200, result)
                self.assertEqual(result.get('result'),
                    [self.records['own'][kind]], result)

    def test_other_shop_records_refused(self):
        for kind, model in MODELS.items():
            with self.subTest(kind=kind):
                _, result = self.rpc(f'model.{model}.read',
                    [self.records['own'][kind]], ['id'], {})
                self.assertEqual(result['result'],
                    [{'id': self.records['own'][kind]}])
                _, result = self.rpc(f'model.{model}.read',
                    [self.records['other'][kind]], ['id'], {})
                self.assertNotIn('result', result)
                kind_, (message, *_) = result['error']
                self.assertEqual(kind_, 'UserError')
                self.assertIn("нет прав", message)


del HubTestCase
