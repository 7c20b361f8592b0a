"""Client of CDEK API v2 (plain Python: hub_sync's HTTP base and errors only).

Reference: /work/shared/docs/external/cdek.md (sections below point to it).

* **Token.** OAuth client_credentials (§2).  Tokens are cached per (API URL,
  account) in the process, shared by every client instance, and refreshed a
  minute before they expire; a 401 on a call drops the token, fetches a new
  one and repeats the call once.  Credentials CDEK refuses are a
  ``ConfigurationError`` (an administrator fixes the connection; the outbox
  keeps the message meanwhile).
* **Errors.** Timeouts, connection errors, 429 and 5xx: ``TransientError``
  (retried by the outbox).  Other 4xx and a request that ends ``INVALID``:
  ``PermanentError`` whose message is CDEK's own messages joined with "; "
  (Russian when CDEK writes Russian), the codes in ``error.codes``.
* **No idempotency key.**  CDEK has none: a create repeated after a timeout
  whose first attempt did arrive makes a second order.  The caller sends its
  shipment number as CDEK's ``number`` and, before creating again after a
  failure of unknown outcome, looks the order up with
  :meth:`CdekClient.find_order` (``number=``): when CDEK has it, that order
  is used instead of creating another (see README.md).
* **Async model** (§3.1).  Create/delete answer ``ACCEPTED`` only; the
  outcome is read later with :meth:`CdekClient.get_order` (``state``
  ``accepted`` / ``successful`` / ``invalid`` with CDEK's errors).
* Money comes back as ``Decimal``; weights are grams (CDEK's delivery
  point limits in kg are converted).
"""
import datetime as dt
import json
import threading
import time
from decimal import Decimal

from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)
from trytond.modules.hub_sync.http import HttpClient, excerpt

from .events import order_status_events, text_id

API_URL = 'https://api.cdek.ru/v2'
TEST_API_URL = 'https://api.edu.cdek.ru/v2'
TOKEN_MARGIN = 60          # seconds before expiry a token is renewed
PRINT_POLL_INTERVAL = 1.0  # seconds between print form polls
PRINT_POLL_TIMEOUT = 60    # seconds a print form may take
REQUEST_STATES = {'ACCEPTED': 'accepted', 'WAITING': 'accepted',
    'SUCCESSFUL': 'successful', 'INVALID': 'invalid'}
MSG_CREDENTIALS = ('СДЭК не принял учётные данные подключения (Account / '
    'Secure password): {reason}')
MSG_TOKEN_REFUSED = 'СДЭК не принимает выданный им токен доступа: {reason}'
MSG_PRINT_WAIT = ('СДЭК не подготовил печатную форму за {seconds} с; '
    'повторите позже')
MSG_PRINT_EXPIRED = 'Печатная форма СДЭК устарела; её нужно заказать заново'
MSG_CDEK = 'СДЭК: {reason}'


class TokenCache:
    "Bearer tokens by (API URL, account), shared by the process's clients"

    def __init__(self):
        self._tokens = {}
        self._lock = threading.Lock()

    def get(self, key, now):
        with self._lock:
            token, expires = self._tokens.get(key, (None, 0))
        return token if token and now < expires - TOKEN_MARGIN else None

    def put(self, key, token, expires):
        with self._lock:
            self._tokens[key] = (token, expires)

    def drop(self, key, token):
        "Forget token, unless another thread already replaced it"
        with self._lock:
            if self._tokens.get(key, (None,))[0] == token:
                del self._tokens[key]


TOKENS = TokenCache()


class Unauthorized(PermanentError):
    "HTTP 401: the token expired or was revoked"


def _json_default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(
            value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f'{type(value).__name__} is not JSON serialisable')


def dumps(payload):
    return json.dumps(payload, ensure_ascii=False, default=_json_default
        ).encode('utf-8')


def decimal(value):
    if value is None or value == '':
        return None
    return Decimal(str(value))


def cdek_errors(data):
    """Every {code, message} of a CDEK answer: top-level ``errors`` and those
    of the envelope's ``requests``"""
    if not isinstance(data, dict):
        return []
    errors = list(data.get('errors') or [])
    for record in data.get('requests') or []:
        if isinstance(record, dict):
            errors += record.get('errors') or []
    return [e for e in errors if isinstance(e, dict)]


def join_errors(errors):
    "CDEK's messages for a person (the code when there is no message)"
    texts = []
    for item in errors:
        text = str(item.get('message') or item.get('code') or '').strip()
        if text and text not in texts:
            texts.append(text)
    return '; '.join(texts)


