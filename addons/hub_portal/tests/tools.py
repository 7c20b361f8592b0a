"""What tests of portal pages share: a phone's session through Tryton's
WSGI application (werkzeug's test client: routing, cookies, CSRF)."""
import re

from werkzeug.test import Client

from trytond.tests.test_tryton import DB_NAME
from trytond.wsgi import app

BASE = f'/{DB_NAME}/hub/shop'


class PortalClient:
    "Mixin of a unittest.TestCase: log in, read the form token, press"
    password = None         # the test users' password

    def client(self, login=None, password=None):
        "A phone's session, logged in as login (if given)"
        client = Client(app)
        if login:
            response = self.login(client, login, password or self.password)
            self.assertEqual(response.status_code, 303, response.text)
        return client

    def login(self, client, login, password, **extra):
        page = client.get(f'{BASE}/login')
        data = {'login': login, 'password': password,
            'csrf_token': self.token(page)}
        data.update(extra)
        return client.post(f'{BASE}/login', data=data)

    @staticmethod
    def token(response):
        "The CSRF token of the page's forms"
        found = re.search(r'name="csrf_token" value="([^"]*)"', response.text)
        return found.group(1) if found else ''

    def post(self, client, page, path, **data):
        "Press a button of page: its form, with the page's CSRF token"
        data.setdefault('csrf_token', self.token(page))
        return client.post(f'{BASE}/{path}', data=data)
