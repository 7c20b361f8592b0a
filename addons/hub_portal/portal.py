"""The shop's portal: phone pages served by the hub, with Tryton's logins.

``hub_portal.portal`` knows no business model.  A module adds a page with a
method ``page_<name>(request, *args)`` (GET ``<base>/<name>/<args…>``), an
action with ``action_<name>(request, *args)`` (POST to the same kind of
URL), a menu entry in ``menu_entries()`` and the groups a page or an action
needs in ``access_groups()``.  Pages and actions run in a transaction as the
logged-in user, with their preferences and Tryton's access checks on, so
access rights, record rules and button groups apply as in the desktop
client."""
import base64
import hashlib
import hmac
import inspect
import json
import logging
import re
import secrets
import urllib.parse
from http import HTTPStatus
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, PrefixLoader
from werkzeug.utils import redirect, safe_join, send_file
from werkzeug.wrappers import Response as BaseResponse

from trytond import backend, config, security
from trytond.exceptions import LoginException, RateLimitException, UserError
from trytond.i18n import gettext
from trytond.model import Model
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.transaction import Transaction, check_access
from trytond.worker import run_task

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = 'hub_portal_session'
LOGIN_CSRF_COOKIE = 'hub_portal_login'
FLASH_COOKIE = 'hub_portal_flash'
NAME = re.compile(r'[a-z][a-z0-9_]{0,63}')
STATIC_NAME = re.compile(r'[A-Za-z0-9_.-]{1,100}')


