"""Bitrix24 REST simulator (the mirrored CRM).

Follows docs/external/bitrix24.md: incoming-webhook and OAuth URL forms,
JSON and PHP-style form bodies, the ``result``/``time``/``total``/``next``
envelope, 50-row pages, ``batch``, the leaky-bucket rate limit and form-encoded
outgoing events.  The REST transport (:class:`BitrixRest`) is shared with the
1C-Bitrix site simulator, whose ``rest`` module is the same code.
"""
import re
import secrets
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

from flask import Response, jsonify, request

from .clock import Clock
from .core import Simulator, control, route
from .page import counts

PAGE_SIZE = 50
BATCH_LIMIT = 50
MSK = timezone(timedelta(hours=3))
OAUTH_SERVER = 'https://oauth.bitrix.info/rest/'


class RestError(Exception):
    "A REST error answer: {error, error_description} with an HTTP status"

    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self):
        return {'error': self.error, 'error_description': self.description}


def not_found():
    # CRM methods answer with an empty error code and a human text (§2.2)
    return RestError('', 'Not found')


def bad_id():
    return RestError('', 'ID is not defined or invalid.')


class ListResult:
    "A page of a list method: the envelope gets total and next from it"

    def __init__(self, items, total, next_=None, wrap=None):
        self.items = items
        self.total = total
        self.next = next_
        self.wrap = wrap

    @property
    def result(self):
        return {self.wrap: self.items} if self.wrap else self.items


# -- request decoding ----------------------------------------------------------

_KEY_PART = re.compile(r'\[([^\]]*)\]')


def php_key(key):
    "'fields[PHONE][0][VALUE]' -> ['fields', 'PHONE', '0', 'VALUE']"
    head = key.split('[', 1)[0]
    return [head] + _KEY_PART.findall(key[len(head):])


def parse_php_pairs(pairs):
    "Nest (key, value) pairs with PHP array keys the way PHP's $_POST does"
    result = {}
    for key, value in pairs:
        parts = php_key(key)
        node = result
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == '':
                # 'select[]' appends: PHP numbers such items 0, 1, 2...
                part = str(len(node))
            if last:
                node[part] = value
            else:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
    return result


def as_list(value):
    "A PHP array given either as a JSON list or as a numeric-key dict"
    if value is None or value == '':
        return []
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def as_dict(value):
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}


def truthy(value):
    return str(value).strip().lower() in {'1', 'true', 'y', 'yes', 'on'}


def request_params():
    "Query string merged with the JSON or form body (body wins)"
    params = parse_php_pairs(request.args.items(multi=True))
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            params.update(body)
    else:
        params.update(parse_php_pairs(request.form.items(multi=True)))
    return params


class Params:
    """Method parameters; top-level names are case-insensitive for the classic
    CRM methods, strict for the newer ones (e.g. crm.timeline.comment.add)."""

    def __init__(self, data, strict=False):
        self.data = data or {}
        self.strict = strict

    def get(self, name, default=None):
        if name in self.data:
            return self.data[name]
        if not self.strict:
            for key, value in self.data.items():
                if key.lower() == name.lower():
                    return value
        return default

    def fields(self, name='fields'):
        value = self.get(name)
        if not isinstance(value, dict):
            raise RestError('', f"Parameter '{name}' must be array.")
        return value

    def id(self, name='id'):
        value = self.get(name)
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise bad_id()
        if value <= 0:
            raise bad_id()
        return value

    def start(self):
        try:
            return int(self.get('start') or 0)
        except (TypeError, ValueError):
            return 0


# -- list helpers ---------------------------------------------------------------

_FILTER_OPS = ('!=%', '!@', '!%', '!=', '>=', '<=', '=%', '%=', '@', '!',
    '>', '<', '%', '=')


def split_filter_key(key):
    for op in _FILTER_OPS:
        if key.startswith(op):
            return op, key[len(op):]
    return '=', key


def _comparable(a, b):
    "Compare numerically when both sides look like numbers, else as text"
    try:
        return float(a), float(b)
    except (TypeError, ValueError):
        return ('' if a is None else str(a)), ('' if b is None else str(b))


def _match(op, actual, wanted):
    if op in ('@', '!@'):
        hit = any(_equal(actual, w) for w in as_list(wanted))
        return hit if op == '@' else not hit
    if op in ('%', '=%', '%=', '!%', '!=%'):
        needle = str(wanted).strip('%').lower()
        hit = needle in ('' if actual is None else str(actual).lower())
        return not hit if op.startswith('!') else hit
    if op in ('=', '!', '!='):
        if isinstance(wanted, (list, dict)):
            hit = any(_equal(actual, w) for w in as_list(wanted))
        else:
            hit = _equal(actual, wanted)
        return hit if op == '=' else not hit
    if actual is None or actual == '':
        return False
    a, w = _comparable(actual, wanted)
    return {'>': a > w, '>=': a >= w, '<': a < w, '<=': a <= w}[op]


def _equal(actual, wanted):
    if isinstance(actual, list):
        return any(_equal(a, wanted) for a in actual)
    a, w = _comparable(actual, wanted)
    return a == w


def apply_filter(rows, filter_, getter=None):
    "Bitrix filter with prefixes (=, !=, >, >=, <, <=, @, !@, %, !%)"
    getter = getter or (lambda row, field: row.get(field))
    conditions = [split_filter_key(k) + (v,) for k, v in
        as_dict(filter_).items()]
    return [row for row in rows
        if all(_match(op, getter(row, field), value)
            for op, field, value in conditions)]


def apply_order(rows, order, default='ID'):
    order = as_dict(order) or {default: 'ASC'}
    for field, direction in reversed(list(order.items())):
        rows = sorted(rows, key=lambda r: _sort_key(r.get(field)),
            reverse=str(direction).upper() == 'DESC')
    return rows


def _sort_key(value):
    try:
        return (0, float(value), '')
    except (TypeError, ValueError):
        return (1, 0, '' if value is None else str(value))


def paginate(rows, start, wrap=None):
    """One 50-row page; start=-1 skips the count (total 0, no next) as the
    docs recommend for large exports."""
    if start == -1:
        return ListResult(rows[:PAGE_SIZE], 0, wrap=wrap)
    start = max(start, 0)
    page = rows[start:start + PAGE_SIZE]
    more = start + PAGE_SIZE < len(rows)
    return ListResult(page, len(rows), start + PAGE_SIZE if more else None,
        wrap)


# -- rate limit -------------------------------------------------------------------

class LeakyBucket:
    """Per-portal request counter: +1 per HTTP request, drains ``rate`` per
    second; a request that would push it over ``burst`` is refused."""

    def __init__(self, rate=2.0, burst=50, enabled=True, clock=None):
        self.clock = clock or Clock()
        self.rate = rate
        self.burst = burst
        self.enabled = enabled
        self.level = 0.0
        self._last = self.clock.monotonic()
        self._lock = threading.Lock()

    def configure(self, enabled=None, rate=None, burst=None, reset=True):
        with self._lock:
            if enabled is not None:
                self.enabled = bool(enabled)
            if rate is not None:
                self.rate = float(rate)
            if burst is not None:
                self.burst = int(burst)
            if reset:
                self.level, self._last = 0.0, self.clock.monotonic()

    def hit(self):
        with self._lock:
            now = self.clock.monotonic()
            self.level = max(0.0, self.level - (now - self._last) * self.rate)
            self._last = now
            if not self.enabled:
                return True
            # refused requests do not fill the bucket (assumption, see notes)
            if self.level + 1 > self.burst:
                return False
            self.level += 1
            return True

    def as_dict(self):
        with self._lock:
            return {'enabled': self.enabled, 'rate': self.rate,
                'burst': self.burst, 'level': round(self.level, 3)}


