"""The directory client against a real OpenLDAP (slapd) on loopback: LDAPS
and StartTLS with a certificate checked, nested groups, escaped filters."""
import unittest

from ..directory import Directory, DirectoryError, Settings
from .slapd import BASE, SERVICE_DN, SERVICE_PASSWORD, Slapd, available
from .slapd import make_certificates


def settings(server, **values):
    values = dict({
            'uri': f'ldaps://127.0.0.1:{server.tls_port}',
            'base': BASE,
            'bind_dn': SERVICE_DN,
            'bind_password': SERVICE_PASSWORD,
            'ca_file': server.ca_file,
            'user_filter': '(objectClass=inetOrgPerson)',
            }, **values)
    return Settings(**values)


@unittest.skipUnless(available(), "slapd is not installed (apt: slapd)")
class DirectoryTestCase(unittest.TestCase):
    "ldap3 client of the corporate directory"

    @classmethod
    def setUpClass(cls):
        cls.server = Slapd()
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)

    def directory(self, **values):
        return Directory(settings(self.server, **values))

    def test_ldaps_login_reads_person_and_nested_groups(self):
        account = self.directory().authenticate('ivan', 'Ivan-passw0rd')
        self.assertEqual(account.dn, f'uid=ivan,ou=people,{BASE}')
        self.assertEqual(account.name, "Иван Петров")
        self.assertEqual(account.email, 'ivan@shop.test')
        self.assertEqual(account.phone, '+7 912 000-11-22')
        groups = {g.lower() for g in account.groups}
        # hub-msk directly, hub-shops through hub-msk (dynlist)
        self.assertEqual(groups, {f'cn=hub-msk,ou=groups,{BASE}',
                f'cn=hub-shops,ou=groups,{BASE}'})

    def test_starttls_login(self):
        directory = self.directory(uri=f'ldap://127.0.0.1:{self.server.port}',
            starttls=True)
        account = directory.authenticate('olga', 'Olga-passw0rd')
        self.assertEqual([g.lower() for g in account.groups],
            [f'cn=hub-managers,ou=groups,{BASE}'])

    def test_plain_ldap_refused_by_settings(self):
        with self.assertRaises(ValueError):
            self.directory(uri=f'ldap://127.0.0.1:{self.server.port}')

    def test_unknown_certificate_refused(self):
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as folder:
            make_certificates(Path(folder))
            directory = self.directory(ca_file=str(Path(folder) / 'ca.pem'))
            with self.assertRaises(DirectoryError):
                directory.authenticate('ivan', 'Ivan-passw0rd')

    def test_wrong_or_empty_password(self):
        directory = self.directory()
        self.assertIsNone(directory.authenticate('ivan', 'wrong'))
        self.assertIsNone(directory.authenticate('ivan', ''))
        self.assertIsNone(directory.authenticate('nobody', 'Ivan-passw0rd'))

    def test_filter_injection_matches_nobody(self):
        directory = self.directory()
        for login in ['*)(uid=*', '*', 'iv*', 'ivan)(|(uid=*', '*)(|(objectClass=*',
                'ivan\\', 'ivan\x00']:
            with self.subTest(login=login):
                self.assertIsNone(directory.find(login))
                self.assertIsNone(
                    directory.authenticate(login, 'Ivan-passw0rd'))
        # what the stock module's unescaped '(uid=%s)' would have sent
        conn = directory.service()
        try:
            conn.search(BASE, '(&(objectClass=inetOrgPerson)(uid=*)(uid=*))',
                attributes=['uid'])
            self.assertGreater(len(conn.entries), 1)
        finally:
            conn.unbind()

    def test_service_account_refused(self):
        with self.assertRaises(DirectoryError):
            self.directory(bind_password='wrong').authenticate(
                'ivan', 'Ivan-passw0rd')

    def test_disabled_account_not_found(self):
        directory = self.directory(
            user_filter='(&(objectClass=inetOrgPerson)'
            '(!(employeeType=disabled)))')
        self.assertIsNotNone(directory.find('maria'))
        with self.server.admin() as admin:
            admin.modify(f'uid=maria,ou=people,{BASE}',
                {'employeeType': [('MODIFY_REPLACE', ['disabled'])]})
        try:
            self.assertIsNone(directory.find('maria'))
            self.assertIsNone(directory.authenticate('maria', 'Maria-passw0rd'))
        finally:
            with self.server.admin() as admin:
                admin.modify(f'uid=maria,ou=people,{BASE}',
                    {'employeeType': [('MODIFY_DELETE', [])]})