class PortalError(Exception):
    "Stops a request with an error page"

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Portal(Model):
    "Shop portal"
    __name__ = 'hub_portal.portal'
    _jinja = {}

    # -- addresses ------------------------------------------------------------
    @classmethod
    def root_url(cls):
        """The hub's address as users reach it: [hub_portal] url in the
        configuration, else the address of the current request"""
        url = config.get('hub_portal', 'url', default='')
        if url:
            return url.rstrip('/')
        request = Transaction().context.get('_request') or {}
        if request.get('http_host'):
            scheme = request.get('scheme') or 'http'
            return f"{scheme}://{request['http_host']}"
        host, _, port = config.get(
            'web', 'listen', default='localhost:8000').rpartition(':')
        return f"http://{host or 'localhost'}:{port}"

    @classmethod
    def base_path(cls):
        "The portal's path on the server: /<database>/hub/shop"
        database = Transaction().database.name
        return f'/{database}/hub/shop'

    @classmethod
    def path(cls, *parts, **query):
        "The path of a page of the portal"
        path = '/'.join([cls.base_path()] + [
                urllib.parse.quote(str(p), safe='') for p in parts])
        if not parts:
            path += '/'
        if query:
            path += '?' + urllib.parse.urlencode(query)
        return path

    @classmethod
    def url(cls, *parts, **query):
        "The absolute address of a page, e.g. for a QR code on a slip"
        return cls.root_url() + cls.path(*parts, **query)

    @classmethod
    def local_path(cls, value):
        """value as a path of the portal when it leads into the portal (a
        path or an address of this hub), else None: no open redirect"""
        if not value or any(c in value for c in '\\\r\n\t'):
            return None
        parts = urllib.parse.urlsplit(value)
        if parts.scheme or parts.netloc:
            root = urllib.parse.urlsplit(cls.root_url())
            request = Transaction().context.get('_request') or {}
            hosts = {root.netloc, request.get('http_host')} - {None}
            if (parts.scheme not in {'http', 'https'}
                    or parts.netloc not in hosts):
                return None
        base = cls.base_path()
        if parts.path != base and not parts.path.startswith(base + '/'):
            return None
        if '//' in parts.path or '/../' in parts.path + '/':
            return None
        return parts.path + ('?' + parts.query if parts.query else '')

    # -- pages, menu, access --------------------------------------------------
    @classmethod
    def menu_entries(cls):
        """The menu: dicts with label, page (name), args (list) and groups
        (xml ids ``module.group``: one of them is needed; none: everybody)"""
        return [{
                'page': 'scan', 'args': [], 'groups': [],
                'label': gettext('hub_portal.msg_menu_scan'),
                'icon': '▣',
                }]

    @classmethod
    def access_groups(cls):
        """{method name: group xml ids}: a page or action listed here opens
        only for members of one of the groups; pages of menu entries need
        their entries' groups"""
        return {f"page_{e['page']}": e['groups'] for e in cls.menu_entries()
            if e['groups']}

    @classmethod
    def user_group_ids(cls):
        return set(Pool().get('res.user').get_groups())

    @classmethod
    def has_groups(cls, xml_ids):
        ModelData = Pool().get('ir.model.data')
        if not xml_ids:
            return True
        wanted = {ModelData.get_id(*xml_id.split('.', 1))
            for xml_id in xml_ids}
        return bool(wanted & cls.user_group_ids())

    @classmethod
    def visible_menu(cls):
        "The menu entries of the current user's groups, with their paths"
        return [dict(entry, url=cls.path(entry['page'], *entry['args']))
            for entry in cls.menu_entries() if cls.has_groups(entry['groups'])]

    @classmethod
    def check_access(cls, method_name):
        if not cls.has_groups(cls.access_groups().get(method_name, [])):
            raise PortalError(HTTPStatus.FORBIDDEN,
                gettext('hub_portal.msg_forbidden'))

    @classmethod
    def get_record(cls, model_name, value, field='id'):
        """The record of model_name whose field is value, as the user may
        see it (record rules apply): else a 404 page"""
        Model_ = Pool().get(model_name)
        if field == 'id':
            try:
                value = int(value)
            except ValueError:
                cls.not_found()
        records = Model_.search([(field, '=', value)], limit=1)
        if not records:
            cls.not_found()
        return records[0]

    @classmethod
    def not_found(cls):
        raise PortalError(HTTPStatus.NOT_FOUND,
            gettext('hub_portal.msg_not_found'))

    # -- the pages of this module ---------------------------------------------
    @classmethod
    def page_home(cls, request):
        "«Главная»: the menu of the user's groups"
        return cls.render(request, 'hub_portal/home.html',
            title=gettext('hub_portal.msg_home'))

    @classmethod
    def page_scan(cls, request):
        """«Сканировать»: the browser decodes the QR code and comes back
        with ?code=…; a code that leads into the portal is opened"""
        code = request.args.get('code', '').strip()
        message = None
        if code:
            target = cls.resolve_code(code)
            if target:
                return redirect(target, code=HTTPStatus.SEE_OTHER)
            message = gettext('hub_portal.msg_code_foreign', code=code[:200])
        return cls.render(request, 'hub_portal/scan.html',
            title=gettext('hub_portal.msg_menu_scan'), message=message,
            status=HTTPStatus.UNPROCESSABLE_ENTITY if message else 200)

    @classmethod
    def resolve_code(cls, code):
        """The portal path a scanned code leads to, or None.  Modules
        extend it for codes that are not addresses (a shipment number…)"""
        return cls.local_path(code)

    # -- requests -------------------------------------------------------------
    @classmethod
    def dispatch(cls, request, path):
        parts = [p for p in path.split('/') if p]
        try:
            if parts[:1] == ['static']:
                return cls.serve_static(request, parts[1:])
            if parts == ['login']:
                return cls.login(request)
            request.portal_session = cls.session(request)
            if request.portal_session is None:
                return cls.to_login(request)
            if parts == ['logout']:
                return cls.logout(request)
            name, args = (parts[0], parts[1:]) if parts else ('home', [])
            kind = 'action' if request.method == 'POST' else 'page'
            if not NAME.fullmatch(name) or not hasattr(cls, f'{kind}_{name}'):
                raise PortalError(HTTPStatus.NOT_FOUND, None)
            return cls.run(request, f'{kind}_{name}', args)
        except PortalError as error:
            return cls.error_page(request, error)
        except Exception:
            logger.exception('portal request %s failed', request.path)
            return cls.error_page(request, PortalError(
                    HTTPStatus.INTERNAL_SERVER_ERROR, None))

    @classmethod
    def run(cls, request, method_name, args):
        """Call the page or action as the logged-in user, in a transaction
        with the user's context and Tryton's access checks"""
        session = request.portal_session
        readonly = request.method != 'POST'
        for count in range(config.getint('database', 'retry'), -1, -1):
            with Transaction().start(request.view_args['database_name'],
                    session['user'], readonly=readonly,
                    context={'_request': request.context}) as transaction:
                User = Pool().get('res.user')
                try:
                    with transaction.set_context(
                            User.get_preferences(context_only=True)), \
                            check_access():
                        response = cls.call(request, method_name, args)
                except backend.DatabaseOperationalError:
                    if count and not readonly:
                        transaction.rollback()
                        continue
                    raise
                if getattr(request, 'portal_failed', False):
                    transaction.rollback()
                transaction.commit()
            while transaction.tasks:
                run_task(Pool(request.view_args['database_name']),
                    transaction.tasks.pop())
            return response

    @classmethod
    def call(cls, request, method_name, args):
        cls.check_access(method_name)
        method = getattr(cls, method_name)
        try:
            inspect.signature(method).bind(request, *args)
        except TypeError:
            cls.not_found()
        if method_name.startswith('action_'):
            cls.check_csrf(request, cls.csrf_token(request))
            return cls.call_action(request, method, args)
        try:
            return method(request, *args)
        except AccessError as error:
            raise PortalError(HTTPStatus.FORBIDDEN, error.message)
        except UserError as error:
            raise PortalError(HTTPStatus.BAD_REQUEST, error.message)

    @classmethod
    def call_action(cls, request, method, args):
        """Run the action; a UserError undoes it and comes back to the page
        with the message.  The action returns where to go (a portal path),
        or None for the form's «next» page"""
        back = cls.local_path(request.form.get('next')) or cls.path()
        try:
            target = method(request, *args)
        except UserError as error:
            request.portal_failed = True
            cls.flash(request, 'error', error.message)
            target = back
        if isinstance(target, BaseResponse):
            return target
        response = redirect(cls.local_path(target) or back,
            code=HTTPStatus.SEE_OTHER)
        cls.store_flash(request, response)
        return response

    # -- sessions and logging in ---------------------------------------------
    @classmethod
    def session(cls, request):
        "The Tryton session of the portal's cookie, checked, or None"
        user, _, token = request.cookies.get(SESSION_COOKIE, '').partition(':')
        if not user.isdigit() or not token:
            return None
        user = security.check(request.view_args['database_name'], int(user),
            token, context={'_request': request.context})
        return {'user': user, 'token': token} if user else None

    @classmethod
    def to_login(cls, request):
        database = request.view_args['database_name']
        with Transaction().start(database, 0, readonly=True):
            if request.method == 'POST':
                raise PortalError(HTTPStatus.FORBIDDEN,
                    gettext('hub_portal.msg_session_expired'))
            target = request.full_path.rstrip('?')
            query = {'next': target} if cls.local_path(target) not in {
                None, cls.path()} else {}
            return redirect(cls.path('login', **query),
                code=HTTPStatus.SEE_OTHER)

    @classmethod
    def login(cls, request):
        "The login page; a POST logs in through Tryton's own login methods"
        database = request.view_args['database_name']
        form = request.form if request.method == 'POST' else {}
        error, result = None, None
        if request.method == 'POST':
            login = form.get('login', '').strip()
            try:
                cls.check_csrf(request,
                    request.cookies.get(LOGIN_CSRF_COOKIE))
                result = security.login(database, login,
                    {'password': form.get('password', '')},
                    context={'_request': request.context})
                error = None if result else 'msg_login_failed'
            except RateLimitException:
                error = 'msg_login_rate_limit'
            except LoginException:
                error = 'msg_login_method'
            except PortalError:
                error = 'msg_csrf'
        with Transaction().start(database, 0, readonly=True,
                context={'_request': request.context}):
            target = cls.local_path(
                form.get('next') or request.args.get('next')) or cls.path()
            if result:
                return cls.session_response(request, *result, target)
            return cls.login_page(request, error, target)

    @classmethod
    def open_session(cls, request, user_id, target=None):
        """Log user_id in: a new Tryton session in the portal's cookie.
        For login methods that prove the identity themselves (SSO routes:
        SAML, OpenID Connect, Kerberos), never for a password"""
        database = request.view_args['database_name']
        with Transaction().start(database, user_id,
                context={'_request': request.context}) as transaction:
            token = Pool().get('ir.session').new()
            transaction.commit()
        with Transaction().start(database, 0, readonly=True,
                context={'_request': request.context}):
            return cls.session_response(request, user_id, token,
                cls.local_path(target) or cls.path())

    @classmethod
    def session_response(cls, request, user_id, token, target):
        response = redirect(target, code=HTTPStatus.SEE_OTHER)
        cls.set_cookie(request, response, SESSION_COOKIE,
            f'{user_id}:{token}')
        cls.delete_cookie(request, response, LOGIN_CSRF_COOKIE)
        return response

    @classmethod
    def login_links(cls, target):
        """Other ways to log in shown under the form: dicts label, url
        (an SSO module adds «Войти через корпоративную учётную запись»)"""
        return []

    @classmethod
    def login_page(cls, request, error, target):
        token = (request.cookies.get(LOGIN_CSRF_COOKIE)
            or secrets.token_urlsafe(24))
        request.portal_csrf = token
        status = HTTPStatus.OK
        if error:
            status = (HTTPStatus.TOO_MANY_REQUESTS
                if error == 'msg_login_rate_limit'
                else HTTPStatus.UNAUTHORIZED)
        response = cls.render(request, 'hub_portal/login.html',
            title=gettext('hub_portal.msg_login_title'),
            error=gettext(f'hub_portal.{error}') if error else None,
            next=target if target != cls.path() else '',
            login=request.form.get('login', ''),
            login_links=cls.login_links(target),
            logged_out='bye' in request.args, status=status)
        cls.set_cookie(request, response, LOGIN_CSRF_COOKIE, token,
            samesite='Strict')
        return response

    @classmethod
    def logout(cls, request):
        "POST: the session is deleted, the cookie too"
        database = request.view_args['database_name']
        session = request.portal_session
        if request.method != 'POST':
            raise PortalError(HTTPStatus.METHOD_NOT_ALLOWED, None)
        with Transaction().start(database, 0, readonly=True):
            cls.check_csrf(request, cls.csrf_token(request))
        security.logout(database, session['user'], session['token'],
            context={'_request': request.context})
        with Transaction().start(database, 0, readonly=True):
            response = redirect(cls.path('login', bye=1),
                code=HTTPStatus.SEE_OTHER)
            cls.delete_cookie(request, response, SESSION_COOKIE)
        return response

    # -- cookies, CSRF, flash messages ----------------------------------------
    @classmethod
    def set_cookie(cls, request, response, name, value, samesite='Lax'):
        response.set_cookie(name, value, path=cls.base_path(),
            max_age=config.getint('session', 'max_age'),
            secure=cls.secure(request), httponly=True, samesite=samesite)

    @classmethod
    def delete_cookie(cls, request, response, name):
        response.delete_cookie(name, path=cls.base_path(),
            secure=cls.secure(request), httponly=True, samesite='Lax')

    @classmethod
    def secure(cls, request):
        "Secure cookies when served over https (also behind a proxy)"
        return request.is_secure or cls.root_url().startswith('https:')

    @classmethod
    def sign(cls, request, value):
        key = request.portal_session['token'].encode()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]

    @classmethod
    def csrf_token(cls, request):
        "The token of the forms: bound to the Tryton session"
        return cls.sign(request, 'hub_portal.csrf')

    @classmethod
    def check_csrf(cls, request, expected):
        given = request.form.get('csrf_token', '')
        if not expected or not hmac.compare_digest(given, expected):
            raise PortalError(HTTPStatus.FORBIDDEN,
                gettext('hub_portal.msg_csrf'))

    @classmethod
    def flash(cls, request, kind, message):
        "A message shown on the next page: kind is 'info' or 'error'"
        if not hasattr(request, 'portal_flash'):
            request.portal_flash = []
        request.portal_flash.append((kind, str(message)))

    @classmethod
    def store_flash(cls, request, response):
        messages = getattr(request, 'portal_flash', None)
        if messages and getattr(request, 'portal_session', None):
            value = base64.urlsafe_b64encode(
                json.dumps(messages).encode()).decode()
            cls.set_cookie(request, response, FLASH_COOKIE,
                f'{value}.{cls.sign(request, value)}')

    @classmethod
    def pop_flash(cls, request, response):
        "The messages the previous request left (signed: not forgeable)"
        value, _, signature = request.cookies.get(
            FLASH_COOKIE, '').partition('.')
        if not value:
            return []
        cls.delete_cookie(request, response, FLASH_COOKIE)
        if not getattr(request, 'portal_session', None) or not (
                hmac.compare_digest(signature, cls.sign(request, value))):
            return []
        try:
            return [tuple(m) for m in json.loads(
                    base64.urlsafe_b64decode(value.encode()))]
        except ValueError:
            return []

    # -- rendering ------------------------------------------------------------
    @classmethod
    def template_folders(cls):
        """{module: folder}: the templates of module are named
        ``<module>/<file>`` (e.g. ``hub_portal/base.html``)"""
        return {'hub_portal': HERE / 'templates'}

    @classmethod
    def static_folders(cls):
        "{module: folder} of the files served under <base>/static/<module>/"
        return {'hub_portal': HERE / 'static'}

    @classmethod
    def environment(cls):
        "Jinja2 with autoescaping on, one per set of template folders"
        folders = tuple(sorted(
                (k, str(v)) for k, v in cls.template_folders().items()))
        if folders not in cls._jinja:
            loader = PrefixLoader({module: FileSystemLoader(folder)
                    for module, folder in folders})
            cls._jinja[folders] = Environment(loader=loader, autoescape=True)
        return cls._jinja[folders]

    @classmethod
    def render(cls, request, template, status=HTTPStatus.OK, **values):
        "An HTML page from a template, with what every page needs"
        session = getattr(request, 'portal_session', None)
        response = Response(status=status,
            content_type='text/html; charset=utf-8')
        User = Pool().get('res.user')
        values.update(portal=cls, session=session,
            user=User(Transaction().user) if session else None,
            menu=cls.visible_menu() if session else [],
            csrf_token=(cls.csrf_token(request) if session
                else getattr(request, 'portal_csrf', '')),
            flash=cls.pop_flash(request, response)
            + getattr(request, 'portal_flash', []),
            static=cls.static_path, current=request.path)
        response.set_data(cls.environment().get_template(template).render(
                **values))
        cls.secure_headers(response)
        return response

    @classmethod
    def static_path(cls, module, name):
        return cls.path('static', module, name)

    @classmethod
    def secure_headers(cls, response):
        response.headers['Cache-Control'] = 'no-store'
        response.headers['X-Frame-Options'] = 'DENY'
        response.headers['X-Content-Type-Options'] = 'nosniff'
        response.headers['Referrer-Policy'] = 'same-origin'
        response.headers['Content-Security-Policy'] = (
            "default-src 'self'; img-src 'self' data: blob:; "
            "media-src 'self' blob:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'")

    @classmethod
    def error_page(cls, request, error):
        "A Russian page for 403, 404 and refused input: never a traceback"
        database = request.view_args['database_name']
        context = {'_request': request.context}
        session = getattr(request, 'portal_session', None)
        with Transaction().start(database, session['user'] if session else 0,
                readonly=True, context=context) as transaction:
            User = Pool().get('res.user')
            with transaction.set_context(User.get_preferences(
                        context_only=True) if session else {}):
                message = error.message or gettext(
                    'hub_portal.msg_server_error'
                    if error.status >= 500 else 'hub_portal.msg_not_found')
                return cls.render(request, 'hub_portal/error.html',
                    status=error.status, message=message,
                    title=gettext('hub_portal.msg_error_title'))

    @classmethod
    def serve_static(cls, request, parts):
        if len(parts) != 2 or not STATIC_NAME.fullmatch(parts[1]):
            raise PortalError(HTTPStatus.NOT_FOUND, None)
        folder = cls.static_folders().get(parts[0])
        path = safe_join(str(folder), parts[1]) if folder else None
        if not path or not Path(path).is_file():
            raise PortalError(HTTPStatus.NOT_FOUND, None)
        return send_file(path, environ=request.environ, max_age=3600)
