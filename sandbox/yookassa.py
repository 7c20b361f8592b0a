"""YooKassa (ЮKassa) API v3 simulator.

Follows /work/shared/docs/external/yookassa.md and fiscal_54fz.md: Basic
auth with shopId:secretKey, Idempotence-Key on every POST, payments with a
redirect confirmation, two-stage capture, refunds, 54-FZ receipts (incl. the
second "full settlement" receipt) and HTTP notifications.

The API lives under ``/v3`` exactly like ``https://api.yookassa.ru/v3``; point
the official SDK at it with ``Configuration.configure(shop_id, secret_key,
api_url=sim.base_url + '/v3')``.  The buyer's payment page is served at the
same path as the real one (``/api-pages/v2/payment-confirm/epl?orderId=…``).
See sandbox/notes/yookassa.md.
"""
import base64
import binascii
import copy
import functools
import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from html import escape

from flask import Response, redirect, request

from .core import Simulator, control, error_page, route
from .page import counts

CENT = Decimal('0.01')
CURRENCIES = {'RUB'}
CONFIRMATION_TYPES = {'redirect', 'embedded', 'external', 'qr',
    'mobile_application'}
PAYMENT_MODES = {'full_prepayment', 'partial_prepayment', 'advance',
    'full_payment', 'partial_payment', 'credit', 'credit_payment'}
PAYMENT_SUBJECTS = {
    'commodity', 'excise', 'job', 'service', 'gambling_bet',
    'gambling_prize', 'lottery', 'lottery_prize', 'intellectual_activity',
    'payment', 'agent_commission', 'property_right', 'non_operating_gain',
    'insurance_premium', 'sales_tax', 'resort_fee', 'composite', 'another',
    # FFD 1.2 additions
    'fine', 'tax', 'lien', 'cost', 'pension_insurance_without_payouts',
    'pension_insurance_with_payouts', 'health_insurance_without_payouts',
    'health_insurance_with_payouts', 'health_insurance', 'casino',
    'agent_withdrawals', 'non_marked_excise', 'marked_excise', 'marked',
    'non_marked',
    }
# tag 1212 codes 31/33: goods subject to marking *with* a code
MARKED_SUBJECTS = {'marked', 'marked_excise'}
MEASURES = {'piece', 'gram', 'kilogram', 'ton', 'centimeter', 'decimeter',
    'meter', 'square_centimeter', 'square_decimeter', 'square_meter',
    'milliliter', 'liter', 'cubic_meter', 'kilowatt_hour', 'gigacalorie',
    'day', 'hour', 'minute', 'second', 'kilobyte', 'megabyte', 'gigabyte',
    'terabyte', 'another'}
VAT_CODES = set(range(1, 13))
TAX_SYSTEM_CODES = set(range(1, 7))
SETTLEMENT_TYPES = {'cashless', 'prepayment', 'postpayment', 'consideration'}
# mark_code_info sub-field -> (min length, max length); tag 1163 sub-tags
MARK_CODE_FIELDS = {
    'mark_code_raw': (1, None), 'unknown': (1, 32), 'ean_8': (8, 8),
    'ean_13': (13, 13), 'itf_14': (14, 14), 'gs_10': (1, 38),
    'gs_1m': (1, 200), 'short': (1, 38), 'fur': (1, 20),
    'egais_20': (1, 200), 'egais_30': (1, 200),
    }
# tag 2003 values; only meaningful for codes checked in Chestny Znak
PLANNED_STATUSES = {1, 2, 3, 4, 255}
PLANNED_STATUS_FIELDS = {'gs_1m', 'short', 'fur'}
CANCEL_REASONS = {
    '3d_secure_failed', 'call_issuer', 'canceled_by_merchant',
    'card_expired', 'country_forbidden', 'deal_expired',
    'expired_on_capture', 'expired_on_confirmation', 'fraud_suspected',
    'general_decline', 'identification_required', 'insufficient_funds',
    'internal_timeout', 'invalid_card_number', 'invalid_csc',
    'issuer_unavailable', 'payment_method_limit_exceeded',
    'payment_method_restricted', 'permission_revoked',
    'unsupported_mobile_operator', 'loan_declined', 'loan_declined_by_payer',
    'loan_application_expired', 'rejected_by_timeout',
    }
# declines that come from the card network / issuer rather than YooKassa
NETWORK_REASONS = {'3d_secure_failed', 'call_issuer', 'card_expired',
    'country_forbidden', 'insufficient_funds', 'invalid_card_number',
    'invalid_csc', 'issuer_unavailable', 'payment_method_limit_exceeded',
    'payment_method_restricted', 'general_decline'}
WEBHOOK_EVENTS = {'payment.waiting_for_capture', 'payment.succeeded',
    'payment.canceled', 'refund.succeeded', 'payout.succeeded',
    'payout.canceled', 'deal.closed', 'payment_method.active'}
IDEMPOTENCE_KEY_MAX = 64
MAX_LIST_LIMIT = 100
PHONE_RE = re.compile(r'^\d{7,15}$')
EMAIL_RE = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')


class ApiError(Exception):
    "An error answered with YooKassa's error object"

    def __init__(self, status, code, description, parameter=None,
            retry_after=None):
        super().__init__(description)
        self.status = status
        self.body = error_body(code, description, parameter, retry_after)


def error_body(code, description, parameter=None, retry_after=None):
    body = {'type': 'error', 'id': str(uuid.uuid4()), 'code': code,
        'description': description}
    if parameter:
        body['parameter'] = parameter
    if retry_after is not None:
        body['retry_after'] = retry_after
    return body


def invalid(description, parameter=None):
    return ApiError(400, 'invalid_request', description, parameter)


def not_found(kind, parameter):
    return ApiError(404, 'not_found',
        f"Incorrect {parameter}. {kind} doesn't exist or access denied",
        parameter)


def json_response(body, status=200):
    return Response(json.dumps(body, ensure_ascii=False), status=status,
        content_type='application/json;charset=UTF-8')