# -- the REST transport -------------------------------------------------------------

def rest(name, strict=False):
    "Mark a method as the REST method ``name`` (lower case, like Bitrix)"
    def decorator(func):
        func._rest_name = name.lower()
        func._rest_strict = strict
        return func
    return decorator


class BitrixRest(Simulator):
    """Routes ``/rest/USER/CODE/METHOD[.json|.xml]`` and ``/rest/METHOD?auth=``
    to the methods marked with :func:`rest`, with envelope, errors, batch and
    rate limit."""
    rate_limit_default = True
    oauth_enabled = False

    def __init__(self, clock=None):
        clock = clock or Clock()
        # init_state (called by Simulator) configures the bucket
        self.bucket = LeakyBucket(enabled=self.rate_limit_default,
            clock=clock)
        self._methods = self._collect_methods()
        super().__init__(clock)

    def now_iso(self):
        "Portal time as Bitrix prints it: ISO 8601 with the offset"
        return self.clock.now(MSK).replace(microsecond=0).isoformat()

    def _collect_methods(self):
        return {name: getattr(self, attr)
            for attr, name in self._marked('_rest_name')}

    def init_rest_state(self):
        "Reset the incoming webhook (call from init_state)"
        self.webhook_user = 1
        self.webhook_code = secrets.token_hex(8)
        self.webhook_expires = None
        self.bucket.configure(enabled=self.rate_limit_default, rate=2,
            burst=50)

    @control('set_rate_limit')
    def set_rate_limit(self, enabled=None, rate=None, burst=None):
        "Configure the leaky bucket (2 req/s, burst 50; on for Bitrix24)"
        self.bucket.configure(enabled, rate, burst)
        return self.bucket.as_dict()

    def fault_response(self, kind, status, rule):
        if kind == 'rate_limit':
            error = RestError('QUERY_LIMIT_EXCEEDED', 'Too many requests',
                status or 503)
        else:
            error = RestError('INTERNAL_SERVER_ERROR', 'Internal server error',
                status or 500)
        return jsonify(error.body()), error.status

    # -- dispatch ----------------------------------------------------------------
    @route('/rest/<path:tail>', methods=['GET', 'POST'])
    def _rest_call(self, tail):
        started = self.clock.time()
        fmt = 'xml' if tail.endswith('.xml') else 'json'
        tail = re.sub(r'\.(json|xml)$', '', tail)
        try:
            params = request_params()
            context, method = self._authenticate(tail, params)
            if not self.bucket.hit():
                raise RestError('QUERY_LIMIT_EXCEEDED', 'Too many requests',
                    503)
            result = self.call_method(method, params, context)
        except RestError as exc:
            return self._render(exc.body(), fmt, exc.status)
        return self._render(self._envelope(result, started), fmt)

    def _authenticate(self, tail, params):
        parts = tail.split('/')
        if len(parts) == 3:
            user, code, method = parts
            if not (user == str(self.webhook_user)
                    and secrets.compare_digest(code, self.webhook_code)):
                raise RestError('NO_AUTH_FOUND', 'Wrong authorization data',
                    401)
            if self.webhook_expires and (
                    self.clock.time() > self.webhook_expires):
                raise RestError('NO_AUTH_FOUND', 'Wrong authorization data',
                    401)
            return {'type': 'webhook', 'user_id': self.webhook_user}, method
        if len(parts) == 1 and self.oauth_enabled:
            token = Params(params).get('auth')
            return self.oauth_context(token), parts[0]
        raise RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401)

    def oauth_context(self, token):
        raise RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401)

    def call_method(self, method, params, context):
        method = method.lower()
        if method == 'batch':
            return self._batch(Params(params), context)
        func = self._methods.get(method)
        if func is None:
            raise RestError('ERROR_METHOD_NOT_FOUND', 'Method not found!', 404)
        with self.lock:
            return func(Params(params, func._rest_strict), context)

    # -- envelope ------------------------------------------------------------------
    def time_block(self, started):
        finish = self.clock.time()
        return {'start': round(started, 5), 'finish': round(finish, 5),
            'duration': round(finish - started, 5),
            'processing': round(finish - started, 5),
            'date_start': datetime.fromtimestamp(started, MSK).replace(
                microsecond=0).isoformat(),
            'date_finish': datetime.fromtimestamp(finish, MSK).replace(
                microsecond=0).isoformat(),
            'operating_reset_at': int(started) + 600, 'operating': 0}

    def _envelope(self, result, started):
        if isinstance(result, ListResult):
            body = {'result': result.result}
            if result.next is not None:
                body['next'] = result.next
            body['total'] = result.total
        else:
            body = {'result': result}
        body['time'] = self.time_block(started)
        return body

    def _render(self, body, fmt, status=200):
        if fmt == 'xml':
            root = ET.Element('response')
            _to_xml(root, body)
            data = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
                root, encoding='utf-8', xml_declaration=False)
            return Response(data, status, content_type='text/xml; charset=utf-8')
        response = jsonify(body)
        response.status_code = status
        return response

    # -- batch -----------------------------------------------------------------------
    def _batch(self, params, context):
        commands = as_dict(params.get('cmd'))
        if len(commands) > BATCH_LIMIT:
            raise RestError('ERROR_BATCH_LENGTH_EXCEEDED',
                'Max batch length exceeded', 400)
        halt = truthy(params.get('halt', 0))
        out = {'result': {}, 'result_error': {}, 'result_total': {},
            'result_next': {}, 'result_time': {}}
        for key, command in commands.items():
            started = self.clock.time()
            try:
                result = self._batch_command(command, out['result'], context)
            except RestError as exc:
                out['result_error'][key] = exc.body()
                out['result_time'][key] = self.time_block(started)
                if halt:
                    break
                continue
            if isinstance(result, ListResult):
                out['result'][key] = result.result
                out['result_total'][key] = result.total
                if result.next is not None:
                    out['result_next'][key] = result.next
            else:
                out['result'][key] = result
            out['result_time'][key] = self.time_block(started)
        # PHP serialises an empty array as [] (§4)
        return {k: (v or []) for k, v in out.items()}

    def _batch_command(self, command, results, context):
        method, _, query = str(command).partition('?')
        if method.strip().lower() == 'batch':
            raise RestError('ERROR_BATCH_METHOD_NOT_ALLOWED',
                'Method is not allowed for batch usage', 405)
        params = parse_php_pairs(parse_qsl(query, keep_blank_values=True))
        params = _substitute(params, results)
        return self.call_method(method.strip(), params, context)


_REF = re.compile(r'\$result\[([^\]]*)\]((?:\[[^\]]*\])*)')


def _resolve(match, results):
    value = results.get(match.group(1))
    for part in _KEY_PART.findall(match.group(2)):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _substitute(value, results):
    "Replace $result[cmd][field] references by earlier commands' results"
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if not isinstance(value, str) or '$result[' not in value:
        return value
    whole = _REF.fullmatch(value)
    if whole:
        resolved = _resolve(whole, results)
        return '' if resolved is None else resolved
    return _REF.sub(lambda m: str(_resolve(m, results) or ''), value)


