"""Client of Russian Post's tracking services (SOAP, through zeep).

Plain Python: no Tryton models, only hub_sync's errors.  Reference:
shared/docs/external/russian_post.md, part A.

- Single access (``/rtm34``, SOAP 1.2): :meth:`TrackingClient.history`,
  one barcode a request, counted against the account's daily quota.
- Batch access (``/fc``, SOAP 1.1): :meth:`TrackingClient.request_ticket`
  for up to 3,000 barcodes (we send at most ``TICKET_SIZE``), then
  :meth:`TrackingClient.ticket_answer` no earlier than 15 minutes later.

The WSDLs are read from the service (``<base>/rtm34?wsdl``, ``<base>/fc?wsdl``,
the sandbox serves its copies from ``sandbox/wsdl/``); the endpoint
addresses are the configured base URL, whatever the WSDL says.

Operations become neutral events (dicts): ``code`` "<OperType.Id>.<OperAttr
.Id>" ("2.1" handed to the addressee, "8.2" arrived at the office of
delivery; attribute 0 when the operation has none), ``date`` (aware, UTC),
``description`` (Russian names of the operation and attribute),
``location`` (office description or index), ``index``, ``raw`` (the record
as JSON text).  The two services give the same event for the same
operation: the batch answer's local time without offset is placed in the
office's time zone by its index (:meth:`TrackingClient.utc_offset`).

In-band errors:
- bad login or password → ``PermanentError`` (shown; fix the connection);
- daily limit reached → :class:`QuotaExceeded` (a ``TransientError`` whose
  ``retry_after`` is the next quota day: midnight Moscow time, assumed);
- batch answer not ready yet (ErrorTypeID 6) → a :class:`TicketAnswer` with
  ``state == 'not_ready'`` (not an error: poll the ticket again later);
  answer expired (17) → ``state == 'expired'`` (ask for a new ticket);
- internal errors, 5xx, 429, timeouts, garbage → ``TransientError``;
- a malformed barcode → ``PermanentError`` before any request is spent.
"""
import datetime as dt
import json
import re

import requests
from lxml import etree

from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)

TRACKING_URL = 'https://tracking.russianpost.ru'
MOSCOW = dt.timezone(dt.timedelta(hours=3))
TICKET_SIZE = 500           # lapaygroup's chunk: 3,000 may not come back
TICKET_MAX = 3000
TICKET_DELAY = 15 * 60      # first poll no earlier than 15 min (A.4)
QUOTA_MARGIN = 60           # seconds after midnight before trying again
BARCODE = re.compile(r'\d{14}|[A-Z]{2}\d{9}[A-Z]{2}')
# first three digits of an index -> UTC offset (hours) where it differs
# from Moscow's; a region's indexes share their first three digits.
# Compiled from the regions' time zones, not from Russian Post (unsure for
# border areas): used only for the batch answer's offset-less local times.
INDEX_OFFSETS = [
    (('236', '237', '238'), 2),
    (('410', '411', '412', '413', '414', '415', '416', '426', '427', '432',
            '433', '443', '444', '445', '446'), 4),
    (('450', '451', '452', '453', '454', '455', '456', '457', '460', '461',
            '462', '614', '615', '616', '617', '618', '619', '620', '621',
            '622', '623', '624', '625', '626', '627', '628', '629', '640',
            '641'), 5),
    (('644', '645', '646'), 6),
    (('630', '631', '632', '633', '634', '635', '636', '649', '650', '651',
            '652', '653', '654', '655', '656', '657', '658', '659', '660',
            '661', '662', '663'), 7),
    (('664', '665', '666', '667', '668', '669', '670', '671'), 8),
    (('672', '673', '674', '675', '676', '677', '678'), 9),
    (('679', '680', '681', '682', '690', '691', '692'), 10),
    (('685', '686', '693', '694'), 11),
    (('683', '684', '688', '689'), 12)]

MSG_BAD_LOGIN = ('Сервис отслеживания Почты России не принял логин или '
    'пароль ({reason}); проверьте подключение «Почта России: отслеживание»')
MSG_LIMIT = ('Исчерпан дневной лимит запросов к сервису отслеживания Почты '
    'России ({reason}); запросы продолжатся в новые сутки')
MSG_BAD_BARCODE = 'Неверный трек-номер Почты России: «{barcode}»'
MSG_SERVICE = 'Сервис отслеживания Почты России: {reason}'
MSG_UNREACHABLE = 'Сервис отслеживания Почты России недоступен: {reason}'


class QuotaExceeded(TransientError):
    "The daily quota is used up; retry_after: until the next quota day"


def seconds_to_quota_reset(now=None):
    "Seconds until the tracking quota's next day (midnight Moscow time)"
    now = (now or dt.datetime.now(dt.UTC)).astimezone(MOSCOW)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1),
        dt.time(), MOSCOW)
    return int((midnight - now).total_seconds()) + QUOTA_MARGIN


def valid_barcode(barcode):
    return bool(BARCODE.fullmatch(str(barcode or '')))


