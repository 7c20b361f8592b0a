"""SAML 2.0 login (Tryton's authentication_saml) made safe for the hub.

The stock module (8.0) redirects to whatever RelayState the browser posts
back to its ACS route, finds only existing users and never throttles.  Its
ACS route is given our `acs` below: the same SAML checks (pysaml2, signed
responses), then the hub's rules, each a Pool method of res.user so that a
next module can override it:

* `hub_auth_sso_redirect` (sso.py): only to the hub's own addresses (same
  host, `[hub_auth] redirect_urls`, relative paths); anything else goes to
  the hub's start page;
* `hub_auth_sso_throttled` / `hub_auth_sso_failed` (sso.py): failed
  responses count in Tryton's own login throttle (res.user.login.attempt),
  per address (`[session] max_attempt`) and per network
  (`max_attempt_ip_network`);
* `hub_auth_saml_user`: the user of the assertion, created on first login,
  groups and shops from the group claim through the directory-group mapping;
* `hub_auth_sp_request`: the scheme and host of the SP's own addresses
  (entity id, ACS) for the login, metadata and ACS routes alike, so that
  behind a TLS-terminating proxy they say https (`[hub_auth] public_url`,
  or X-Forwarded-Proto from the proxies trusted by `[web] num_proxies`).
"""
import dataclasses
import logging
import urllib.parse
from functools import wraps
from http import HTTPStatus

from trytond.config import config
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.protocols.wrappers import (
    Response, abort, allow_null_origin, with_pool, with_transaction)
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from .directory import Account
from .sso import too_many_attempts

logger = logging.getLogger(__name__)
SECTION = 'hub_auth'

try:
    from trytond.modules.authentication_saml import routes as stock
except ImportError:  # the SAML module is not installed: no SAML login
    stock = None


def identity_section(identity):
    return f'authentication_saml {identity}'


def first(attributes, name):
    "The first value of an assertion attribute, '' when absent"
    if not name:
        return ''
    values = attributes.get(name) or []
    return str(values[0]) if values else ''


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    hub_auth_saml = fields.Boolean("SAML Login",
        help="The person may log in through the organisation's SAML "
        "identity provider (AD FS).")

    @classmethod
    def default_hub_auth_saml(cls):
        return False

    @classmethod
    def hub_auth_sp_request(cls, request):
        """The '_request' context (trytond.url) the SP's addresses are built
        from: [hub_auth] public_url when set; else [web] hostname, over
        https when the request came over https (TLS served by trytond, or
        X-Forwarded-Proto of a proxy trusted through [web] num_proxies)"""
        public_url = config.get(SECTION, 'public_url')
        if public_url:
            parts = urllib.parse.urlsplit(public_url)
            return {'is_secure': parts.scheme == 'https',
                'http_host': parts.netloc}
        return {'is_secure': request.is_secure}

    @classmethod
    def hub_auth_saml_account(cls, identity, attributes):
        """The account the assertion describes (None without a login); the
        attribute names come from [authentication_saml <identity>]"""
        section = identity_section(identity)
        login_attribute = config.get(section, 'login', default='uid')
        login = first(attributes, login_attribute).strip()
        if not login:
            return None
        groups_attribute = config.get(section, 'groups_attribute')
        return Account(dn='', login=login,
            name=first(attributes, config.get(
                    section, 'name_attribute', default='cn')),
            email=first(attributes, config.get(
                    section, 'email_attribute', default='mail')),
            phone=first(attributes, config.get(
                    section, 'phone_attribute', default='telephoneNumber')),
            groups=(list(attributes.get(groups_attribute) or [])
                if groups_attribute else None))

    @classmethod
    def hub_auth_saml_user(cls, identity, attributes):
        """The user logged in by the assertion, created on first login; None
        when refused (unknown login, local or deactivated user)"""
        account = cls.hub_auth_saml_account(identity, attributes)
        if account is None:
            return None
        with without_check_access(), \
                Transaction().set_context(active_test=False):
            users = cls.search([('login', '=', account.login)], limit=1)
            if not users:
                if not config.getboolean(identity_section(identity),
                        'create_users', default=True):
                    return None
                user, = cls.create([cls._hub_auth_saml_new_user(account)])
            else:
                user, = users
                if not user.active or not (
                        user.hub_auth_saml or user.hub_auth_directory):
                    logger.warning("SAML login refused for local or inactive "
                        "user '%s'", account.login)
                    return None
            cls.hub_auth_saml_apply(user, account)
        return user

    @classmethod
    def _hub_auth_saml_new_user(cls, account):
        return {
            'login': account.login,
            'name': account.name or account.login,
            'hub_auth_saml': True,
            }

    @classmethod
    def hub_auth_saml_apply(cls, user, account):
        """Write what the assertion says: name and contacts, and groups and
        shops when the identity provider sends groups"""
        groups_sent = account.groups is not None
        if not groups_sent:
            account = dataclasses.replace(account, groups=[])
        values = cls._hub_auth_values(user, account)
        values.pop('hub_auth_dn', None)
        if not groups_sent:
            values.pop('groups', None)
            values.pop('hub_shops', None)
        for name in ['name', 'email', 'hub_auth_phone']:
            if not values.get(name):
                values.pop(name, None)
        changed = {k: v for k, v in values.items()
            if isinstance(v, list) or getattr(user, k) != v}
        if changed:
            with without_check_access():
                cls.write([user], changed)


