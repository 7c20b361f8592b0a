"""OData v3 conventions of the 1C standard interface (``standard.odata``).

Literals, paths of objects and virtual tables, JSON bodies and the
``odata.error`` answer.  Plain Python: no HTTP, no Tryton.
"""
import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

EMPTY_REF = '00000000-0000-0000-0000-000000000000'
EMPTY_DATE = '0001-01-01T00:00:00'
INTERNAL_ERROR = 'Произошла внутренняя ошибка OData сервиса'
# 1C wraps a refused write or posting in these (code -1, HTTP 500)
REFUSAL_MARKERS = ('Не удалось провести', 'Не удалось записать',
    'Не удалось отменить проведение')
_GUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
    r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
_DATE_FORMAT = '%Y-%m-%dT%H:%M:%S'
_M = '{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}'


def check_guid(value):
    if not isinstance(value, str) or not _GUID_RE.match(value):
        raise ValueError(f'not a 1C reference: {value!r}')
    return value.lower()


def guid(value):
    return f"guid'{check_guid(value)}'"


def string(value):
    return "'" + str(value).replace("'", "''") + "'"


def datetime(value):
    return f"datetime'{format_date(value)}'"


def format_date(value):
    "1C dates carry no time zone: the caller passes the base's local time"
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError('1C dates have no time zone: pass local time')
        return value.replace(microsecond=0).strftime(_DATE_FORMAT)
    if isinstance(value, dt.date):
        return value.strftime(_DATE_FORMAT)
    raise ValueError(f'not a date: {value!r}')


def parse_date(value):
    if not value or value == EMPTY_DATE:
        return None
    return dt.datetime.strptime(value[:19], _DATE_FORMAT)


def ref(value):
    "An inbound reference: None when 1C sends the empty one"
    return None if value in (None, '', EMPTY_REF) else value


def ref_out(value):
    "An outbound reference: the empty one for None"
    return EMPTY_REF if value is None else check_guid(value)


def number(value):
    if isinstance(value, (Decimal, int)):
        return Decimal(value)
    return Decimal(str(value or 0))


def object_path(entity_set, key):
    return f'{entity_set}({guid(key)})'


def virtual_table(register, function, period=None, condition=None,
        start=None, end=None, dimensions=None):
    """``Register/Balance(Period=…,Condition='…')``,
    ``Register/Turnovers(StartPeriod=…,EndPeriod=…,Condition='…',
    Dimensions='…')``.

    Quotes inside the condition are doubled, as in any OData string literal.
    """
    args = []
    for name, value in (('Period', period), ('StartPeriod', start),
            ('EndPeriod', end)):
        if value is not None:
            args.append(f'{name}={datetime(value)}')
    if condition:
        args.append(f'Condition={string(condition)}')
    if dimensions:
        args.append(f'Dimensions={string(",".join(dimensions))}')
    return f'{register}/{function}({",".join(args)})'


def any_of(field, keys):
    "``(field eq guid'…' or field eq guid'…')``"
    return '(' + ' or '.join(f'{field} eq {guid(k)}' for k in keys) + ')'


def query(select=None, filter=None, orderby=None, top=None, skip=None):
    params = {'$format': 'json'}
    for name, value in (('$select', select), ('$filter', filter),
            ('$orderby', orderby), ('$top', top), ('$skip', skip)):
        if value is not None:
            params[name] = ','.join(value) if isinstance(
                value, (list, tuple)) else str(value)
    return params


def _json_number(value):
    if isinstance(value, Decimal):
        # 1C reads JSON numbers; a float keeps 15 significant digits
        return int(value) if value == value.to_integral_value() \
            else float(value)
    raise TypeError(f'cannot serialise {type(value).__name__}')


def dumps(payload):
    return json.dumps(payload, ensure_ascii=False,
        default=_json_number).encode('utf-8')


def loads(content):
    return json.loads(content, parse_float=Decimal)


def parse_error(content):
    """(code, message) of an ``odata.error`` answer, JSON or XML.

    (None, None) when the body is not 1C's (a web server page, a proxy).
    """
    text = content.decode('utf-8', 'replace') if isinstance(
        content, bytes) else (content or '')
    text = text.strip()
    if text.startswith('{'):
        try:
            error = json.loads(text).get('odata.error') or {}
        except (ValueError, AttributeError):
            return None, None
        message = error.get('message')
        if isinstance(message, dict):
            message = message.get('value')
        return error.get('code'), message
    if text.startswith('<'):
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return None, None
        if root.tag == _M + 'error':
            return root.findtext(_M + 'code'), root.findtext(_M + 'message')
    return None, None


def is_refusal(message):
    "1C refused a write or a posting for a business reason"
    return bool(message) and any(m in message for m in REFUSAL_MARKERS)
