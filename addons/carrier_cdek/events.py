"""CDEK webhook bodies and order statuses as neutral events (plain Python).

Real payloads are messier than the reference: ids come as strings or
numbers, dates as ``+0700``, ``+00:00``, ``Z``, with milliseconds, as a bare
date or as epoch milliseconds; older status webhooks carry ``city`` instead
of ``city_name``/``city_code`` and only the legacy numeric ``status_code``;
bodies may start with a byte-order mark.  Everything here accepts all of
them and never invents a value: an unknown status code is kept as sent.

A neutral status event is a dict with the keys the shipments module's
``Shipment.carrier_events`` takes (``code``, ``date``, ``description``,
``location``, ``raw``) plus CDEK's references: ``order_uuid``,
``cdek_number``, ``number``, ``reason_code``, ``legacy_code``,
``is_return``, ``deleted``.  Dates are naive UTC datetimes (as Tryton
stores them).
"""
import datetime as dt
import json
import re

from trytond.modules.hub_sync.errors import PermanentError

from .statuses import LEGACY_CODES, REASONS, status_name

UTC = dt.timezone.utc
_OFFSET = re.compile(r'([+-])(\d\d):?(\d\d)$')
_FRACTION = re.compile(r'\.(\d+)')


def parse_datetime(value):
    """A CDEK date/time as a naive UTC datetime, or None if empty.

    Accepts ``2020-02-10T11:10:34+0700``, ``…+07:00``, ``…Z``, fractions
    of a second, a space instead of ``T``, no offset (taken as UTC: CDEK's
    API speaks UTC or gives the offset), a bare date, and epoch seconds or
    milliseconds (numbers or digit strings).  Raises ValueError otherwise.
    """
    if value is None or value == '':
        return None
    if isinstance(value, bool):
        raise ValueError(f'not a date: {value!r}')
    if isinstance(value, (int, float)) or (isinstance(value, str)
            and value.strip().isdigit() and len(value.strip()) > 8):
        number = float(value)
        if number > 1e11:       # milliseconds
            number /= 1000
        return dt.datetime.fromtimestamp(number, UTC).replace(tzinfo=None)
    text = str(value).strip().replace(' ', 'T', 1)
    if text.endswith(('Z', 'z')):
        text = text[:-1] + '+00:00'
    offset = _OFFSET.search(text) if 'T' in text else None
    if offset:
        sign, hours, minutes = offset.groups()
        text = text[:offset.start()] + f'{sign}{hours}:{minutes}'
    # Python 3.11 parses up to 6 digits of a fraction: cut longer ones
    text = _FRACTION.sub(lambda m: '.' + m.group(1)[:6].ljust(6, '0'), text,
        count=1)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f'not a CDEK date: {value!r}') from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def text_id(value):
    "An id as text whether CDEK sent a string or a number (None stays None)"
    if value is None or value == '':
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def load_body(body):
    "A webhook body (bytes, text or already decoded) as a dict"
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        body = body.decode('utf-8-sig', 'replace')
    body = (body or '').lstrip('\ufeff').strip()
    try:
        data = json.loads(body)
    except ValueError as error:
        raise PermanentError(f'Уведомление СДЭК не разобрано: это не JSON '
            f'({error})', body=body[:2000]) from error
    if not isinstance(data, dict):
        raise PermanentError('Уведомление СДЭК не разобрано: ожидался '
            'объект JSON', body=body[:2000])
    return data


def describe(code, reason_code=None, name=None):
    "The Russian text of a status: CDEK's name (or the one sent) and reason"
    text = name or status_name(code)
    reason = REASONS.get(reason_code) if reason_code else None
    if reason:
        text = f'{text}: {reason}' if text else reason
    return text


def status_event(code, date, location=None, reason_code=None, name=None,
        legacy_code=None, raw=None, **refs):
    "The neutral event of one status"
    return {'code': code, 'date': date,
        'description': describe(code, reason_code, name),
        'location': location or None, 'reason_code': reason_code,
        'legacy_code': legacy_code, 'raw': raw, **refs}


def parse_webhook(body):
    """A webhook body as ``{'type', 'uuid', 'date', 'event', 'print_form',
    'raw'}``: ``event`` is the neutral status event of an ORDER_STATUS,
    ``print_form`` ``{'type': 'waybill'|'barcode', 'url'}`` of a PRINT_FORM,
    both None for other types (kept raw for whoever wants them)."""
    data = load_body(body)
    kind = str(data.get('type') or '').strip().upper()
    attributes = data.get('attributes')
    if not isinstance(attributes, dict):
        attributes = {}
    result = {'type': kind or None, 'uuid': text_id(data.get('uuid')),
        'date': _date(data.get('date_time')), 'event': None,
        'print_form': None, 'raw': data}
    if kind == 'ORDER_STATUS':
        result['event'] = order_status_event(data, attributes)
    elif kind == 'PRINT_FORM':
        # WAYBILL/BARCODE now; older docs said receipt/barcode
        form = str(attributes.get('type') or '').lower()
        result['print_form'] = {
            'type': 'waybill' if form in ('waybill', 'receipt') else form,
            'url': attributes.get('url')}
    return result


def order_status_event(data, attributes):
    legacy = text_id(attributes.get('status_code'))
    code = str(attributes.get('code') or '').strip().upper() or (
        LEGACY_CODES.get(legacy) if legacy else None)
    if not code:
        # neither a code nor a known legacy number: keep what came, flagged
        # by the caller as unknown (never defaulted to a known status)
        code = f'status_code:{legacy}' if legacy else None
    if code is None:
        raise PermanentError('Уведомление СДЭК о статусе без кода статуса',
            body=json.dumps(data, ensure_ascii=False)[:2000])
    location = (attributes.get('city_name') or attributes.get('city')
        or None)
    date = _date(attributes.get('status_date_time')) or _date(
        data.get('date_time'))
    return status_event(code, date, location=location,
        reason_code=text_id(attributes.get('status_reason_code')),
        legacy_code=legacy, raw=data,
        order_uuid=text_id(data.get('uuid')),
        cdek_number=text_id(attributes.get('cdek_number')),
        number=text_id(attributes.get('number')),
        city_code=text_id(attributes.get('city_code')),
        is_return=bool(attributes.get('is_return')),
        deleted=bool(attributes.get('deleted')))


def order_status_events(entity):
    """The ``statuses`` of an order info entity as neutral events, oldest
    first (CDEK lists them newest first)"""
    events = []
    for status in entity.get('statuses') or []:
        if not isinstance(status, dict) or not status.get('code'):
            continue
        events.append(status_event(str(status['code']).upper(),
                _date(status.get('date_time')), location=status.get('city'),
                reason_code=text_id(status.get('reason_code')),
                name=status.get('name'), raw=status,
                order_uuid=text_id(entity.get('uuid')),
                cdek_number=text_id(entity.get('cdek_number')),
                number=text_id(entity.get('number')),
                city_code=text_id(status.get('city_code')),
                is_return=bool(entity.get('is_return')),
                deleted=bool(status.get('deleted'))))
    events.sort(key=lambda e: e['date'] or dt.datetime.min)
    return events


def _date(value):
    try:
        return parse_datetime(value)
    except ValueError:
        return None
