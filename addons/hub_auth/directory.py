"""The client of the corporate directory (OpenLDAP or Active Directory)
over LDAPS or StartTLS, on ldap3.  Plain Python, no Tryton: the settings
come in a ``Settings`` and every value put into a filter is escaped."""
import logging
import ssl
import uuid
from dataclasses import dataclass, field

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_bytes, escape_filter_chars

logger = logging.getLogger(__name__)

# AD's LDAP_MATCHING_RULE_IN_CHAIN: every group the user is in, transitively
IN_CHAIN = '1.2.840.113556.1.4.1941'
# AD's userAccountControl flag ACCOUNTDISABLE
ACCOUNT_DISABLED = 0x2


class DirectoryError(Exception):
    "The directory could not be asked (network, TLS, service account)"


@dataclass
class Settings:
    uri: str                        # ldaps://host:636 or ldap://host:389
    base: str
    bind_dn: str = ''
    bind_password: str = ''
    starttls: bool = False
    ca_file: str = ''
    uid_attribute: str = 'uid'      # AD: sAMAccountName or userPrincipalName
    user_filter: str = '(objectClass=person)'
    # memberof: the user's memberOf (slapd dynlist: nested ones included)
    # in_chain: AD's rule 1.2.840.113556.1.4.1941
    groups: str = 'memberof'
    group_filter: str = '(objectClass=group)'
    name_attribute: str = 'cn'
    email_attribute: str = 'mail'
    phone_attribute: str = 'telephoneNumber'
    # the group's id that survives a rename or a move; default: AD's
    # objectGUID with groups = in_chain, else OpenLDAP's entryUUID
    group_id_attribute: str = ''
    timeout: int = 5

    def __post_init__(self):
        if not self.uri.startswith('ldaps://') and not self.starttls:
            raise ValueError(
                'hub_auth: the directory needs ldaps:// or starttls')
        if not self.group_id_attribute:
            self.group_id_attribute = ('objectGUID'
                if self.groups == 'in_chain' else 'entryUUID')


@dataclass
class Account:
    dn: str
    login: str
    name: str = ''
    email: str = ''
    phone: str = ''
    groups: list = field(default_factory=list)


