"""The AD-specific parts against a real Samba AD DC: plain LDAP binds
refused, LDAPS with UPN binds, nested groups through the in-chain rule
1.2.840.113556.1.4.1941, userAccountControl's "disabled" bit, escaped
filters, groups found again by their objectGUID after a rename."""
import os
import unittest
import uuid

import ldap3

from ..directory import Directory, Settings
from .samba import (
    ADMIN_PASSWORD, BASE, SERVICE, SERVICE_PASSWORD, USERS, SambaDC,
    available)

AD_USERS = ('(&(objectClass=user)'
    '(!(userAccountControl:1.2.840.113556.1.4.803:=2)))')


@unittest.skipUnless(os.environ.get('HUB_TEST_SAMBA') and available(),
    "set HUB_TEST_SAMBA=1 (and apt: samba-ad-dc samba-ad-provision): "
    "provisioning takes 30-100 s")
class ActiveDirectoryTestCase(unittest.TestCase):
    "ldap3 client of the directory against Samba AD"

    @classmethod
    def setUpClass(cls):
        cls.dc = SambaDC()
        cls.dc.start()
        cls.addClassCleanup(cls.dc.stop)

    def settings(self, **values):
        return Settings(**dict({
                    'uri': f'ldaps://{self.dc.address}:636',
                    'base': BASE,
                    'bind_dn': f'{SERVICE}@shop.test',      # a UPN bind
                    'bind_password': SERVICE_PASSWORD,
                    'ca_file': self.dc.ca_file,
                    'uid_attribute': 'sAMAccountName',
                    'user_filter': AD_USERS,
                    'groups': 'in_chain',
                    }, **values))

    def group(self, cn):
        return f'cn={cn},cn=users,{BASE}'.lower()

    def test_plain_ldap_simple_bind_refused(self):
        conn = ldap3.Connection(ldap3.Server(self.dc.address, port=389),
            f'{SERVICE}@shop.test', SERVICE_PASSWORD)
        try:
            self.assertFalse(conn.bind())
            self.assertEqual(conn.result['description'],
                'strongerAuthRequired')
        finally:
            conn.unbind()

    def test_login_with_nested_groups_in_chain(self):
        directory = Directory(self.settings())
        account = directory.authenticate('ivan', USERS['ivan'][0])
        self.assertEqual(account.login, 'ivan')
        self.assertEqual(account.name, "Иван Петров")
        self.assertEqual(account.email, 'ivan@shop.test')
        self.assertEqual(account.phone, '+7 495 000-00-00')
        # hub-shops through hub-msk; not the primary group (Domain Users:
        # primaryGroupID, no member value), as in AD
        self.assertEqual({g.lower() for g in account.groups},
            {self.group('hub-msk'), self.group('hub-shops')})

    def test_memberof_gives_direct_groups_only(self):
        directory = Directory(self.settings(groups='memberof'))
        account = directory.authenticate('ivan', USERS['ivan'][0])
        self.assertEqual({g.lower() for g in account.groups},
            {self.group('hub-msk')})

    def test_upn_login(self):
        directory = Directory(self.settings(uid_attribute='userPrincipalName'))
        account = directory.authenticate('olga@shop.test', USERS['olga'][0])
        self.assertEqual(account.login, 'olga@shop.test')
        self.assertIn(self.group('hub-managers'),
            {g.lower() for g in account.groups})

    def test_injection_and_wrong_password(self):
        directory = Directory(self.settings())
        for login in ['*)(sAMAccountName=*', '*', 'iv*']:
            with self.subTest(login=login):
                self.assertIsNone(
                    directory.authenticate(login, USERS['ivan'][0]))
        self.assertIsNone(directory.authenticate('ivan', 'wrong'))

    def test_disabled_account_is_not_found(self):
        directory = Directory(self.settings())
        self.assertIsNotNone(directory.find('olga'))
        self.dc.tool('user', 'disable', 'olga')
        try:
            self.assertIsNone(directory.find('olga'))
            self.assertIsNone(
                directory.authenticate('olga', USERS['olga'][0]))
        finally:
            self.dc.tool('user', 'enable', 'olga')
        self.assertIsNotNone(directory.find('olga'))

    def test_disabled_flag_counts_without_the_filter_clause(self):
        directory = Directory(self.settings(user_filter='(objectClass=user)'))
        self.dc.tool('user', 'disable', 'olga')
        try:
            self.assertIsNone(directory.find('olga'))
        finally:
            self.dc.tool('user', 'enable', 'olga')
        self.assertIsNotNone(directory.find('olga'))

    def test_group_found_by_objectguid_after_a_rename(self):
        directory = Directory(self.settings())
        self.assertEqual(directory.settings.group_id_attribute, 'objectGUID')
        dn = self.group('hub-managers')
        group_id = directory.group_id(dn)
        self.assertEqual(str(uuid.UUID(group_id)), group_id)
        self.assertIsNone(directory.group_id(f'cn=nobody,cn=users,{BASE}'))
        renamed = f'cn=hub-sales,cn=users,{BASE}'
        self.rename(dn, 'cn=hub-sales')
        try:
            found = directory.groups_by_id({group_id})
            self.assertEqual({k: v.lower() for k, v in found.items()},
                {group_id: renamed.lower()})
            # the user's groups name the new DN: the mapping still matches
            account = directory.authenticate('olga', USERS['olga'][0])
            self.assertIn(renamed.lower(), {g.lower() for g in account.groups})
        finally:
            self.rename(renamed, 'cn=hub-managers')

    def rename(self, dn, rdn):
        server = ldap3.Server(self.dc.address, port=636, use_ssl=True,
            tls=ldap3.Tls(ca_certs_file=self.dc.ca_file))
        with ldap3.Connection(server, 'Administrator@shop.test',
                ADMIN_PASSWORD, auto_bind=True) as conn:
            self.assertTrue(conn.modify_dn(dn, rdn), conn.result)
