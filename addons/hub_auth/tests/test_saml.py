"""SAML 2.0 login through Tryton's authentication_saml routes against a real
pysaml2 identity provider (in the test process) signing with the Debian
xmlsec1: a signed response logs the user in (created, groups and shops from
the group claim), a tampered one is refused, a RelayState to another host is
not followed and an allowed one is, failures are throttled."""
import base64
import os
import shutil
import subprocess
import tempfile
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
from trytond.wsgi import NumProxyFix, app

try:
    import saml2
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.metadata import create_metadata_string
    from saml2.saml import NAMEID_FORMAT_TRANSIENT
    from saml2.server import Server
    from trytond.modules.authentication_saml import routes as stock
except ImportError:
    saml2 = stock = None

IDENTITY = 'adfs'
IDP = 'http://idp.shop.test'
HOST = f'http://{HOSTNAME}'
XMLSEC = shutil.which('xmlsec1')
GROUPS = 'http://schemas.xmlsoap.org/claims/Group'
# a TLS-terminating proxy in front of the hub
# the SP's ACS address, after the scheme and host
ACS = urllib.parse.quote(f'/{DB_NAME}/authentication/saml/{IDENTITY}/acs')
FORWARDED = {'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '10.1.1.1'}


def available():
    return bool(saml2 and XMLSEC and shutil.which('openssl'))


@unittest.skipUnless(available(), "pysaml2, trytond-authentication-saml, "
    "xmlsec1 or openssl missing (apt: xmlsec1)")
class SAMLLoginTestCase(HubTestCase):
    "Login through a SAML identity provider"
    modules = ['hub_auth', 'order_hub']

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix='hub-saml-')
        cls.addClassCleanup(shutil.rmtree, cls.folder, True)
        cls.configure()
        super().setUpClass()
        cls.prepare()
        cls.idp = cls.identity_provider()

    @classmethod
    def certificate(cls, name):
        key = os.path.join(cls.folder, f'{name}.key')
        cert = os.path.join(cls.folder, f'{name}.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                '-nodes', '-keyout', key, '-out', cert, '-days', '2',
                '-subj', f'/CN={name}'], check=True, capture_output=True)
        return key, cert

    @classmethod
    def configure(cls):
        "The identity provider, and the SP as trytond.conf would declare it"
        key, cert = cls.certificate('idp.shop.test')
        idp_settings = {
            'entityid': f'{IDP}/metadata',
            'service': {'idp': {
                    'endpoints': {'single_sign_on_service': [
                            (f'{IDP}/sso', BINDING_HTTP_REDIRECT)]},
                    'policy': {'default': {
                            'lifetime': {'minutes': 5},
                            'attribute_restrictions': None}},
                    'name_id_format': [NAMEID_FORMAT_TRANSIENT],
                    }},
            'key_file': key, 'cert_file': cert,
            'xmlsec_binary': XMLSEC,
            }
        cls.idp_settings = idp_settings
        idp_config = IdPConfig()
        idp_config.load(dict(idp_settings))
        idp_metadata = create_metadata_string(None, idp_config)
        if isinstance(idp_metadata, bytes):
            idp_metadata = idp_metadata.decode()

        # [authentication_saml] adfs = AD FS; its section's options
        section = f'authentication_saml {IDENTITY}'
        for name in ['authentication_saml', section]:
            if not config.has_section(name):
                config.add_section(name)
                cls.addClassCleanup(config.remove_section, name)
        config.set('authentication_saml', IDENTITY, 'AD FS')
        config.set(section, 'login', 'uid')
        config.set(section, 'groups_attribute', GROUPS)
        config.set(section, 'name_attribute', 'displayName')
        # the stock module reads its configuration when imported
        stock.IDENTITIES.add(IDENTITY)
        stock.METADATA[IDENTITY] = idp_metadata
        stock.CONFIG_FILENAME[IDENTITY] = None
        stock.LOGIN[IDENTITY] = 'uid'

        def forget():
            stock.IDENTITIES.discard(IDENTITY)
            stock.METADATA.pop(IDENTITY, None)
            stock.CONFIG_FILENAME.pop(IDENTITY, None)
            stock.LOGIN.pop(IDENTITY, None)
        cls.addClassCleanup(forget)

    @classmethod
    def identity_provider(cls):
        """The IdP knowing the hub's SP from its metadata route: on [web]
        hostname over http, and over https as behind a TLS proxy"""
        metadata = []
        for client, headers in [
                (Client(app, Response), {}),
                (Client(NumProxyFix(app, 1), Response), FORWARDED)]:
            response = client.get(
                f'/{DB_NAME}/authentication/saml/{IDENTITY}/metadata',
                base_url=HOST, headers=headers)
            assert response.status_code == 200, response.data
            metadata.append(response.get_data(as_text=True))
        settings = dict(cls.idp_settings, metadata={'inline': metadata})
        idp_config = IdPConfig()
        idp_config.load(settings)
        return Server(config=idp_config)

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
            create_user('olga', ['group_manager'])   # a local user
            marta, = User.create([{'login': 'marta', 'name': "Марта",
                        'hub_auth_saml': True}])
        cls.group_shop = ModelData.get_id('order_hub', 'group_shop')
        GroupMap.create([{
                    'name': "Магазин на Тверской",
                    # AD FS sends group names in its Group claim
                    'directory_group': 'HUB-MSK',
                    'groups': [('add', [cls.group_shop])],
                    'shops': [('add', [cls.msk])],
                    }])
        Transaction().commit()

    def setUp(self):
        self.client = Client(app, Response)

    def start(self, next_url=None, address='127.0.0.1', headers=None):
        "The hub's login route: the AuthnRequest and RelayState for the IdP"
        url = f'/{DB_NAME}/authentication/saml/{IDENTITY}/login'
        if next_url:
            url += '?' + urllib.parse.urlencode({'next': next_url})
        response = self.client.get(url, base_url=HOST, headers=headers,
            environ_base={'REMOTE_ADDR': address})
        self.assertEqual(response.status_code, 302)
        location = urllib.parse.urlsplit(response.headers['Location'])
        self.assertEqual(f'{location.scheme}://{location.netloc}', IDP)
        query = dict(urllib.parse.parse_qsl(location.query))
        return query['SAMLRequest'], query.get('RelayState')

    def respond(self, saml_request, login, groups=(), name=None):
        "The identity provider's signed answer (HTTP-POST binding)"
        request = self.idp.parse_authn_request(saml_request,
            BINDING_HTTP_REDIRECT)
        identity = {'uid': [login], 'mail': [f'{login}@shop.test']}
        if groups:
            identity[GROUPS] = list(groups)
        if name:
            identity['displayName'] = [name]
        args = self.idp.response_args(request.message)
        response = self.idp.create_authn_response(identity, userid=login,
            sign_assertion=True, sign_response=True,
            authn={'class_ref': 'urn:oasis:names:tc:SAML:2.0:ac:classes:'
                'PasswordProtectedTransport'},
            **args)
        return str(response)

    def post(self, response_xml, relay_state, address='127.0.0.1',
            headers=None):
        data = {'SAMLResponse': base64.b64encode(
                response_xml.encode()).decode()}
        if relay_state is not None:
            data['RelayState'] = relay_state
        return self.client.post(
            f'/{DB_NAME}/authentication/saml/{IDENTITY}/acs', data=data,
            base_url=HOST, headers=headers,
            environ_base={'REMOTE_ADDR': address})

    def sign_in(self, login, relay_state, address='127.0.0.1', **kwargs):
        saml_request, _ = self.start(address=address)
        return self.post(self.respond(saml_request, login, **kwargs),
            relay_state, address=address)

    @with_transaction()
    def user(self, login):
        User = Pool().get('res.user')
        users = User.search([('login', '=', login)])
        if not users:
            return None
        user, = users
        return {'id': user.id, 'name': user.name, 'email': user.email,
            'saml': user.hub_auth_saml,
            'groups': {g.id for g in user.groups},
            'shops': {s.id for s in user.hub_shops}}

    @with_transaction()
    def sessions(self, login):
        Session = Pool().get('ir.session')
        return Session.search([('create_uid.login', '=', login)], count=True)

    def location(self, response):
        self.assertEqual(response.status_code, 302, response.data)
        return urllib.parse.urlsplit(response.headers['Location'])

    def test_signed_response_creates_user_and_logs_in(self):
        before = self.sessions('ivan')
        saml_request, relay_state = self.start(next_url=f'{HOST}/#hub')
        self.assertEqual(relay_state, f'{HOST}/#hub')
        response = self.post(self.respond(saml_request, 'ivan',
                groups=['HUB-MSK', 'Domain Users'], name="Иван Петров"),
            relay_state)
        location = self.location(response)
        self.assertEqual(f'{location.scheme}://{location.netloc}', HOST)
        query = dict(urllib.parse.parse_qsl(location.query))
        self.assertEqual(query['login'], 'ivan')
        self.assertNotIn('session', query)   # the session goes in a cookie
        cookies = response.headers.getlist('Set-Cookie')
        self.assertTrue(any(c.startswith('tryton_session=ivan:')
                for c in cookies), cookies)
        user = self.user('ivan')
        self.assertEqual(user['name'], "Иван Петров")
        self.assertEqual(user['email'], 'ivan@shop.test')
        self.assertTrue(user['saml'])
        self.assertIn(self.group_shop, user['groups'])
        self.assertEqual(user['shops'], {self.msk})
        self.assertEqual(self.sessions('ivan'), before + 1)

    def test_existing_user_keeps_groups_without_group_claim(self):
        response = self.sign_in('marta', '/')
        self.assertEqual(response.status_code, 302, response.data)
        user = self.user('marta')
        self.assertEqual(user['name'], "Марта")
        self.assertEqual(user['email'], 'marta@shop.test')

    def test_tampered_response_refused(self):
        saml_request, relay_state = self.start()
        signed = self.respond(saml_request, 'petr')
        self.assertIn('>petr<', signed)
        before = self.sessions('marta')
        # marta may log in through SAML: only the signature stops this
        tampered = signed.replace('>petr<', '>marta<')
        response = self.post(tampered, relay_state)
        self.assertEqual(response.status_code, 403)
        self.assertNotIn('Set-Cookie', response.headers)
        self.assertEqual(self.sessions('marta'), before)
        self.assertIsNone(self.user('petr'))

    def test_local_user_not_logged_in(self):
        "olga is local (no SAML box): a valid assertion does not log her in"
        response = self.sign_in('olga', '/')
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.sessions('olga'), 0)

    def test_relay_state_to_another_host_not_followed(self):
        for target in ['https://evil.example.com/phish',
                f'http://{HOSTNAME}.evil.example.com/',
                f'http://{HOSTNAME}@evil.example.com/',
                '//evil.example.com/', '/\\evil.example.com',
                'javascript:alert(1)']:
            with self.subTest(target=target):
                location = self.location(self.sign_in('ivan', target))
                self.assertEqual(
                    f'{location.scheme}://{location.netloc}', HOST)
                self.assertEqual(location.path, '/')

    def test_allowed_relay_state_followed(self):
        if not config.has_section('hub_auth'):
            config.add_section('hub_auth')
        saved = config.get('hub_auth', 'redirect_urls')
        config.set('hub_auth', 'redirect_urls',
            'https://hub.shop.test/ https://portal.shop.test/shop')
        try:
            for target, expected in [
                    (f'{HOST}/#hub/orders', (HOST, '/')),
                    ('/shop/orders', ('://', '/shop/orders')),
                    ('https://hub.shop.test/x', (
                            'https://hub.shop.test', '/x')),
                    ('https://portal.shop.test/shop/orders', (
                            'https://portal.shop.test', '/shop/orders')),
                    # outside the configured path
                    ('https://portal.shop.test/admin', (HOST, '/')),
                    ]:
                with self.subTest(target=target):
                    location = self.location(self.sign_in('ivan', target))
                    self.assertEqual((
                            f'{location.scheme}://{location.netloc}',
                            location.path), expected)
        finally:
            config.set('hub_auth', 'redirect_urls', saved or '')

    def test_failed_responses_throttled(self):
        address = '10.9.8.7'
        saved = config.get('session', 'max_attempt')
        config.set('session', 'max_attempt', '1')
        try:
            saml_request, relay_state = self.start(address=address)
            tampered = self.respond(saml_request, 'petr').replace(
                '>petr<', '>olga<')
            self.assertEqual(
                self.post(tampered, relay_state, address).status_code, 403)
            self.assertEqual(
                self.post(tampered, relay_state, address).status_code, 403)
            # over the limit: even a valid response is refused for now
            self.assertEqual(self.sign_in('ivan', '/', address).status_code,
                429)
            # another address is not affected
            self.assertEqual(self.sign_in('ivan', '/').status_code, 302)
        finally:
            config.set('session', 'max_attempt', saved or '5')
        self.assertEqual(self.attempts(f'sso:{address}'), 2)

    @with_transaction()
    def attempts(self, login):
        Attempt = Pool().get('res.user.login.attempt')
        return Attempt.search([('login', '=', login)], count=True)

    def metadata(self, client, headers=None):
        response = client.get(
            f'/{DB_NAME}/authentication/saml/{IDENTITY}/metadata',
            base_url=HOST, headers=headers)
        self.assertEqual(response.status_code, 200, response.data)
        return response.get_data(as_text=True)

    def test_behind_tls_proxy_addresses_say_https(self):
        acs = f'{HOSTNAME}{ACS}'
        self.client = Client(NumProxyFix(app, 1), Response)
        metadata = self.metadata(self.client, FORWARDED)
        self.assertIn(f'Location="https://{acs}"', metadata)
        self.assertIn(f'entityID="https://{HOSTNAME}/', metadata)
        self.assertNotIn(f'http://{HOSTNAME}', metadata)

        saml_request, relay_state = self.start(headers=FORWARDED)
        request = self.idp.parse_authn_request(saml_request,
            BINDING_HTTP_REDIRECT)
        self.assertEqual(request.message.assertion_consumer_service_url,
            f'https://{acs}')
        self.assertTrue(relay_state.startswith(f'https://{HOSTNAME}'))
        response = self.post(self.respond(saml_request, 'ivan'), relay_state,
            headers=FORWARDED)
        location = self.location(response)
        self.assertEqual(f'{location.scheme}://{location.netloc}',
            f'https://{HOSTNAME}')
        self.assertTrue(any(c.startswith('tryton_session=ivan:')
                for c in response.headers.getlist('Set-Cookie')))

    def test_forwarded_proto_of_an_untrusted_client_ignored(self):
        "Without [web] num_proxies nobody may claim https for the hub"
        metadata = self.metadata(self.client, FORWARDED)
        self.assertIn(
            f'Location="{HOST}{ACS}"', metadata)

    def test_public_url_gives_the_addresses(self):
        if not config.has_section('hub_auth'):
            config.add_section('hub_auth')
        config.set('hub_auth', 'public_url', 'https://hub.shop.test')
        try:
            metadata = self.metadata(self.client)
        finally:
            config.set('hub_auth', 'public_url', '')
        self.assertIn(f'Location="https://hub.shop.test{ACS}"', metadata)
        self.assertIn('entityID="https://hub.shop.test/', metadata)
