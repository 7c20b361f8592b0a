"""Windows single sign-on through the hub's SPNEGO route against a real MIT
KDC (k5test) and the real slapd: a person with a ticket gets a session of
the web client (user created, groups and shops from the directory), no
ticket is asked for with 401 Negotiate, another realm, a forged or replayed
token, a local user and a person unknown to the directory are refused,
refusals are throttled with the other login paths."""
import base64
import contextlib
import json
import unittest
import urllib.parse

from werkzeug.test import Client
from werkzeug.wrappers import Response

from trytond.config import config
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_city, create_user, create_warehouse, set_company,
    setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction
from trytond.url import HOSTNAME
from trytond.wsgi import app

from .kdc import KDC
from .kdc import available as kdc_available
from .slapd import BASE, SERVICE_DN, SERVICE_PASSWORD, Slapd
from .slapd import available as slapd_available

ROUTE = f'/{DB_NAME}/authentication/kerberos/login'
HOST = f'http://{HOSTNAME}'
GROUPS = f'ou=groups,{BASE}'


@contextlib.contextmanager
def setting(section, name, value):
    saved = config.get(section, name)
    config.set(section, name, value)
    try:
        yield
    finally:
        config.set(section, name, saved if saved is not None else '')


@unittest.skipUnless(kdc_available() and slapd_available(),
    "MIT Kerberos (apt: krb5-kdc krb5-admin-server krb5-user libkrb5-dev; "
    "pip: gssapi k5test) or slapd missing")