def _to_xml(parent, value):
    if isinstance(value, dict):
        for key, item in value.items():
            tag = str(key) if re.match(r'^[A-Za-z_][\w.-]*$', str(key)) \
                else f'item{key}'
            _to_xml(ET.SubElement(parent, tag), item)
    elif isinstance(value, list):
        for item in value:
            _to_xml(ET.SubElement(parent, 'item'), item)
    elif value is not None:
        parent.text = ('true' if value is True else 'false'
            if value is False else str(value))


# -- CRM data -------------------------------------------------------------------------

# (STATUS_ID, NAME, SORT, COLOR, SEMANTICS) of the seeded pipelines
DEFAULT_STAGES = [
    ('NEW', 'Новая', 10, '#39A8EF', None),
    ('PREPARATION', 'Подготовка документов', 20, '#2FC6F6', None),
    ('PREPAYMENT_INVOICE', 'Счёт на предоплату', 30, '#55D0E0', None),
    ('EXECUTING', 'В работе', 40, '#47E4C2', None),
    ('FINAL_INVOICE', 'Финальный счёт', 50, '#FFA900', None),
    ('WON', 'Сделка успешна', 60, '#7BD500', 'S'),
    ('LOSE', 'Сделка провалена', 70, '#FF5752', 'F'),
    ('APOLOGY', 'Анализ причины провала', 80, '#FF5752', 'F'),
    ]
SHOP_STAGES = [
    ('NEW', 'Новый заказ', 10, '#39A8EF', None),
    ('UC_PAYWAIT', 'Ожидает оплаты', 20, '#2FC6F6', None),
    ('UC_ASSEMBLY', 'Сборка', 30, '#55D0E0', None),
    ('UC_SHIPPED', 'Передан в доставку', 40, '#47E4C2', None),
    ('WON', 'Получен клиентом', 50, '#7BD500', 'S'),
    ('LOSE', 'Отменён', 60, '#FF5752', 'F'),
    ('UC_RETURN', 'Возврат', 70, '#FF5752', 'F'),
    ]
CATEGORIES = [
    {'id': 0, 'name': 'Общая', 'sort': 100, 'entityTypeId': 2,
        'isDefault': 'Y'},
    {'id': 1, 'name': 'Интернет-магазин', 'sort': 200, 'entityTypeId': 2,
        'isDefault': 'N', 'originId': '', 'originatorId': ''},
    ]
REFERENCES = {
    'SOURCE': [('CALL', 'Звонок'), ('EMAIL', 'Электронная почта'),
        ('WEB', 'Веб-сайт'), ('STORE', 'Интернет-магазин'),
        ('REPEAT_SALE', 'Повторные продажи'), ('OTHER', 'Другое')],
    'DEAL_TYPE': [('SALE', 'Продажа'), ('COMPLEX', 'Комплексная продажа'),
        ('GOODS', 'Продажа товара'), ('SERVICES', 'Продажа услуги'),
        ('SERVICE', 'Сервисное обслуживание')],
    'CONTACT_TYPE': [('CLIENT', 'Клиенты'), ('SUPPLIER', 'Поставщики'),
        ('PARTNER', 'Партнеры'), ('OTHER', 'Другое')],
    }

# name -> (type, required, read-only, immutable, multiple, title, statusType)
DEAL_FIELDS = {
    'ID': ('integer', False, True, False, False, 'ID', None),
    'TITLE': ('string', False, False, False, False, 'Название', None),
    'TYPE_ID': ('crm_status', False, False, False, False, 'Тип', 'DEAL_TYPE'),
    'CATEGORY_ID': ('crm_category', False, False, True, False, 'Воронка', None),
    'STAGE_ID': ('crm_status', False, False, False, False, 'Стадия сделки',
        'DEAL_STAGE'),
    'STAGE_SEMANTIC_ID': ('string', False, True, False, False,
        'Группа стадии', None),
    'IS_NEW': ('char', False, True, False, False, 'Новая сделка', None),
    'PROBABILITY': ('integer', False, False, False, False, 'Вероятность', None),
    'CURRENCY_ID': ('crm_currency', False, False, False, False, 'Валюта', None),
    'OPPORTUNITY': ('double', False, False, False, False, 'Сумма', None),
    'IS_MANUAL_OPPORTUNITY': ('char', False, False, False, False,
        'Ручной ввод суммы', None),
    'TAX_VALUE': ('double', False, False, False, False, 'Ставка налога', None),
    'COMPANY_ID': ('crm_company', False, False, False, False, 'Компания', None),
    'CONTACT_ID': ('crm_contact', False, False, False, False, 'Контакт', None),
    'CONTACT_IDS': ('crm_contact', False, False, False, True, 'Контакты', None),
    'BEGINDATE': ('date', False, False, False, False, 'Дата начала', None),
    'CLOSEDATE': ('date', False, False, False, False, 'Дата завершения', None),
    'OPENED': ('char', False, False, False, False, 'Доступна для всех', None),
    'CLOSED': ('char', False, False, False, False, 'Закрыта', None),
    'COMMENTS': ('string', False, False, False, False, 'Комментарий', None),
    'ASSIGNED_BY_ID': ('user', False, False, False, False, 'Ответственный',
        None),
    'CREATED_BY_ID': ('user', False, True, False, False, 'Кем создана', None),
    'MODIFY_BY_ID': ('user', False, True, False, False, 'Кем изменена', None),
    'DATE_CREATE': ('datetime', False, True, False, False, 'Дата создания',
        None),
    'DATE_MODIFY': ('datetime', False, True, False, False, 'Дата изменения',
        None),
    'MOVED_BY_ID': ('user', False, True, False, False, 'Кем передвинута', None),
    'MOVED_TIME': ('datetime', False, True, False, False,
        'Дата перемещения', None),
    'SOURCE_ID': ('crm_status', False, False, False, False, 'Источник',
        'SOURCE'),
    'SOURCE_DESCRIPTION': ('string', False, False, False, False,
        'Дополнительно об источнике', None),
    'ADDITIONAL_INFO': ('string', False, False, False, False,
        'Дополнительная информация', None),
    'LEAD_ID': ('crm_lead', False, True, False, False, 'Лид', None),
    'ORIGINATOR_ID': ('string', False, False, False, False,
        'Внешний источник', None),
    'ORIGIN_ID': ('string', False, False, False, False,
        'Идентификатор элемента во внешнем источнике', None),
    'UTM_SOURCE': ('string', False, False, False, False, 'Рекламная система',
        None),
    'UTM_MEDIUM': ('string', False, False, False, False, 'Тип трафика', None),
    'UTM_CAMPAIGN': ('string', False, False, False, False,
        'Обозначение рекламной кампании', None),
    'LAST_ACTIVITY_TIME': ('datetime', False, True, False, False,
        'Последняя активность', None),
    }
CONTACT_FIELDS = ('ID', 'NAME', 'SECOND_NAME', 'LAST_NAME', 'HONORIFIC',
    'BIRTHDATE', 'TYPE_ID', 'SOURCE_ID', 'SOURCE_DESCRIPTION', 'POST',
    'COMMENTS', 'OPENED', 'EXPORT', 'ASSIGNED_BY_ID', 'COMPANY_ID',
    'HAS_PHONE', 'HAS_EMAIL', 'HAS_IMOL', 'CREATED_BY_ID', 'MODIFY_BY_ID',
    'DATE_CREATE', 'DATE_MODIFY', 'ORIGINATOR_ID', 'ORIGIN_ID')