class TicketAnswer:
    """The outcome of getResponseByTicket.

    state: 'ready' (events: {barcode: [event]}, unknown: barcodes the
    service has no data for), 'not_ready' (poll again after retry_after
    seconds) or 'expired' (request a new ticket)."""

    def __init__(self, state, events=None, unknown=(), retry_after=None,
            reason=None):
        self.state = state
        self.events = events or {}
        self.unknown = list(unknown)
        self.retry_after = retry_after
        self.reason = reason

    @property
    def ready(self):
        return self.state == 'ready'

    def __repr__(self):
        return (f'TicketAnswer({self.state!r}, {len(self.events)} parcels, '
            f'{len(self.unknown)} unknown)')


class TrackingClient:

    def __init__(self, base_url, login, password, timeout=10,
            single_wsdl=None, batch_wsdl=None, session=None, clock=None):
        if not (login and password):
            raise ConfigurationError('Для сервиса отслеживания Почты России '
                'не заданы логин и пароль')
        self.base_url = (base_url or TRACKING_URL).rstrip('/')
        self.login, self.password = login, password
        self.timeout = timeout
        self.single_wsdl = single_wsdl or f'{self.base_url}/rtm34?wsdl'
        self.batch_wsdl = batch_wsdl or f'{self.base_url}/fc?wsdl'
        self.session = session or requests.Session()
        self.clock = clock          # () -> aware now; the real time if None
        self._services = {}

    # -- zeep plumbing -------------------------------------------------------
    def service(self, kind):
        "The zeep service proxy of 'single' or 'batch', WSDL loaded once"
        if kind not in self._services:
            import zeep
            from zeep.transports import Transport
            wsdl, path = {'single': (self.single_wsdl, '/rtm34'),
                'batch': (self.batch_wsdl, '/fc')}[kind]
            transport = Transport(session=self.session, timeout=self.timeout,
                operation_timeout=self.timeout)
            client = self._call(lambda: zeep.Client(wsdl,
                    transport=transport))
            service = next(iter(client.wsdl.services.values()))
            port = next(iter(service.ports.values()))
            self._services[kind] = client.create_service(
                port.binding.name, self.base_url + path)
        return self._services[kind]

    def _call(self, func):
        "Run a zeep call; every failure becomes a hub_sync error"
        import zeep.exceptions
        try:
            return func()
        except zeep.exceptions.Fault as fault:
            raise self.fault_error(fault) from fault
        except zeep.exceptions.TransportError as error:
            reason = f'HTTP {error.status_code}'
            if error.status_code == 429 or error.status_code >= 500:
                raise TransientError(MSG_SERVICE.format(reason=reason),
                    status=error.status_code, body=error.content) from error
            raise PermanentError(MSG_SERVICE.format(reason=reason),
                status=error.status_code, body=error.content) from error
        except requests.RequestException as error:
            raise TransientError(MSG_UNREACHABLE.format(
                    reason=str(error)[:200]), detail=str(error)) from error
        except (etree.XMLSyntaxError, zeep.exceptions.XMLSyntaxError,
                zeep.exceptions.XMLParseError) as error:
            # a maintenance page instead of XML: try again later
            raise TransientError(MSG_SERVICE.format(
                    reason=f'ответ не разобран ({error})')) from error

    def fault_error(self, fault):
        "The hub_sync error of a SOAP fault of single access (A.1)"
        kind, text = fault_detail(fault)
        reason = text or fault.message or ''
        if kind == 'AuthorizationFaultReason':
            if 'лимит' in reason.lower():
                return QuotaExceeded(MSG_LIMIT.format(reason=reason),
                    retry_after=seconds_to_quota_reset(self.now()))
            return PermanentError(MSG_BAD_LOGIN.format(reason=reason))
        if kind == 'OperationHistoryFaultReason':
            return PermanentError(MSG_SERVICE.format(reason=reason))
        if kind == 'LanguageFaultReason':
            return ConfigurationError(MSG_SERVICE.format(reason=reason))
        # no known detail: the service's own trouble
        return TransientError(MSG_SERVICE.format(reason=reason))

    def batch_error(self, error):
        "The hub_sync error of a whole-request <error> of batch access"
        code, name = int(error.ErrorTypeID or 0), error.ErrorName or ''
        reason = f'{name} (код {code})'
        if code == 3 and 'лимит' in name.lower():
            return QuotaExceeded(MSG_LIMIT.format(reason=reason),
                retry_after=seconds_to_quota_reset(self.now()))
        if code == 3:
            return PermanentError(MSG_BAD_LOGIN.format(reason=reason))
        if code == 16:
            return TransientError(MSG_SERVICE.format(reason=reason))
        # 2, 18, 20, 21, 22: the request we built is wrong
        return PermanentError(MSG_SERVICE.format(reason=reason))

    def now(self):
        return self.clock() if self.clock else dt.datetime.now(dt.UTC)

    # -- single access -------------------------------------------------------
    def history(self, barcode):
        "Every operation of the parcel, oldest first, as neutral events"
        if not valid_barcode(barcode):
            raise PermanentError(MSG_BAD_BARCODE.format(barcode=barcode))
        service = self.service('single')
        records = self._call(lambda: service.getOperationHistory(
                OperationHistoryRequest={'Barcode': barcode,
                    'MessageType': 0, 'Language': 'RUS'},
                AuthorizationHeader={'login': self.login,
                    'password': self.password}))
        return [self.record_event(r) for r in records or []]

    def record_event(self, record):
        "A historyRecord as a neutral event"
        operation = record.OperationParameters
        type_id, type_name = pair_of(operation.OperType)
        attr_id, attr_name = pair_of(operation.OperAttr)
        date = operation.OperDate
        if isinstance(date, str):
            date = dt.datetime.fromisoformat(date)
        if date.tzinfo is None:
            date = date.replace(tzinfo=MOSCOW)
        address = getattr(record.AddressParameters, 'OperationAddress',
            None) if record.AddressParameters else None
        index = str(address.Index) if address and address.Index else None
        place = (address.Description if address else None) or index
        return self.event(type_id, attr_id, date, index, place,
            type_name, attr_name, raw_json(record))

    def event(self, type_id, attr_id, date, index, location, type_name,
            attr_name, raw):
        return {'code': f'{type_id}.{attr_id or 0}',
            'date': date.astimezone(dt.UTC),
            'description': ': '.join(n for n in (type_name, attr_name) if n),
            'location': location, 'index': index, 'raw': raw}

    # -- batch access --------------------------------------------------------
    def request_ticket(self, barcodes):
        "A ticket for up to TICKET_MAX barcodes (getTicket)"
        barcodes = list(barcodes)
        bad = [b for b in barcodes if not valid_barcode(b)]
        if bad:
            raise PermanentError(MSG_BAD_BARCODE.format(barcode=bad[0]))
        if not barcodes or len(barcodes) > TICKET_MAX:
            raise ValueError(f'1 to {TICKET_MAX} barcodes a ticket')
        service = self.service('batch')
        answer = self._call(lambda: service.getTicket(
                request={'Item': [{'Barcode': b} for b in barcodes]},
                login=self.login, password=self.password, language='RUS'))
        if answer.error is not None:
            raise self.batch_error(answer.error)
        return answer.value

    def ticket_answer(self, ticket):
        "The answer of a ticket: a TicketAnswer (ready, not_ready, expired)"
        service = self.service('batch')
        answer = self._call(lambda: service.getResponseByTicket(
                ticket=ticket, login=self.login, password=self.password))
        error = answer.error
        if error is not None:
            code = int(error.ErrorTypeID or 0)
            if code == 6:
                return TicketAnswer('not_ready', retry_after=TICKET_DELAY,
                    reason=error.ErrorName)
            if code == 17:
                return TicketAnswer('expired', reason=error.ErrorName)
            raise self.batch_error(error)
        events, unknown = {}, []
        for item in (answer.value.Item if answer.value else None) or []:
            if item.Error and not item.Operation:
                unknown.append(item.Barcode)
                continue
            events[item.Barcode] = sorted((self.batch_event(op)
                    for op in item.Operation or []), key=lambda e: e['date'])
        return TicketAnswer('ready', events, unknown)

    def batch_event(self, operation):
        "An Operation of a batch answer as a neutral event"
        index = str(operation.IndexOper) if operation.IndexOper else None
        local = dt.datetime.strptime(operation.DateOper,
            '%d.%m.%Y %H:%M:%S')
        date = local.replace(tzinfo=dt.timezone(dt.timedelta(
                    hours=self.utc_offset(index))))
        raw = json.dumps({'OperTypeID': operation.OperTypeID,
                'OperCtgID': operation.OperCtgID,
                'OperName': operation.OperName,
                'DateOper': operation.DateOper, 'IndexOper': index},
            ensure_ascii=False)
        # the batch answer names the operation only (A.4)
        return self.event(operation.OperTypeID, operation.OperCtgID, date,
            index, index, operation.OperName, None, raw)

    def utc_offset(self, index):
        "UTC offset (hours) of a postal index's office; Moscow's if unknown"
        prefix = str(index or '')[:3]
        for prefixes, offset in INDEX_OFFSETS:
            if prefix in prefixes:
                return offset
        return 3


def pair_of(value):
    "(Id, Name) of an {Id, Name} element that may be missing"
    if value is None:
        return 0, None
    return int(value.Id or 0), value.Name


def fault_detail(fault):
    "(local name, text) of the first element of a SOAP fault's detail"
    detail = fault.detail
    if detail is None:
        return None, None
    for element in detail.iter():
        if element is detail or not isinstance(element.tag, str):
            continue
        return etree.QName(element).localname, (element.text or '').strip()
    return None, (detail.text or '').strip() or None


def raw_json(record):
    "A zeep object as JSON text (for the shipment's event history)"
    from zeep.helpers import serialize_object
    return json.dumps(serialize_object(record, dict), default=str,
        ensure_ascii=False)
