"""Client of the 1C-Bitrix site: basket pricing and the CommerceML orders.

Plain Python over hub_sync's HttpClient (no models).  Pricing speaks the site
module's endpoint (docs/site-pricing-api.md); orders go through
``/bitrix/admin/1c_exchange.php`` as 1C does (bitrix_site.md A.2, A.4, A.8).
Coupon problems are part of a pricing answer; HTTP and protocol problems
raise TransientError, PermanentError or ConfigurationError.

The hub's changes of a site order (status, cancellation, lines and their
prices) go through the site's ``sale.*`` REST (B) with an incoming webhook
of the site: ``SiteRestClient``.  The CommerceML order file (A.8,
``SiteClient.update_order``) cannot carry them: it documents no goods rows,
its status is applied only while the site option "Менять статусы заказов по
информации из 1С" is on, and the site may refuse it for paid orders.
Whether the site's edition has the ``rest`` module with the ``sale`` scope
is unconfirmed (B: "verify on the real site").
"""
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from trytond.modules.hub_sync.errors import ConfigurationError, PermanentError
from trytond.modules.hub_sync.http import HttpClient

from .commerceml import (
    Unreadable, content_charset, decode, order_update_xml, parse_answer,
    read_orders, strip_bom, update_filename)
from .limits import MAX_FILE_BYTES

PRICE_PATH = '/local/api/hub/basket/price/'
REST_PATH = '/rest/{webhook}/{method}.json'
PRICE_API_VERSION = '1'
EXCHANGE_PATH = '/bitrix/admin/1c_exchange.php'
MSG_HTTP = 'Сайт ответил ошибкой HTTP {status}.'
MSG_BAD_ANSWER = 'Сайт ответил не по протоколу: {detail}'
MSG_TOO_BIG = 'Ответ сайта больше {limit} МБ: обмен прерван.'


class PricingRefused(PermanentError):
    "The site refused the basket: code and details of its error answer"

    def __init__(self, message, code=None, details=None, **kwargs):
        super().__init__(message, **kwargs)
        self.code = code
        self.details = details or {}


@dataclass(frozen=True)
class AppliedDiscount:
    rule_id: int
    name: str
    amount: Decimal
    rule_xml_id: str = None
    coupon: str = None


@dataclass(frozen=True)
class PricedLine:
    key: str
    xml_id: str
    name: str
    quantity: Decimal
    base_price: Decimal
    price: Decimal      # per unit, after discounts
    discount: Decimal   # whole line
    amount: Decimal     # price × quantity
    discounts: tuple = ()


@dataclass(frozen=True)
class CouponResult:
    code: str
    status: str   # applied, not_found, used_up, expired, not_applicable
    message: str
    reason: str = None
    details: dict = field(default_factory=dict)

    @property
    def applied(self):
        return self.status == 'applied'


@dataclass(frozen=True)
class BasketPrice:
    lines: dict            # hub line key -> PricedLine
    discounts: tuple
    base_total: Decimal
    discount_total: Decimal
    total: Decimal
    priced_at: dt.datetime
    coupon: CouponResult = None
    customer: dict = None
    request_id: str = None


@dataclass(frozen=True)
class ExchangeSession:
    cookie: str    # "PHPSESSID=<id>", sent back as 1C does
    sessid: str


@dataclass(frozen=True)
class OrderBatch:
    """A mode=query answer: confirm it only after the orders are saved
    (the unreadable ones too, quarantined: the site would re-send them)"""
    orders: list
    raw: bytes
    session: ExchangeSession
    unreadable: list = field(default_factory=list)
    exported_at: dt.datetime = None


def answer_json(response):
    """The JSON of an answer, whatever byte-order mark or charset it has
    (requests' .json() refuses a BOM when the charset is declared)"""
    charset = content_charset(response.headers.get('Content-Type'))
    return json.loads(decode(response.content, charset))


def read_body(response, limit=None):
    "A streamed answer's bytes, refused beyond limit"
    limit = limit or MAX_FILE_BYTES
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            response.close()
            raise PermanentError(MSG_TOO_BIG.format(limit=f'{limit / 2**20:g}'),
                status=response.status_code)
        chunks.append(chunk)
    return b''.join(chunks)


def price_payload(items, coupon=None, customer=None, order_number=None,
        request_id=None):
    "items: [{key, xml_id, quantity}] (quantity Decimal/int/str)"
    return {'api_version': PRICE_API_VERSION,
        'request_id': request_id or str(uuid.uuid4()), 'site_id': 's1',
        'currency': 'RUB', 'customer': customer or None,
        'order_number': order_number, 'coupon': coupon or None,
        'items': [{'key': str(i['key']), 'xml_id': i['xml_id'],
            'quantity': str(i['quantity'])} for i in items]}


