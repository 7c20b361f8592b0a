"Directory login on res.user, the directory check of sessions"
import logging
from functools import wraps

from trytond import security
from trytond.cache import Cache
from trytond.config import config
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .directory import Directory, DirectoryError, Settings

logger = logging.getLogger(__name__)
SECTION = 'hub_auth'


def directory_settings():
    "The directory of trytond.conf [hub_auth], None when there is none"
    uri = config.get(SECTION, 'uri')
    if not uri:
        return None
    values = {'uri': uri, 'base': config.get(SECTION, 'base', default='')}
    for name in ['bind_dn', 'bind_password', 'ca_file', 'uid_attribute',
            'user_filter', 'groups', 'group_filter', 'name_attribute',
            'email_attribute', 'phone_attribute', 'group_id_attribute']:
        value = config.get(SECTION, name)
        if value is not None:
            values[name] = value
    values['starttls'] = config.getboolean(SECTION, 'starttls', default=False)
    values['timeout'] = config.getint(SECTION, 'timeout', default=5)
    return Settings(**values)


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    hub_auth_directory = fields.Boolean("Directory Login",
        help="The person logs in with the password of the corporate "
        "directory only; the groups and shops follow the directory groups.")
    hub_auth_dn = fields.Char("Directory Entry", readonly=True)
    hub_auth_phone = fields.Char("Phone")

    @classmethod
    def default_hub_auth_directory(cls):
        return False

    @classmethod
    def hub_auth_directory_client(cls):
        settings = directory_settings()
        return Directory(settings) if settings else None

    @classmethod
    def _login_password(cls, login, parameters):
        user_id = super()._login_password(login, parameters)
        if user_id and cls._hub_auth_is_directory(user_id):
            # the directory is the only judge of a directory user's password
            return None
        return user_id

    @classmethod
    def _hub_auth_is_directory(cls, user_id):
        with without_check_access():
            return bool(cls(user_id).hub_auth_directory)

    @classmethod
    def _login_directory(cls, login, parameters):
        "The login method 'directory' of [session] authentications"
        directory = cls.hub_auth_directory_client()
        password = parameters.get('password')
        if directory is None or not password:
            return None
        try:
            account = directory.authenticate(login, password)
        except DirectoryError:
            logger.warning("directory unreachable for '%s'", login,
                exc_info=True)
            return None
        if account is None:
            return None
        user = cls._hub_auth_user(account)
        if user is None:
            return None
        cls.hub_auth_apply(user, account)
        return user.id

    @classmethod
    def _hub_auth_user(cls, account):
        """The user of the account, created on the first login; None for a
        local user of the same login or a deactivated one"""
        with without_check_access(), \
                Transaction().set_context(active_test=False):
            users = cls.search([('login', '=', account.login)], limit=1)
            if not users:
                if not config.getboolean(SECTION, 'create_users', default=True):
                    return None
                user, = cls.create([cls._hub_auth_new_user(account)])
                return user
        user, = users
        if not user.active or not user.hub_auth_directory:
            logger.warning("directory login refused for local or inactive "
                "user '%s'", account.login)
            return None
        return user

    @classmethod
    def _hub_auth_new_user(cls, account):
        return {
            'login': account.login,
            'name': account.name or account.login,
            'hub_auth_directory': True,
            }

    @classmethod
    def hub_auth_apply(cls, user, account):
        "Write what the directory says: name, contacts, groups (and shops)"
        values = cls._hub_auth_values(user, account)
        changed = {k: v for k, v in values.items()
            if isinstance(v, list) or getattr(user, k) != v}
        if changed:
            with without_check_access():
                cls.write([user], changed)

    @classmethod
    def _hub_auth_values(cls, user, account):
        GroupMap = Pool().get('hub_auth.group_map')
        mappings = cls._hub_auth_mappings(account)
        managed = {g.id for m in GroupMap.managed() for g in m.groups}
        wanted = {g.id for m in mappings for g in m.groups}
        current = {g.id for g in user.groups}
        values = {
            'name': account.name or user.name,
            'email': account.email or None,
            'hub_auth_phone': account.phone or None,
            'hub_auth_dn': account.dn,
            }
        groups = (current - managed) | wanted
        if groups != current:
            values['groups'] = [('remove', sorted(current - groups)),
                ('add', sorted(groups - current))]
        return values

    @classmethod
    def _hub_auth_mappings(cls, account):
        "The mappings of the account's groups, the directory asked once"
        mappings = getattr(account, 'hub_auth_mappings', None)
        if mappings is None:
            mappings = Pool().get('hub_auth.group_map').matching(
                account.groups)
            account.hub_auth_mappings = mappings
        return mappings

    @classmethod
    def hub_auth_active(cls, user_id):
        """Whether the directory still has the user's account enabled; True
        for local users and when the directory cannot be asked"""
        active = cls._hub_auth_active_cache.get(user_id)
        if active is None:
            active = cls._hub_auth_ask_active(user_id)
            cls._hub_auth_active_cache.set(user_id, active)
        return active

    _hub_auth_active_cache = Cache('hub_auth.active', context=False,
        duration=config.getint(SECTION, 'recheck', default=60))

    @classmethod
    def _hub_auth_ask_active(cls, user_id):
        with without_check_access():
            user = cls(user_id)
            if not user.hub_auth_directory:
                return True
            login = user.login
        directory = cls.hub_auth_directory_client()
        if directory is None:
            return False
        try:
            return directory.find(login) is not None
        except DirectoryError:
            logger.warning("directory unreachable, session of '%s' kept",
                login, exc_info=True)
            return True


    @classmethod
    def hub_auth_deactivate_gone(cls):
        """Cron: deactivate the directory users whose account the directory
        no longer has (deleted, or disabled: user_filter, AD's
        userAccountControl); nobody is reactivated here, that is the
        administrator's decision"""
        directory = cls.hub_auth_directory_client()
        if directory is None:
            return
        with without_check_access():
            users = cls.search([('hub_auth_directory', '=', True)])
            try:
                found = directory.find_many([u.login for u in users])
            except DirectoryError:
                logger.warning("directory unreachable: nobody deactivated",
                    exc_info=True)
                return
            gone = [u for u in users if found[u.login] is None]
            if len(users) > 1 and len(gone) == len(users):
                # a wrong base or filter, not everybody leaving at once
                logger.error("the directory has none of the %s directory "
                    "users: nobody deactivated, check [hub_auth]", len(users))
                return
            cls.hub_auth_deactivate(gone)

    @classmethod
    def hub_auth_deactivate(cls, users):
        "Deactivate users and close their sessions"
        if not users:
            return
        logger.info("directory accounts gone, users deactivated: %s",
            ', '.join(u.login for u in users))
        cls.write(users, {'active': False})
        Pool().get('ir.session').clear([u.id for u in users])


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(('res.user|hub_auth_deactivate_gone',
                "Deactivate Users Gone from the Directory"))


class Session(metaclass=PoolMeta):
    __name__ = 'ir.session'

    @classmethod
    def check(cls, user, key, domain=None):
        found = super().check(user, key, domain=domain)
        if found and not Pool().get('res.user').hub_auth_active(user):
            logger.info("directory account of user %s disabled: sessions "
                "closed", user)
            cls.clear([user])
            return False
        return found


def load_pool_first(check):
    """Tryton's session check, with the database's pool loaded first.

    Before a process has loaded a database's pool, trytond.security.check
    reads ir_session by raw SQL, so ir.session.check (and the directory
    check above) would be skipped on the first request of a fresh server
    process.  Loading the pool the way Tryton's login does closes that."""
    @wraps(check)
    def wrapper(dbname, user, session, context=None):
        if dbname and dbname not in Pool.database_list():
            with Transaction().start(dbname, 0, readonly=True,
                    context=context):
                security._get_pool(dbname)
        return check(dbname, user, session, context=context)
    wrapper.hub_auth = True
    return wrapper


def install():
    "Make every session check go through ir.session.check (per process)"
    if not getattr(security.check, 'hub_auth', False):
        security.check = load_pool_first(security.check)


install()
