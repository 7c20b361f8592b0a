"""Chestny Znak (GIS MT) True API simulator.

Follows /work/shared/docs/external/chestny_znak.md: challenge/response sign-in
(``/auth/key`` + ``/auth/simpleSignIn``) giving a 10-hour Bearer token,
``/cises/info`` for marking codes, and asynchronous withdrawal (LK_RECEIPT)
and return (LP_RETURN) documents that move codes between INTRODUCED and
RETIRED.

Paths mirror the real stands: ``{base}/api/v3/true-api/...`` and
``{base}/api/v4/true-api/...``.  Real signatures are CAdES/GOST; this
simulator uses the TEST scheme of :func:`sign_attached` and
:func:`sign_detached` (HMAC-SHA256 with the participant's test secret).
See sandbox/notes/chestny_znak.md.
"""
import base64
import binascii
import copy
import functools
import hashlib
import hmac
import json
import random
import re
import secrets
import string
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from flask import Response, request

from .clock import MSK
from .core import Simulator, control, error_page, route
from .page import counts

V3 = '/api/v3/true-api'
V4 = '/api/v4/true-api'
GS = '\x1d'

# pg code -> id (section 5 of the note; the groups a clothing shop meets,
# plus the others so that any valid pg is accepted)
PRODUCT_GROUPS = {
    'lp': 1, 'shoes': 2, 'tobacco': 3, 'perfumery': 4, 'tires': 5,
    'electronics': 6, 'milk': 8, 'bicycle': 9, 'wheelchairs': 10,
    'alcohol': 11, 'otp': 12, 'water': 13, 'furs': 14, 'beer': 15,
    'ncp': 16, 'bio': 17, 'antiseptic': 19, 'petfood': 20, 'seafood': 21,
    'nabeer': 22, 'softdrinks': 23, 'meat': 25, 'vetpharma': 26, 'toys': 27,
    'radio': 28, 'titan': 31, 'conserve': 32, 'vegetableoil': 33,
    'opticfiber': 34, 'chemistry': 35, 'books': 36, 'grocery': 37,
    'pharmaraw': 38, 'construction': 39, 'fire': 40, 'heater': 41,
    'cableraw': 42, 'autofluids': 43, 'polymer': 44, 'sweets': 45,
    'carparts': 48, 'furslp': 49, 'nicotindev': 50, 'gadgets': 51,
    'frozen': 52, 'fertilizers': 53, 'homeware': 54, 'pyrotechnics': 59,
    }
# commodity codes (ТН ВЭД ЕАЭС) of the seeded codes, per group
TNVED = {'shoes': '6403990000', 'lp': '6109100000', 'milk': '0401201100',
    'water': '2201101100', 'perfumery': '3303001000',
    'tobacco': '2402209000'}
CODE_STATUSES = {'EMITTED', 'APPLIED', 'INTRODUCED', 'WRITTEN_OFF', 'RETIRED',
    'WITHDRAWN', 'DISAGGREGATION', 'APPLIED_NOT_PAID'}
WITHDRAWAL_ACTIONS = {
    'RETAIL', 'DISTANCE', 'BY_SAMPLES', 'VENDING', 'PACKING', 'DONATION',
    'OWN_USE', 'PRODUCTION_USE', 'EAS_TRADE', 'BEYOND_EEC_EXPORT',
    'STATE_CONTRACT', 'STATE_SECRET', 'RETURN', 'UTILIZATION', 'DESTRUCTION',
    'EXPIRATION', 'LOSS', 'CONFISCATION', 'RECALL', 'MISMATCH',
    'CAR_SERVICE_USE', 'MEDICAL_USE', 'VETERINARY_USE', 'OTHER',
    }
# actions whose products need product_cost (kopecks incl. VAT)
COST_ACTIONS = {'RETAIL', 'DISTANCE', 'BY_SAMPLES', 'VENDING', 'PACKING'}
PRIMARY_DOCUMENT_TYPES = {'RECEIPT', 'SALES_RECEIPT', 'CONSIGNMENT_NOTE',
    'CUSTOMS_DECLARATION', 'DESTRUCTION_ACT', 'UTD', 'OTHER'}
# return_type -> withdrawal actions it reverses (None: any)
RETURN_TYPES = {
    'RETAIL_RETURN': {'RETAIL', 'BY_SAMPLES', 'DISTANCE'},
    'REMOTE_SALE_RETURN': {'DISTANCE', 'BY_SAMPLES'},
    'OWN_USE_RETURN': {'OWN_USE'},
    'STATE_CONTRACT_RETURN': {'STATE_CONTRACT'},
    'VENDING_RETURN': {'VENDING'},
    'NOT_FOR_SALE_RETURN': None,
    }
# document_format -> the type suffix it requires
FORMAT_SUFFIX = {'MANUAL': '', 'XML': '_XML', 'CSV': '_CSV'}
SUPPORTED_TYPES = {'LK_RECEIPT', 'LP_RETURN', 'LK_RECEIPT_XML',
    'LP_RETURN_XML'}