def parse_discount(data):
    return AppliedDiscount(rule_id=data['rule_id'], name=data['name'],
        amount=Decimal(data['amount']), rule_xml_id=data.get('rule_xml_id'),
        coupon=data.get('coupon'))


def parse_line(data):
    return PricedLine(key=data['key'], xml_id=data['xml_id'],
        name=data.get('name'), quantity=Decimal(data['quantity']),
        base_price=Decimal(data['base_price']), price=Decimal(data['price']),
        discount=Decimal(data['discount']), amount=Decimal(data['sum']),
        discounts=tuple(parse_discount(d) for d in data.get('discounts', ())))


def parse_coupon(data):
    if not data:
        return None
    return CouponResult(code=data['code'], status=data['status'],
        message=data['message'], reason=data.get('reason'),
        details=data.get('details') or {})


def parse_price_answer(data, keys=()):
    "The 200 answer as a BasketPrice; every requested key must be priced"
    lines = {line.key: line for line in map(parse_line, data['items'])}
    missing = [str(k) for k in keys if str(k) not in lines]
    if missing:
        raise PermanentError(MSG_BAD_ANSWER.format(
                detail='нет цены для позиций ' + ', '.join(missing)),
            detail=json.dumps(data, ensure_ascii=False)[:2000])
    totals = data['totals']
    return BasketPrice(lines=lines,
        discounts=tuple(parse_discount(d) for d in data.get('discounts', ())),
        base_total=Decimal(totals['base']),
        discount_total=Decimal(totals['discount']),
        total=Decimal(totals['total']),
        priced_at=dt.datetime.fromisoformat(data['priced_at']),
        coupon=parse_coupon(data.get('coupon')),
        customer=data.get('customer'), request_id=data.get('request_id'))


def remote_error(response):
    "The {code, message, details} of a JSON error answer, or None"
    try:
        error = answer_json(response)['error']
        return error if error.get('message') else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class SiteClient(HttpClient):
    "One 1C-Bitrix site; login/password of its exchange user"

    def __init__(self, base_url, login, password, timeout=10, session=None):
        super().__init__(base_url, timeout, auth=(login, password),
            session=session)

    def check(self, response):
        """401/403/404 and an unsupported API version need an administrator;
        a pricing refusal keeps the site's code and details"""
        status, error = response.status_code, remote_error(response)
        values = {'status': status, 'body': response.text,
            'detail': self.describe(response)}
        code = error and error.get('code')
        if status in (401, 403, 404) or code == 'unsupported_version':
            raise ConfigurationError(self.reason(response), **values)
        if 400 <= status < 500 and status != 429 and error:
            raise PricingRefused(error['message'], code=code,
                details=error.get('details'), **values)
        super().check(response)

    def reason(self, response):
        error = remote_error(response)
        return error['message'] if error else MSG_HTTP.format(
            status=response.status_code)

    # -- pricing ----------------------------------------------------------
    def price_basket(self, items, coupon=None, customer=None,
            order_number=None, request_id=None):
        """Price items with the site's cart rules; customer is
        {'user_id': …} or {'login': …}; nothing is saved on the site."""
        payload = price_payload(items, coupon, customer, order_number,
            request_id)
        response = self.request('POST', PRICE_PATH, json=payload,
            headers={'Accept': 'application/json'})
        try:
            return parse_price_answer(answer_json(response),
                [i['key'] for i in items])
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise PermanentError(MSG_BAD_ANSWER.format(detail=exc),
                status=response.status_code, body=response.text,
                detail=self.describe(response))

    # -- CommerceML exchange ----------------------------------------------
    def fetch_orders(self):
        "checkauth, init, query: new and changed site orders (OrderBatch)"
        session = self.checkauth()
        self._exchange(session, 'init')
        response = self._exchange_get(session, 'query', stream=True)
        body = read_body(response)
        charset = content_charset(response.headers.get('Content-Type'))
        if not strip_bom(body).startswith((b'<?xml', b'PK')):
            self._check_answer(body, charset=charset)
            raise PermanentError(MSG_BAD_ANSWER.format(detail=body[:200]),
                status=response.status_code)
        try:
            read = read_orders(body, charset)
        except Unreadable as error:
            raise PermanentError(MSG_BAD_ANSWER.format(detail=error),
                status=response.status_code, detail=body[:2000].decode(
                    'utf-8', 'replace'))
        return OrderBatch(read.orders, body, session, read.unreadable,
            read.exported_at)

    def confirm_orders(self, batch):
        "mode=success: the site stops re-sending the batch's orders"
        self._exchange(batch.session, 'success')

    def update_order(self, update, key=None):
        """Send one order update as 1C does (init, file, import).

        update: see commerceml.order_update_xml; key (the outbox idempotency
        key) names the file, so a retry is the same file."""
        session = self.checkauth()
        self._exchange(session, 'init')
        name = update_filename(key)
        self._exchange(session, 'file', method='POST', filename=name,
            data=order_update_xml(update), refusals=True)
        self._exchange(session, 'import', filename=name)

    def checkauth(self):
        response = self._exchange_get(None, 'checkauth')
        messages = self._check_answer(response.content,
            charset=content_charset(response.headers.get('Content-Type')))
        if len(messages) < 3:
            raise PermanentError(MSG_BAD_ANSWER.format(detail=messages))
        sessid = messages[2].removeprefix('sessid=')
        return ExchangeSession(f'{messages[0]}={messages[1]}', sessid)

    def _exchange(self, session, mode, method='GET', refusals=False,
            **params):
        response = self._exchange_get(session, mode, method, **params)
        return self._check_answer(response.content, refusals,
            content_charset(response.headers.get('Content-Type')))

    def _exchange_get(self, session, mode, method='GET', data=None,
            stream=False, **params):
        params = {'type': 'sale', 'mode': mode, **params}
        headers = {}
        if session:
            params['sessid'] = session.sessid
            headers['Cookie'] = session.cookie
        return self.request(method, EXCHANGE_PATH, params=params, data=data,
            headers=headers, stream=stream)

    @staticmethod
    def _check_answer(body, refusals=False, charset=None):
        """success/progress → the messages; failure → an error.  With
        refusals, text after 'success' is one too: the old-protocol sale
        endpoint appends the orders it refused to its mode=file answer."""
        head, messages = parse_answer(body, charset)
        detail = '\n'.join([head] + messages)
        if head == 'failure' and any('авторизац' in m for m in messages):
            raise ConfigurationError('Сайт отклонил логин или пароль '
                'пользователя обмена: ' + ' '.join(messages), detail=detail)
        if head in ('failure', 'error'):
            raise PermanentError('Сайт отказал в обмене: ' + (' '.join(
                messages) or head), detail=detail)
        if refusals and head == 'success' and messages:
            raise PermanentError('Сайт не принял изменения заказа: '
                + messages[0], detail=detail)
        return messages


