"""Windows single sign-on: Kerberos through SPNEGO ("Negotiate") in the hub.

GET /<db>/authentication/kerberos/login?next=… (the button «Вход через
Windows» of the web client's login dialog opens it in a small window):
without a ticket it answers 401 `WWW-Authenticate: Negotiate`, and the
browser of a domain PC comes back with the user's service ticket for
HTTP/<the hub's name>.  The ticket is checked against the keytab of
`[hub_auth] kerberos_keytab` (python-gssapi, MIT Kerberos), the
principal's realm must be one of `kerberos_realms`, the person is looked
up in the directory (groups and shops applied as at a password login) or,
without a directory, must be a hub user with «Вход через каталог» or
«Вход через SAML».  Then a session, its cookie and the redirect of every
single sign-on (sso.py); refusals count in the same throttle.
"""
import logging
from http import HTTPStatus

from trytond.config import config
from trytond.pool import PoolMeta
from trytond.protocols.dispatcher import register_authentication_service
from trytond.protocols.wrappers import (
    Response, abort, with_pool, with_transaction)
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from .directory import DirectoryError
from .spnego import Acceptor, NegotiateError, available, negotiate_token
from .sso import too_many_attempts

logger = logging.getLogger(__name__)
SECTION = 'hub_auth'
PATH = '/authentication/kerberos/login'
REFUSED = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>Вход через Windows</title>
</head><body><p>Войти через Windows не удалось: компьютер не входит в домен,
браузер не доверяет адресу центра заказов или учётной записи этот вход
не разрешён.</p><p>Закройте это окно и войдите с паролем.</p></body></html>
"""


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    @classmethod
    def hub_auth_kerberos_acceptor(cls):
        "The acceptor of [hub_auth] kerberos_keytab, None without Kerberos"
        keytab = config.get(SECTION, 'kerberos_keytab')
        if not keytab or not available():
            return None
        return Acceptor(keytab, config.get(SECTION, 'kerberos_principal'))

    @classmethod
    def hub_auth_kerberos_realms(cls):
        """The realms whose people may log in: [hub_auth] kerberos_realms,
        else the realm of kerberos_principal"""
        realms = config.get(SECTION, 'kerberos_realms', default='') or ''
        if not realms.strip():
            principal = config.get(SECTION, 'kerberos_principal') or ''
            realms = principal.rpartition('@')[2] if '@' in principal else ''
        return {r.upper() for r in realms.replace(',', ' ').split()}

    @classmethod
    def hub_auth_kerberos_login(cls, accepted):
        "The hub login of an accepted principal, None for another realm"
        if accepted.realm.upper() not in cls.hub_auth_kerberos_realms():
            logger.warning("Kerberos principal '%s' of a realm not allowed",
                accepted.principal)
            return None
        return accepted.name

    @classmethod
    def hub_auth_kerberos_user(cls, accepted):
        """The user of an accepted ticket: found (or created) through the
        directory with its groups and shops, or without a directory a
        directory or SAML user of the hub; None when refused"""
        login = cls.hub_auth_kerberos_login(accepted)
        if not login:
            return None
        directory = cls.hub_auth_directory_client()
        if directory is None:
            return cls._hub_auth_kerberos_known_user(login)
        try:
            account = directory.find(login)
        except DirectoryError:
            logger.warning("directory unreachable, Kerberos login of '%s' "
                "refused", login, exc_info=True)
            return None
        if account is None:
            return None
        user = cls._hub_auth_user(account)
        if user is not None:
            cls.hub_auth_apply(user, account)
        return user

    @classmethod
    def _hub_auth_kerberos_known_user(cls, login):
        with without_check_access(), \
                Transaction().set_context(active_test=False):
            users = cls.search([('login', '=', login)], limit=1)
        if not users:
            return None
        user, = users
        if not user.active or not (
                user.hub_auth_directory or user.hub_auth_saml):
            logger.warning("Kerberos login refused for local or inactive "
                "user '%s'", login)
            return None
        return user


def challenge(status=HTTPStatus.UNAUTHORIZED):
    "Ask the browser for its ticket (the page shows when it has none)"
    return Response(REFUSED, status=status,
        headers={'WWW-Authenticate': 'Negotiate'},
        content_type='text/html; charset=utf-8')


@app.route('/<database_name>' + PATH, methods={'GET'})
@with_pool
@with_transaction(readonly=False)
def login(request, pool):
    "The hub's SPNEGO login route (see module doc)"
    User = pool.get('res.user')
    Session = pool.get('ir.session')
    acceptor = User.hub_auth_kerberos_acceptor()
    if acceptor is None:
        abort(HTTPStatus.NOT_FOUND)
    if User.hub_auth_sso_throttled():
        return too_many_attempts()
    token = negotiate_token(request.headers.get('Authorization'))
    if token is None:
        return challenge()
    try:
        accepted = acceptor.accept(token)
    except NegotiateError as exception:
        logger.warning("Kerberos ticket refused: %s", exception)
        accepted = None
    user = accepted and User.hub_auth_kerberos_user(accepted)
    if not user:
        User.hub_auth_sso_failed()
        return challenge()
    User.hub_auth_sso_succeeded()
    with Transaction().set_user(user.id):
        session = Session.new()
    response = User.hub_auth_sso_redirect(request, user, session,
        request.args.get('next'), PATH)
    if accepted.token:
        response.headers['WWW-Authenticate'] = f'Negotiate {accepted.token}'
    return response


def register():
    "The button of the web client's login dialog, when Kerberos is set"
    if available() and config.get(SECTION, 'kerberos_keytab'):
        register_authentication_service(
            config.get(SECTION, 'kerberos_label',
                default="Вход через Windows"), PATH)


register()