# XML forms: the list elements and the name of their items
XML_LISTS = {'products': 'product', 'products_list': 'product'}
XML_BOOLEANS = {'paid'}
XML_INTEGERS = {'product_cost'}
KNOWN_TYPES = SUPPORTED_TYPES | {'LK_RECEIPT_CSV', 'LK_RECEIPT_CANCEL',
    'LP_INTRODUCE_GOODS',
    'LP_INTRODUCE_OST', 'LK_REMARK', 'AGGREGATION_DOCUMENT',
    'DISAGGREGATION_DOCUMENT', 'WRITE_OFF', 'LK_GTIN_RECEIPT',
    'UNIVERSAL_TRANSFER_DOCUMENT', 'RECEIPT', 'RECEIPT_RETURN'}
MAX_DOCUMENT_CODES = 30000
MAX_INFO_CODES = 1000
DATE_FORMATS = ('%Y-%m-%d', '%d.%m.%Y', '%Y-%m-%dT%H:%M:%S.%f%z',
    '%Y-%m-%dT%H:%M:%S%z', '%d.%m.%Y %H:%M')
UNAUTHORIZED_XML = (
    '<UnauthorizedException><error>unauthorized</error><error_description>'
    'Full authentication is required to access this resource'
    '</error_description></UnauthorizedException>')
TOKEN_INVALID = ('Токен не действителен. Необходимо получить новый токен '
    'аутентификации')
CREATE_UNAUTHORIZED = ('Для доступа к этому ресурсу требуется полная '
    'аутентификация. Проверьте токен')


# -- the TEST signature scheme ---------------------------------------------
def _mac(secret, content):
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def sign_attached(data, secret):
    """Test stand-in for an attached CAdES signature of ``data``.

    base64( data + "." + hex(HMAC-SHA256(secret, data)) ); the signed
    content travels inside, as with an attached CMS signature.
    """
    content = data.encode() if isinstance(data, str) else data
    return base64.b64encode(content + b'.' + _mac(secret, content).encode()
        ).decode()


def sign_detached(document, secret):
    """Test stand-in for a detached signature of the (non-base64) document.

    base64( hex(HMAC-SHA256(secret, document bytes)) ).
    """
    content = document.encode() if isinstance(document, str) else document
    return base64.b64encode(_mac(secret, content).encode()).decode()


def open_attached(signature, secret):
    """Return the signed content, or raise ValueError('format'/'invalid')"""
    try:
        raw = base64.b64decode(signature, validate=True)
        content, mac = raw.rsplit(b'.', 1)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError('format')
    if not hmac.compare_digest(mac, _mac(secret, content).encode()):
        raise ValueError('invalid')
    return content


# -- errors and values -----------------------------------------------------
class ApiError(Exception):
    'Answered as {"error_message": ...}, the usual True API error body'

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self):
        return json_response({'error_message': self.message}, self.status)


class Unauthorized(Exception):
    "401; the gateway answers XML, some methods JSON"

    def __init__(self, message=None):
        super().__init__(message or 'unauthorized')
        self.message = message

    def response(self):
        if self.message:
            return json_response({'error_message': self.message}, 401)
        return Response(UNAUTHORIZED_XML, 401,
            content_type='application/xml;charset=UTF-8')


def json_response(body, status=200):
    return Response(json.dumps(body, ensure_ascii=False), status=status,
        content_type='application/json;charset=UTF-8')


def bad_param(name):
    return ApiError(400, 'Ошибка валидации запроса – некорректное значение '
        f'параметра {name}')


