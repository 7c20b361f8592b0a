"""Bitrix24 REST client (plain Python: no Tryton but hub_sync's http/errors).

Incoming webhook (``https://PORTAL/rest/USER/CODE/``) or local application
(``https://PORTAL/rest/`` + ``auth=ACCESS_TOKEN``, refreshed on
``expired_token`` through the OAuth server).  Every HTTP request waits for
the client's leaky bucket (2 requests per second sustained, shared by every
client of the portal in this process; after a pause up to 5 may go at once,
a tenth of the portal's own burst of 50, so that the hub's work between
requests does not lower the rate); ``batch`` sends up to 50 commands as one
request.  Errors: ``QUERY_LIMIT_EXCEEDED``, ``OPERATION_TIME_LIMIT`` and 5xx
are transient, authorisation problems are configuration, the rest refusals.
"""
import threading
import time
from urllib.parse import urlencode

from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)
from trytond.modules.hub_sync.http import HttpClient, excerpt

BATCH_LIMIT = 50
TRANSIENT_CODES = {'QUERY_LIMIT_EXCEEDED', 'OPERATION_TIME_LIMIT',
    'OVERLOAD_LIMIT', 'INTERNAL_SERVER_ERROR', 'ERROR_UNEXPECTED_ANSWER'}
CONFIGURATION_CODES = {'NO_AUTH_FOUND', 'INVALID_CREDENTIALS',
    'insufficient_scope', 'INSUFFICIENT_SCOPE', 'ACCESS_DENIED',
    'user_access_error', 'ERROR_METHOD_NOT_FOUND', 'PORTAL_DELETED',
    'invalid_token', 'WRONG_AUTH_TYPE'}
MSG_BAD_ANSWER = 'Битрикс24 ответил не по протоколу REST: {detail}'
MSG_NO_WEBHOOK = ('Не задан адрес входящего вебхука Битрикс24 (поле «Базовый '
    'URL» подключения: https://портал/rest/<ID пользователя>/<код>/).')
MSG_NO_TOKEN = ('Локальное приложение Битрикс24 не авторизовано: нет токена '
    'доступа или токена обновления.')


class LeakyBucket:
    """Requests leave at ``rate`` per second at most; ``burst`` may go at
    once after a pause.  ``acquire`` sleeps until the request may go."""

    def __init__(self, rate=2.0, burst=1, clock=time.monotonic,
            sleep=time.sleep):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.level = 0.0
        self.last = clock()
        self.lock = threading.Lock()
        self.waited = 0.0           # seconds spent waiting (for figures)

    def acquire(self):
        with self.lock:
            now = self.clock()
            self.level = max(0.0, self.level - (now - self.last) * self.rate)
            self.last = now
            wait = (self.level + 1 - self.burst) / self.rate
            if wait > 0:
                self.sleep(wait)
                self.waited += wait
                now = self.clock()
                self.level = max(0.0,
                    self.level - (now - self.last) * self.rate)
                self.last = now
            self.level += 1

    def penalise(self, seconds):
        "The portal said too many: let nothing go for seconds"
        with self.lock:
            self.level = max(self.level, self.burst - 1 + seconds * self.rate)


# one bucket per portal in this process: the portal counts per source IP
_buckets = {}
_buckets_lock = threading.Lock()


def bucket_for(portal, rate=2.0, burst=5):
    with _buckets_lock:
        bucket = _buckets.get(portal)
        if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
            bucket = _buckets[portal] = LeakyBucket(rate, burst)
        return bucket


def php_pairs(value, prefix):
    "Nested dicts and lists as PHP form keys: fields[PHONE][0][VALUE]"
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        if value is None:
            value = ''
        elif isinstance(value, bool):
            value = 'Y' if value else 'N'
        return [(prefix, str(value))]
    pairs = []
    for key, item in items:
        pairs += php_pairs(item, f'{prefix}[{key}]')
    if not pairs and isinstance(value, (list, tuple)):
        pairs = [(prefix, '')]
    return pairs


def command(method, params):
    "A batch command: method?query with PHP-style keys"
    pairs = []
    for key, value in params.items():
        pairs += php_pairs(value, key)
    return f'{method}?{urlencode(pairs)}'


class RemoteError(PermanentError):
    "Bitrix24 refused a method: error code and description"

    def __init__(self, message, code=None, **kwargs):
        super().__init__(message, **kwargs)
        self.code = code


def error_for(code, description, status=None, detail=None, body=None):
    "The hub_sync error of a Bitrix24 error answer"
    text = f'{description} ({code})' if description and code else (
        description or code or f'HTTP {status}')
    text = f'Битрикс24: {text}'
    values = {'status': status, 'detail': detail, 'body': body}
    if code in TRANSIENT_CODES or (status and (status >= 500
                or status == 429)):
        return TransientError(text, **values)
    if code in CONFIGURATION_CODES or status == 401:
        return ConfigurationError(text, **values)
    return RemoteError(text, code=code, **values)


class TokenExpired(Exception):
    pass


