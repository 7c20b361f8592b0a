"""The shop portal through Tryton's WSGI application, as a phone uses it:
login with Tryton's logins, cookies, CSRF, groups, record rules, actions,
scanned codes.  The pages come from the test-only module hub_portal_test
(notes: a list, a record page and an action), as a business module adds
them.  Requests go through the whole application (werkzeug's test client:
routing, cookies, headers); the browser test (tests/browser/portal_walk.js)
does the same over real HTTP in Chromium."""
import unittest

from werkzeug.test import Client

from trytond.config import config
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.transaction import Transaction
from trytond.wsgi import app

from .tools import BASE, PortalClient

PASSWORD = 'Portal-2026!'


def setup_data():
    pool = Pool()
    User = pool.get('res.user')
    Note = pool.get('hub_portal_test.note')
    ModelData = pool.get('ir.model.data')
    group = ModelData.get_id('hub_portal_test', 'group_notes')
    users = {}
    for login, groups in [('alice', [group]), ('bob', [group]),
            ('carol', [])]:
        users[login], = User.create([{'login': login, 'name': login.title(),
                    'password': PASSWORD, 'groups': [('add', groups)]}])
    notes = {}
    for login, name in [('alice', "Витрина <b>у входа</b>"),
            ('bob', "Склад Боба")]:
        notes[login], = Note.create([{'name': name,
                    'owner': users[login].id}])
    return {k: v.id for k, v in users.items()}, {
        k: v.id for k, v in notes.items()}