class Directory:

    def __init__(self, settings):
        self.settings = settings

    def server(self):
        s = self.settings
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED,
            ca_certs_file=s.ca_file or None,
            version=ssl.PROTOCOL_TLS_CLIENT)
        return ldap3.Server(s.uri, tls=tls, connect_timeout=s.timeout,
            get_info=ldap3.NONE)

    def connect(self, dn, password):
        "A bound connection, None when the directory refuses the password"
        # an empty password would be an unauthenticated bind that succeeds
        if not password:
            return None
        conn = ldap3.Connection(self.server(), dn, password,
            receive_timeout=self.settings.timeout, auto_referrals=False,
            raise_exceptions=False)
        try:
            conn.open()
            if self.settings.starttls and not conn.start_tls():
                raise DirectoryError('StartTLS refused: %s' % conn.result)
            if conn.bind():
                return conn
        except LDAPException as exception:
            conn.unbind()
            raise DirectoryError(str(exception)) from exception
        conn.unbind()
        if conn.result.get('description') == 'invalidCredentials':
            return None
        raise DirectoryError('bind refused: %s' % conn.result)

    def service(self):
        s = self.settings
        conn = self.connect(s.bind_dn, s.bind_password)
        if conn is None:
            raise DirectoryError('the service account was refused')
        return conn

    def user_filter(self, login):
        s = self.settings
        return '(&%s(%s=%s))' % (s.user_filter, s.uid_attribute,
            escape_filter_chars(login))

    def find(self, login, conn=None):
        "The account of login, None when the directory has no such (active) one"
        if conn is None:
            conn = self.service()
            try:
                return self.find(login, conn)
            finally:
                conn.unbind()
        s = self.settings
        attributes = [s.uid_attribute, s.name_attribute, s.email_attribute,
            s.phone_attribute, 'userAccountControl']
        if s.groups == 'memberof':
            attributes.append('memberOf')
        try:
            conn.search(s.base, self.user_filter(login),
                attributes=attributes, size_limit=2)
        except LDAPException as exception:
            raise DirectoryError(str(exception)) from exception
        entries = [e for e in conn.response if e.get('type') == 'searchResEntry']
        if len(entries) != 1 or self.disabled(entries[0]):
            return None
        return self.account(entries[0], conn)

    def find_many(self, logins):
        "{login: account or None} over one connection"
        conn = self.service()
        try:
            return {login: self.find(login, conn) for login in logins}
        finally:
            conn.unbind()

    @staticmethod
    def disabled(entry):
        """An AD account disabled by its userAccountControl, whatever
        user_filter says (a filter without the flag's clause would let it
        through)"""
        value = entry['attributes'].get('userAccountControl')
        if isinstance(value, list):
            value = value[0] if value else None
        try:
            return bool(int(value or 0) & ACCOUNT_DISABLED)
        except (TypeError, ValueError):
            return False

    def account(self, entry, conn):
        s = self.settings
        attrs = entry['attributes']

        def first(name):
            value = attrs.get(name)
            if isinstance(value, list):
                value = value[0] if value else ''
            return str(value or '')
        account = Account(dn=entry['dn'], login=first(s.uid_attribute),
            name=first(s.name_attribute), email=first(s.email_attribute),
            phone=first(s.phone_attribute))
        if s.groups == 'in_chain':
            account.groups = self.groups_in_chain(account.dn, conn)
        else:
            account.groups = [str(g) for g in attrs.get('memberOf') or []]
        return account

    def groups_in_chain(self, dn, conn):
        s = self.settings
        query = '(&%s(member:%s:=%s))' % (s.group_filter, IN_CHAIN,
            escape_filter_chars(dn))
        try:
            conn.search(s.base, query, attributes=['cn'])
        except LDAPException as exception:
            raise DirectoryError(str(exception)) from exception
        return [e['dn'] for e in conn.response
            if e.get('type') == 'searchResEntry']

    def authenticate(self, login, password):
        "The account when login and password are right, else None"
        if not password:
            return None
        service = self.service()
        try:
            account = self.find(login, service)
        finally:
            service.unbind()
        if account is None:
            return None
        conn = self.connect(account.dn, password)
        if conn is None:
            return None
        conn.unbind()
        return account

    # -- stable ids of groups (objectGUID, entryUUID) --------------------------
    def group_id(self, dn):
        "The stable id of the group entry dn, None when there is none"
        attribute = self.settings.group_id_attribute
        conn = self.service()
        try:
            conn.search(dn, '(objectClass=*)', search_scope=ldap3.BASE,
                attributes=[attribute])
            ids = [self.entry_id(e) for e in self.entries(conn)]
        except LDAPException:   # not a DN (a SAML group name) or no entry
            return None
        finally:
            conn.unbind()
        return ids[0] if ids else None

    def groups_by_id(self, ids):
        "{id: DN} of the group entries that still have these ids"
        if not ids:
            return {}
        attribute = self.settings.group_id_attribute
        query = '(|%s)' % ''.join('(%s=%s)' % (attribute, self.id_value(i))
            for i in sorted(ids))
        conn = self.service()
        try:
            conn.search(self.settings.base, query, attributes=[attribute])
            if conn.result.get('result') != 0:
                # a refused or cut search is no "the groups are gone"
                raise DirectoryError('group search: %s' % conn.result)
            return {self.entry_id(e): e['dn'] for e in self.entries(conn)}
        except LDAPException as exception:
            raise DirectoryError(str(exception)) from exception
        finally:
            conn.unbind()

    @staticmethod
    def entries(conn):
        return [e for e in conn.response or []
            if e.get('type') == 'searchResEntry']

    def _binary_id(self):
        return self.settings.group_id_attribute.lower() == 'objectguid'

    def entry_id(self, entry):
        "The id as text: objectGUID (16 bytes) in its usual GUID form"
        raw = {k.lower(): v for k, v in entry['raw_attributes'].items()}
        values = raw.get(self.settings.group_id_attribute.lower())
        if not values:
            return None
        if self._binary_id():
            return str(uuid.UUID(bytes_le=values[0]))
        return values[0].decode()

    def id_value(self, group_id):
        "The id escaped for a filter"
        if self._binary_id():
            return escape_bytes(uuid.UUID(group_id).bytes_le)
        return escape_filter_chars(group_id)