def refused(errors, **values):
    "A PermanentError carrying CDEK's messages and codes"
    error = PermanentError(MSG_CDEK.format(reason=join_errors(errors)
            or 'запрос отклонён без объяснения причин'), **values)
    error.codes = [e.get('code') for e in errors]
    return error


class CdekClient(HttpClient):
    """``base_url`` is the API root with its version,
    ``https://api.cdek.ru/v2`` (``…/v2/`` works too)."""

    def __init__(self, base_url, client_id, client_secret, timeout=10,
            session=None, tokens=None, clock=time.time, sleep=time.sleep,
            print_poll_interval=PRINT_POLL_INTERVAL,
            print_poll_timeout=PRINT_POLL_TIMEOUT):
        if not client_id or not client_secret:
            raise ConfigurationError('Для СДЭК не заданы Account и Secure '
                'password (логин и пароль подключения)')
        super().__init__(base_url or API_URL, timeout,
            headers={'Accept': 'application/json'}, session=session)
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens = tokens or TOKENS
        self.clock = clock
        self.sleep = sleep
        self.print_poll_interval = print_poll_interval
        self.print_poll_timeout = print_poll_timeout

    # -- errors -----------------------------------------------------------
    def check(self, response):
        status = response.status_code
        if status < 400:
            return
        try:
            data = response.json()
        except ValueError:
            data = None
        errors = cdek_errors(data)
        values = {'status': status, 'body': response.text,
            'detail': self.describe(response)}
        reason = join_errors(errors) or (isinstance(data, dict) and (
                data.get('error_description') or data.get('error'))) or (
            f'HTTP {status}: {excerpt(response.text, 300)}')
        if status == 401:
            raise Unauthorized(reason, **values)
        if status == 429 or status >= 500:
            super().check(response)
        error = refused(errors, **values) if errors else PermanentError(
            MSG_CDEK.format(reason=reason), **values)
        raise error

    def reason(self, response):
        try:
            reason = join_errors(cdek_errors(response.json()))
        except ValueError:
            reason = ''
        return MSG_CDEK.format(reason=reason or f'HTTP {response.status_code}'
            f': {excerpt(response.text, 300)}')

    # -- token ------------------------------------------------------------
    @property
    def _token_key(self):
        return (self.base_url, self.client_id)

    def token(self):
        "A valid bearer token, from the cache or freshly issued"
        token = self.tokens.get(self._token_key, self.clock())
        if token:
            return token
        try:
            response = self.request('POST', 'oauth/token', data={
                    'grant_type': 'client_credentials',
                    'client_id': self.client_id,
                    'client_secret': self.client_secret})
        except (Unauthorized, PermanentError) as error:
            raise ConfigurationError(MSG_CREDENTIALS.format(
                    reason=error.message), status=error.status,
                detail=error.detail, body=error.body) from error
        data = response.json()
        token = data.get('access_token')
        if not token:
            raise TransientError('СДЭК не выдал токен доступа',
                body=response.text)
        lifetime = int(data.get('expires_in') or 3600)
        self.tokens.put(self._token_key, token, self.clock() + lifetime)
        return token

    def call(self, method, path, json_body=None, **kwargs):
        """An authenticated API call; a 401 renews the token and repeats the
        call once"""
        if json_body is not None:
            kwargs['data'] = dumps(json_body)
            kwargs['headers'] = {'Content-Type': 'application/json',
                **(kwargs.get('headers') or {})}
        for attempt in (1, 2):
            token = self.token()
            headers = {**(kwargs.get('headers') or {}),
                'Authorization': f'Bearer {token}'}
            try:
                return self.request(method, path, **{**kwargs,
                        'headers': headers})
            except Unauthorized as error:
                self.tokens.drop(self._token_key, token)
                if attempt == 2:
                    raise ConfigurationError(MSG_TOKEN_REFUSED.format(
                            reason=error.message), status=error.status,
                        detail=error.detail, body=error.body) from error

    def _json(self, method, path, json_body=None, **kwargs):
        response = self.call(method, path, json_body=json_body, **kwargs)
        return response.json(parse_float=Decimal)

    def _accepted(self, data):
        "The entity uuid of an envelope answer; INVALID raises"
        record = (data.get('requests') or [{}])[0]
        if record.get('state') == 'INVALID' or not (data.get('entity')
                or {}).get('uuid'):
            raise refused(cdek_errors(data), body=json.dumps(data,
                    default=str, ensure_ascii=False))
        return data['entity']['uuid']

    # -- reference data ---------------------------------------------------
    def cities(self, **filters):
        """Cities (``city``, ``postal_code``, ``country_codes``, ``code``,
        ``size``, ``page``…) as ``[{code, city, region, region_code,
        country_code, latitude, longitude, time_zone}]``"""
        data = self._json('GET', 'location/cities', params=filters)
        return [{'code': city.get('code'), 'city': city.get('city'),
                'region': city.get('region'),
                'region_code': city.get('region_code'),
                'country_code': city.get('country_code'),
                'latitude': city.get('latitude'),
                'longitude': city.get('longitude'),
                'time_zone': city.get('time_zone')}
            for city in data if isinstance(city, dict)]

    def delivery_points(self, city_code=None, type=None, weight=None,
            cash=None, card=None, cod=None, **filters):
        """Pickup points and postamats as neutral dicts (see
        :meth:`delivery_point`).  ``type`` 'pvz' | 'postamat' | None (all);
        ``weight`` in grams keeps the points that take a parcel that heavy;
        ``cash`` / ``card`` / ``cod`` keep the points that accept cash /
        cards / cash on delivery; other CDEK filters as keywords."""
        params = dict(filters)
        if city_code is not None:
            params['city_code'] = city_code
        if type:
            params['type'] = type.upper()
        if weight:
            params['weight_max'] = max(1, -(-int(weight) // 1000))
        for name, value in (('have_cash', cash), ('have_cashless', card),
                ('allowed_cod', cod)):
            if value is not None:
                params[name] = 'true' if value else 'false'
        data = self._json('GET', 'deliverypoints', params=params)
        return [self.delivery_point(p) for p in data if isinstance(p, dict)]

    @staticmethod
    def delivery_point(point):
        """``{code, name, type ('pvz'|'postamat'), city_code, city,
        postal_code, address, address_full, comment, latitude, longitude,
        hours, work_time: [(weekday 1–7, 'HH:MM', 'HH:MM')], weight_min,
        weight_max (grams), cash, card, cod, dressing_room, phones, metro,
        dimensions, raw}``"""
        location = point.get('location') or {}
        hours = []
        for row in point.get('work_time_list') or []:
            start, _, end = str(row.get('time') or '').partition('/')
            if row.get('day') is not None and start:
                hours.append((int(row['day']), start.strip(), end.strip()))

        def grams(kg):
            return None if kg is None else int(Decimal(str(kg)) * 1000)
        return {'code': text_id(point.get('code')), 'name': point.get('name'),
            'type': str(point.get('type') or '').lower() or None,
            'city_code': location.get('city_code'),
            'city': location.get('city'),
            'postal_code': text_id(location.get('postal_code')),
            'address': location.get('address'),
            'address_full': location.get('address_full'),
            'comment': point.get('address_comment') or None,
            'latitude': location.get('latitude'),
            'longitude': location.get('longitude'),
            'hours': point.get('work_time'), 'work_time': hours,
            'weight_min': grams(point.get('weight_min')),
            'weight_max': grams(point.get('weight_max')),
            'cash': bool(point.get('have_cash')),
            'card': bool(point.get('have_cashless')),
            'cod': bool(point.get('allowed_cod')),
            'dressing_room': bool(point.get('is_dressing_room')),
            'phones': [p.get('number') for p in point.get('phones') or []
                if isinstance(p, dict) and p.get('number')],
            'metro': point.get('nearest_metro_station') or None,
            'dimensions': point.get('dimensions'), 'raw': point}

    # -- tariffs -------------------------------------------------------------
    def _calculator(self, path, body):
        data = self._json('POST', path, json_body=body)
        if cdek_errors(data):
            # the calculator may answer 200 with errors (§11)
            raise refused(cdek_errors(data), body=json.dumps(data,
                    default=str, ensure_ascii=False))
        return data

    def tariff(self, tariff_code, from_location, to_location, packages,
            services=None, **extra):
        """Price and terms of one tariff: ``{tariff_code, delivery_sum,
        total_sum, period_min, period_max, calendar_min, calendar_max,
        weight_calc, currency, services}`` (money as Decimal)"""
        body = {'tariff_code': tariff_code, 'from_location': from_location,
            'to_location': to_location, 'packages': packages, **extra}
        if services:
            body['services'] = services
        data = self._calculator('calculator/tariff', body)
        return {'tariff_code': tariff_code,
            'delivery_sum': decimal(data.get('delivery_sum')),
            'total_sum': decimal(data.get('total_sum')),
            'period_min': data.get('period_min'),
            'period_max': data.get('period_max'),
            'calendar_min': data.get('calendar_min'),
            'calendar_max': data.get('calendar_max'),
            'weight_calc': data.get('weight_calc'),
            'currency': data.get('currency'),
            'services': data.get('services') or []}

    def tariffs(self, from_location, to_location, packages, **extra):
        """Every tariff on the route: ``[{tariff_code, name, description,
        delivery_mode, delivery_sum, period_min, period_max, calendar_min,
        calendar_max}]``"""
        data = self._calculator('calculator/tarifflist', {
                'from_location': from_location, 'to_location': to_location,
                'packages': packages, **extra})
        return [{'tariff_code': t.get('tariff_code'),
                'name': t.get('tariff_name'),
                'description': t.get('tariff_description'),
                'delivery_mode': text_id(t.get('delivery_mode')),
                'delivery_sum': decimal(t.get('delivery_sum')),
                'period_min': t.get('period_min'),
                'period_max': t.get('period_max'),
                'calendar_min': t.get('calendar_min'),
                'calendar_max': t.get('calendar_max')}
            for t in data.get('tariff_codes') or []]

    # -- orders ------------------------------------------------------------
    def create_order(self, payload):
        """Register an order (§4); returns CDEK's uuid.  The answer is only
        ``ACCEPTED``: read the outcome with :meth:`get_order`.  Not
        idempotent — see the module's docstring."""
        return self._accepted(self._json('POST', 'orders',
                json_body=payload))

    def get_order(self, order_uuid):
        "The order (see :meth:`order_info`)"
        return self.order_info(self._json('GET', f'orders/{order_uuid}'))

    def find_order(self, number=None, cdek_number=None):
        """The order of our ``number`` (the newest when several) or of a
        ``cdek_number``, or None when CDEK has none"""
        if cdek_number:
            params = {'cdek_number': text_id(cdek_number)}
        elif number:
            params = {'im_number': number}
        else:
            raise ValueError('give number or cdek_number')
        try:
            return self.order_info(self._json('GET', 'orders',
                    params=params))
        except PermanentError as error:
            if error.status == 404:
                return None
            raise

    @staticmethod
    def order_info(data, request_type='CREATE'):
        """``{uuid, number, cdek_number, state, errors, error, status,
        statuses, deletable, delivery_mode, related, entity}``:
        ``state`` of the create request: 'accepted' (CDEK still checks it),
        'successful', 'invalid' (``errors`` [{code, message}], ``error`` the
        joined Russian text); ``status`` the latest status code and
        ``statuses`` every status as a neutral event, oldest first;
        ``related`` the print forms and return orders CDEK links.  With
        another ``request_type`` (``'DELETE'``) ``state`` and ``errors``
        are those of the last request of that type (``state`` None when
        there was none)"""
        entity = data.get('entity') or {}
        records = [r for r in data.get('requests') or []
            if isinstance(r, dict) and r.get('type') == request_type]
        record = records[-1] if records else {}
        state = REQUEST_STATES.get(record.get('state'))
        statuses = order_status_events(entity)
        live = [s for s in statuses if not s['deleted']]
        if state is None and request_type == 'CREATE':
            # CDEK forgets old requests: judge the create by the order
            state = 'successful' if entity.get('cdek_number') else (
                'invalid' if live and live[-1]['code'] == 'INVALID'
                else 'accepted')
        errors = list(record.get('errors') or [])
        if state == 'invalid' and not errors and request_type == 'CREATE':
            errors = cdek_errors(data)
        status = live[-1]['code'] if live else None
        return {'uuid': entity.get('uuid'), 'number': text_id(
                entity.get('number')),
            'cdek_number': text_id(entity.get('cdek_number')),
            'state': state, 'errors': errors,
            'error': (MSG_CDEK.format(reason=join_errors(errors)
                    or 'заказ признан некорректным')
                if state == 'invalid' else None),
            'status': status, 'statuses': statuses,
            'deletable': status in (None, 'ACCEPTED', 'CREATED'),
            'delivery_mode': text_id(entity.get('delivery_mode')),
            'related': [r for r in entity.get('related_entities') or []
                if isinstance(r, dict)],
            'requests': data.get('requests') or [], 'entity': entity}

    def delete_order(self, order_uuid):
        """Ask CDEK to delete (cancel) an order; returns the DELETE request
        uuid.  Accepted only before hand-over (``info['deletable']``); the
        order becomes REMOVED, or the request INVALID with CDEK's reason
        (:meth:`get_order` → ``order_info(data, 'DELETE')``)."""
        data = self._json('DELETE', f'orders/{order_uuid}')
        record = (data.get('requests') or [{}])[0]
        if record.get('state') == 'INVALID':
            raise refused(cdek_errors(data))
        return record.get('request_uuid')

    def get_order_request(self, order_uuid, request_type):
        "order_info from the point of view of the last request of a type"
        return self.order_info(self._json('GET', f'orders/{order_uuid}'),
            request_type)

    # -- print forms -------------------------------------------------------
    @staticmethod
    def _order_refs(orders):
        refs = []
        for ref in orders:
            ref = str(ref)
            refs.append({'cdek_number': ref} if ref.isdigit()
                else {'order_uuid': ref})
        return refs

    def print_waybill(self, orders, copy_count=2):
        """The waybill (квитанция) PDF of orders (CDEK uuids or numbers),
        as bytes, once CDEK made it"""
        form_uuid = self._accepted(self._json('POST', 'print/orders',
                json_body={'orders': self._order_refs(orders),
                    'copy_count': copy_count}))
        return self._print_pdf('orders', form_uuid)

    def print_barcode(self, orders, format='A6', copy_count=1, lang='RUS'):
        "The parcel barcode labels PDF of orders, as bytes"
        form_uuid = self._accepted(self._json('POST', 'print/barcodes',
                json_body={'orders': self._order_refs(orders),
                    'copy_count': copy_count, 'format': format,
                    'lang': lang}))
        return self._print_pdf('barcodes', form_uuid)

    def print_form(self, kind, form_uuid):
        "``{status, url, errors}`` of a print form ('orders' or 'barcodes')"
        data = self._json('GET', f'print/{kind}/{form_uuid}')
        entity = data.get('entity') or {}
        statuses = [s.get('code') for s in entity.get('statuses') or []
            if isinstance(s, dict)]
        states = [r.get('state') for r in data.get('requests') or []
            if isinstance(r, dict)]
        status = statuses[-1] if statuses else None
        if 'INVALID' in states:
            status = 'INVALID'
        return {'status': status, 'url': entity.get('url'),
            'errors': cdek_errors(data)}

    def _print_pdf(self, kind, form_uuid):
        deadline = self.clock() + self.print_poll_timeout
        while True:
            form = self.print_form(kind, form_uuid)
            if form['status'] == 'INVALID':
                raise refused(form['errors'])
            if form['status'] == 'REMOVED':
                raise TransientError(MSG_PRINT_EXPIRED)
            if form['url'] and form['status'] in ('READY', None):
                return self.download(form['url'])
            if self.clock() >= deadline:
                raise TransientError(MSG_PRINT_WAIT.format(
                        seconds=self.print_poll_timeout))
            self.sleep(self.print_poll_interval)

    def download(self, url):
        "A print form's PDF from the link CDEK gave, with the bearer token"
        return self._pdf(self.call('GET', url, headers={
                    'Accept': 'application/pdf'}))

    def url(self, path):
        "Absolute links (print forms) as given, API paths under base_url"
        if '://' in path:
            return path
        return super().url(path)

    @staticmethod
    def _pdf(response):
        if not response.content.startswith(b'%PDF'):
            raise TransientError('СДЭК вернул печатную форму не в формате '
                'PDF', body=excerpt(response.text, 300))
        return response.content

    # -- webhooks ------------------------------------------------------------
    def webhooks(self):
        "Subscriptions: [{uuid, type, url}]"
        return [w for w in self._json('GET', 'webhooks')
            if isinstance(w, dict)]

    def subscribe(self, kind, url):
        "Subscribe url to a webhook type; returns the subscription uuid"
        return self._accepted(self._json('POST', 'webhooks',
                json_body={'type': kind, 'url': url}))

    def unsubscribe(self, subscription_uuid):
        self._json('DELETE', f'webhooks/{subscription_uuid}')

    def ensure_webhook(self, kind, url):
        """Exactly one subscription of kind to url: keeps an existing one,
        deletes extra copies (CDEK may add rather than replace, §8.1),
        subscribes if none; returns its uuid"""
        same = [w for w in self.webhooks()
            if w.get('type') == kind and w.get('url') == url]
        if not same:
            return self.subscribe(kind, url)
        for extra in same[1:]:
            self.unsubscribe(extra['uuid'])
        return same[0]['uuid']