# -- values -------------------------------------------------------------------
def iso(moment):
    "ISO-8601 UTC with milliseconds, as YooKassa writes timestamps"
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + (
        f'{moment.microsecond // 1000:03d}Z')


def parse_iso(value, parameter):
    try:
        return datetime.fromisoformat(value.replace('Z', '+00:00'))
    except (AttributeError, ValueError):
        raise invalid(f'Invalid value of {parameter}', parameter)


def object_id(kind_marker):
    """An id shaped like YooKassa's: time-ordered prefix + fixed markers.

    Payments look like ``2419a771-000f-5000-9000-1edaf29243f2``.
    """
    tail = uuid.uuid4().hex
    return f'{tail[:8]}-{kind_marker}-5000-9000-{tail[8:20]}'


def decimal_of(value, parameter, places=2):
    "Parse a number given as string or JSON number; reject junk and NaN"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid(f'Invalid value of {parameter}', parameter)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f'Invalid value of {parameter}', parameter)
    if not number.is_finite() or number <= 0:
        raise invalid(f'Invalid value of {parameter}: must be positive',
            parameter)
    if places is not None and number != number.quantize(
            Decimal(1).scaleb(-places)):
        raise invalid(f'Invalid value of {parameter}: more than {places} '
            'decimal places', parameter)
    return number


def parse_amount(data, parameter):
    "Validate a money object and return (Decimal value, currency)"
    if not isinstance(data, dict):
        raise invalid(f'Parameter {parameter} is missing or invalid',
            parameter)
    value = decimal_of(data.get('value'), parameter + '.value')
    currency = data.get('currency')
    if currency not in CURRENCIES:
        raise invalid(f'Invalid currency: {currency}',
            parameter + '.currency')
    return value, currency


def money(value, currency='RUB'):
    "Money object with the value as a 2-decimal string, e.g. '100.00'"
    return {'value': str(Decimal(value).quantize(CENT, ROUND_HALF_UP)),
        'currency': currency}


def quantity_text(quantity):
    "Quantities come back as decimal strings ('1.00', '0.125')"
    if quantity == quantity.quantize(CENT):
        return str(quantity.quantize(CENT))
    return str(quantity.normalize())


# -- receipts (54-FZ) ---------------------------------------------------------
def validate_customer(receipt, parameter):
    """Tag 1008 needs a contact: customer.email or customer.phone.

    The deprecated top-level receipt.email / receipt.phone still count.
    """
    customer = receipt.get('customer')
    if customer is not None and not isinstance(customer, dict):
        raise invalid('Invalid customer', parameter + '.customer')
    customer = dict(customer or {})
    for field in ('email', 'phone'):
        if not customer.get(field) and receipt.get(field):
            customer[field] = receipt[field]
    email, phone = customer.get('email'), customer.get('phone')
    if not email and not phone:
        raise invalid('Receipt customer contact (email or phone) is missing',
            parameter + '.customer')
    if email and not (isinstance(email, str) and EMAIL_RE.match(email)):
        raise invalid('Invalid email', parameter + '.customer.email')
    # E.164 without "+", e.g. 79000000000
    if phone and not (isinstance(phone, str) and PHONE_RE.match(phone)):
        raise invalid('Invalid phone, expected ITU-T E.164 digits without '
            '"+"', parameter + '.customer.phone')
    return customer


def validate_mark_code(item, parameter):
    "Marking requisites: tags 1163 / 2000 / 2102 / 2003 / 1291"
    info = item.get('mark_code_info')
    if info is None:
        for field in ('mark_mode', 'mark_quantity', 'planned_status'):
            if field in item:
                raise invalid(f'{field} requires mark_code_info',
                    f'{parameter}.{field}')
        if item.get('payment_subject') in MARKED_SUBJECTS:
            raise invalid('payment_subject "%s" means goods with a marking '
                'code: mark_code_info is required' % item['payment_subject'],
                parameter + '.mark_code_info')
        return
    given = {k: v for k, v in info.items() if v not in (None, '')} if (
        isinstance(info, dict)) else {}
    unknown_fields = set(given) - set(MARK_CODE_FIELDS)
    if not given or unknown_fields:
        raise invalid('mark_code_info must contain at least one known '
            'sub-field', parameter + '.mark_code_info')
    for field, value in given.items():
        low, high = MARK_CODE_FIELDS[field]
        if not isinstance(value, str) or len(value) < low or (
                high and len(value) > high):
            raise invalid(f'Invalid length of mark_code_info.{field}',
                f'{parameter}.mark_code_info.{field}')
    # tag 2102 is always 0; YooKassa wants the string "0"
    if item.get('mark_mode') != '0':
        raise invalid('mark_mode must be "0" for an item with a marking code',
            parameter + '.mark_mode')
    subject = item.get('payment_subject')
    if subject is not None and subject not in MARKED_SUBJECTS:
        raise invalid('An item with a marking code must have payment_subject '
            '"marked" or "marked_excise" (tag 1212 = 33/31)',
            parameter + '.payment_subject')
    if 'planned_status' in item:
        if item['planned_status'] not in PLANNED_STATUSES or not (
                PLANNED_STATUS_FIELDS & set(given)):
            raise invalid('Invalid planned_status', parameter
                + '.planned_status')
    validate_mark_quantity(item, parameter)


def validate_mark_quantity(item, parameter):
    "One code per unit: quantity 1 unless a fraction (1291) is declared"
    fraction = item.get('mark_quantity')
    if fraction is None:
        if Decimal(str(item['quantity'])) != 1:
            raise invalid('An item with a marking code must have quantity 1; '
                'split pieces into separate items', parameter + '.quantity')
        return
    ok = isinstance(fraction, dict) and all(
        isinstance(fraction.get(k), int) and not isinstance(
            fraction.get(k), bool) and fraction[k] > 0
        for k in ('numerator', 'denominator'))
    if not ok or fraction['numerator'] > fraction['denominator']:
        raise invalid('Invalid mark_quantity', parameter + '.mark_quantity')