MULTIFIELDS = ('PHONE', 'EMAIL', 'WEB', 'IM', 'LINK')
READ_ONLY = {'ID', 'DATE_CREATE', 'DATE_MODIFY', 'CREATED_BY_ID',
    'MODIFY_BY_ID', 'STAGE_SEMANTIC_ID', 'IS_NEW', 'MOVED_BY_ID', 'MOVED_TIME',
    'LEAD_ID', 'LAST_ACTIVITY_TIME', 'HAS_PHONE', 'HAS_EMAIL', 'HAS_IMOL'}

ENTITY_EVENTS = {'deal': 'ONCRMDEAL', 'contact': 'ONCRMCONTACT'}
KNOWN_EVENTS = {'ONCRMDEALADD', 'ONCRMDEALUPDATE', 'ONCRMDEALDELETE',
    'ONCRMDEALMOVETOCATEGORY', 'ONCRMCONTACTADD', 'ONCRMCONTACTUPDATE',
    'ONCRMCONTACTDELETE', 'ONCRMTIMELINECOMMENTADD', 'ONAPPINSTALL',
    'ONAPPUNINSTALL'}


def to_bitrix(value):
    "Classic CRM objects carry strings (§2.1): 410 -> '410'"
    if value is None or isinstance(value, (str, list, dict)):
        return value
    if isinstance(value, bool):
        return 'Y' if value else 'N'
    return str(value)


def money(value):
    try:
        return '%.2f' % float(str(value).replace(',', '.'))
    except ValueError:
        raise RestError('', f'Invalid money value {value!r}')


def num(value, default=0.0):
    if value is None or value == '':
        return default
    try:
        return float(str(value).replace(',', '.'))
    except ValueError:
        raise RestError('ERROR_CORE', f'Invalid number {value!r}')


def compute_row(raw, row_id, deal_id, sort):
    """A product row as crm.deal.productrows.get returns it, derived from the
    fields sent to productrows.set (PRICE is the final unit price)."""
    row = {k.upper(): v for k, v in as_dict(raw).items()}
    dtype = int(num(row.get('DISCOUNT_TYPE_ID'), 2))
    has_rate = row.get('DISCOUNT_RATE') not in (None, '')
    has_sum = row.get('DISCOUNT_SUM') not in (None, '')
    explicit = row.get('DISCOUNT_TYPE_ID') not in (None, '')
    if explicit and dtype == 2 and not has_rate:
        raise RestError('ERROR_CORE', 'Discount rate is required.')
    if dtype == 1 and (explicit or has_rate) and not has_sum:
        raise RestError('ERROR_CORE', 'Discount sum is required.')
    rate, dsum = num(row.get('DISCOUNT_RATE')), num(row.get('DISCOUNT_SUM'))
    if dtype == 2 and rate >= 100 and not has_sum:
        raise RestError('ERROR_CORE', 'Discount sum is required for 100%.')
    tax = row.get('TAX_RATE')
    factor = 1 + num(tax) / 100 if tax not in (None, '') else 1
    if row.get('PRICE') not in (None, ''):
        exclusive = num(row['PRICE']) / factor
    elif row.get('PRICE_EXCLUSIVE') not in (None, ''):
        exclusive = num(row['PRICE_EXCLUSIVE'])
    else:
        netto = num(row.get('PRICE_NETTO'),
            num(row.get('PRICE_BRUTTO')) / factor)
        dsum = netto * rate / 100 if dtype == 2 else dsum
        exclusive = netto - dsum
    if dtype == 2:
        netto = exclusive / (1 - rate / 100) if rate < 100 else exclusive + dsum
        dsum = netto - exclusive
    else:
        netto = exclusive + dsum
        rate = dsum / netto * 100 if netto else 0
    price = exclusive * factor
    name = row.get('PRODUCT_NAME') or ''
    # the row's own ids are strings, the rest typed (crm-deal-productrows-get)
    return {
        'ID': None if row_id is None else str(row_id),
        'OWNER_ID': str(deal_id), 'OWNER_TYPE': 'D',
        'PRODUCT_ID': int(num(row.get('PRODUCT_ID'), 0)),
        'PRODUCT_NAME': name, 'ORIGINAL_PRODUCT_NAME': name,
        'PRODUCT_DESCRIPTION': row.get('PRODUCT_DESCRIPTION'),
        'PRICE': round(price, 2), 'PRICE_EXCLUSIVE': round(exclusive, 2),
        'PRICE_NETTO': round(netto, 2), 'PRICE_BRUTTO': round(netto * factor, 2),
        'PRICE_ACCOUNT': '%.2f' % price,
        'QUANTITY': num(row.get('QUANTITY'), 1.0),
        'DISCOUNT_TYPE_ID': dtype, 'DISCOUNT_RATE': round(rate, 2),
        'DISCOUNT_SUM': round(dsum, 2),
        'TAX_RATE': num(tax) if tax not in (None, '') else None,
        'TAX_INCLUDED': 'Y' if str(row.get('TAX_INCLUDED', 'N')).upper() == 'Y'
            else 'N',
        'CUSTOMIZED': 'Y',
        'MEASURE_CODE': int(num(row.get('MEASURE_CODE'), 796)),
        'MEASURE_NAME': row.get('MEASURE_NAME') or 'шт',
        'SORT': int(num(row.get('SORT'), sort)),
        'XML_ID': row.get('XML_ID'), 'TYPE': int(num(row.get('TYPE'), 1)),
        'STORE_ID': None, 'RESERVE_ID': None, 'DATE_RESERVE_END': None,
        'RESERVE_QUANTITY': None,
        }


