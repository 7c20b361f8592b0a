"""Directory login through Tryton's own doors (JSON-RPC common.db.login,
sessions) against a real slapd: users created on first login, groups and
shops from the directory groups (nested ones too) re-applied at every
login, disabled or deleted accounts lose their session at the next request,
local accounts keep working, LDAP injection closed, throttle applies."""
import base64
import datetime
import json
import re
import unittest

from werkzeug.test import Client
from werkzeug.wrappers import Response

from trytond.config import config
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_city, create_user, create_warehouse, set_company,
    setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .slapd import BASE, SERVICE_DN, SERVICE_PASSWORD, Slapd, available

PEOPLE = f'ou=people,{BASE}'
GROUPS = f'ou=groups,{BASE}'
LOCAL_PASSWORD = 'Local-Passw0rd!'
DISABLED = '(&(objectClass=inetOrgPerson)(!(employeeType=disabled)))'


@unittest.skipUnless(available(), "slapd is not installed (apt: slapd)")
class DirectoryLoginTestCase(HubTestCase):
    "Login of directory users into the hub"
    modules = ['hub_auth', 'order_hub', 'hub_portal']

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
        saved = {('session', 'authentications'):
            config.get('session', 'authentications')}
        if not config.has_section('hub_auth'):
            config.add_section('hub_auth')
            cls.addClassCleanup(config.remove_section, 'hub_auth')
        for name, value in {
                'uri': f'ldaps://127.0.0.1:{cls.server.tls_port}',
                'base': BASE, 'bind_dn': SERVICE_DN,
                'bind_password': SERVICE_PASSWORD,
                'ca_file': cls.server.ca_file, 'user_filter': DISABLED,
                }.items():
            config.set('hub_auth', name, value)
        config.set('session', 'authentications', 'password,directory')

        def restore():
            for (section, name), value in saved.items():
                if value is None:
                    config.remove_option(section, name)
                else:
                    config.set(section, name, value)
        cls.addClassCleanup(restore)

    @classmethod
    @with_transaction()
    def prepare(cls):
        pool = Pool()
        GroupMap = pool.get('hub_auth.group_map')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        group = lambda name: ModelData.get_id('order_hub', name)
        with set_company(setup_company()):
            moscow = create_city("Москва", 55.755826, 37.6173)
            cls.msk = create_warehouse("Магазин на Тверской", moscow).id
            cls.spb = create_warehouse("Магазин на Невском", moscow).id
            local = create_user('olga', ['group_manager'])
            User.write([local], {'password': LOCAL_PASSWORD})
        cls.group_shop = group('group_shop')
        cls.group_manager = group('group_manager')
        cls.group_accountant = group('group_accountant')
        GroupMap.create([{
                    # reached by ivan only through hub-msk (nested)
                    'name': "Все магазины",
                    'directory_group': f'CN=hub-shops, OU=groups, {BASE}',
                    'groups': [('add', [cls.group_shop])],
                    }, {
                    'name': "Магазин на Тверской",
                    'directory_group': f'cn=hub-msk,{GROUPS}',
                    'shops': [('add', [cls.msk])],
                    }, {
                    'name': "Менеджеры",
                    'directory_group': f'cn=hub-managers,{GROUPS}',
                    'groups': [('add', [cls.group_manager])],
                    'shops': [('add', [cls.spb])],
                    }])
        Transaction().commit()

    def setUp(self):
        self.client = Client(app, Response)
        self.clear_cache()

    @with_transaction()
    def clear_cache(self):
        Pool().get('res.user')._hub_auth_active_cache.clear()
        Transaction().commit()

    def rpc(self, method, *params, session=None):
        headers = {'Content-Type': 'application/json'}
        if session:
            token = base64.b64encode(session.encode()).decode()
            headers['Authorization'] = f'Session {token}'
        response = self.client.post(f'/{DB_NAME}/rpc/', headers=headers,
            data=json.dumps({'id': 1, 'method': method, 'params': params}))
        try:
            return response.status_code, json.loads(response.data)
        except ValueError:
            return response.status_code, None

    def login(self, login, password):
        status, result = self.rpc('common.db.login', login,
            {'password': password}, 'ru')
        if status != 200:
            return status, None
        user_id, key = result['result'][:2]
        return status, f'{login}:{user_id}:{key}'

    @with_transaction()
    def user(self, login):
        User = Pool().get('res.user')
        with Transaction().set_context(active_test=False):
            users = User.search([('login', '=', login)])
        if not users:
            return None
        user, = users
        return {'id': user.id, 'name': user.name, 'email': user.email,
            'phone': user.hub_auth_phone, 'directory': user.hub_auth_directory,
            'dn': user.hub_auth_dn, 'active': user.active,
            'groups': {g.id for g in user.groups},
            'shops': {s.id for s in user.hub_shops}}

    def move(self, uid, from_group, to_group):
        dn = f'uid={uid},{PEOPLE}'
        with self.server.admin() as admin:
            if from_group:
                admin.modify(f'cn={from_group},{GROUPS}',
                    {'member': [('MODIFY_DELETE', [dn])]})
            if to_group:
                admin.modify(f'cn={to_group},{GROUPS}',
                    {'member': [('MODIFY_ADD', [dn])]})

    def add_person(self, uid, password, *groups):
        dn = f'uid={uid},{PEOPLE}'
        with self.server.admin() as admin:
            admin.add(dn, ['inetOrgPerson'], {'uid': uid, 'cn': uid.title(),
                    'sn': uid.title(), 'userPassword': password})
        for group in groups:
            self.move(uid, None, group)
        return dn

    def test_first_login_creates_user_with_groups_and_shops(self):
        status, session = self.login('ivan', 'Ivan-passw0rd')
        self.assertEqual(status, 200)
        user = self.user('ivan')
        self.assertEqual(user['name'], "Иван Петров")
        self.assertEqual(user['email'], 'ivan@shop.test')
        self.assertEqual(user['phone'], '+7 912 000-11-22')
        self.assertTrue(user['directory'])
        self.assertEqual(user['dn'], f'uid=ivan,{PEOPLE}')
        self.assertIn(self.group_shop, user['groups'])      # nested group
        self.assertNotIn(self.group_manager, user['groups'])
        self.assertEqual(user['shops'], {self.msk})
        _, result = self.rpc('model.res.user.get_preferences', False, {},
            session=session)
        self.assertEqual(result['result']['name'], "Иван Петров")

    def test_mapping_reapplied_at_every_login(self):
        self.add_person('pavel', 'Pavel-passw0rd', 'hub-msk')
        self.assertEqual(self.login('pavel', 'Pavel-passw0rd')[0], 200)
        user = self.user('pavel')
        self.assertEqual(user['shops'], {self.msk})
        self.give_group(user['id'], self.group_accountant)  # by hand

        self.move('pavel', 'hub-msk', 'hub-managers')
        self.assertEqual(self.login('pavel', 'Pavel-passw0rd')[0], 200)
        user = self.user('pavel')
        self.assertEqual(user['shops'], {self.spb})
        self.assertIn(self.group_manager, user['groups'])
        self.assertNotIn(self.group_shop, user['groups'])
        # a group no mapping manages is left as the administrator set it
        self.assertIn(self.group_accountant, user['groups'])

        # a deactivated mapping takes back what it gave
        self.set_mapping_active("Менеджеры", False)
        try:
            self.assertEqual(self.login('pavel', 'Pavel-passw0rd')[0], 200)
        finally:
            self.set_mapping_active("Менеджеры", True)
        user = self.user('pavel')
        self.assertEqual(user['shops'], set())
        self.assertNotIn(self.group_manager, user['groups'])
        self.assertIn(self.group_accountant, user['groups'])

    @with_transaction()
    def set_mapping_active(self, name, active):
        GroupMap = Pool().get('hub_auth.group_map')
        with Transaction().set_context(active_test=False):
            mapping, = GroupMap.search([('name', '=', name)])
        GroupMap.write([mapping], {'active': active})
        Transaction().commit()

    @with_transaction()
    def give_group(self, user_id, group_id):
        User = Pool().get('res.user')
        User.write([User(user_id)], {'groups': [('add', [group_id])]})
        Transaction().commit()

    def test_injection_in_login_matches_nobody(self):
        for login in ['*)(uid=*', '*', 'iv*', '*)(|(objectClass=*']:
            with self.subTest(login=login):
                status, _ = self.login(login, 'Ivan-passw0rd')
                self.assertEqual(status, 401)
                self.assertIsNone(self.user(login))

    def test_wrong_password_refused(self):
        status, _ = self.login('maria', 'wrong')
        self.assertEqual(status, 401)
        self.assertIsNone(self.user('maria'))

    def test_local_account_keeps_working_and_is_not_taken_over(self):
        # olga is local in the hub: her local password works ...
        self.assertEqual(self.login('olga', LOCAL_PASSWORD)[0], 200)
        # ... and the directory's olga (another person) cannot log in as her
        self.assertEqual(self.login('olga', 'Olga-passw0rd')[0], 401)
        self.assertFalse(self.user('olga')['directory'])

    def test_directory_user_cannot_use_a_local_password(self):
        self.assertEqual(self.login('ivan', 'Ivan-passw0rd')[0], 200)
        self.set_password('ivan', LOCAL_PASSWORD)
        self.assertEqual(self.login('ivan', LOCAL_PASSWORD)[0], 401)

    @with_transaction()
    def set_password(self, login, password):
        User = Pool().get('res.user')
        user, = User.search([('login', '=', login)])
        User.write([user], {'password': password})
        Transaction().commit()

    def test_disabled_account_loses_access_at_next_request(self):
        self.add_person('anna', 'Anna-passw0rd', 'hub-msk')
        status, session = self.login('anna', 'Anna-passw0rd')
        self.assertEqual(status, 200)
        _, result = self.rpc('model.res.user.get_preferences', True, {},
            session=session)
        self.assertIn('result', result)
        with self.server.admin() as admin:
            admin.modify(f'uid=anna,{PEOPLE}',
                {'employeeType': [('MODIFY_REPLACE', ['disabled'])]})
        # within the recheck delay the answer is cached
        _, result = self.rpc('model.res.user.get_preferences', True, {},
            session=session)
        self.assertIn('result', result)
        self.clear_cache()
        status, _ = self.rpc('model.res.user.get_preferences', True, {},
            session=session)
        self.assertEqual(status, 401)
        self.assertEqual(self.sessions('anna'), 0)
        self.assertEqual(self.login('anna', 'Anna-passw0rd')[0], 401)

    def test_first_request_of_a_fresh_process_asks_the_directory(self):
        self.add_person('gleb', 'Gleb-passw0rd', 'hub-msk')
        status, session = self.login('gleb', 'Gleb-passw0rd')
        self.assertEqual(status, 200)
        with self.server.admin() as admin:
            admin.modify(f'uid=gleb,{PEOPLE}',
                {'employeeType': [('MODIFY_REPLACE', ['disabled'])]})
        self.clear_cache()
        # a fresh server process has not loaded the database's pool yet
        Pool.stop(DB_NAME)
        status, _ = self.rpc('model.res.user.get_preferences', True, {},
            session=session)
        self.assertEqual(status, 401)
        self.assertIn(DB_NAME, Pool.database_list())
        self.assertEqual(self.sessions('gleb'), 0)

    def test_deleted_account_loses_access_at_next_request(self):
        dn = self.add_person('boris', 'Boris-passw0rd')
        status, session = self.login('boris', 'Boris-passw0rd')
        self.assertEqual(status, 200)
        with self.server.admin() as admin:
            admin.delete(dn)
        self.clear_cache()
        status, _ = self.rpc('model.res.user.get_preferences', True, {},
            session=session)
        self.assertEqual(status, 401)
        self.assertEqual(self.sessions('boris'), 0)

    @with_transaction()
    def sessions(self, login):
        pool = Pool()
        Session = pool.get('ir.session')
        User = pool.get('res.user')
        with Transaction().set_context(active_test=False):
            user, = User.search([('login', '=', login)])
        return Session.search([('create_uid', '=', user.id)], count=True)

    def test_throttle_counts_directory_failures(self):
        self.add_person('egor', 'Egor-passw0rd')
        saved = config.get('session', 'max_attempt')
        config.set('session', 'max_attempt', '1')
        try:
            self.assertEqual(self.login('egor', 'wrong-1')[0], 401)
            self.assertEqual(self.login('egor', 'wrong-2')[0], 401)
            # over the limit: even the right password is refused for now
            self.assertEqual(self.login('egor', 'Egor-passw0rd')[0], 429)
        finally:
            if saved is None:
                config.remove_option('session', 'max_attempt')
            else:
                config.set('session', 'max_attempt', saved)
        self.assertEqual(self.attempts('egor'), 3)

    @with_transaction()
    def attempts(self, login):
        Attempt = Pool().get('res.user.login.attempt')
        return Attempt.search([('login', '=', login)], count=True)

    def test_shop_portal_directory_login_and_disabled_account(self):
        self.add_person('kira', 'Kira-passw0rd', 'hub-msk')
        portal = f'/{DB_NAME}/hub/shop'
        page = self.client.get(f'{portal}/login')
        token = re.search(r'name="csrf_token" value="([^"]*)"',
            page.get_data(as_text=True)).group(1)
        response = self.client.post(f'{portal}/login', data={
                'login': 'kira', 'password': 'Kira-passw0rd',
                'csrf_token': token})
        self.assertEqual(response.status_code, 303)
        self.assertEqual(self.client.get(f'{portal}/').status_code, 200)
        self.assertEqual(self.user('kira')['shops'], {self.msk})
        with self.server.admin() as admin:
            admin.modify(f'uid=kira,{PEOPLE}',
                {'employeeType': [('MODIFY_REPLACE', ['disabled'])]})
        self.clear_cache()
        response = self.client.get(f'{portal}/')
        self.assertEqual(response.status_code, 303)
        self.assertIn('/login', response.headers['Location'])
        self.assertEqual(self.sessions('kira'), 0)

    def test_session_expires_after_max_age(self):
        status, session = self.login('ivan', 'Ivan-passw0rd')
        self.assertEqual(status, 200)
        self.age_sessions('ivan', config.getint('session', 'max_age') + 60)
        status, _ = self.rpc('model.res.user.get_preferences', True, {},
            session=session)
        self.assertEqual(status, 401)

    @with_transaction()
    def age_sessions(self, login, seconds):
        pool = Pool()
        Session = pool.get('ir.session')
        User = pool.get('res.user')
        user, = User.search([('login', '=', login)])
        table = Session.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.create_date],
                [datetime.datetime.now() - datetime.timedelta(
                        seconds=seconds)],
                where=table.create_uid == user.id))
        Transaction().commit()

    def test_directory_unreachable_refuses_login_without_error(self):
        saved = config.get('hub_auth', 'uri')
        config.set('hub_auth', 'uri', f'ldaps://127.0.0.1:{self.server.port}')
        try:
            self.assertEqual(self.login('maria', 'Maria-passw0rd')[0], 401)
        finally:
            config.set('hub_auth', 'uri', saved)

    # -- the cron deactivating users gone from the directory ----------------
    @with_transaction()
    def run_cron(self):
        pool = Pool()
        Cron = pool.get('ir.cron')
        ModelData = pool.get('ir.model.data')
        Cron.run_once([Cron(ModelData.get_id(
                        'hub_auth', 'cron_deactivate_gone'))])
        Transaction().commit()

    def disable_the_ad_way(self, uid):
        with self.server.admin() as admin:
            admin.modify(f'uid={uid},{PEOPLE}', {
                    'objectClass': [('MODIFY_ADD', ['hubTestAdAccount'])],
                    'userAccountControl': [('MODIFY_ADD', ['514'])]})

    def test_cron_deactivates_users_gone_from_the_directory(self):
        sessions = {}
        for uid in ['lev', 'mila', 'nina', 'oleg']:
            self.add_person(uid, f'{uid.title()}-passw0rd', 'hub-msk')
            status, sessions[uid] = self.login(uid, f'{uid.title()}-passw0rd')
            self.assertEqual(status, 200)
        with self.server.admin() as admin:
            admin.delete(f'uid=lev,{PEOPLE}')
            admin.modify(f'uid=mila,{PEOPLE}',
                {'employeeType': [('MODIFY_REPLACE', ['disabled'])]})
        # user_filter does not look at userAccountControl: the flag does
        self.disable_the_ad_way('oleg')

        self.run_cron()

        for uid in ['lev', 'mila', 'oleg']:
            self.assertFalse(self.user(uid)['active'], uid)
            self.assertEqual(self.sessions(uid), 0, uid)
        self.assertTrue(self.user('nina')['active'])
        _, result = self.rpc('model.res.user.get_preferences', True, {},
            session=sessions['nina'])
        self.assertIn('result', result)
        self.assertTrue(self.user('olga')['active'])    # a local user

        # enabled again in the directory: the hub does not follow silently
        with self.server.admin() as admin:
            admin.modify(f'uid=mila,{PEOPLE}',
                {'employeeType': [('MODIFY_DELETE', [])]})
        self.run_cron()
        self.assertFalse(self.user('mila')['active'])
        self.assertEqual(self.login('mila', 'Mila-passw0rd')[0], 401)

    def test_cron_deactivates_nobody_when_the_directory_is_unreachable(self):
        self.add_person('petr', 'Petr-passw0rd', 'hub-msk')
        self.assertEqual(self.login('petr', 'Petr-passw0rd')[0], 200)
        with self.server.admin() as admin:
            admin.delete(f'uid=petr,{PEOPLE}')
        saved = config.get('hub_auth', 'uri')
        config.set('hub_auth', 'uri', f'ldaps://127.0.0.1:{self.server.port}')
        try:
            self.run_cron()
        finally:
            config.set('hub_auth', 'uri', saved)
        self.assertTrue(self.user('petr')['active'])

    def test_cron_deactivates_nobody_when_the_directory_has_nobody(self):
        for uid in ['vera', 'yuri']:
            self.add_person(uid, f'{uid.title()}-passw0rd', 'hub-msk')
            self.assertEqual(
                self.login(uid, f'{uid.title()}-passw0rd')[0], 200)
        saved = config.get('hub_auth', 'base')
        config.set('hub_auth', 'base', f'ou=service,{BASE}')   # a wrong base
        try:
            self.run_cron()
        finally:
            config.set('hub_auth', 'base', saved)
        self.assertTrue(self.user('vera')['active'])
        self.assertTrue(self.user('yuri')['active'])

    def test_ad_disabled_account_cannot_log_in(self):
        self.add_person('rita', 'Rita-passw0rd', 'hub-msk')
        self.disable_the_ad_way('rita')
        self.assertEqual(self.login('rita', 'Rita-passw0rd')[0], 401)
        self.assertIsNone(self.user('rita'))

    # -- mappings by the group's stable id ------------------------------------
    @with_transaction()
    def create_mapping(self, name, dn, shop):
        GroupMap = Pool().get('hub_auth.group_map')
        mapping, = GroupMap.create([{'name': name, 'directory_group': dn,
                    'shops': [('add', [shop])]}])
        Transaction().commit()
        return mapping.directory_group_id

    def add_group(self, cn, *uids):
        with self.server.admin() as admin:
            admin.add(f'cn={cn},{GROUPS}', ['groupOfNames'], {'cn': cn,
                    'member': [f'uid={u},{PEOPLE}' for u in uids]})
            admin.search(f'cn={cn},{GROUPS}', '(objectClass=*)',
                search_scope='BASE', attributes=['entryUUID'])
            return str(admin.entries[0].entryUUID)

    def test_renamed_group_keeps_its_mapping(self):
        self.add_person('sveta', 'Sveta-passw0rd')
        uuid = self.add_group('hub-spb', 'sveta')
        group_id = self.create_mapping(
            "Невский", f'cn=hub-spb,{GROUPS}', self.spb)
        self.assertEqual(group_id, uuid)
        self.assertEqual(self.login('sveta', 'Sveta-passw0rd')[0], 200)
        self.assertEqual(self.user('sveta')['shops'], {self.spb})

        with self.server.admin() as admin:    # renamed and moved
            admin.modify_dn(f'cn=hub-spb,{GROUPS}', 'cn=hub-nevsky',
                new_superior=f'ou=people,{BASE}')
        self.assertEqual(self.login('sveta', 'Sveta-passw0rd')[0], 200)
        self.assertEqual(self.user('sveta')['shops'], {self.spb})

        # a new group under the old DN is another group: no rights from it
        self.add_person('timur', 'Timur-passw0rd')
        self.add_group('hub-spb', 'timur')
        self.assertEqual(self.login('timur', 'Timur-passw0rd')[0], 200)
        self.assertEqual(self.user('timur')['shops'], set())

    def test_group_entered_without_directory_matches_by_dn(self):
        self.add_person('ulyana', 'Ulyana-passw0rd')
        self.add_group('hub-kzn', 'ulyana')
        saved = config.get('hub_auth', 'uri')
        config.set('hub_auth', 'uri', f'ldaps://127.0.0.1:{self.server.port}')
        try:
            group_id = self.create_mapping(
                "Казань", f'cn=hub-kzn,{GROUPS}', self.msk)
        finally:
            config.set('hub_auth', 'uri', saved)
        self.assertIsNone(group_id)
        self.assertEqual(self.login('ulyana', 'Ulyana-passw0rd')[0], 200)
        self.assertEqual(self.user('ulyana')['shops'], {self.msk})


del HubTestCase