def iso(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + (
        f'{moment.microsecond // 1000:03d}Z')


def parse_date(value):
    "The True API accepts several date layouts; return a date or None"
    if not isinstance(value, str):
        return None
    for layout in DATE_FORMATS:
        try:
            return datetime.strptime(value.replace('Z', '+0000'),
                layout).date()
        except ValueError:
            continue
    return None


def valid_inn(value):
    return isinstance(value, str) and re.fullmatch(r'\d{10}|\d{12}', value)


def normalize_code(code):
    """КМ -> КИ: drop the AIM prefix / FNC1, cut the crypto tail at GS.

    Codes scanned without GS separators keep their tail; lookups then fall
    back to a prefix match against known КИ (see ``_find``).
    """
    if code.startswith(']d2'):
        code = code[3:]
    code = code.lstrip(GS + '\xe8')
    if code.startswith('(01)'):
        # human form "(01)…(21)…(91)…": AIs in brackets
        parts = re.findall(r'\((\d{2,4})\)([^(]*)', code)
        return ''.join(ai + value for ai, value in parts if ai in ('01', '21'))
    return code.split(GS, 1)[0]


def xml_document(content):
    """The XML form of a document (LK_RECEIPT_XML, LP_RETURN_XML) as the
    dict of its JSON form: the root's children are the fields, a list
    (``products``, ``products_list``) holds ``product`` elements."""
    root = ET.fromstring(content)
    return {child.tag: xml_value(child) for child in root}


def xml_value(element):
    if element.tag in XML_LISTS:
        return [{field.tag: xml_value(field) for field in item}
            for item in element.findall(XML_LISTS[element.tag])]
    text = (element.text or '').strip()
    if element.tag in XML_BOOLEANS:
        return {'true': True, 'false': False}.get(text, text)
    if element.tag in XML_INTEGERS and text.isdigit():
        return int(text)
    return text or None


def gtin_with_check_digit(body):
    "A 13-digit body completed with its GS1 check digit"
    total = sum(int(d) * (3 if i % 2 == 0 else 1)
        for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def api(secured=False):
    """A route of the True API: 406 when the Accept header rules out every
    answer, the simulator's lock, the session of the bearer token when
    secured (passed as ``session``), due documents processed first, and
    API errors as answers"""
    def decorator(handler):
        @functools.wraps(handler)
        def view(self, **kwargs):
            if not self._acceptable():
                return Response(status=406)
            with self.lock:
                try:
                    if secured:
                        kwargs['session'] = self._session()
                    self._process_due()
                    return handler(self, **kwargs)
                except (ApiError, Unauthorized) as exc:
                    return exc.response()
        return view
    return decorator


class ChestnyZnakSimulator(Simulator):
    name = 'chestny_znak'
    title = 'Честный знак, True API (симулятор)'
    default_port = 8104

    # -- state -------------------------------------------------------------
    def page_summary(self):
        return [('ИНН участника', self.participant['inn']),
            ('Кодов маркировки', len(self.codes)),
            ('Коды по статусам', counts(c['status']
                    for c in self.codes.values()) or '—'),
            ('Документов', len(self.documents)),
            ('Документы по статусам', counts(d['status']
                    for d in self.documents.values()) or '—')]

    def init_state(self):
        self.participant = {'inn': '7701234567',
            'name': 'ООО "Тестовый магазин"',
            'secret': 'sandbox-chestny-znak-secret'}
        self.verify_signatures = True
        self.key_ttl = 300.0
        self.token_ttl = 10 * 3600.0
        self.processing_delay = 1.0
        self.challenges = {}    # uuid -> (data, expires monotonic)
        self.tokens = {}        # token -> {'inn', 'expires'}
        self.codes = {}         # КИ -> code record
        self.documents = {}     # doc id -> document record
        self._rng = random.Random(20240101)
        self._seed_defaults()

    def fault_response(self, kind, status, rule):
        if kind == 'rate_limit':
            return json_response({'error_message':
                    'Превышено допустимое количество запросов'},
                status or 429)
        response = json_response({'error_message':
                'Внутренняя ошибка сервиса'}, status or 500)
        response.headers['Retry-After'] = '30'
        return response

    # -- routes ------------------------------------------------------------
    @error_page(404)
    def _no_route(self, exc):
        return json_response({'error_message': 'Not Found'}, 404)

    @error_page(405)
    def _bad_method(self, exc):
        return json_response({'error_message':
                'Request method not supported'}, 405)

    @staticmethod
    def _acceptable():
        "406 when the Accept header excludes everything we could answer"
        if 'Accept' not in request.headers:
            return True
        accept = request.accept_mimetypes
        return bool(accept.best_match(['application/json', 'text/plain',
                    'application/xml']))

    def _session(self):
        header = request.headers.get('Authorization', '')
        if not header.startswith('Bearer ') or not header[7:].strip():
            raise Unauthorized()
        session = self.tokens.get(header[7:].strip())
        if session is None or session['expires'] <= self.clock.monotonic():
            raise Unauthorized(CREATE_UNAUTHORIZED if request.path.endswith(
                    '/lk/documents/create') else TOKEN_INVALID)
        return session

    def _json(self):
        raw = request.get_data(cache=True)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, f'JSON parse error: {exc}')

    # -- authentication ----------------------------------------------------
    @route(V3 + '/auth/key')
    @api()
    def _auth_key(self):
        key = str(uuid.uuid4())
        data = ''.join(secrets.choice(string.ascii_uppercase)
            for _ in range(30))
        self.challenges[key] = (data, self.clock.monotonic() + self.key_ttl)
        return json_response({'uuid': key, 'data': data})

    @route(V3 + '/auth/simpleSignIn', methods=['POST'])
    @api()
    def _sign_in(self):
        body = self._json()
        if not body:
            raise ApiError(400, 'Тело запроса не может быть пустым')
        if not isinstance(body, dict):
            raise ApiError(400, 'JSON parse error: object expected')
        key, signature = body.get('uuid'), body.get('data')
        if not key:
            raise ApiError(400, 'В запросе отсутствует идентификатор '
                'авторизации (UUID)')
        if not signature:
            raise ApiError(400, 'В запросе отсутствует параметр data')
        inn = body.get('inn')
        if inn is not None and not valid_inn(inn):
            raise ApiError(400, 'В параметре inn должен быть передан ИНН '
                'организации, под которой планируется авторизация от МЧД')
        challenge = self.challenges.get(key)
        if challenge is None or challenge[1] <= self.clock.monotonic():
            self.challenges.pop(key, None)
            raise ApiError(400, f'UUID не найден в хранилище ключей. UUID = '
                f'{key}')
        self._check_auth_signature(signature, challenge[0])
        if inn is not None and inn != self.participant['inn']:
            raise ApiError(403, 'Отсутствует доступ к ресурсу')
        del self.challenges[key]  # single use
        return json_response(self._issue_token(body.get('unitedToken') is
                True))

    def _check_auth_signature(self, signature, data):
        if not self.verify_signatures:
            try:
                base64.b64decode(signature, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(400, 'Ошибка при проверке подписи')
            return
        try:
            content = open_attached(signature, self.participant['secret'])
        except ValueError as exc:
            raise ApiError(400, 'Ошибка при проверке подписи'
                if str(exc) == 'format' else 'Подпись не валидна')
        if content != data.encode():
            raise ApiError(400, 'Подпись не валидна')

    def _issue_token(self, united):
        "A JWT-looking opaque token; a UUID one too when unitedToken"
        issued = self.clock.now()
        expires = issued + timedelta(seconds=self.token_ttl)
        header = {'alg': 'HS256', 'typ': 'JWT'}
        claims = {'inn': self.participant['inn'], 'jti': str(uuid.uuid4()),
            'iat': int(issued.timestamp()), 'exp': int(expires.timestamp())}
        parts = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b'=')
            for p in (header, claims)]
        signing = b'.'.join(parts)
        mac = base64.urlsafe_b64encode(hmac.new(b'sandbox', signing,
                hashlib.sha256).digest()).rstrip(b'=')
        token = (signing + b'.' + mac).decode()
        session = {'inn': self.participant['inn'],
            'expires': self.clock.monotonic() + self.token_ttl}
        self.tokens[token] = session
        answer = {'token': token}
        if united:
            uuid_token = str(uuid.uuid4())
            self.tokens[uuid_token] = session
            answer.update(uuidToken=uuid_token, expireDate=iso(expires))
        return answer

    # -- codes -------------------------------------------------------------
    def _find(self, code):
        "Look a code up by КИ; accept a full КМ even without GS separators"
        cis = normalize_code(code)
        if cis in self.codes:
            return self.codes[cis]
        for known, record in self.codes.items():
            if cis.startswith(known):
                return record
        return None

    @route(V3 + '/cises/info', methods=['POST'])
    @api(secured=True)
    def _cises_info(self, session):
        pg = request.args.get('pg')
        if pg is not None and pg not in PRODUCT_GROUPS:
            raise bad_param('pg')
        body = self._json()
        if body is None or body == []:
            raise ApiError(400, 'В запросе не указан ни один КМ')
        if not isinstance(body, list) or not all(
                isinstance(c, str) for c in body):
            raise ApiError(400, 'JSON parse error: array of strings expected')
        if len(body) > MAX_INFO_CODES:
            raise bad_param('cises')
        if not all(self._length_ok(c) for c in body):
            raise bad_param('cises')
        results = [self._cis_info(code) for code in body]
        # all unknown -> 404; any mix -> 200 with per-code errors
        status = 404 if all('errorCode' in r for r in results) else 200
        return json_response(results, status)

    def _length_ok(self, code):
        """18-74 chars per the doc.  A full shoes КМ is ~85 chars yet may be
        sent, so the limit applies to its КИ; a КМ without GS separators has
        no visible КИ and passes when it resolves to a known code."""
        if 18 <= len(normalize_code(code)) <= 74:
            return True
        return len(code) >= 18 and self._find(code) is not None

    def _cis_info(self, code):
        record = self._find(code)
        if record is None:
            return {'cisInfo': {'requestedCis': code,
                    'cis': normalize_code(code)},
                'errorMessage': 'КИ не найден', 'errorCode': '404'}
        info = {'requestedCis': code}
        info.update({k: copy.deepcopy(v) for k, v in record.items()
                if not k.startswith('_')})
        return {'cisInfo': info}

    def _new_code(self, pg='shoes', status='INTRODUCED', status_ex='EMPTY',
            owner_inn=None, gtin=None, serial=None, product_name=None,
            withdrawal_action=None):
        "Make a marking code with the layout of its product group"
        if pg not in PRODUCT_GROUPS:
            raise ValueError(f'unknown product group {pg}')
        if status not in CODE_STATUSES:
            raise ValueError(f'unknown code status {status}')
        gtin = gtin or gtin_with_check_digit('046' + ''.join(
                self._rng.choice(string.digits) for _ in range(10)))
        short_tail = pg in ('milk', 'water', 'beer', 'softdrinks', 'nabeer')
        serial = serial or self._serial({'milk': 6, 'tobacco': 7}.get(pg, 13))
        cis = f'01{gtin}21{serial}'
        if pg == 'tobacco':
            crypto = self._serial(4, string.ascii_letters)
            full = f'{cis}{GS}8005021900{GS}93{crypto}'
        elif short_tail:
            full = f'{cis}{GS}93{self._serial(4, string.ascii_letters)}'
        else:
            full = (f'{cis}{GS}91{self._serial(4, string.ascii_uppercase)}'
                f'{GS}92{self._serial(44, string.ascii_letters + "+/=")}')
        moment = iso(self.clock.now() - timedelta(days=30))
        owner = owner_inn or self.participant['inn']
        record = {
            'cis': cis, 'gtin': gtin, 'tnVedEaes': '6403990000',
            'tnVedEaesGroup': '6403',
            'productName': product_name or f'Товар ({pg}) {gtin[-4:]}',
            'productGroupId': PRODUCT_GROUPS[pg], 'productGroup': pg,
            'brand': 'Sandbox', 'producedDate': moment,
            'emissionDate': moment, 'applicationDate': moment,
            'introducedDate': moment if status not in ('EMITTED', 'APPLIED')
            else None,
            'emissionType': 'LOCAL', 'packageType': 'UNIT',
            'generalPackageType': 'UNIT', 'ownerInn': owner,
            'ownerName': self.participant['name'] if (
                owner == self.participant['inn']) else 'ООО "Другой"',
            'producerInn': '7700000001', 'producerName': 'ООО "Фабрика"',
            'status': status, 'statusEx': status_ex,
            'markWithdraw': False, 'turnoverType': 'SELLING', 'child': [],
            'country': 'RU',
            **self._group_details(pg, gtin, moment),
            '_full': full, '_withdrawal': withdrawal_action if (
                status == 'RETIRED') else None,
            }
        self.codes[cis] = record
        return self._code_view(record)

    def _group_details(self, pg, gtin, moment):
        """The cisInfo fields the real answer carries beyond the basics:
        certificates, licences, authorities, and the group's own fields
        (weight, variable quantity, shelf life, max retail price)"""
        details = {
            'tnVedEaes': TNVED.get(pg, '6403990000'),
            'tnVedEaesGroup': TNVED.get(pg, '6403990000')[:4],
            'certDoc': [{'type': 'CONFORMITY_DECLARATION',
                    'number': f'ЕАЭС N RU Д-RU.РА01.В.{gtin[-5:]}/26',
                    'date': moment[:10], 'wellNumber': None, 'indx': 1}],
            'licences': [],
            'ogvs': [],
            'withdrawReason': None,
            'productWeightGr': None,
            'isVarQuantity': False,
            'expirationDate': None,
            'maxRetailPrice': None,
            'volumeSpecialPack': None,
            }
        if pg in ('milk', 'water', 'beer', 'softdrinks', 'nabeer'):
            expires = self.clock.now() + timedelta(days=14 if pg == 'milk'
                else 365)
            details.update(productWeightGr=1000 if pg == 'milk' else 500,
                isVarQuantity=False, expirationDate=iso(expires),
                ogvs=['FNS', 'RSHN'] if pg == 'milk' else ['FNS'])
        if pg in ('tobacco', 'otp'):
            details.update(maxRetailPrice=21900, licences=[{
                        'licenceNumber': '77-ТП-000123',
                        'licenceDate': moment[:10]}])
        if pg == 'perfumery':
            details.update(volumeSpecialPack='50')
        return details

    def _serial(self, length, alphabet=None):
        # GS1 printable set incl. characters that need escaping (" ' < & %)
        alphabet = alphabet or (string.ascii_letters + string.digits
            + '!"%&\'*+-./:;<=>?_')
        return ''.join(self._rng.choice(alphabet) for _ in range(length))

    @staticmethod
    def _code_view(record):
        return {'cis': record['cis'], 'code': record['_full'],
            'productGroup': record['productGroup'],
            'status': record['status'], 'statusEx': record['statusEx'],
            'ownerInn': record['ownerInn'],
            'withdrawalAction': record['_withdrawal']}

    def _seed_defaults(self):
        "Codes of the shoes/lp layout (91/92) and milk/water layout (93)"
        for pg, count in (('shoes', 3), ('lp', 2), ('milk', 1),
                ('water', 1), ('perfumery', 1), ('tobacco', 1)):
            for _ in range(count):
                self._new_code(pg)
        self._new_code('shoes', status='APPLIED')
        self._new_code('shoes', status='EMITTED')
        self._new_code('shoes', status='RETIRED', withdrawal_action='DISTANCE')
        self._new_code('shoes', status_ex='WAIT_SHIPMENT')
        self._new_code('shoes', owner_inn='7700000002')
        # the True API docs' own escaping example, serial with a quote
        self._new_code('shoes', gtin='04650117240408', serial='1dmfcZNcM"4')

    # -- documents ---------------------------------------------------------
    @route(V3 + '/lk/documents/create', methods=['POST'])
    @api(secured=True)
    def _create_document(self, session):
        pg = request.args.get('pg')
        if not pg:
            raise ApiError(400, 'Отсутствует обязательный параметр: pg')
        if pg not in PRODUCT_GROUPS:
            raise bad_param('pg')
        body = self._json()
        if body is None:
            raise ApiError(400, 'Required request body is missing: '
                'DocumentCreateRequest')
        if not isinstance(body, dict):
            raise ApiError(400, 'JSON parse error: object expected')
        for field in ('document_format', 'product_document', 'type',
                'signature'):
            if not body.get(field):
                raise ApiError(400, f'Отсутствует обязательное поле: {field}')
        doc_type = self._document_type(body)
        content = self._document_content(body)
        if doc_type.endswith('_XML'):
            document = xml_document(content)
        else:
            document = json.loads(content)
        codes = (self._validate_receipt_doc(document)
            if doc_type.startswith('LK_RECEIPT')
            else self._validate_return_doc(document))
        if len(codes) > MAX_DOCUMENT_CODES:
            raise bad_param('products')
        doc_id = str(uuid.uuid4())
        received = self.clock.now()
        self.documents[doc_id] = {
            'number': doc_id, 'docDate': iso(received),
            'receivedAt': iso(received), 'type': doc_type,
            'status': 'IN_PROGRESS', 'senderInn': session['inn'],
            'senderName': self.participant['name'], 'productGroup': pg,
            'body': document, 'errors': [],
            '_due': self.clock.monotonic() + self.processing_delay,
            }
        # the real service answers the id as plain text, not JSON
        return Response(doc_id, 200, content_type='text/plain;charset=UTF-8')

    @staticmethod
    def _document_type(body):
        doc_format, doc_type = body['document_format'], body['type']
        if doc_format not in FORMAT_SUFFIX:
            raise bad_param('document_format')
        if doc_type not in KNOWN_TYPES:
            raise bad_param('type')
        suffix = next((s for s in ('_XML', '_CSV') if doc_type.endswith(s)),
            '')
        if FORMAT_SUFFIX[doc_format] != suffix:
            raise bad_param('document_format')
        if doc_type not in SUPPORTED_TYPES:
            # view-only (RECEIPT) or not simulated (CSV, other flows)
            raise bad_param('type')
        return doc_type

    def _document_content(self, body):
        """base64 JSON (MANUAL) or XML document, checked against the
        detached signature"""
        try:
            content = base64.b64decode(body['product_document'],
                validate=True)
            if body['document_format'] == 'XML':
                xml_document(content)
            else:
                json.loads(content)
        except (binascii.Error, ValueError, TypeError, ET.ParseError):
            raise bad_param('product_document')
        if self.verify_signatures:
            expected = sign_detached(content, self.participant['secret'])
            if not hmac.compare_digest(str(body['signature']), expected):
                raise ApiError(400, 'Подпись не валидна')
        return content

    def _validate_receipt_doc(self, doc):
        "LK_RECEIPT schema checks (section 4.1.8); returns the КИ list"
        if not isinstance(doc, dict):
            raise bad_param('product_document')
        if not valid_inn(doc.get('inn')):
            raise bad_param('inn')
        action = doc.get('action')
        if action not in WITHDRAWAL_ACTIONS:
            raise bad_param('action')
        action_date = parse_date(doc.get('action_date'))
        today = self.clock.now(MSK).date()
        if action_date is None or not (
                today - timedelta(days=5 * 365 + 1) <= action_date <= today):
            raise bad_param('action_date')
        if action == 'OTHER' and not (
                1 <= len(doc.get('withdrawal_type_other') or '') <= 1024):
            raise bad_param('withdrawal_type_other')
        if action == 'DONATION' and not valid_inn(doc.get('buyer_inn')):
            raise bad_param('buyer_inn')
        if action == 'RETAIL':
            self._require_primary_document(doc, 'document_')
        if doc.get('document_type') is not None and (
                doc['document_type'] not in PRIMARY_DOCUMENT_TYPES):
            raise bad_param('document_type')
        products = doc.get('products')
        if not isinstance(products, list) or not products:
            raise bad_param('products')
        codes = []
        for index, product in enumerate(products):
            where = f'products[{index}]'
            if not isinstance(product, dict) or not isinstance(
                    product.get('cis'), str) or not product['cis']:
                raise bad_param(where + '.cis')
            cost = product.get('product_cost')
            if action in COST_ACTIONS and (not isinstance(cost, int)
                    or isinstance(cost, bool) or cost < 0):
                raise bad_param(where + '.product_cost')
            codes.append(product['cis'])
        return codes

    @staticmethod
    def _require_primary_document(doc, prefix):
        for field in ('type', 'number', 'date'):
            if not doc.get(prefix + field):
                raise bad_param(prefix + field)
        if parse_date(doc[prefix + 'date']) is None:
            raise bad_param(prefix + 'date')

    def _validate_return_doc(self, doc):
        "LP_RETURN schema checks (section 4.1.5); returns the КИ list"
        if not isinstance(doc, dict):
            raise bad_param('product_document')
        if not valid_inn(doc.get('trade_participant_inn')):
            raise bad_param('trade_participant_inn')
        return_type = doc.get('return_type')
        if return_type not in RETURN_TYPES:
            raise bad_param('return_type')
        if return_type == 'REMOTE_SALE_RETURN' and not isinstance(
                doc.get('paid'), bool):
            raise bad_param('paid')
        needs_document = return_type in ('RETAIL_RETURN',
            'NOT_FOR_SALE_RETURN') or (return_type == 'REMOTE_SALE_RETURN'
            and doc.get('paid') is True)
        products = doc.get('products_list')
        if not isinstance(products, list) or not products:
            raise bad_param('products_list')
        codes = []
        for index, product in enumerate(products):
            where = f'products_list[{index}]'
            if not isinstance(product, dict) or not isinstance(
                    product.get('ki'), str) or not product['ki']:
                raise bad_param(where + '.ki')
            self._check_return_primary_document(doc, product, return_type,
                needs_document, where)
            codes.append(product['ki'])
        return codes

    @staticmethod
    def _check_return_primary_document(doc, product, return_type, required,
            where):
        "Per-product primary document wins over the document-level one"
        source, prefix = (product, where + '.') if product.get(
            'primary_document_type') else (doc, '')
        doc_type = source.get('primary_document_type')
        if doc_type is None:
            if required:
                raise bad_param(prefix + 'primary_document_type')
            return
        allowed = {'OTHER'} | ({'RECEIPT', 'SALES_RECEIPT'} if return_type in (
            'RETAIL_RETURN', 'REMOTE_SALE_RETURN') else set())
        if doc_type not in allowed:
            raise bad_param(prefix + 'primary_document_type')
        for field in ('primary_document_number', 'primary_document_date'):
            if not source.get(field):
                raise bad_param(prefix + field)
        if parse_date(source['primary_document_date']) is None:
            raise bad_param(prefix + 'primary_document_date')
        if doc_type == 'OTHER' and not source.get(
                'primary_document_custom_name'):
            raise bad_param(prefix + 'primary_document_custom_name')

    # -- asynchronous processing ---------------------------------------------
    def _process_due(self, force=False):
        moment = self.clock.monotonic()
        for document in self.documents.values():
            if document['status'] == 'IN_PROGRESS' and (
                    force or document['_due'] <= moment):
                self._process(document)

    def _process(self, document):
        """Check every code; apply all status changes or none.

        LK_RECEIPT: INTRODUCED -> RETIRED; LP_RETURN: RETIRED -> INTRODUCED
        when return_type matches the withdrawal reason.
        """
        body, pg = document['body'], document['productGroup']
        if document['type'].removesuffix('_XML') == 'LK_RECEIPT':
            inn, wanted = body['inn'], 'INTRODUCED'
            codes = [p['cis'] for p in body['products']]
        else:
            inn, wanted = body['trade_participant_inn'], 'RETIRED'
            codes = [p['ki'] for p in body['products_list']]
        errors = []
        if inn != document['senderInn']:
            errors.append(f'ИНН {inn} в документе не совпадает с ИНН '
                f"участника {document['senderInn']}")
        records = []
        for code in codes:
            record, error = self._check_code(code, inn, pg, wanted, body)
            errors.extend([error] if error else [])
            records.append(record)
        duplicates = {r['cis'] for r in records if r and records.count(r) > 1}
        errors.extend(f'КИ {cis} указан в документе несколько раз'
            for cis in sorted(duplicates))
        if errors:
            document.update(status='CHECKED_NOT_OK', errors=errors)
            return
        for record in records:
            self._apply(document['type'], record, body)
        document['status'] = 'CHECKED_OK'

    def _check_code(self, code, inn, pg, wanted, body):
        record = self._find(code)
        if record is None:
            return None, f'КИ {code} не найден'
        cis = record['cis']
        if record['productGroup'] != pg:
            return record, f'КИ {cis} не относится к товарной группе {pg}'
        if record['ownerInn'] != inn:
            return record, f'КИ {cis} не принадлежит участнику {inn}'
        if record['status'] != wanted:
            return record, (f"КИ {cis} находится в статусе "
                f"{record['status']}, ожидается {wanted}")
        if record['statusEx'] != 'EMPTY':
            return record, (f"КИ {cis} имеет особое состояние "
                f"{record['statusEx']}")
        allowed = RETURN_TYPES.get(body.get('return_type'))
        if wanted == 'RETIRED' and allowed is not None and (
                record['_withdrawal'] not in allowed):
            return record, (f"Тип возврата {body['return_type']} не "
                f"соответствует причине выбытия {record['_withdrawal']} "
                f'для КИ {cis}')
        return record, None

    @staticmethod
    def _apply(doc_type, record, body):
        if doc_type.removesuffix('_XML') == 'LK_RECEIPT':
            record.update(status='RETIRED', _withdrawal=body['action'],
                withdrawReason=body['action'])
        else:
            record.update(status='INTRODUCED', _withdrawal=None,
                withdrawReason=None)

    def _document_view(self, document, with_body=True):
        view = {k: copy.deepcopy(v) for k, v in document.items()
            if not k.startswith('_')}
        if not with_body:
            view.pop('body')
        return view

    @route(V4 + '/doc/<doc_id>/info')
    @api(secured=True)
    def _document_info(self, session, doc_id):
        document = self.documents.get(doc_id)
        if document is None or document['senderInn'] != session['inn']:
            raise ApiError(404, f'Документ {doc_id} не найден')
        pg = request.args.get('pg')
        if pg is not None and pg != document['productGroup']:
            raise ApiError(404, f'Документ {doc_id} не найден')
        return json_response([self._document_view(document)])

    @route(V4 + '/doc/list')
    @api(secured=True)
    def _document_list(self, session):
        docs = [d for d in reversed(list(self.documents.values()))
            if d['senderInn'] == session['inn']]
        filters = {'pg': 'productGroup', 'documentStatus': 'status',
            'documentType': 'type', 'number': 'number'}
        for arg, field in filters.items():
            if request.args.get(arg):
                docs = [d for d in docs if d[field] == request.args[arg]]
        try:
            limit = int(request.args.get('limit', 10))
        except ValueError:
            raise bad_param('limit')
        if not 1 <= limit <= 10000:
            raise bad_param('limit')
        return json_response({'results': [self._document_view(d, False)
                    for d in docs[:limit]], 'nextPage': len(docs) > limit})

    # -- control actions ---------------------------------------------------
    @control('configure')
    def configure(self, inn=None, name=None, secret=None,
            verify_signatures=None, processing_delay=None, token_ttl=None,
            key_ttl=None):
        with self.lock:
            for field, value in (('inn', inn), ('name', name),
                    ('secret', secret)):
                if value is not None:
                    self.participant[field] = value
            for attr, value in (('verify_signatures', verify_signatures),
                    ('processing_delay', processing_delay),
                    ('token_ttl', token_ttl), ('key_ttl', key_ttl)):
                if value is not None:
                    setattr(self, attr, value)
            return self.credentials()

    @control('credentials')
    def credentials(self):
        with self.lock:
            return {
                'inn': self.participant['inn'],
                'name': self.participant['name'],
                'secret': self.participant['secret'],
                'api_v3': f'{self.base_url}{V3}' if self.base_url else None,
                'api_v4': f'{self.base_url}{V4}' if self.base_url else None,
                'auth_signature': 'base64(data + "." + '
                    'hex(HMAC-SHA256(secret, data)))',
                'document_signature': 'base64(hex(HMAC-SHA256(secret, '
                    'decoded product_document bytes)))',
                'verify_signatures': self.verify_signatures,
                }

    @control('seed_codes')
    def seed_codes(self, count=1, pg='shoes', status='INTRODUCED',
            status_ex='EMPTY', owner_inn=None, codes=None,
            withdrawal_action=None):
        """Add codes: ``count`` generated ones, or explicit ``codes`` given
        as КИ/КМ strings. Returns them with their full КМ for receipts."""
        with self.lock:
            if codes:
                return [self._seed_explicit(c, pg, status, status_ex,
                        owner_inn, withdrawal_action) for c in codes]
            return [self._new_code(pg, status, status_ex, owner_inn,
                    withdrawal_action=withdrawal_action)
                for _ in range(int(count))]

    def _seed_explicit(self, code, pg, status, status_ex, owner_inn,
            withdrawal_action):
        cis = normalize_code(code)
        match = re.fullmatch(r'01(\d{14})21(.+)', cis)
        if not match:
            raise ValueError(f'not a 01+GTIN+21+serial code: {code!r}')
        view = self._new_code(pg, status, status_ex, owner_inn,
            gtin=match.group(1), serial=match.group(2),
            withdrawal_action=withdrawal_action)
        if code != cis:
            self.codes[cis]['_full'] = code
            view['code'] = code
        return view

    @control('set_code_status')
    def set_code_status(self, cis, status, status_ex=None, owner_inn=None,
            withdrawal_action=None):
        if status not in CODE_STATUSES:
            raise ValueError(f'unknown code status {status}')
        with self.lock:
            record = self._find(cis)
            if record is None:
                raise KeyError(f'unknown code {cis}')
            record['status'] = status
            if status_ex is not None:
                record['statusEx'] = status_ex
            if owner_inn is not None:
                record['ownerInn'] = owner_inn
            record['_withdrawal'] = withdrawal_action if (
                status == 'RETIRED') else None
            return self._code_view(record)

    @control('codes')
    def list_codes(self, status=None, pg=None):
        "All known codes (with full КМ), optionally filtered"
        with self.lock:
            return [self._code_view(r) for r in self.codes.values()
                if (status is None or r['status'] == status)
                and (pg is None or r['productGroup'] == pg)]

    @control('process_documents')
    def process_documents(self):
        "Finish every IN_PROGRESS document now"
        with self.lock:
            self._process_due(force=True)
            return {d['number']: d['status'] for d in self.documents.values()}

    @control('expire_tokens')
    def expire_tokens(self):
        "Make every issued token stale, as after 10 hours"
        with self.lock:
            for session in self.tokens.values():
                session['expires'] = 0
            return {'expired': len(self.tokens)}