class Bitrix24Simulator(BitrixRest):
    name = 'bitrix24'
    title = 'Битрикс24 REST (симулятор)'
    oauth_enabled = True

    @route('/oauth/token/')
    def _oauth_token_route(self):
        return self._oauth_token(request.args)

    def page_summary(self):
        return [('Портал', self.domain), ('Сделок', len(self.deals)),
            ('Сделки по стадиям', counts(d.get('STAGE_ID')
                    for d in self.deals.values()) or '—'),
            ('Контактов', len(self.contacts)),
            ('Подписок на события', len(self.bindings)),
            ('Входящий вебхук', f'/rest/{self.webhook_user}/'
                f'{self.webhook_code}/')]

    def init_state(self):
        self.init_rest_state()
        self.member_id = secrets.token_hex(16)
        self.domain = 'sandbox.bitrix24.ru'
        self.deals, self.contacts, self.rows = {}, {}, {}
        self.comments = {}
        self.statuses = self._seed_statuses()
        self.categories = [dict(c) for c in CATEGORIES]
        self.bindings = []          # event.bind and outgoing webhooks
        self.oauth_app = None             # the installed OAuth application
        self._ids = {k: 0 for k in ('deal', 'contact', 'row', 'mf', 'comment',
            'binding', 'status')}
        self.users = {1: 'Администратор', 7: 'Ирина Соколова (менеджер)'}

    def _next(self, kind):
        self._ids[kind] += 1
        return self._ids[kind]

    # -- seed -----------------------------------------------------------------------
    def _seed_statuses(self):
        rows = []
        pipelines = [(0, 'DEAL_STAGE', '', DEFAULT_STAGES),
            (1, 'DEAL_STAGE_1', 'C1:', SHOP_STAGES)]
        for category, entity, prefix, stages in pipelines:
            for status_id, name, sort, color, semantics in stages:
                rows.append({'ENTITY_ID': entity, 'STATUS_ID': prefix + status_id,
                    'NAME': name, 'NAME_INIT': name, 'SORT': str(sort),
                    'SYSTEM': 'Y' if not status_id.startswith('UC_') else 'N',
                    'CATEGORY_ID': str(category) if category else None,
                    'COLOR': color, 'SEMANTICS': semantics,
                    'EXTRA': {'SEMANTICS': {'S': 'success', 'F': 'failure'}
                        .get(semantics, 'process'), 'COLOR': color}})
        for entity, items in REFERENCES.items():
            for i, (status_id, name) in enumerate(items, 1):
                rows.append({'ENTITY_ID': entity, 'STATUS_ID': status_id,
                    'NAME': name, 'NAME_INIT': name, 'SORT': str(i * 10),
                    'SYSTEM': 'Y', 'CATEGORY_ID': None, 'COLOR': None,
                    'SEMANTICS': None})
        for i, row in enumerate(rows, 1):
            row['ID'] = str(i)
        return rows

    def _stages(self, category):
        entity = 'DEAL_STAGE' if not category else f'DEAL_STAGE_{category}'
        return sorted((s for s in self.statuses if s['ENTITY_ID'] == entity),
            key=lambda s: int(s['SORT']))

    # -- events ---------------------------------------------------------------------
    def _emit(self, event, fields, by_user=True):
        "POST the event to every bound handler (form-encoded, no retries)"
        for binding in list(self.bindings):
            if binding['event'] != event:
                continue
            payload = [('event', event),
                ('event_handler_id', str(binding['id']))]
            payload += [(f'data[FIELDS][{k}]', str(v)) for k, v in
                fields.items()]
            payload.append(('ts', str(int(self.clock.time()))))
            payload += self._event_auth(binding, by_user)
            self.webhooks.send(binding['handler'], payload, form=True,
                event=event)

    def _event_auth(self, binding, by_user):
        """auth[...] of a delivery: OAuth tokens only for an app's handler and
        only when a user caused the change; outgoing webhooks never get them"""
        auth = {}
        if binding['source'] == 'app' and by_user and self.oauth_app:
            auth = {'access_token': self.oauth_app['access_token'],
                'expires': str(int(self.oauth_app['expires'])),
                'expires_in': '3600', 'scope': 'crm'}
        auth.update(domain=self.domain, server_endpoint=OAUTH_SERVER)
        if 'access_token' in auth:
            auth['status'] = 'L'
        auth.update(client_endpoint=f'{self.base_url}/rest/',
            member_id=self.member_id,
            application_token=binding['application_token'])
        return [(f'auth[{k}]', v) for k, v in auth.items()]

    def _changed(self, entity, action, record_id, by_user=True):
        self._emit(f'{ENTITY_EVENTS[entity]}{action}', {'ID': record_id},
            by_user)

    # -- deals ----------------------------------------------------------------------
    def _deal(self, deal_id):
        deal = self.deals.get(deal_id)
        if deal is None:
            raise not_found()
        return deal

    def _stage_info(self, category, stage_id):
        for stage in self._stages(category):
            if stage['STATUS_ID'] == stage_id:
                return stage
        raise RestError('', f'Stage "{stage_id}" not found in pipeline '
            f'{category}.')

    def _write_deal(self, deal, fields, user_id, creating=False):
        fields = {k: v for k, v in fields.items() if k == k.upper()}
        category = int(deal.get('CATEGORY_ID') or 0)
        if creating and fields.get('CATEGORY_ID') not in (None, ''):
            category = int(fields['CATEGORY_ID'])
            if category not in {c['id'] for c in self.categories}:
                raise RestError('', f'Category {category} not found.')
        stage_id = fields.get('STAGE_ID') or deal.get('STAGE_ID') \
            or self._stages(category)[0]['STATUS_ID']
        stage = self._stage_info(category, stage_id)
        for key, value in fields.items():
            if key in READ_ONLY or key == 'CATEGORY_ID':
                continue  # CATEGORY_ID is immutable via crm.deal.update
            if key not in DEAL_FIELDS and not key.startswith('UF_CRM_'):
                continue  # unknown fields are ignored, like Bitrix does
            if key == 'CONTACT_IDS':
                deal['CONTACT_IDS'] = [int(v) for v in as_list(value)]
                deal['CONTACT_ID'] = str(deal['CONTACT_IDS'][0]) \
                    if deal['CONTACT_IDS'] else None
            elif key in ('OPPORTUNITY', 'TAX_VALUE'):
                deal[key] = money(value)
            else:
                deal[key] = to_bitrix(value)
        now = self.now_iso()
        if stage_id != deal.get('STAGE_ID'):
            deal['MOVED_BY_ID'], deal['MOVED_TIME'] = str(user_id), now
        deal['CATEGORY_ID'] = str(category)
        deal['STAGE_ID'] = stage_id
        deal['STAGE_SEMANTIC_ID'] = stage['SEMANTICS'] or 'P'
        deal['CLOSED'] = 'Y' if stage['SEMANTICS'] else 'N'
        deal['MODIFY_BY_ID'], deal['DATE_MODIFY'] = str(user_id), now

    def _new_deal(self, fields, user_id):
        deal_id = self._next('deal')
        now = self.now_iso()
        deal = {'ID': str(deal_id), 'TITLE': f'Сделка #{deal_id}',
            'TYPE_ID': 'SALE', 'CATEGORY_ID': '0', 'STAGE_ID': None,
            'STAGE_SEMANTIC_ID': None, 'IS_NEW': 'Y', 'PROBABILITY': None,
            'CURRENCY_ID': 'RUB', 'OPPORTUNITY': '0.00',
            'IS_MANUAL_OPPORTUNITY': 'N', 'TAX_VALUE': '0.00',
            'COMPANY_ID': '0', 'CONTACT_ID': None, 'CONTACT_IDS': [],
            'BEGINDATE': now, 'CLOSEDATE': None, 'OPENED': 'Y',
            'COMMENTS': None, 'ASSIGNED_BY_ID': str(user_id),
            'CREATED_BY_ID': str(user_id), 'MODIFY_BY_ID': None,
            'DATE_CREATE': now, 'DATE_MODIFY': None, 'MOVED_BY_ID': None,
            'MOVED_TIME': None, 'CLOSED': 'N',
            'SOURCE_ID': None, 'SOURCE_DESCRIPTION': None,
            'ADDITIONAL_INFO': None, 'LEAD_ID': None, 'ORIGINATOR_ID': None,
            'ORIGIN_ID': None, 'UTM_SOURCE': None, 'UTM_MEDIUM': None,
            'UTM_CAMPAIGN': None, 'LAST_ACTIVITY_TIME': now,
            'LAST_ACTIVITY_BY': str(user_id)}
        self._write_deal(deal, fields, user_id, creating=True)
        self.deals[deal_id] = deal
        self.rows[deal_id] = []
        return deal_id

    def update_deal(self, deal_id, fields, user_id, by_user=True):
        """Apply an edit; fires ONCRMDEALUPDATE, or ONCRMDEALMOVETOCATEGORY
        when the pipeline changes (only a user or crm.item.update can)."""
        deal = self._deal(deal_id)
        fields = dict(fields)
        category = fields.pop('CATEGORY_ID', None)
        if category not in (None, '') and int(category) != int(deal['CATEGORY_ID']):
            category = int(category)
            stage = fields.pop('STAGE_ID', None) or \
                self._stages(category)[0]['STATUS_ID']
            self._stage_info(category, stage)
            deal['CATEGORY_ID'], deal['STAGE_ID'] = str(category), stage
            self._write_deal(deal, fields, user_id)
            self._emit('ONCRMDEALMOVETOCATEGORY', {'ID': deal_id,
                'CATEGORY_ID': category, 'STAGE_ID': stage}, by_user)
            return
        self._write_deal(deal, fields, user_id)
        deal['IS_NEW'] = 'N'
        self._changed('deal', 'UPDATE', deal_id, by_user)

    def _render_deal(self, deal, select=None):
        out = {k: v for k, v in deal.items() if k != 'CONTACT_IDS'}
        if select:
            wanted = set(select) | {'ID'}
            if '*' not in wanted:
                out = {k: v for k, v in out.items() if k in wanted
                    or ('UF_*' in wanted and k.startswith('UF_'))}
            elif 'UF_*' not in wanted:
                out = {k: v for k, v in out.items() if not k.startswith('UF_')}
        return out

    @rest('crm.deal.fields')
    def deal_fields(self, p, ctx):
        out = {}
        for name, (type_, req, ro, imm, mult, title, status) in DEAL_FIELDS.items():
            out[name] = {'type': type_, 'isRequired': req, 'isReadOnly': ro,
                'isImmutable': imm, 'isMultiple': mult, 'isDynamic': False,
                'title': title}
            if status:
                out[name]['statusType'] = status
        return out

    @rest('crm.deal.add')
    def deal_add(self, p, ctx):
        deal_id = self._new_deal(p.fields(), ctx['user_id'])
        self._changed('deal', 'ADD', deal_id)
        return deal_id

    @rest('crm.deal.update')
    def deal_update(self, p, ctx):
        deal_id = p.id()
        self.update_deal(deal_id, {k: v for k, v in p.fields().items()
            if k != 'CATEGORY_ID'}, ctx['user_id'])
        return True

    @rest('crm.deal.get')
    def deal_get(self, p, ctx):
        return self._render_deal(self._deal(p.id()))

    @rest('crm.deal.list')
    def deal_list(self, p, ctx):
        rows = apply_filter(self.deals.values(), p.get('filter'))
        rows = apply_order(rows, p.get('order'))
        select = [str(s) for s in as_list(p.get('select'))] or ['*']
        page = paginate(rows, p.start())
        page.items = [self._render_deal(d, select) for d in page.items]
        return page

    @rest('crm.deal.delete')
    def deal_delete(self, p, ctx):
        deal_id = p.id()
        self._deal(deal_id)
        del self.deals[deal_id]
        self.rows.pop(deal_id, None)
        self._changed('deal', 'DELETE', deal_id)
        return True

    @rest('crm.deal.productrows.set')
    def productrows_set(self, p, ctx):
        deal_id = p.id()
        deal = self._deal(deal_id)
        rows = [compute_row(raw, None, deal_id, (i + 1) * 10)
            for i, raw in enumerate(as_list(p.get('rows')))]
        for row in rows:
            row['ID'] = str(self._next('row'))
        self.rows[deal_id] = rows  # replaces all rows (§6.2)
        if deal['IS_MANUAL_OPPORTUNITY'] != 'Y':
            deal['OPPORTUNITY'] = money(sum(r['PRICE'] * r['QUANTITY']
                for r in rows))
        deal['DATE_MODIFY'] = self.now_iso()
        deal['MODIFY_BY_ID'] = str(ctx['user_id'])
        self._changed('deal', 'UPDATE', deal_id)
        return True

    @rest('crm.deal.productrows.get')
    def productrows_get(self, p, ctx):
        deal_id = p.id()
        self._deal(deal_id)
        return [dict(r) for r in self.rows.get(deal_id, [])]

    @rest('crm.deal.contact.items.get')
    def deal_contacts(self, p, ctx):
        "The deal's contacts (CONTACT_IDS is not in crm.deal.get/list)"
        deal = self._deal(p.id())
        return [{'CONTACT_ID': cid, 'SORT': (i + 1) * 10, 'ROLE_ID': 0,
            'IS_PRIMARY': 'Y' if i == 0 else 'N'}
            for i, cid in enumerate(deal['CONTACT_IDS'])]

    @rest('crm.category.list')
    def category_list(self, p, ctx):
        if str(p.get('entityTypeId', '')) != '2':
            raise RestError('NOT_FOUND', 'Тип сущности не найден')
        return ListResult([dict(c) for c in self.categories],
            len(self.categories), wrap='categories')

    @rest('crm.status.list')
    def status_list(self, p, ctx):
        rows = apply_filter(self.statuses, p.get('filter'))
        rows = apply_order(rows, p.get('order') or {'SORT': 'ASC'})
        # a list method: the envelope carries total (one page holds all)
        return ListResult([dict(r) for r in rows], len(rows))

    @rest('crm.status.add')
    def status_add(self, p, ctx):
        fields = {k.upper(): v for k, v in p.fields().items()}
        entity, status_id = fields.get('ENTITY_ID'), fields.get('STATUS_ID')
        if not entity or not status_id or not fields.get('NAME'):
            raise RestError('', 'Required fields: ENTITY_ID, STATUS_ID, NAME.')
        if any(s['ENTITY_ID'] == entity and s['STATUS_ID'] == status_id
                for s in self.statuses):
            raise RestError('', f'Status "{status_id}" already exists.')
        match = re.fullmatch(r'DEAL_STAGE_(\d+)', entity)
        category = match.group(1) if match else None
        semantics = as_dict(fields.get('EXTRA')).get('SEMANTICS') or \
            fields.get('SEMANTICS')
        semantics = {'success': 'S', 'failure': 'F', 'S': 'S', 'F': 'F'}.get(
            semantics)
        color = fields.get('COLOR') or '#ACE9FB'
        self._ids['status'] = max(self._ids['status'],
            max(int(s['ID']) for s in self.statuses)) + 1
        row = {'ID': str(self._ids['status']), 'ENTITY_ID': entity,
            'STATUS_ID': str(status_id), 'NAME': str(fields['NAME']),
            'NAME_INIT': '', 'SORT': str(int(num(fields.get('SORT'), 10))),
            'SYSTEM': 'N', 'CATEGORY_ID': category, 'COLOR': color,
            'SEMANTICS': semantics, 'EXTRA': {'SEMANTICS': {'S': 'success',
                'F': 'failure'}.get(semantics, 'process'), 'COLOR': color}}
        self.statuses.append(row)
        return int(row['ID'])

    @rest('crm.status.update')
    def status_update(self, p, ctx):
        status_id = str(p.id())
        row = next((s for s in self.statuses if s['ID'] == status_id), None)
        if row is None:
            raise not_found()
        for key, value in p.fields().items():
            key = key.upper()
            if key in ('NAME', 'SORT', 'COLOR'):
                row[key] = str(value)
        return True

    @rest('crm.category.add')
    def category_add(self, p, ctx):
        "A new deal pipeline, seeded with the default stages (C<id>:…)"
        if str(p.get('entityTypeId', '')) != '2':
            raise RestError('NOT_FOUND', 'Тип сущности не найден')
        fields = as_dict(p.get('fields'))
        if not fields.get('name'):
            raise RestError('', 'Name is required.')
        category_id = max(c['id'] for c in self.categories) + 1
        category = {'id': category_id, 'name': str(fields['name']),
            'sort': int(num(fields.get('sort'), 500)), 'entityTypeId': 2,
            'isDefault': 'N', 'originId': '', 'originatorId': ''}
        self.categories.append(category)
        for status_id, name, sort, color, semantics in DEFAULT_STAGES:
            row = {'ID': str(len(self.statuses) + 1),
                'ENTITY_ID': f'DEAL_STAGE_{category_id}',
                'STATUS_ID': f'C{category_id}:{status_id}', 'NAME': name,
                'NAME_INIT': name, 'SORT': str(sort), 'SYSTEM': 'Y',
                'CATEGORY_ID': str(category_id), 'COLOR': color,
                'SEMANTICS': semantics, 'EXTRA': {'SEMANTICS': {'S': 'success',
                    'F': 'failure'}.get(semantics, 'process'), 'COLOR': color}}
            self.statuses.append(row)
        return {'category': dict(category)}

    # -- contacts -------------------------------------------------------------------
    def _contact(self, contact_id):
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise not_found()
        return contact

    def _write_multifield(self, contact, type_id, items, appending):
        "Items with ID modify/delete that value, items without ID are added"
        values = contact.setdefault(type_id, [])
        for item in as_list(items):
            item = {k.upper(): v for k, v in as_dict(item).items()}
            if item.get('ID') not in (None, '') and appending:
                target = next((v for v in values
                    if v['ID'] == str(item['ID'])), None)
                if target is None:
                    continue
                if item.get('DELETE') == 'Y' or not item.get('VALUE'):
                    values.remove(target)
                else:
                    target['VALUE'] = str(item['VALUE'])
                    target['VALUE_TYPE'] = item.get('VALUE_TYPE',
                        target['VALUE_TYPE'])
            elif item.get('VALUE'):
                values.append({'ID': str(self._next('mf')),
                    'VALUE_TYPE': item.get('VALUE_TYPE') or 'WORK',
                    'VALUE': str(item['VALUE']), 'TYPE_ID': type_id})
        contact['HAS_' + type_id] = 'Y' if values else 'N'

    def _write_contact(self, contact, fields, user_id, appending):
        for key, value in fields.items():
            if key in MULTIFIELDS:
                self._write_multifield(contact, key, value, appending)
            elif key in CONTACT_FIELDS and key not in READ_ONLY \
                    or key.startswith('UF_CRM_'):
                contact[key] = to_bitrix(value)
        contact['MODIFY_BY_ID'] = str(user_id)
        contact['DATE_MODIFY'] = self.now_iso()

    def _new_contact(self, fields, user_id):
        contact_id = self._next('contact')
        contact = {k: None for k in CONTACT_FIELDS}
        contact.update({'ID': str(contact_id), 'TYPE_ID': 'CLIENT',
            'OPENED': 'Y', 'EXPORT': 'Y', 'HAS_PHONE': 'N', 'HAS_EMAIL': 'N',
            'HAS_IMOL': 'N', 'ASSIGNED_BY_ID': str(user_id),
            'CREATED_BY_ID': str(user_id), 'DATE_CREATE': self.now_iso()})
        self._write_contact(contact, fields, user_id, appending=False)
        self.contacts[contact_id] = contact
        return contact_id

    def _render_contact(self, contact, select=None):
        if not select:
            return {k: (list(map(dict, v)) if isinstance(v, list) else v)
                for k, v in contact.items()}
        wanted = set(select) | {'ID'}
        # '*' gives the standard fields; multifields must be named (§2.3)
        return {k: (list(map(dict, v)) if isinstance(v, list) else v)
            for k, v in contact.items()
            if k in wanted or ('*' in wanted and k in CONTACT_FIELDS)
            or ('UF_*' in wanted and k.startswith('UF_'))}

    def _contact_value(self, contact, field):
        if field in MULTIFIELDS:
            return [v['VALUE'] for v in contact.get(field, [])]
        return contact.get(field)

    @rest('crm.contact.add')
    def contact_add(self, p, ctx):
        contact_id = self._new_contact(p.fields(), ctx['user_id'])
        self._changed('contact', 'ADD', contact_id)
        return contact_id

    @rest('crm.contact.update')
    def contact_update(self, p, ctx):
        contact_id = p.id()
        self._write_contact(self._contact(contact_id), p.fields(),
            ctx['user_id'], appending=True)
        self._changed('contact', 'UPDATE', contact_id)
        return True

    @rest('crm.contact.get')
    def contact_get(self, p, ctx):
        return self._render_contact(self._contact(p.id()))

    @rest('crm.contact.list')
    def contact_list(self, p, ctx):
        rows = apply_filter(self.contacts.values(), p.get('filter'),
            self._contact_value)
        rows = apply_order(rows, p.get('order'))
        select = [str(s) for s in as_list(p.get('select'))] or ['*']
        page = paginate(rows, p.start())
        page.items = [self._render_contact(c, select) for c in page.items]
        return page

    @rest('crm.contact.delete')
    def contact_delete(self, p, ctx):
        contact_id = p.id()
        self._contact(contact_id)
        del self.contacts[contact_id]
        self._changed('contact', 'DELETE', contact_id)
        return True

    @rest('crm.duplicate.findbycomm')
    def duplicate_find(self, p, ctx):
        kind = str(p.get('type', '')).upper()
        values = {str(v) for v in as_list(p.get('values'))}
        if kind not in ('PHONE', 'EMAIL') or not values:
            raise RestError('', 'Parameter "type" or "values" is invalid.')
        ids = [int(c['ID']) for c in self.contacts.values()
            if values & set(self._contact_value(c, kind))]
        return {'CONTACT': ids} if ids else []

    # -- timeline -------------------------------------------------------------------
    @rest('crm.timeline.comment.add', strict=True)
    def comment_add(self, p, ctx):
        # since crm 23.100.0 only lowercase 'fields' is accepted (§1.2)
        fields = p.fields()
        entity_type = str(fields.get('ENTITY_TYPE', '')).lower()
        entity_id = int(num(fields.get('ENTITY_ID'), 0))
        store = {'deal': self.deals, 'contact': self.contacts}.get(entity_type)
        if store is None or entity_id not in store:
            raise RestError('NOT_FOUND', 'Entity not found.')
        if not fields.get('COMMENT'):
            raise RestError('', 'Comment is empty.')
        comment_id = self._next('comment')
        self.comments[comment_id] = {'ID': str(comment_id),
            'ENTITY_ID': entity_id, 'ENTITY_TYPE': entity_type,
            'CREATED': self.now_iso(), 'COMMENT': str(fields['COMMENT']),
            'AUTHOR_ID': str(ctx['user_id'])}
        return comment_id

    @rest('crm.timeline.comment.list')
    def comment_list(self, p, ctx):
        rows = apply_filter(self.comments.values(), p.get('filter'))
        return paginate(apply_order(rows, p.get('order')), p.start())

    # -- events ---------------------------------------------------------------------
    def _require_app(self, ctx):
        if ctx['type'] != 'app':
            raise RestError('WRONG_AUTH_TYPE',
                'Current authorization type is denied for this method', 403)

    @rest('event.bind')
    def event_bind(self, p, ctx):
        self._require_app(ctx)
        event = str(p.get('event', '')).upper()
        handler = p.get('handler')
        if event not in KNOWN_EVENTS:
            raise RestError('ERROR_EVENT_NOT_FOUND', 'Event not found')
        if not handler:
            raise RestError('ERROR_ARGUMENT', 'Handler is not defined')
        if any(b['event'] == event and b['handler'] == handler
                for b in self.bindings):
            raise RestError('ERROR_CORE', 'Handler already binded')
        self.bindings.append({'id': self._next('binding'), 'event': event,
            'handler': handler, 'auth_type': str(p.get('auth_type', 0)),
            'offline': 1 if p.get('event_type') == 'offline' else 0,
            'source': 'app',
            'application_token': self.oauth_app['application_token']})
        return True

    @rest('event.get')
    def event_get(self, p, ctx):
        self._require_app(ctx)
        return [{'event': b['event'], 'handler': b['handler'],
            'auth_type': b['auth_type'], 'offline': b['offline']}
            for b in self.bindings if b['source'] == 'app']

    @rest('event.unbind')
    def event_unbind(self, p, ctx):
        self._require_app(ctx)
        event = str(p.get('event', '')).upper()
        handler = p.get('handler')
        keep = [b for b in self.bindings if not (b['source'] == 'app'
            and b['event'] == event and (not handler or b['handler'] == handler))]
        count = len(self.bindings) - len(keep)
        self.bindings = keep
        return {'count': count}

    # -- OAuth (application context) -----------------------------------------------
    def oauth_context(self, token):
        app = self.oauth_app
        if not app or not token or token != app['access_token']:
            raise RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401)
        if self.clock.time() >= app['expires']:
            raise RestError('expired_token',
                'The access token provided has expired', 401)
        return {'type': 'app', 'user_id': 1}

    def _issue_tokens(self):
        self.oauth_app.update(access_token=secrets.token_hex(35),
            refresh_token=secrets.token_hex(35),
            expires=self.clock.time() + 3600)

    def _oauth_token(self, args):
        app = self.oauth_app
        if args.get('grant_type') != 'refresh_token':
            return jsonify({'error': 'invalid_request',
                'error_description': 'Unsupported grant_type'}), 400
        if not app or args.get('client_id') != app['client_id'] \
                or args.get('client_secret') != app['client_secret']:
            return jsonify({'error': 'invalid_client',
                'error_description': 'Invalid client'}), 401
        with self.lock:
            if args.get('refresh_token') != app['refresh_token']:
                return jsonify({'error': 'invalid_grant',
                    'error_description': 'Invalid refresh token'}), 400
            self._issue_tokens()
            return jsonify(self._token_answer())

    def _token_answer(self):
        app = self.oauth_app
        return {'access_token': app['access_token'],
            'expires': int(app['expires']), 'expires_in': 3600,
            'scope': 'crm,user', 'domain': 'oauth.bitrix.info',
            'server_endpoint': OAUTH_SERVER,
            'client_endpoint': f'{self.base_url}/rest/',
            'member_id': self.member_id, 'user_id': 1, 'status': 'L',
            'refresh_token': app['refresh_token']}

    # -- control actions ------------------------------------------------------------
    @control('webhook')
    def webhook(self, user_id=None, code=None, expires_in=None):
        "Return (or set) the valid incoming webhook"
        with self.lock:
            if user_id is not None:
                self.webhook_user = int(user_id)
            if code is not None:
                self.webhook_code = str(code)
            if expires_in is not None:
                self.webhook_expires = self.clock.time() + float(expires_in)
            url = f'{self.base_url}/rest/{self.webhook_user}/{self.webhook_code}/'
            return {'user_id': self.webhook_user, 'code': self.webhook_code,
                'url': url}

    @control('install_app')
    def install_app(self):
        "Install a local OAuth application; returns its tokens"
        with self.lock:
            self.oauth_app = {'client_id': 'local.' + secrets.token_hex(7),
                'client_secret': secrets.token_urlsafe(30),
                'application_token': secrets.token_hex(16)}
            self._issue_tokens()
            return {**self._token_answer(), 'client_id': self.oauth_app['client_id'],
                'client_secret': self.oauth_app['client_secret'],
                'application_token': self.oauth_app['application_token']}

    @control('expire_token')
    def expire_token(self):
        "Make the app's access token expire now (next call: expired_token)"
        with self.lock:
            if self.oauth_app:
                self.oauth_app['expires'] = self.clock.time() - 1
        return {}

    @control('outgoing_webhook')
    def outgoing_webhook(self, handler, events):
        "Create an outgoing webhook in the UI: handler URL + events"
        with self.lock:
            token = secrets.token_hex(16)
            for event in as_list(events):
                self.bindings.append({'id': self._next('binding'),
                    'event': str(event).upper(), 'handler': handler,
                    'auth_type': '0', 'offline': 0, 'source': 'webhook',
                    'application_token': token})
            return {'application_token': token, 'member_id': self.member_id,
                'domain': self.domain}

    @control('user_edit_deal')
    def user_edit_deal(self, id, fields, user_id=7, automation=False):
        """A Bitrix24 user (or, with automation, a robot) edits a deal in the
        UI: any fields incl. STAGE_ID and CATEGORY_ID; fires the events."""
        with self.lock:
            self.update_deal(int(id), fields, user_id, by_user=not automation)
            return self._render_deal(self.deals[int(id)])

    @control('user_edit_rows')
    def user_edit_rows(self, id, rows, user_id=7):
        """A Bitrix24 user saves the deal's product rows in its card (the
        whole list, like productrows.set); fires ONCRMDEALUPDATE"""
        with self.lock:
            deal_id = int(id)
            self.productrows_set(Params({'id': deal_id, 'rows': rows}),
                {'type': 'user', 'user_id': int(user_id)})
            return [dict(r) for r in self.rows[deal_id]]

    @control('user_edit_contact')
    def user_edit_contact(self, id, fields, user_id=7):
        with self.lock:
            self._write_contact(self._contact(int(id)), fields, user_id,
                appending=True)
            self._changed('contact', 'UPDATE', int(id))
            return self._render_contact(self.contacts[int(id)])

    @control('seed_deals')
    def seed_deals(self, count=1, fields=None):
        "Create deals without firing events (pre-existing portal data)"
        with self.lock:
            ids = [self._new_deal({'TITLE': f'Заказ покупателя №{i + 1}',
                'OPPORTUNITY': 1000 + i, **(fields or {})}, 1)
                for i in range(int(count))]
            return {'ids': ids}

    @control('seed_contacts')
    def seed_contacts(self, contacts):
        "Create contacts (list of crm.contact.add field dicts), no events"
        with self.lock:
            return {'ids': [self._new_contact(f, 1) for f in contacts]}

    @control('add_stage')
    def add_stage(self, status_id, name, category_id=0, sort=45,
            semantics=None):
        "Add a custom stage (e.g. UC_XXXXXX) to a pipeline"
        with self.lock:
            entity = 'DEAL_STAGE' if not category_id else \
                f'DEAL_STAGE_{category_id}'
            row = {'ID': str(len(self.statuses) + 1), 'ENTITY_ID': entity,
                'STATUS_ID': status_id, 'NAME': name, 'NAME_INIT': name,
                'SORT': str(sort), 'SYSTEM': 'N',
                'CATEGORY_ID': str(category_id) if category_id else None,
                'COLOR': '#ACE9FB', 'SEMANTICS': semantics}
            self.statuses.append(row)
            return row

    @control('state')
    def state(self):
        "Everything the portal holds (for assertions)"
        with self.lock:
            return {'deals': list(self.deals.values()),
                'contacts': list(self.contacts.values()),
                'rows': {str(k): v for k, v in self.rows.items()},
                'comments': list(self.comments.values()),
                'bindings': self.bindings, 'rate_limit': self.bucket.as_dict()}