class KerberosLoginTestCase(HubTestCase):
    "Login through Kerberos (SPNEGO) tickets"
    modules = ['hub_auth', 'order_hub']

    @classmethod
    def setUpClass(cls):
        cls.kdc = KDC()
        cls.kdc.start()
        cls.addClassCleanup(cls.kdc.stop)
        cls.tickets = {name: cls.kdc.person(name, f'{name}-Krb5-pass')
            for name in ['ivan', 'olga', 'petr', 'stranger']}
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
            'kerberos_keytab': cls.kdc.keytab,
            'kerberos_principal': cls.kdc.service,
            }
        saved = {name: config.get('hub_auth', name) for name in values}
        for name, value in values.items():
            config.set('hub_auth', name, value)

        def restore():
            for name, value in saved.items():
                config.set('hub_auth', name, value or '')
        cls.addClassCleanup(restore)

    @classmethod
    @with_transaction()
    def prepare(cls):
        pool = Pool()
        GroupMap = pool.get('hub_auth.group_map')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        with set_company(setup_company()):
            moscow = create_city("Москва", 55.755826, 37.6173)
            cls.msk = create_warehouse("Магазин на Тверской", moscow).id
            create_user('olga', ['group_manager'])    # a local user
            User.create([{'login': 'petr', 'name': "Пётр",
                        'hub_auth_directory': True}])
        cls.group_shop = ModelData.get_id('order_hub', 'group_shop')
        GroupMap.create([{
                    'name': "Магазин на Тверской",
                    'directory_group': f'cn=hub-msk,{GROUPS}',
                    'groups': [('add', [cls.group_shop])],
                    'shops': [('add', [cls.msk])],
                    }])
        Transaction().commit()

    def setUp(self):
        self.client = Client(app, Response)

    def open(self, person=None, token=None, address='127.0.0.1', **args):
        "The route as a browser opens it, with the person's ticket"
        headers = {}
        if person:
            token = self.kdc.token(self.tickets[person])
        if token is not None:
            headers['Authorization'] = 'Negotiate ' + base64.b64encode(
                token).decode()
        url = ROUTE
        if args:
            url += '?' + urllib.parse.urlencode(args)
        return self.client.get(url, base_url=HOST, headers=headers,
            environ_base={'REMOTE_ADDR': address})

    def assertRefused(self, response):
        self.assertEqual(response.status_code, 401, response.data)
        self.assertEqual(response.headers['WWW-Authenticate'], 'Negotiate')
        self.assertNotIn('Set-Cookie', response.headers)
        self.assertIn("войдите с паролем", response.get_data(as_text=True))

    @with_transaction()
    def user(self, login):
        User = Pool().get('res.user')
        users = User.search([('login', '=', login)])
        if not users:
            return None
        user, = users
        return {'id': user.id, 'name': user.name,
            'directory': user.hub_auth_directory,
            'groups': {g.id for g in user.groups},
            'shops': {s.id for s in user.hub_shops}}

    @with_transaction()
    def sessions(self, login):
        Session = Pool().get('ir.session')
        return Session.search([('create_uid.login', '=', login)], count=True)

    @with_transaction()
    def attempts(self, key):
        Attempt = Pool().get('res.user.login.attempt')
        return Attempt.search([('login', '=', key)], count=True)

    def test_ticket_opens_a_web_client_session(self):
        # sao opens the route in a small window with next = its own page
        next_url = f'{HOST}/?login_service=/authentication/kerberos/login'
        response = self.open('ivan', next=next_url)
        self.assertEqual(response.status_code, 302, response.data)
        location = urllib.parse.urlsplit(response.headers['Location'])
        self.assertEqual(f'{location.scheme}://{location.netloc}', HOST)
        query = dict(urllib.parse.parse_qsl(location.query))
        self.assertEqual(query['login'], 'ivan')
        self.assertEqual(query['login_service'],
            '/authentication/kerberos/login')
        self.assertEqual(query['database'], DB_NAME)
        self.assertNotIn('session', query)
        # the hub proves itself to the browser too (mutual authentication)
        self.assertTrue(
            response.headers['WWW-Authenticate'].startswith('Negotiate '))
        cookie, = [c for c in response.headers.getlist('Set-Cookie')
            if c.startswith('tryton_session=')]
        login, user_id, key = cookie.split(';')[0].split('=', 1)[1].split(':')
        self.assertEqual((login, user_id), ('ivan', query['user_id']))

        user = self.user('ivan')
        self.assertEqual(user['name'], "Иван Петров")
        self.assertTrue(user['directory'])
        self.assertIn(self.group_shop, user['groups'])
        self.assertEqual(user['shops'], {self.msk})

        # the session works for the web client's JSON-RPC
        token = base64.b64encode(f'ivan:{user_id}:{key}'.encode()).decode()
        response = self.client.post(f'/{DB_NAME}/rpc/', data=json.dumps({
                    'id': 1, 'method': 'model.res.user.get_preferences',
                    'params': [False, {}]}),
            headers={'Authorization': f'Session {token}',
                'Content-Type': 'application/json'},
            environ_base={'REMOTE_ADDR': '127.0.0.1'})   # sessions keep it
        self.assertEqual(response.status_code, 200)
        self.assertEqual(json.loads(response.data)['result']['name'],
            "Иван Петров")

    def test_without_ticket_the_browser_is_asked_for_one(self):
        self.assertRefused(self.open())
        self.assertRefused(self.open(token=b''))
        self.assertEqual(self.attempts('sso:127.0.0.1'), 0)

    def test_realm_not_allowed_refused(self):
        before = self.sessions('ivan')
        with setting('hub_auth', 'kerberos_realms', 'CORP.EXAMPLE.RU'):
            self.assertRefused(self.open('ivan', address='10.3.0.1'))
        self.assertEqual(self.sessions('ivan'), before)
        self.assertEqual(self.attempts('sso:10.3.0.1'), 1)

    def test_forged_and_replayed_tokens_refused(self):
        address = '10.3.0.2'
        self.assertRefused(self.open(token=b'\x60\x82forged', address=address))
        token = self.kdc.token(self.tickets['ivan'])
        self.assertEqual(self.open(token=token).status_code, 302)
        # a token caught on the wire and sent again
        self.assertRefused(self.open(token=token, address=address))
        self.assertEqual(self.attempts(f'sso:{address}'), 2)

    def test_local_user_and_unknown_person_refused(self):
        # olga is local in the hub (the directory's olga is someone else)
        self.assertRefused(self.open('olga', address='10.3.0.3'))
        self.assertEqual(self.sessions('olga'), 0)
        # a principal of the realm without a directory account
        self.assertRefused(self.open('stranger', address='10.3.0.3'))
        self.assertIsNone(self.user('stranger'))

    def test_without_directory_directory_users_only(self):
        with setting('hub_auth', 'uri', ''):
            self.assertEqual(self.open('petr').status_code, 302)
            self.assertRefused(self.open('olga', address='10.3.0.4'))
            self.assertRefused(self.open('stranger', address='10.3.0.4'))
        self.assertEqual(self.sessions('petr'), 1)

    def test_refusals_throttled(self):
        address = '10.3.0.5'
        with setting('session', 'max_attempt', '1'):
            for _ in range(2):
                self.assertRefused(self.open('stranger', address=address))
            # over the limit: even a valid ticket is refused for now
            response = self.open('ivan', address=address)
            self.assertEqual(response.status_code, 429)
            self.assertNotIn('Set-Cookie', response.headers)
            # another address is not affected
            self.assertEqual(self.open('ivan').status_code, 302)
        self.assertEqual(self.attempts(f'sso:{address}'), 2)

    def test_login_dialog_offers_windows_login(self):
        from trytond.modules.hub_auth import kerberos
        from trytond.protocols import dispatcher
        before = list(dispatcher._AUTHENTICATION_SERVICES)
        self.addCleanup(setattr, dispatcher, '_AUTHENTICATION_SERVICES',
            before)
        kerberos.register()     # what the server does at start
        response = self.client.post('/rpc/', data=json.dumps({
                    'id': 1, 'method': 'common.authentication.services',
                    'params': []}),
            headers={'Content-Type': 'application/json'})
        self.assertIn(["Вход через Windows", '/authentication/kerberos/login'],
            json.loads(response.data)['result'])

    def test_route_absent_without_keytab(self):
        with setting('hub_auth', 'kerberos_keytab', ''):
            self.assertEqual(self.open('ivan').status_code, 404)


del HubTestCase