def validate_item(item, parameter):
    "Check one receipt position; return (normalized item, line total)"
    if not isinstance(item, dict):
        raise invalid('Invalid receipt item', parameter)
    description = item.get('description')
    if not isinstance(description, str) or not 1 <= len(description) <= 128:
        raise invalid('Item description must be 1-128 characters',
            parameter + '.description')
    if item.get('quantity') is None:
        raise invalid('Item quantity is missing', parameter + '.quantity')
    quantity = decimal_of(item['quantity'], parameter + '.quantity',
        places=None)
    price, currency = parse_amount(item.get('amount'), parameter + '.amount')
    vat = item.get('vat_code')
    try:
        vat = int(vat)  # the PHP SDK sends "4", the Python one 4
    except (TypeError, ValueError):
        vat = None
    if vat not in VAT_CODES:
        raise invalid('Invalid vat_code', parameter + '.vat_code')
    for field, allowed in (('payment_mode', PAYMENT_MODES),
            ('payment_subject', PAYMENT_SUBJECTS), ('measure', MEASURES)):
        if field in item and item[field] not in allowed:
            raise invalid(f'Invalid value of {field}: {item[field]}',
                f'{parameter}.{field}')
    validate_mark_code(item, parameter)
    validate_industry_details(item.get('payment_subject_industry_details'),
        parameter + '.payment_subject_industry_details')
    normalized = dict(item, quantity=quantity_text(quantity),
        amount=money(price, currency), vat_code=vat)
    return normalized, price * quantity


def validate_industry_details(details, parameter):
    "Tag 1260, e.g. the permissive-mode check result (decree 1944)"
    if details is None:
        return
    fields = ('federal_id', 'document_date', 'document_number', 'value')
    if not isinstance(details, list) or not all(
            isinstance(d, dict) and all(d.get(f) for f in fields)
            for d in details):
        raise invalid('Invalid industry details', parameter)


def validate_items(receipt, parameter, max_items):
    items = receipt.get('items')
    if not isinstance(items, list) or not items:
        raise invalid('Receipt items are missing', parameter + '.items')
    if len(items) > max_items:
        raise invalid(f'Too many receipt items: at most {max_items}',
            parameter + '.items')
    normalized, total = [], Decimal(0)
    for index, item in enumerate(items):
        item, line = validate_item(item, f'{parameter}.items[{index}]')
        normalized.append(item)
        total += line
    return normalized, total.quantize(CENT, ROUND_HALF_UP)


def validate_receipt(receipt, amount, max_items, parameter='receipt'):
    """Validate a receipt sent with a payment, capture or refund.

    YooKassa checks that the items add up to exactly the operation amount.
    Returns the receipt data to register later.
    """
    if not isinstance(receipt, dict):
        raise invalid('Invalid receipt', parameter)
    customer = validate_customer(receipt, parameter)
    items, total = validate_items(receipt, parameter, max_items)
    if total != amount:
        raise invalid(f'Sum of receipt items ({total}) does not match the '
            f'amount ({amount})', parameter + '.items')
    validate_tax_system(receipt, parameter)
    return {'customer': customer, 'items': items,
        'tax_system_code': receipt.get('tax_system_code'),
        'extra': extra_receipt_fields(receipt)}


def validate_tax_system(receipt, parameter):
    code = receipt.get('tax_system_code')
    if code is not None and code not in TAX_SYSTEM_CODES:
        raise invalid('Invalid tax_system_code',
            parameter + '.tax_system_code')


# Optional request fields the Receipt object gives back.  The object's
# fields (OpenAPI-generated model "Receipt"): id, type, payment_id,
# refund_id, status, fiscal_document_number, fiscal_storage_number,
# fiscal_attribute, registered_at, fiscal_provider_id, items, settlements,
# tax_system_code, receipt_industry_details, receipt_operational_details,
# timezone, internet, on_behalf_of.  No customer, no created_at, no
# additional_user_props (accepted in the request, not echoed; unconfirmed
# beyond that model).
RECEIPT_ECHOED = ('receipt_industry_details', 'receipt_operational_details',
    'timezone', 'internet', 'on_behalf_of')


def extra_receipt_fields(receipt):
    return {k: receipt[k] for k in RECEIPT_ECHOED
        if receipt.get(k) is not None}


def public(obj):
    "A copy of a stored object without the simulator's private '_' keys"
    return {k: copy.deepcopy(v) for k, v in obj.items()
        if not k.startswith('_')}


def validate_settlements(settlements, total):
    "Settlements (tags 1081/1215/1216/1217) must add up to the items total"
    if not isinstance(settlements, list) or not settlements:
        raise invalid('Settlements are missing', 'settlements')
    result, paid = [], Decimal(0)
    for index, settlement in enumerate(settlements):
        where = f'settlements[{index}]'
        if not isinstance(settlement, dict) or (
                settlement.get('type') not in SETTLEMENT_TYPES):
            raise invalid('Invalid settlement type', where + '.type')
        value, currency = parse_amount(settlement.get('amount'),
            where + '.amount')
        paid += value
        result.append({'type': settlement['type'],
                'amount': money(value, currency)})
    if paid != total:
        raise invalid(f'Sum of settlements ({paid}) does not match the sum '
            f'of receipt items ({total})', 'settlements')
    return result


def metadata_of(data):
    "Flat key -> value object; limits as in the API reference"
    metadata = data.get('metadata')
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16 or any(
            len(str(k)) > 32 or isinstance(v, (dict, list))
            or len(str(v)) > 512 for k, v in metadata.items()):
        raise invalid('Invalid metadata', 'metadata')
    return {str(k): (v if v is None else str(v)) for k, v in metadata.items()}


def paginate(objects, args):
    """Newest first, ``limit`` 1..100 (default 10), opaque ``cursor``."""
    try:
        limit = int(args.get('limit', 10))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise invalid('Invalid value of limit', 'limit')
    start = 0
    if args.get('cursor'):
        try:
            start = int(base64.urlsafe_b64decode(args['cursor']).decode())
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise invalid('Invalid cursor', 'cursor')
    page = objects[start:start + limit]
    body = {'type': 'list', 'items': page}
    if start + limit < len(objects):
        body['next_cursor'] = base64.urlsafe_b64encode(
            str(start + limit).encode()).decode()
    return body