def forbidden(message):
    "A refusal that keeps the transaction (and so the counted attempt)"
    return Response(message, status=HTTPStatus.FORBIDDEN,
        content_type='text/plain; charset=utf-8')


@allow_null_origin
@with_pool
@with_transaction()
def acs(request, pool, identity):
    "The ACS of authentication_saml with the hub's rules (see module doc)"
    import saml2.entity

    if identity not in stock.IDENTITIES:
        abort(HTTPStatus.NOT_FOUND)
    Session = pool.get('ir.session')
    User = pool.get('res.user')
    if User.hub_auth_sso_throttled():
        return too_many_attempts()
    # the SP's addresses (entity id, ACS) as the login and metadata routes
    # build them
    with Transaction().set_context(
            _request=User.hub_auth_sp_request(request)):
        client = stock.get_client(pool.database_name, identity)
    try:
        authn_response = client.parse_authn_request_response(
            request.form['SAMLResponse'], saml2.entity.BINDING_HTTP_POST)
    except Exception:
        logger.warning("SAML response of '%s' refused", identity,
            exc_info=True)
        authn_response = None
    if authn_response is None:
        User.hub_auth_sso_failed()
        return forbidden("Ответ поставщика учётных записей не принят")
    user = User.hub_auth_saml_user(identity, authn_response.get_identity())
    if user is None:
        User.hub_auth_sso_failed()
        return forbidden("Пользователь не найден или вход через SAML "
            "ему не разрешён")
    User.hub_auth_sso_succeeded()
    with Transaction().set_user(user.id):
        session = Session.new()
    return User.hub_auth_sso_redirect(request, user, session,
        request.form.get('RelayState'),
        f'/authentication/saml/{identity}/login')


def with_sp_addresses(route):
    """A stock route (login, metadata) run in a transaction whose request
    context gives the SP's addresses of hub_auth_sp_request (the stock
    routes build them outside any request: http://[web] hostname)"""
    @with_pool
    @with_transaction(readonly=True)
    def in_transaction(request, pool, identity):
        User = pool.get('res.user')
        with Transaction().set_context(
                _request=User.hub_auth_sp_request(request)):
            return route(request, pool.database_name, identity)

    @wraps(route)
    def endpoint(request, database, identity):
        return in_transaction(request, database, identity)
    return endpoint


def swap_endpoint(old, new):
    "Give the rules of endpoint old the endpoint new (routes are per process)"
    by_endpoint = app.url_map._rules_by_endpoint   # werkzeug's URL builder
    for rule in list(by_endpoint.get(old, [])):
        rule.endpoint = new
        by_endpoint[old].remove(rule)
        by_endpoint.setdefault(new, []).append(rule)


def install():
    "The stock routes with the hub's rules"
    if stock is None:
        return
    swap_endpoint(stock.acs, acs)
    swap_endpoint(stock.login, with_sp_addresses(stock.login))
    swap_endpoint(stock.metadata, with_sp_addresses(stock.metadata))


install()
