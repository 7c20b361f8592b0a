"""What every single sign-on route of the hub shares (SAML, Kerberos):
the throttle of failed attempts, the redirect after the login and its
checks, as Pool methods of res.user a next module may override."""
import logging
import random
import time
import urllib.parse
from http import HTTPStatus

from trytond.config import config
from trytond.pool import Pool, PoolMeta
from trytond.protocols.wrappers import Response, add_auth_cookies, redirect
from trytond.transaction import Transaction
from trytond.url import http_host

logger = logging.getLogger(__name__)
SECTION = 'hub_auth'


def too_many_attempts():
    "The answer of a single sign-on route while its address is throttled"
    return Response("Слишком много неудачных попыток входа, повторите позже",
        status=HTTPStatus.TOO_MANY_REQUESTS,
        content_type='text/plain; charset=utf-8')


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    @classmethod
    def hub_auth_redirect_allowed(cls, url, host):
        """Whether the hub may redirect to url after a login: a relative path,
        the hub's own host or one of [hub_auth] redirect_urls"""
        if not url or any(ord(c) < 0x20 or c == '\\' for c in url):
            return False
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            return False
        if not parts.scheme and not parts.netloc:
            return url.startswith('/') and not url.startswith('//')
        if parts.scheme not in {'http', 'https'} or not parts.netloc:
            return False
        if parts.netloc.lower() == (host or '').lower():
            return True
        return any(cls._hub_auth_url_under(parts, base)
            for base in cls.hub_auth_redirect_urls())

    @classmethod
    def hub_auth_redirect_urls(cls):
        "The base URLs of [hub_auth] redirect_urls (one per line or space)"
        return (config.get(SECTION, 'redirect_urls', default='') or '').split()

    @staticmethod
    def _hub_auth_url_under(parts, base):
        base = urllib.parse.urlsplit(base)
        if (parts.scheme, parts.netloc.lower()) != (
                base.scheme, base.netloc.lower()):
            return False
        prefix = base.path.rstrip('/')
        return (not prefix or parts.path == prefix
            or parts.path.startswith(prefix + '/'))

    @classmethod
    def _hub_auth_sso_key(cls):
        ip_address, _ = Transaction().remote_address()
        return f'sso:{ip_address}'

    @classmethod
    def hub_auth_sso_throttled(cls):
        """Whether the address (or its network) failed too often: the limits
        of Tryton's login throttle, [session] max_attempt and
        max_attempt_ip_network"""
        LoginAttempt = cls._hub_auth_attempts()
        if LoginAttempt.count_ip() > config.getint(
                'session', 'max_attempt_ip_network', default=300):
            return True
        return LoginAttempt.count(cls._hub_auth_sso_key()) > config.getint(
            'session', 'max_attempt', default=5)

    @classmethod
    def hub_auth_sso_failed(cls):
        "Count a failed single sign-on; wait like Tryton after a bad password"
        LoginAttempt = cls._hub_auth_attempts()
        key = cls._hub_auth_sso_key()
        count = LoginAttempt.count(key)
        LoginAttempt.add(key)
        Transaction().atexit(time.sleep, random.randint(0, 2 ** count - 1))

    @classmethod
    def hub_auth_sso_succeeded(cls):
        cls._hub_auth_attempts().remove(cls._hub_auth_sso_key())

    @classmethod
    def _hub_auth_attempts(cls):
        return Pool().get('res.user.login.attempt')

    @classmethod
    def hub_auth_sso_redirect(cls, request, user, session, next_url,
            login_service):
        """The answer of a successful single sign-on: the session in a cookie
        and a redirect to next_url when allowed (else the hub's start page),
        with what the web client reads from the address (sao closes the
        login window and keeps the session)"""
        if not cls.hub_auth_redirect_allowed(next_url, request.host):
            if next_url:
                logger.warning("redirect to '%s' not allowed", next_url)
            next_url = http_host() + '/'
        database = Transaction().database.name
        parts = urllib.parse.urlsplit(next_url)
        query = urllib.parse.parse_qsl(parts.query)
        if 'login_service' not in dict(query):
            query.append(('login_service', login_service))
        query += [('database', database), ('login', user.login),
            ('user_id', user.id)]
        tryton_client = next_url.startswith('http://localhost:')
        if tryton_client:
            # the desktop client reads the session from the URL (allowed only
            # when [hub_auth] redirect_urls names http://localhost:<port>)
            query.append(('session', session))
        allow_subscribe = config.getboolean(
            'bus', 'allow_subscribe', default=False)
        bus_url_host = config.get('bus', 'url_host', default=request.host_url)
        query.append(('bus_url_host', bus_url_host if allow_subscribe else ''))
        parts = list(parts)
        parts[3] = urllib.parse.urlencode(query)
        response = redirect(urllib.parse.urlunsplit(parts))
        if not tryton_client:
            add_auth_cookies(response, database, user.login, str(user.id),
                session)
        return response