def filter_created(objects, args, field='created_at', stored=None):
    """Apply <field>.gte/gt/lte/lt to a list of API objects (stored: the
    key the time is kept under when the object does not show it)"""
    ops = {'gte': lambda a, b: a >= b, 'gt': lambda a, b: a > b,
        'lte': lambda a, b: a <= b, 'lt': lambda a, b: a < b}
    for op, test in ops.items():
        name = f'{field}.{op}'
        if args.get(name):
            bound = parse_iso(args[name], name)
            objects = [o for o in objects if o.get(stored or field)
                and test(parse_iso(o[stored or field], name), bound)]
    return objects


def api(write=False):
    """A route of the API: authenticated, what time did applied first; a
    write (POST) also honours the Idempotence-Key and gets the JSON body as
    its first argument"""
    def decorator(handler):
        @functools.wraps(handler)
        def view(self, **kwargs):
            run = self._post if write else self._get
            return run(functools.partial(handler, self), **kwargs)
        return view
    return decorator


class YooKassaSimulator(Simulator):
    name = 'yookassa'
    title = 'ЮKassa API v3 (симулятор)'
    default_port = 8103

    # -- state -------------------------------------------------------------
    def now(self):
        return self.clock.now()

    def page_summary(self):
        return [('Магазин (shopId)', self.shop_id),
            ('Платежей', len(self.payments)),
            ('По статусам', counts(p['status']
                    for p in self.payments.values()) or '—'),
            ('Возвратов', len(self.refunds)), ('Чеков', len(self.receipts)),
            ('Адрес уведомлений', self.notification_url or '—')]

    def init_state(self):
        self.shop_id = '100500'
        self.secret_key = 'test_sandbox_secret_key'
        self.gateway_id = '100700'
        self.notification_url = None
        self.receipts_required = False
        self.max_receipt_items = 100
        self.idempotence_ttl = 24 * 3600
        self.receipt_delay = 0.0
        self.capture_hold = timedelta(days=7)
        self.fee_rate = Decimal('0.035')
        self.payments = {}      # id -> Payment object (API shape)
        self.capture_mode = {}  # payment id -> capture flag of the request
        self.payment_receipts = {}  # payment id -> receipt data to register
        self.refunds = {}
        self.receipts = {}
        self.receipt_due = {}   # receipt id -> monotonic time to register
        self.idempotence = {}   # (shop_id, key) -> stored answer
        self.oauth_token = 'test_oauth_token'
        self.webhooks_registered = {}   # id -> {id, event, url}
        self.lost_responses = 0

    def fault_response(self, kind, status, rule):
        if kind == 'rate_limit':
            return json_response(error_body('too_many_requests',
                    'Too many requests', retry_after=1800), status or 429)
        status = status or 500
        if status == 202:
            # "accepted, not processed yet": retry with the same key
            return json_response({'type': 'processing', 'description':
                    'Request accepted, but not processed yet. Retry later '
                    'with the same Idempotence-Key', 'retry_after': 1800},
                202)
        return json_response(error_body('internal_server_error',
                'Internal server error', retry_after=1800), status)

    # -- routes ------------------------------------------------------------
    @error_page(404)
    def _no_route(self, exc):
        return json_response(error_body('not_found',
                'Requested resource is not found'), 404)

    @route('/v3/webhooks', methods=['POST'])
    def _webhooks_create(self):
        return self._oauth(self._post, self._create_webhook)

    @route('/v3/webhooks')
    def _webhooks_list(self):
        return self._oauth(self._get, self._list_webhooks)

    @route('/v3/webhooks/<wid>', methods=['DELETE'])
    def _webhooks_delete(self, wid):
        return self._oauth(self._post, self._delete_webhook, wid=wid)

    @error_page(405)
    def _bad_method(self, exc):
        # the real API answers 405 without an error code
        return json_response({'type': 'error', 'id': str(uuid.uuid4()),
                'description': 'Method not allowed'}, 405)

    # -- request plumbing --------------------------------------------------
    def _authenticate(self):
        auth = request.authorization
        if auth is not None and auth.type == 'bearer' and (
                auth.token == self.oauth_token):
            return      # a partner's OAuth token
        if (auth is None or auth.type != 'basic'
                or auth.username != self.shop_id
                or auth.password != self.secret_key):
            raise ApiError(401, 'invalid_credentials',
                'Authentication by given credentials failed. Check shopId '
                'and secret key', 'Authorization')

    def _get(self, handler, **kwargs):
        with self.lock:
            try:
                self._authenticate()
                self._advance()
                return json_response(handler(**kwargs))
            except ApiError as exc:
                return json_response(exc.body, exc.status)

    def _post(self, handler, **kwargs):
        """Authenticate, honour the Idempotence-Key, run handler.

        The answer (success or 4xx) is stored under the key for
        ``idempotence_ttl``: a repeat with the same body replays it, a repeat
        with another body is rejected.
        """
        with self.lock:
            try:
                self._authenticate()
                key = self._idempotence_key()
                body = self._json_body()
            except ApiError as exc:
                return json_response(exc.body, exc.status)
            self._advance()
            fingerprint = hashlib.sha256(json.dumps(
                    [request.path, body], sort_keys=True).encode()).hexdigest()
            stored = self._stored_answer(key)
            if stored:
                if stored['fingerprint'] != fingerprint:
                    return json_response(error_body('invalid_request',
                            'Idempotence key duplicated', 'Idempotence-Key'),
                        400)
                return json_response(stored['body'], stored['status'])
            try:
                status, answer = 200, handler(body, **kwargs)
            except ApiError as exc:
                status, answer = exc.status, exc.body
            self.idempotence[(self.shop_id, key)] = {
                'fingerprint': fingerprint, 'status': status,
                'body': copy.deepcopy(answer), 'at': self.clock.monotonic()}
            if self.lost_responses > 0:
                # the operation happened but the client never learns it
                self.lost_responses -= 1
                return json_response(error_body('internal_server_error',
                        'Internal server error'), 500)
            return json_response(answer, status)

    def _idempotence_key(self):
        key = request.headers.get('Idempotence-Key')
        if not key:
            raise invalid('Idempotence-Key header is missing',
                'Idempotence-Key')
        if len(key) > IDEMPOTENCE_KEY_MAX:
            raise invalid('Idempotence-Key is too long: at most '
                f'{IDEMPOTENCE_KEY_MAX} characters', 'Idempotence-Key')
        return key

    def _json_body(self):
        "An empty body is an empty object (capture/cancel send none)"
        raw = request.get_data(cache=True)
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise invalid('Syntax error in request body')
        if not isinstance(body, dict):
            raise invalid('Request body must be a JSON object')
        return body

    def _stored_answer(self, key):
        stored = self.idempotence.get((self.shop_id, key))
        if stored and self.clock.monotonic() - stored['at'] > self.idempotence_ttl:
            del self.idempotence[(self.shop_id, key)]
            return None
        return stored

    # -- time-driven changes -----------------------------------------------
    def _advance(self):
        "Apply what time has done since the last request"
        moment = self.now()
        for payment in list(self.payments.values()):
            if payment['status'] == 'waiting_for_capture' and (
                    parse_iso(payment['expires_at'], 'expires_at') <= moment):
                self._cancel_payment(payment, 'yoo_money',
                    'expired_on_capture')
        due = [rid for rid, at in self.receipt_due.items()
            if at <= self.clock.monotonic()]
        for rid in due:
            self._register_receipt(rid)

    # -- payments ----------------------------------------------------------
    @route('/v3/payments', methods=['POST'])
    @api(write=True)
    def _create_payment(self, data):
        if 'amount' not in data:
            raise invalid('Parameter amount is missing', 'amount')
        value, currency = parse_amount(data['amount'], 'amount')
        description = data.get('description')
        if description is not None and (not isinstance(description, str)
                or len(description) > 128):
            raise invalid('Description is longer than 128 characters',
                'description')
        capture = data.get('capture', False)
        if not isinstance(capture, bool):
            raise invalid('Invalid value of capture', 'capture')
        receipt = self._payment_receipt(data, value)
        pid = object_id('000f')
        payment = {
            'id': pid, 'status': 'pending', 'paid': False,
            'amount': money(value, currency),
            'confirmation': self._confirmation(data.get('confirmation'), pid),
            'created_at': iso(self.now()), 'description': description,
            'metadata': metadata_of(data) or {},
            'recipient': {'account_id': self.shop_id,
                'gateway_id': self.gateway_id},
            'refundable': False, 'test': True,
            }
        if payment['confirmation'] is None:
            del payment['confirmation']
        if description is None:
            del payment['description']
        if receipt:
            payment['receipt_registration'] = 'pending'
            self.payment_receipts[pid] = receipt
        customer_id = data.get('merchant_customer_id')
        if customer_id is not None:
            if not isinstance(customer_id, str) or len(customer_id) > 200:
                raise invalid('Invalid merchant_customer_id',
                    'merchant_customer_id')
            payment['merchant_customer_id'] = customer_id
        method = data.get('payment_method_data')
        if isinstance(method, dict) and method.get('type'):
            payment['payment_method'] = {'type': method['type'], 'id': pid,
                'saved': False, 'status': 'inactive'}
        self.payments[pid] = payment
        self.capture_mode[pid] = capture
        return copy.deepcopy(payment)

    def _payment_receipt(self, data, value):
        receipt = data.get('receipt')
        if receipt is None:
            if self.receipts_required:
                raise invalid('Receipt is missing or illegal', 'receipt')
            return None
        return validate_receipt(receipt, value, self.max_receipt_items)

    def _confirmation(self, confirmation, pid):
        if confirmation is None:
            return None
        if not isinstance(confirmation, dict) or (
                confirmation.get('type') not in CONFIRMATION_TYPES):
            raise invalid('Invalid confirmation type', 'confirmation.type')
        if confirmation['type'] == 'redirect' and not confirmation.get(
                'return_url'):
            raise invalid('Parameter return_url is missing',
                'confirmation.return_url')
        page = (f'{request.host_url}api-pages/v2/payment-confirm/epl'
            f'?orderId={pid}')
        result = {'type': confirmation['type']}
        if confirmation['type'] == 'redirect':
            result.update(return_url=confirmation['return_url'],
                confirmation_url=page)
        elif confirmation['type'] == 'embedded':
            result['confirmation_token'] = 'ct-' + pid
        elif confirmation['type'] in ('qr', 'mobile_application'):
            result['confirmation_data' if confirmation['type'] == 'qr'
                else 'confirmation_url'] = page
        return result

    def _payment(self, pid):
        payment = self.payments.get(pid)
        if payment is None:
            raise not_found('Payment', 'payment_id')
        return payment

    @route('/v3/payments/<pid>')
    @api()
    def _get_payment(self, pid):
        return copy.deepcopy(self._payment(pid))

    @route('/v3/payments')
    @api()
    def _list_payments(self):
        items = list(self.payments.values())[::-1]  # newest first
        if request.args.get('status'):
            items = [p for p in items if p['status'] == request.args['status']]
        if request.args.get('payment_method'):
            items = [p for p in items if (p.get('payment_method') or {}).get(
                    'type') == request.args['payment_method']]
        items = filter_created(items, request.args)
        items = filter_created(items, request.args, 'captured_at')
        return paginate(copy.deepcopy(items), request.args)

    @route('/v3/payments/<pid>/capture', methods=['POST'])
    @api(write=True)
    def _capture(self, data, pid):
        payment = self._payment(pid)
        if payment['status'] != 'waiting_for_capture':
            raise invalid(f"Payment is in {payment['status']} status; only a "
                'waiting_for_capture payment can be captured', 'payment_id')
        held = Decimal(payment['amount']['value'])
        value = held
        if data.get('amount') is not None:
            value, currency = parse_amount(data['amount'], 'amount')
            if currency != payment['amount']['currency'] or value > held:
                raise invalid('Capture amount exceeds the payment amount',
                    'amount.value')
        if data.get('receipt') is not None:
            self.payment_receipts[pid] = validate_receipt(data['receipt'],
                value, self.max_receipt_items)
            payment['receipt_registration'] = 'pending'
        elif pid in self.payment_receipts and value != held:
            raise invalid('Partial capture changes the basket: send the '
                'updated receipt', 'receipt')
        # a partial capture returns the rest to the buyer: the payment
        # amount becomes the captured amount
        payment['amount'] = money(value, payment['amount']['currency'])
        self._succeed(payment)
        return copy.deepcopy(payment)

    @route('/v3/payments/<pid>/cancel', methods=['POST'])
    @api(write=True)
    def _cancel(self, data, pid):
        payment = self._payment(pid)
        if payment['status'] != 'waiting_for_capture':
            raise invalid(f"Payment is in {payment['status']} status; only a "
                'waiting_for_capture payment can be canceled', 'payment_id')
        self._cancel_payment(payment, 'merchant', 'canceled_by_merchant')
        return copy.deepcopy(payment)

    def _hold(self, payment):
        payment.update(status='waiting_for_capture', paid=True,
            expires_at=iso(self.now() + self.capture_hold))
        self._notify('payment.waiting_for_capture', payment)

    def _succeed(self, payment):
        value = Decimal(payment['amount']['value'])
        payment.update(status='succeeded', paid=True, refundable=True,
            captured_at=iso(self.now()),
            income_amount=money(value * (1 - self.fee_rate),
                payment['amount']['currency']),
            refunded_amount=money(0, payment['amount']['currency']))
        payment.pop('expires_at', None)
        receipt = self.payment_receipts.pop(payment['id'], None)
        if receipt:
            self._new_receipt('payment', receipt, [{'type': 'cashless',
                    'amount': payment['amount']}], payment_id=payment['id'])
        self._notify('payment.succeeded', payment)

    def _cancel_payment(self, payment, party, reason):
        payment.update(status='canceled', refundable=False,
            cancellation_details={'party': party, 'reason': reason})
        payment['paid'] = False
        payment.pop('expires_at', None)
        if self.payment_receipts.pop(payment['id'], None):
            payment['receipt_registration'] = 'canceled'
        self._notify('payment.canceled', payment)

    def _pay(self, payment, method_type='bank_card'):
        "The buyer confirmed: hold or take the money"
        if payment['status'] != 'pending':
            raise ValueError(f"payment {payment['id']} is "
                f"{payment['status']}, not pending")
        payment['payment_method'] = self._payment_method(payment,
            method_type)
        if method_type == 'bank_card':
            payment['authorization_details'] = {
                'rrn': str(uuid.uuid4().int)[:12], 'auth_code': '000000',
                # three_d_secure as in the reference's field list; which
                # sub-fields a frictionless card payment shows is
                # unconfirmed
                'three_d_secure': {'applied': False,
                    'method_completed': False, 'challenge_completed': False}}
        if self.capture_mode.get(payment['id']):
            self._succeed(payment)
        else:
            self._hold(payment)

    def _payment_method(self, payment, method_type):
        method = {'type': method_type, 'id': payment['id'], 'saved': False,
            'status': 'inactive'}
        if method_type == 'bank_card':
            method.update(title='Bank card *4444', card={
                    'first6': '555555', 'last4': '4444',
                    'expiry_month': '07', 'expiry_year': '2030',
                    'card_type': 'MasterCard', 'issuer_country': 'RU',
                    'issuer_name': 'Sberbank'})
        return method

    # -- refunds -----------------------------------------------------------
    @route('/v3/refunds', methods=['POST'])
    @api(write=True)
    def _create_refund(self, data):
        pid = data.get('payment_id')
        if not pid:
            raise invalid('Parameter payment_id is missing', 'payment_id')
        if 'amount' not in data:
            raise invalid('Parameter amount is missing', 'amount')
        value, currency = parse_amount(data['amount'], 'amount')
        payment = self.payments.get(pid)
        if payment is None:
            raise invalid('Payment not found or forbidden', 'payment_id')
        if payment['status'] != 'succeeded' or not payment['refundable']:
            raise invalid(f"Payment is in {payment['status']} status and "
                "can't be refunded", 'payment_id')
        refunded = Decimal(payment['refunded_amount']['value'])
        available = Decimal(payment['amount']['value']) - refunded
        if currency != payment['amount']['currency'] or value > available:
            raise invalid(f'Refund amount exceeds the amount available for '
                f'refund ({available:.2f})', 'amount.value')
        receipt = None
        if data.get('receipt') is not None:
            receipt = validate_receipt(data['receipt'], value,
                self.max_receipt_items)
        elif refunded == 0 and value == Decimal(payment['amount']['value']):
            # "If you make a full refund, you don't need to transfer data
            # for the receipt": the payment's receipt is returned whole
            receipt = self._full_refund_receipt(pid)
        if receipt is None and self.receipts_required:
            raise invalid('Receipt is missing or illegal', 'receipt')
        description = data.get('description')
        if description is not None and (not isinstance(description, str)
                or len(description) > 250):
            raise invalid('Invalid description', 'description')
        refund = {'id': object_id('0015'), 'payment_id': pid,
            'status': 'succeeded', 'created_at': iso(self.now()),
            'amount': money(value, currency)}
        if description:
            refund['description'] = description
        if (payment.get('payment_method') or {}).get('type') == 'bank_card':
            # Refund.refund_authorization_details {rrn} (OpenAPI model);
            # that card refunds carry it at once is unconfirmed
            refund['refund_authorization_details'] = {
                'rrn': str(uuid.uuid4().int)[:12]}
        metadata = metadata_of(data)
        if metadata is not None:
            refund['metadata'] = metadata
        self.refunds[refund['id']] = refund
        payment['refunded_amount'] = money(refunded + value, currency)
        payment['refundable'] = refunded + value < Decimal(
            payment['amount']['value'])
        if receipt:
            refund['receipt_registration'] = 'pending'
            self._new_receipt('refund', receipt, [{'type': 'cashless',
                    'amount': refund['amount']}], refund_id=refund['id'],
                payment_id=pid)
        self._notify('refund.succeeded', refund)
        return copy.deepcopy(refund)

    def _full_refund_receipt(self, pid):
        "The receipt data of a full refund: the payment's own receipt"
        for receipt in self.receipts.values():
            if receipt['type'] == 'payment' and receipt.get(
                    'payment_id') == pid and receipt['status'] != 'canceled':
                return {'customer': receipt.get('_customer'),
                    'items': copy.deepcopy(receipt['items']),
                    'tax_system_code': receipt.get('tax_system_code'),
                    'extra': {}}
        return None

    @route('/v3/refunds/<rid>')
    @api()
    def _get_refund(self, rid):
        refund = self.refunds.get(rid)
        if refund is None:
            raise not_found('Refund', 'refund_id')
        return copy.deepcopy(refund)

    @route('/v3/refunds')
    @api()
    def _list_refunds(self):
        items = list(self.refunds.values())[::-1]  # newest first
        for field in ('payment_id', 'status'):
            if request.args.get(field):
                items = [r for r in items if r[field] == request.args[field]]
        items = filter_created(items, request.args)
        return paginate(copy.deepcopy(items), request.args)

    # -- receipts ----------------------------------------------------------
    @route('/v3/receipts', methods=['POST'])
    @api(write=True)
    def _create_receipt(self, data):
        "POST /v3/receipts: payment-first receipts and the second receipt"
        kind = data.get('type')
        if kind not in ('payment', 'refund'):
            raise invalid('Invalid receipt type', 'type')
        if data.get('send') is not True:
            raise invalid('Parameter send must be true', 'send')
        links = self._receipt_links(kind, data)
        customer = validate_customer(data, 'receipt')
        items, total = validate_items(data, 'receipt', self.max_receipt_items)
        items = [dict(item) for item in items]
        settlements = validate_settlements(data.get('settlements'), total)
        validate_tax_system(data, 'receipt')
        receipt = {'customer': customer, 'items': items,
            'tax_system_code': data.get('tax_system_code'),
            'extra': extra_receipt_fields(data)}
        return self._new_receipt(kind, receipt, settlements, **links)

    def _receipt_links(self, kind, data):
        if kind == 'payment':
            pid = data.get('payment_id')
            if not pid:
                raise invalid('Parameter payment_id is missing', 'payment_id')
            payment = self.payments.get(pid)
            if payment is None:
                raise invalid('Payment not found or forbidden', 'payment_id')
            if payment['status'] != 'succeeded':
                raise invalid(f"Payment is in {payment['status']} status; a "
                    'receipt needs a succeeded payment', 'payment_id')
            return {'payment_id': pid}
        rid = data.get('refund_id')
        if not rid:
            raise invalid('Parameter refund_id is missing', 'refund_id')
        if rid not in self.refunds:
            raise invalid('Refund not found or forbidden', 'refund_id')
        return {'refund_id': rid}

    def _new_receipt(self, kind, data, settlements, payment_id=None,
            refund_id=None):
        receipt = {'id': 'rt_' + str(uuid.uuid4()), 'type': kind}
        if payment_id:
            receipt['payment_id'] = payment_id
        if refund_id:
            receipt['refund_id'] = refund_id
        receipt.update(status='pending', items=data['items'],
            settlements=settlements)
        if data.get('tax_system_code') is not None:
            receipt['tax_system_code'] = data['tax_system_code']
        receipt.update(data.get('extra', {}))
        # the Receipt object has no created_at, but lists filter on it
        receipt['_created_at'] = iso(self.now())
        receipt['_customer'] = data.get('customer')
        self.receipts[receipt['id']] = receipt
        self.receipt_due[receipt['id']] = self.clock.monotonic() + self.receipt_delay
        return public(receipt)

    def _register_receipt(self, rid):
        "The cash register fiscalized the receipt: pending -> succeeded"
        receipt = self.receipts[rid]
        self.receipt_due.pop(rid, None)
        if receipt['status'] != 'pending':
            return
        number = len([r for r in self.receipts.values()
                if r['status'] == 'succeeded']) + 1
        receipt.update(status='succeeded', fiscal_document_number=str(number),
            fiscal_storage_number='9999078900005419',
            fiscal_attribute=str(int(hashlib.sha1(rid.encode()).hexdigest(),
                    16) % 10 ** 10),
            registered_at=iso(self.now()), fiscal_provider_id='sandbox-atol')
        owner = self.refunds.get(receipt.get('refund_id')) if (
            receipt['type'] == 'refund') else self.payments.get(
            receipt.get('payment_id'))
        if owner is not None and owner.get('receipt_registration') == (
                'pending'):
            owner['receipt_registration'] = 'succeeded'

    @route('/v3/receipts/<rid>')
    @api()
    def _get_receipt(self, rid):
        receipt = self.receipts.get(rid)
        if receipt is None:
            raise not_found('Receipt', 'receipt_id')
        return public(receipt)

    @route('/v3/receipts')
    @api()
    def _list_receipts(self):
        items = list(self.receipts.values())[::-1]  # newest first
        for field in ('payment_id', 'refund_id', 'status'):
            if request.args.get(field):
                items = [r for r in items
                    if r.get(field) == request.args[field]]
        items = filter_created(items, request.args, stored='_created_at')
        return paginate([public(r) for r in items], request.args)

    # -- notifications -----------------------------------------------------
    def _notify(self, event, obj):
        "To the profile's URL and to every webhook of the event (API v3)"
        urls = [self.notification_url] if self.notification_url else []
        urls += [w['url'] for w in self.webhooks_registered.values()
            if w['event'] == event and w['url'] not in urls]
        for url in urls:
            self.webhooks.send(url, {'type': 'notification',
                    'event': event, 'object': copy.deepcopy(obj)},
                event=event)

    # -- webhooks (OAuth partners: POST/GET/DELETE /v3/webhooks) -------------
    def _oauth(self, run, handler, **kwargs):
        """Webhooks are managed with the partner's OAuth token (Bearer), not
        the shop's Basic credentials (yookassa.md §5)"""
        auth = request.headers.get('Authorization', '')
        if auth != f'Bearer {self.oauth_token}':
            return json_response(error_body('invalid_credentials',
                    'Webhooks are managed with an OAuth token: '
                    'Authorization: Bearer <token>', 'Authorization'), 401)
        return run(handler, **kwargs)

    def _create_webhook(self, data):
        event, url = data.get('event'), data.get('url')
        if event not in WEBHOOK_EVENTS:
            raise invalid(f'Invalid event: {event}', 'event')
        if not isinstance(url, str) or not re.match(r'^https?://', url):
            raise invalid('Invalid url', 'url')
        for webhook in self.webhooks_registered.values():
            if webhook['event'] == event and webhook['url'] == url:
                return copy.deepcopy(webhook)
        webhook = {'id': f'wh-{uuid.uuid4()}', 'event': event, 'url': url}
        self.webhooks_registered[webhook['id']] = webhook
        return copy.deepcopy(webhook)

    def _list_webhooks(self):
        return {'type': 'list', 'items': copy.deepcopy(
                list(self.webhooks_registered.values()))}

    def _delete_webhook(self, data, wid):
        if self.webhooks_registered.pop(wid, None) is None:
            raise not_found('Webhook', 'webhook_id')
        return {}

    # -- buyer's payment page ----------------------------------------------
    @route('/api-pages/v2/payment-confirm/epl', methods=['GET', 'POST'])
    def _checkout(self):
        "The page behind confirmation_url: the buyer pays or gives up"
        pid = request.args.get('orderId', '')
        with self.lock:
            payment = self.payments.get(pid)
            if payment is None:
                return Response('Unknown payment', 404)
            if request.method == 'POST':
                if payment['status'] == 'pending':
                    if request.form.get('result') == 'canceled':
                        self._cancel_payment(payment, 'yoo_money',
                            'expired_on_confirmation')
                    else:
                        self._pay(payment, request.form.get('method',
                                'bank_card'))
                return_url = payment.get('confirmation', {}).get('return_url')
                return redirect(return_url) if return_url else Response(
                    f"Payment {pid}: {payment['status']}")
            amount = payment['amount']
        action = escape(f'?orderId={pid}')
        return Response(
            f'<html><body><h1>ЮKassa sandbox</h1>'
            f"<p>{escape(payment.get('description', ''))}: "
            f"{amount['value']} {amount['currency']}</p>"
            f'<form method="post" action="{action}">'
            '<button name="result" value="succeeded">Pay</button>'
            '<button name="result" value="canceled">Cancel</button>'
            '</form></body></html>', content_type='text/html; charset=utf-8')

    # -- control actions ---------------------------------------------------
    @control('configure')
    def configure(self, shop_id=None, secret_key=None, notification_url=None,
            receipts_required=None, max_receipt_items=None,
            idempotence_ttl=None, receipt_delay=None,
            capture_hold_seconds=None):
        "Set credentials, the notification URL and behaviour switches"
        with self.lock:
            for name, value in (('shop_id', shop_id),
                    ('secret_key', secret_key),
                    ('notification_url', notification_url),
                    ('receipts_required', receipts_required),
                    ('max_receipt_items', max_receipt_items),
                    ('idempotence_ttl', idempotence_ttl),
                    ('receipt_delay', receipt_delay)):
                if value is not None:
                    setattr(self, name, value)
            if capture_hold_seconds is not None:
                self.capture_hold = timedelta(seconds=capture_hold_seconds)
            return self.credentials()

    @control('credentials')
    def credentials(self):
        with self.lock:
            return {'shop_id': self.shop_id, 'secret_key': self.secret_key,
                'api_url': f'{self.base_url}/v3' if self.base_url else None,
                'notification_url': self.notification_url}

    @control('succeed_payment')
    def succeed_payment(self, payment_id, payment_method='bank_card'):
        """The buyer pays: pending -> succeeded (capture=true) or
        waiting_for_capture (capture=false), with its notification."""
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise KeyError(f'unknown payment {payment_id}')
            self._pay(payment, payment_method)
            return copy.deepcopy(payment)

    @control('fail_payment')
    def fail_payment(self, payment_id, reason='insufficient_funds',
            party=None):
        "The payment fails (pending or held) -> canceled with that reason"
        if reason not in CANCEL_REASONS:
            raise ValueError(f'unknown cancellation reason {reason}')
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise KeyError(f'unknown payment {payment_id}')
            if payment['status'] not in ('pending', 'waiting_for_capture'):
                raise ValueError(f"payment is {payment['status']}")
            party = party or ('merchant' if reason == 'canceled_by_merchant'
                else 'payment_network' if reason in NETWORK_REASONS
                else 'yoo_money')
            self._cancel_payment(payment, party, reason)
            return copy.deepcopy(payment)

    @control('register_receipts')
    def register_receipts(self):
        "Fiscalize every pending receipt now"
        with self.lock:
            for rid in list(self.receipt_due):
                self._register_receipt(rid)
            return {'receipts': len(self.receipts)}

    @control('lose_responses')
    def lose_responses(self, count=1):
        """Process the next count POSTs but answer 500, as when the network
        drops the response: exercises retries with the same key."""
        with self.lock:
            self.lost_responses = int(count)
            return {'lost_responses': self.lost_responses}

    @control('redeliver_notifications')
    def redeliver_notifications(self):
        """Re-send notifications never acknowledged with HTTP 200 (YooKassa
        keeps retrying for 24 h; the core delivers only once)."""
        acked, pending = set(), {}
        for delivery in list(self.webhooks.deliveries):
            key = json.dumps(delivery['payload'], sort_keys=True)
            if delivery['status'] == 200:
                acked.add(key)
            else:
                pending[key] = delivery
        resent = 0
        for key, delivery in pending.items():
            if key not in acked:
                self.webhooks.send(delivery['url'], delivery['payload'],
                    event=delivery['event'])
                resent += 1
        return {'resent': resent}
