"""Credentials of connections (passwords, tokens, secrets of every module)
are readable through JSON-RPC by the hub's administrators only: every
activated module, every field whose name says it holds a secret."""
import base64
import datetime
import json
import re

from werkzeug.test import Client
from werkzeug.wrappers import Response

from trytond.modules.hub_common.tests.tools import all_hub_modules
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_user, set_company, setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

PASSWORD = 'Credentials-2026!'
SECRET = re.compile(r'(password|passwd|token|secret|private_key|api_key'
    r'|access_key|client_key)', re.I)
# not credentials: idempotency keys of messages, articles of a parcel
NOT_SECRET = {'idempotency_key', 'ware_key', 'password_reset_expire'}
STAFF = ['group_shop', 'group_manager', 'group_warehouse', 'group_accountant']


class CredentialsTestCase(HubTestCase):
    "Secrets of connections through JSON-RPC"
    # the same database as hub_common's list-view check: built once
    modules = all_hub_modules()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.prepare()

    @classmethod
    @with_transaction()
    def prepare(cls):
        pool = Pool()
        User = pool.get('res.user')
        System = pool.get('hub_sync.system')
        ModelData = pool.get('ir.model.data')
        with set_company(setup_company()):
            for group in STAFF + ['group_admin']:
                user = create_user(group, [group])
                User.write([user], {'password': PASSWORD})
            backup, = User.search([('login', '=', 'group_shop')])
            User.write([backup], {'groups': [('add', [ModelData.get_id(
                                'hub_backup', 'group_backup_admin')])]})
        system, = System.create([{'code': 'b24', 'name': "Битрикс24",
                    'password': 'b24-password', 'token': 'b24-token',
                    'secret': 'b24-secret', 'b24_refresh_token': 'refresh-1'}])
        cls.system = system.id
        staff, = User.search([('login', '=', 'group_manager')])
        User.write([staff], {'password_reset': 'One-time-2026',
                'password_reset_expire': datetime.datetime.now()
                + datetime.timedelta(days=1)})
        cls.fields = cls.secret_fields()
        cls.ids = {}
        for model, _ in cls.fields:
            cls.ids[model] = [r.id for r in pool.get(model).search(
                    [], limit=5, order=[('id', 'DESC')])]
        Transaction().commit()

    @classmethod
    def secret_fields(cls):
        fields = []
        for name, Model in Pool().iterobject():
            if not hasattr(Model, '_fields') or name.startswith('ir.'):
                continue
            for fname in Model._fields:
                if SECRET.search(fname) and fname not in NOT_SECRET:
                    fields.append((name, fname))
        return sorted(fields)

    def setUp(self):
        self.client = Client(app, Response)

    def rpc(self, method, *params, session=None):
        headers = {'Content-Type': 'application/json'}
        if session:
            token = base64.b64encode(session.encode()).decode()
            headers['Authorization'] = f'Session {token}'
        response = self.client.post(f'/{DB_NAME}/rpc/', headers=headers,
            data=json.dumps({'id': 1, 'method': method, 'params': params}))
        return json.loads(response.data)

    def session(self, login):
        result = self.rpc('common.db.login', login, {'password': PASSWORD},
            'ru')
        user_id, key = result['result'][:2]
        return f'{login}:{user_id}:{key}'

    def test_secret_fields_found(self):
        "the sweep sees the known ones (else it would prove nothing)"
        for known in [('hub_sync.system', 'password'),
                ('hub_sync.system', 'token'), ('hub_sync.system', 'secret'),
                ('hub_sync.system', 'b24_refresh_token')]:
            self.assertIn(known, self.fields)

    def test_staff_cannot_read_any_secret(self):
        for login in STAFF:
            session = self.session(login)
            for model, field in self.fields:
                if (model, field) == ('res.user', 'password'):
                    continue    # write-only: always reads as a mask
                with self.subTest(login=login, model=model, field=field):
                    result = self.rpc(f'model.{model}.read',
                        self.ids[model], [field], {}, session=session)
                    if 'error' in result:
                        self.assertEqual(result['error'][0], 'UserError')
                    else:   # readable records (own user): value hidden
                        self.assertEqual(
                            [r[field] for r in result['result']
                                if r[field] is not None], [])

    def test_user_password_is_never_readable(self):
        session = self.session('group_admin')
        result = self.rpc('model.res.user.search_read',
            [('login', '=', 'group_shop')], 0, 1, None, ['password'], {},
            session=session)
        self.assertNotIn(PASSWORD, json.dumps(result))

    def test_hub_administrator_reads_connection_secrets(self):
        session = self.session('group_admin')
        result = self.rpc('model.hub_sync.system.read', [self.system],
            ['password', 'token', 'secret', 'b24_refresh_token'], {},
            session=session)
        record, = result['result']
        self.assertEqual((record['password'], record['token'],
                record['secret'], record['b24_refresh_token']),
            ('b24-password', 'b24-token', 'b24-secret', 'refresh-1'))


del HubTestCase