def rest_error(response):
    "(code, description) of a REST error answer, or None"
    try:
        data = answer_json(response)
        return str(data['error']), data.get('error_description') or ''
    except (ValueError, KeyError, TypeError):
        return None


class SiteRestClient(HttpClient):
    """The site's sale.* REST methods through its incoming webhook:
    webhook is '<user id>/<code>', as the site's administrator issued it
    (B: https://SITE/rest/<USER_ID>/<WEBHOOK_CODE>/<method>)."""

    def __init__(self, base_url, webhook, timeout=10, session=None):
        webhook = (webhook or '').strip('/')
        if webhook.count('/') != 1:
            raise ConfigurationError('Не задан входящий вебхук REST сайта '
                '(поле «Токен» подключения: <ID пользователя>/<код>).')
        super().__init__(base_url, timeout, session=session)
        self.webhook = webhook

    def check(self, response):
        "A bad webhook or a missing method (no rest module) is set-up"
        error = rest_error(response)
        if response.status_code == 401 or (error and error[0] in (
                    'NO_AUTH_FOUND', 'ERROR_METHOD_NOT_FOUND',
                    'INSUFFICIENT_SCOPE')):
            raise ConfigurationError(self.reason(response),
                status=response.status_code, body=response.text,
                detail=self.describe(response))
        super().check(response)

    def reason(self, response):
        error = rest_error(response)
        if not error:
            return MSG_HTTP.format(status=response.status_code)
        code, description = error
        return f'{description} ({code})' if description else code

    def call(self, method, params):
        "POST one method; its result"
        response = self.request('POST', REST_PATH.format(
                webhook=self.webhook, method=method), json=params,
            headers={'Accept': 'application/json'})
        try:
            return answer_json(response)['result']
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(MSG_BAD_ANSWER.format(detail=exc),
                status=response.status_code, body=response.text,
                detail=self.describe(response))

    def get_order(self, order_id):
        "The order with basketItems, payments, shipments, propertyValues"
        return self.call('sale.order.get', {'id': order_id})['order']

    def update_order(self, order_id, fields):
        return self.call('sale.order.update',
            {'id': order_id, 'fields': fields})['order']

    def add_basket_item(self, fields):
        return self.call('sale.basketitem.add', {'fields': fields})[
            'basketItem']

    def update_basket_item(self, item_id, fields):
        return self.call('sale.basketitem.update',
            {'id': item_id, 'fields': fields})['basketItem']

    def delete_basket_item(self, item_id):
        return self.call('sale.basketitem.delete', {'id': item_id})

    def update_shipment(self, shipment_id, fields):
        return self.call('sale.shipment.update',
            {'id': shipment_id, 'fields': fields})['shipment']