class B24Client(HttpClient):
    """webhook: the incoming webhook URL; or endpoint + access_token (+
    refresh: a callable returning a fresh access token) of an application"""

    def __init__(self, webhook=None, endpoint=None, access_token=None,
            refresh=None, timeout=10, rate=2.0, burst=5, session=None):
        if webhook:
            base = webhook
        elif endpoint:
            base = endpoint
        else:
            raise ConfigurationError(MSG_NO_WEBHOOK)
        if not webhook and not (access_token or refresh):
            raise ConfigurationError(MSG_NO_TOKEN)
        super().__init__(base, timeout, session=session,
            headers={'Accept': 'application/json',
                'User-Agent': 'order-hub-b24-bridge/8.0'})
        self.webhook = bool(webhook)
        self.access_token = access_token
        self.refresh = refresh
        portal = self.base_url.split('/rest', 1)[0]
        self.bucket = bucket_for(portal, rate, burst)
        self.requests = 0

    # -- transport -------------------------------------------------------
    def check(self, response):
        if response.status_code < 400:
            return
        code, description = self.error_of(response)
        if response.status_code == 401 and code == 'expired_token':
            raise TokenExpired()
        if code == 'QUERY_LIMIT_EXCEEDED':
            self.bucket.penalise(1)
        raise error_for(code, description, response.status_code,
            self.describe(response), response.text)

    @staticmethod
    def error_of(response):
        try:
            data = response.json()
            return str(data.get('error') or ''), str(
                data.get('error_description') or '')
        except (ValueError, AttributeError):
            return '', excerpt(response.text, 200)

    def reason(self, response):
        code, description = self.error_of(response)
        return f'{description} ({code})' if code else description

    def post(self, method, params):
        "One REST request; the whole answer (result, total, next, time)"
        for attempt in range(2):
            body = dict(params)
            if not self.webhook:
                if not self.access_token and self.refresh:
                    self.access_token = self.refresh()
                body['auth'] = self.access_token
            self.bucket.acquire()
            self.requests += 1
            try:
                response = self.request('POST', f'{method}.json', json=body)
            except TokenExpired:
                if attempt or not self.refresh:
                    raise ConfigurationError(
                        'Битрикс24: токен доступа истёк и не обновился')
                self.access_token = self.refresh()
                continue
            try:
                data = response.json()
            except ValueError as exc:
                raise PermanentError(MSG_BAD_ANSWER.format(detail=exc),
                    status=response.status_code, body=response.text,
                    detail=self.describe(response))
            if not isinstance(data, dict) or 'result' not in data:
                if isinstance(data, dict) and data.get('error'):
                    raise error_for(data['error'],
                        data.get('error_description'),
                        response.status_code, self.describe(response))
                raise PermanentError(MSG_BAD_ANSWER.format(
                        detail='нет result'), status=response.status_code,
                    body=response.text, detail=self.describe(response))
            return data

    def call(self, method, params=None):
        return self.post(method, params or {})['result']

    def batch(self, commands, halt=False):
        """commands: {key: (method, params)} (≤ 50, run in order, later ones
        may use $result[key]); returns (results, errors) by key — errors
        are hub_sync errors, one per failed command"""
        if len(commands) > BATCH_LIMIT:
            raise ValueError(f'{len(commands)} commands in one batch')
        if not commands:
            return {}, {}
        answer = self.call('batch', {'halt': 1 if halt else 0,
                'cmd': {k: command(m, p) for k, (m, p) in commands.items()}})
        results = answer.get('result') or {}
        failures = answer.get('result_error') or {}
        if isinstance(results, list):      # PHP's empty array
            results = dict(enumerate(results))
        if isinstance(failures, list):
            failures = dict(enumerate(failures))
        errors = {}
        for key, error in failures.items():
            error = error if isinstance(error, dict) else {}
            errors[key] = error_for(error.get('error') or '',
                error.get('error_description') or '',
                detail=f'{commands[key][0]}: {error}')
        return {k: v for k, v in results.items()}, errors

    # -- methods the bridge uses -----------------------------------------
    def deal_with_rows(self, deal_id):
        "(deal, rows) in one request"
        results, errors = self.batch({
                'deal': ('crm.deal.get', {'id': deal_id}),
                'rows': ('crm.deal.productrows.get', {'id': deal_id})})
        if errors:
            raise next(iter(errors.values()))
        return results['deal'], results['rows'] or []

    def deals(self, filter_, select=('ID', 'STAGE_ID', 'OPPORTUNITY',
                'ORIGIN_ID', 'CATEGORY_ID')):
        "Every deal matching filter, by pages of 50 with >ID (huge-data)"
        last, found = 0, []
        while True:
            page = self.call('crm.deal.list', {'order': {'ID': 'ASC'},
                    'filter': {**filter_, '>ID': last},
                    'select': list(select), 'start': -1})
            found += page
            if len(page) < 50:
                return found
            last = int(page[-1]['ID'])

    def comment(self, deal_id, text):
        return self.call('crm.timeline.comment.add', {'fields': {
                    'ENTITY_ID': int(deal_id), 'ENTITY_TYPE': 'deal',
                    'COMMENT': text}})


def refresh_tokens(oauth_url, client_id, client_secret, refresh_token,
        timeout=10, session=None):
    """A new token pair from the OAuth server (oauth.bitrix.info, or the
    box's own); returns its answer (access_token, refresh_token, expires…)"""
    client = HttpClient(oauth_url, timeout, session=session)
    response = client.request('GET', '/oauth/token/', params={
            'grant_type': 'refresh_token', 'client_id': client_id,
            'client_secret': client_secret, 'refresh_token': refresh_token})
    data = response.json()
    if not data.get('access_token'):
        raise ConfigurationError('Битрикс24: сервер авторизации не выдал '
            f'токен: {excerpt(response.text, 200)}')
    return data