class PortalTestCase(PortalClient, unittest.TestCase):
    "The portal: logins, sessions, access, actions, scanned codes"
    password = PASSWORD

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        test_tryton.activate_module(['hub_portal_test'], lang='ru')
        with Transaction().start(DB_NAME, 0) as transaction:
            cls.users, cls.notes = setup_data()
            transaction.commit()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def sessions(self):
        with Transaction().start(DB_NAME, 0, readonly=True):
            return Pool().get('ir.session').search_count([])

    def note_done(self, name):
        with Transaction().start(DB_NAME, 0, readonly=True):
            return Pool().get('hub_portal_test.note')(self.notes[name]).done

    # -- logging in -----------------------------------------------------------
    def test_login_page_russian(self):
        response = Client(app).get(f'{BASE}/login')
        self.assertEqual(response.status_code, 200)
        self.assertIn('lang="ru"', response.text)
        self.assertIn('Имя пользователя', response.text)
        self.assertIn('Войти', response.text)
        self.assertIn("script-src 'self'",
            response.headers['Content-Security-Policy'])

    def test_pages_need_login(self):
        client = Client(app)
        response = client.get(f'{BASE}/notes')
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response.location,
            f'{BASE}/login?next=%2F{DB_NAME.replace(":", "%3A")}'
            '%2Fhub%2Fshop%2Fnotes')
        # after the login, the page asked for
        response = self.login(client, 'alice', PASSWORD,
            next=f'{BASE}/notes')
        self.assertEqual(response.location, f'{BASE}/notes')

    def test_wrong_password(self):
        client = Client(app)
        before = self.sessions()
        response = self.login(client, 'alice', 'wrong')
        self.assertEqual(response.status_code, 401)
        self.assertIn('Неверное имя пользователя или пароль', response.text)
        self.assertNotIn('hub_portal_session=',
            ' '.join(response.headers.getlist('Set-Cookie')))
        self.assertEqual(self.sessions(), before)
        self.assertEqual(client.get(f'{BASE}/').status_code, 303)

    def test_right_password_cookie_flags(self):
        client = Client(app)
        before = self.sessions()
        response = self.login(client, 'alice', PASSWORD)
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response.location, f'{BASE}/')
        cookie, = [c for c in response.headers.getlist('Set-Cookie')
            if c.startswith('hub_portal_session=')]
        self.assertIn('HttpOnly', cookie)
        self.assertIn('SameSite=Lax', cookie)
        self.assertIn(f'Path={BASE}', cookie)
        self.assertNotIn('Secure', cookie)     # plain http here
        self.assertEqual(self.sessions(), before + 1)
        home = client.get(f'{BASE}/')
        self.assertEqual(home.status_code, 200)
        self.assertIn('Главная', home.text)
        self.assertIn('Alice', home.text)

    def test_secure_cookie_over_https(self):
        client = Client(app)
        url, https = f'{BASE}/login', 'https://localhost/'
        page = client.get(url, base_url=https)
        response = client.post(url, base_url=https, data={'login': 'alice',
                'password': PASSWORD, 'csrf_token': self.token(page)})
        cookie, = [c for c in response.headers.getlist('Set-Cookie')
            if c.startswith('hub_portal_session=')]
        self.assertIn('Secure', cookie)

    def test_login_without_csrf_refused(self):
        client = Client(app)
        before = self.sessions()
        response = client.post(f'{BASE}/login',
            data={'login': 'alice', 'password': PASSWORD})
        self.assertEqual(response.status_code, 401)
        self.assertIn('Форма устарела', response.text)
        self.assertEqual(self.sessions(), before)

    def test_open_redirect_refused(self):
        for target in ['https://evil.example/', '//evil.example/x',
                '/\\evil.example', f'http://evil.example{BASE}/notes',
                '/other/path', f'{BASE}/../../admin', 'javascript:alert(1)']:
            with self.subTest(target=target):
                response = self.login(Client(app), 'alice', PASSWORD,
                    next=target)
                self.assertEqual(response.status_code, 303)
                self.assertEqual(response.location, f'{BASE}/')

    def test_logout(self):
        client = self.client('alice')
        home = client.get(f'{BASE}/')
        before = self.sessions()
        response = client.post(f'{BASE}/logout',
            data={'csrf_token': self.token(home)})
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response.location, f'{BASE}/login?bye=1')
        self.assertEqual(self.sessions(), before - 1)
        self.assertIn('Вы вышли', client.get(response.location).text)
        self.assertEqual(client.get(f'{BASE}/').status_code, 303)

    def test_logout_needs_csrf(self):
        client = self.client('alice')
        before = self.sessions()
        response = client.post(f'{BASE}/logout', data={})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.sessions(), before)
        self.assertEqual(client.get(f'{BASE}/').status_code, 200)

    def test_stolen_session_key_of_another_user(self):
        "The cookie names the user: another user's id with a key fails"
        client = self.client('alice')
        cookie = client.get_cookie('hub_portal_session', path=BASE)
        user, _, token = cookie.value.partition(':')
        forged = Client(app)
        forged.set_cookie('hub_portal_session',
            f"{self.users['bob']}:{token}", path=BASE)
        self.assertEqual(forged.get(f'{BASE}/notes').status_code, 303)

    # -- pages, groups, record rules ------------------------------------------
    def test_menu_by_groups(self):
        alice = self.client('alice').get(f'{BASE}/').text
        self.assertIn('Заметки', alice)
        self.assertIn('Сканировать', alice)
        carol = self.client('carol').get(f'{BASE}/').text
        self.assertNotIn('Заметки', carol)
        self.assertIn('Сканировать', carol)

    def test_page_needs_group(self):
        client = self.client('carol')
        for path in ['notes', f"note/{self.notes['alice']}"]:
            with self.subTest(path=path):
                response = client.get(f'{BASE}/{path}')
                self.assertEqual(response.status_code, 403)
                self.assertIn('У вас нет доступа к этой странице',
                    response.text)
                self.assertNotIn('Traceback', response.text)

    def test_record_rules(self):
        client = self.client('alice')
        page = client.get(f'{BASE}/notes')
        self.assertEqual(page.status_code, 200)
        # escaped, not markup
        self.assertIn('Витрина &lt;b&gt;у входа&lt;/b&gt;', page.text)
        self.assertNotIn('Склад Боба', page.text)
        response = client.get(f"{BASE}/note/{self.notes['bob']}")
        self.assertEqual(response.status_code, 404)
        self.assertIn('Страница не найдена', response.text)
        response = client.get(f"{BASE}/note/{self.notes['alice']}")
        self.assertEqual(response.status_code, 200)

    def test_unknown_page_and_arguments(self):
        client = self.client('alice')
        for path in ['nothing', 'note', 'note/1/2', 'note/abc', 'Notes',
                'static/hub_portal/../portal.py', 'static/nope/x.js']:
            with self.subTest(path=path):
                response = client.get(f'{BASE}/{path}')
                self.assertEqual(response.status_code, 404)
                self.assertIn('Страница не найдена', response.text)

    def test_static_files(self):
        response = Client(app).get(f'{BASE}/static/hub_portal/jsQR.js')
        self.assertEqual(response.status_code, 200)
        self.assertIn('jsQR', response.get_data(as_text=True)[:2000])

    # -- actions -------------------------------------------------------------
    def test_action_needs_csrf(self):
        client = self.client('bob')
        note = self.notes['bob']
        response = client.post(f'{BASE}/note_done/{note}',
            data={'csrf_token': 'forged'})
        self.assertEqual(response.status_code, 403)
        self.assertIn('Форма устарела', response.text)
        self.assertFalse(self.note_done('bob'))

    def test_action_and_user_error(self):
        client = self.client('alice')
        note = self.notes['alice']
        path = f'{BASE}/note/{note}'
        page = client.get(path)
        self.assertIn('В работе', page.text)
        response = client.post(f'{BASE}/note_done/{note}',
            data={'csrf_token': self.token(page), 'next': path})
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response.location, path)
        page = client.get(path)
        self.assertIn('Готово', page.text)
        self.assertIn('выполнена', page.text)
        self.assertTrue(self.note_done('alice'))
        # the flash message is shown once
        self.assertNotIn('выполнена', client.get(path).text)
        # done twice: the model refuses, the page says why in Russian
        response = client.post(f'{BASE}/note_done/{note}',
            data={'csrf_token': self.token(page), 'next': path})
        self.assertEqual(response.status_code, 303)
        page = client.get(response.location)
        self.assertIn('уже выполнена', page.text)
        self.assertIn('class="flash error"', page.text)

    def test_action_on_foreign_record(self):
        client = self.client('alice')
        page = client.get(f'{BASE}/')
        response = client.post(f"{BASE}/note_done/{self.notes['bob']}",
            data={'csrf_token': self.token(page)})
        self.assertEqual(response.status_code, 404)
        self.assertIn('Страница не найдена', response.text)
        self.assertFalse(self.note_done('bob'))

    def test_action_needs_group(self):
        client = self.client('carol')
        page = client.get(f'{BASE}/')
        response = client.post(f"{BASE}/note_done/{self.notes['bob']}",
            data={'csrf_token': self.token(page)})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.note_done('bob'))

    # -- scanned codes -------------------------------------------------------
    def test_scan_opens_portal_pages_only(self):
        client = self.client('alice')
        note = self.notes['alice']
        for code in [f'http://localhost{BASE}/note/{note}',
                f'{BASE}/note/{note}']:
            with self.subTest(code=code):
                response = client.get(f'{BASE}/scan', query_string={
                        'code': code})
                self.assertEqual(response.status_code, 303)
                self.assertEqual(response.location, f'{BASE}/note/{note}')
        for code in ['https://evil.example/', f'https://evil.example{BASE}/',
                'Просто текст', '4607001234567']:
            with self.subTest(code=code):
                response = client.get(f'{BASE}/scan', query_string={
                        'code': code})
                self.assertEqual(response.status_code, 422)
                self.assertIn('не ведёт на страницу этого портала',
                    response.text)

    def test_absolute_url(self):
        with Transaction().start(DB_NAME, 0, readonly=True):
            Portal = Pool().get('hub_portal.portal')
            if not config.has_section('hub_portal'):
                config.add_section('hub_portal')
            config.set('hub_portal', 'url', 'https://hub.example.ru/')
            try:
                self.assertEqual(Portal.url('shipment', 'Ш-1/2'),
                    f'https://hub.example.ru{BASE}/shipment/'
                    '%D0%A8-1%2F2')
                self.assertEqual(Portal.local_path(
                        f'https://hub.example.ru{BASE}/note/1'),
                    f'{BASE}/note/1')
            finally:
                config.set('hub_portal', 'url', '')

    def test_open_session_for_sso(self):
        "An SSO route that proved the identity opens a normal session"
        from werkzeug.test import EnvironBuilder

        from trytond.protocols.wrappers import Request
        request = Request(EnvironBuilder(path=f'{BASE}/sso').get_environ())
        request.view_args = {'database_name': DB_NAME}
        Portal = Pool(DB_NAME).get('hub_portal.portal')
        response = Portal.open_session(request, self.users['bob'],
            f'{BASE}/notes')
        self.assertEqual(response.location, f'{BASE}/notes')
        cookie, = [c for c in response.headers.getlist('Set-Cookie')
            if c.startswith('hub_portal_session=')]
        client = Client(app)
        client.set_cookie('hub_portal_session',
            cookie.split(';')[0].split('=', 1)[1], path=BASE)
        page = client.get(f'{BASE}/notes')
        self.assertEqual(page.status_code, 200)
        self.assertIn('Склад Боба', page.text)
