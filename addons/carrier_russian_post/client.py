"""Client of the Otpravka API of Russian Post (otpravka-api.pochta.ru).

Plain Python: no Tryton models, only hub_sync's HTTP base and errors.
Wire format (reference: shared/docs/external/russian_post.md, part B):
kebab-case JSON, money in kopecks and mass in grams as integers, two
authentication headers on every call.  Values in and out of this client
are neutral: Decimal roubles, grams, plain dicts with snake_case keys.

Errors:
- transport, 429 and 5xx: ``TransientError`` (hub_sync.http);
- 401/403 (token or account login wrong): ``ConfigurationError``: an
  administrator fixes the connection, the outbox keeps the message;
- other 4xx and the per-order ``errors`` of an HTTP 200 answer:
  ``PermanentError`` with Russian Post's own descriptions (Russian).

Duplicates on retry: Otpravka has no idempotency keys.  The hub's order
number travels as ``order-num``; :meth:`OtpravkaClient.create_order` first
looks for an order with that number (``/1.0/backlog/search``, then the
batches through ``/1.0/shipment/search``) and returns it instead of
creating a second one, so a retry after a lost answer is harmless.
"""
import base64
import json
from decimal import ROUND_HALF_UP, Decimal

from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError)
from trytond.modules.hub_sync.http import HttpClient, excerpt

API_URL = 'https://otpravka-api.pochta.ru'
JSON = 'application/json;charset=UTF-8'
# the spec's own rule of a deliverable cleaned address (B.5)
GOOD_QUALITY = frozenset({'GOOD', 'POSTAL_BOX', 'ON_DEMAND', 'UNDEF_05'})
GOOD_VALIDATION = frozenset({'VALIDATED', 'OVERRIDDEN',
        'CONFIRMED_MANUALLY'})
# quality codes of the cleaning service, for the reason shown to a person
QUALITY_TEXT = {
    'GOOD': 'Пригоден для почтовой рассылки',
    'ON_DEMAND': 'До востребования', 'POSTAL_BOX': 'Абонентский ящик',
    'UNDEF_01': 'Не определён регион',
    'UNDEF_02': 'Не определён город или населённый пункт',
    'UNDEF_03': 'Не определена улица',
    'UNDEF_04': 'Не определён номер дома',
    'UNDEF_05': 'Не определена квартира или офис',
    'UNDEF_06': 'Адрес не определён', 'UNDEF_07': 'Иностранный адрес'}
# cleaned address field -> order field (B.2 / B.5)
ADDRESS_FIELDS = {'index': 'index-to', 'region': 'region-to',
    'area': 'area-to', 'place': 'place-to', 'location': 'location-to',
    'street': 'street-to', 'house': 'house-to', 'letter': 'letter-to',
    'slash': 'slash-to', 'corpus': 'corpus-to', 'building': 'building-to',
    'hotel': 'hotel-to', 'room': 'room-to',
    'num-address-type': 'num-address-type-to'}
FORMS = {'f7p': 'f7pdf', 'f112': 'f112pdf', 'all': 'forms'}
VAT_RATES = {None: -1, 0: 0, 10: 10, 20: 20, 5: 5, 7: 7, 22: 22}
MSG_AUTH = ('Почта России (Отправка) не приняла токен или логин и пароль '
    'личного кабинета: {reason}')
MSG_NO_CREDENTIALS = ('Для Почты России (Отправка) не заданы токен '
    'приложения, логин и пароль личного кабинета')
MSG_REFUSED = 'Почта России отклонила заказ {number}: {errors}'
MSG_NOT_PDF = 'Почта России вернула не PDF, а {content_type}'


def kopecks(amount):
    "Decimal roubles -> integer kopecks (None stays None)"
    if amount is None:
        return None
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1),
            rounding=ROUND_HALF_UP))


def rubles(value):
    "Kopecks as the API sends them (int, or a numeric string) -> Decimal"
    if value in (None, ''):
        return None
    return (Decimal(str(value)) / 100).quantize(Decimal('0.01'))


def phone_digits(phone):
    "tel-address: digits only, Russian numbers as 7XXXXXXXXXX, else None"
    digits = ''.join(c for c in str(phone or '') if c.isdigit())
    if len(digits) == 11 and digits[0] == '8':
        digits = '7' + digits[1:]
    elif len(digits) == 10:
        digits = '7' + digits
    return int(digits) if 10 < len(digits) <= 15 else None


def vat_rate(rate):
    """The goods item's vat-rate: -1 without VAT, else the percentage.
    Rates after 2026 are unconfirmed in the note: 5, 7 and 22 are sent as
    such; an unknown rate is refused rather than guessed."""
    if rate in (None, '', 'none', -1, '-1'):
        return -1
    value = Decimal(str(rate))
    if value < 1 and value != 0:
        value *= 100                 # 0.2 -> 20
    if value != value.to_integral() or int(value) not in VAT_RATES:
        raise ValueError(f'unknown VAT rate {rate!r}')
    return int(value)


def is_deliverable(cleaned):
    "Whether a /1.0/clean/address answer may be shipped to (B.5)"
    return (cleaned.get('quality-code') in GOOD_QUALITY
        and cleaned.get('validation-code') in GOOD_VALIDATION)


def address_problem(cleaned):
    "Why a cleaned address cannot be shipped to, in Russian, or None"
    if is_deliverable(cleaned):
        return None
    quality = cleaned.get('quality-code')
    text = QUALITY_TEXT.get(quality, quality or 'нет кода качества')
    return (f'Почта России не смогла разобрать адрес «'
        f"{cleaned.get('original-address', '')}»: {text} "
        f"({cleaned.get('validation-code') or '—'})")


def build_order(number, recipient, address, mass, mail_type='POSTAL_PARCEL',
        mail_category='ORDINARY', phone=None, declared_value=None,
        cash_on_delivery=None, dimensions=None, comment=None, items=(),
        shipping_point=None, fragile=False, delivery_point=None,
        payment_method='CASHLESS', sms_notice=False, **extra):
    """An Otpravka order (B.2) from neutral values.

    recipient: {surname, given_name, middle_name, name}; address: a
    /1.0/clean/address answer (or a dict with the same keys); mass in
    grams; money as Decimal roubles; dimensions {height, length, width} in
    cm; items as order_shipments' ``get_carrier_items()`` (name, article,
    quantity, unit_price, vat_rate, weight, marking_codes); delivery_point:
    the index of an ECOM pickup point.  ``extra`` are further kebab-case
    fields sent as they are (services flags, envelope type…)."""
    order = {'order-num': str(number), 'mail-type': mail_type,
        'mail-category': mail_category, 'mail-direct': 643,
        'mass': int(mass),
        'address-type-to': address.get('address-type') or 'DEFAULT',
        'surname': recipient.get('surname'),
        'given-name': recipient.get('given_name'),
        'middle-name': recipient.get('middle_name') or None,
        'recipient-name': recipient.get('name') or ' '.join(filter(None, (
                    recipient.get('surname'), recipient.get('given_name'),
                    recipient.get('middle_name')))),
        'fragile': bool(fragile), 'payment-method': payment_method,
        'comment': comment or None}
    for source, target in ADDRESS_FIELDS.items():
        if address.get(source):
            order[target] = str(address[source])
    if order.get('index-to'):
        order['index-to'] = int(order['index-to'])
    if phone_digits(phone):
        order['tel-address'] = phone_digits(phone)
    if sms_notice:
        order['sms-notice-recipient'] = 1
    if shipping_point:
        order['postoffice-code'] = str(shipping_point)
    if declared_value:
        order['insr-value'] = kopecks(declared_value)
    if cash_on_delivery:
        order['payment'] = kopecks(cash_on_delivery)
    if dimensions:
        order['dimension'] = {k: int(dimensions[k]) for k in ('height',
                'length', 'width') if dimensions.get(k)}
    if delivery_point:
        order['ecom-data'] = {'delivery-point-index': str(delivery_point)}
    if items:
        order['goods'] = {'items': [g for i in items
                for g in goods_items(i)]}
    order.update(extra)
    return {k: v for k, v in order.items() if v is not None}


def goods_items(item):
    """goods.items[] (B.2) of one neutral carrier item; a marked line is
    split into one item per marking code (the field holds one code)"""
    result = {'description': item.get('name'),
        'quantity': int(item.get('quantity') or 1),
        'value': kopecks(item.get('unit_price')),
        'insr-value': kopecks(item.get('unit_price')),
        'vat-rate': vat_rate(item.get('vat_rate')),
        'item-number': item.get('article') or None,
        'goods-type': 'GOODS'}
    if item.get('weight'):
        result['weight'] = int(item['weight'])
    result = {k: v for k, v in result.items() if v is not None}
    codes = item.get('marking_codes') or []
    if not codes:
        return [result]
    rest = result['quantity'] - len(codes)
    return [dict(result, quantity=1, code=code) for code in codes] + (
        [dict(result, quantity=rest)] if rest > 0 else [])


class OtpravkaClient(HttpClient):

    def __init__(self, base_url, token, login, password, timeout=10,
            session=None):
        if not (token and login and password):
            raise ConfigurationError(MSG_NO_CREDENTIALS)
        basic = base64.b64encode(f'{login}:{password}'.encode()).decode()
        super().__init__(base_url or API_URL, timeout, headers={
                'Authorization': f'AccessToken {token}',
                'X-User-Authorization': f'Basic {basic}',
                'Accept': JSON}, session=session)

    # -- errors --------------------------------------------------------------
    def check(self, response):
        if response.status_code in (401, 403):
            raise ConfigurationError(MSG_AUTH.format(
                    reason=self.reason(response)), status=response.status_code,
                body=response.text, detail=self.describe(response))
        super().check(response)

    def reason(self, response):
        "The remote's message: message / desc / sub-code / error (B.1)"
        try:
            body = decode(response)
        except ValueError:
            body = None
        if isinstance(body, dict):
            for key in ('message', 'desc', 'sub-code', 'error'):
                if body.get(key):
                    return (f'HTTP {response.status_code}: '
                        f'{excerpt(str(body[key]), 300)}')
        return super().reason(response)

    # -- plumbing ------------------------------------------------------------
    def _json(self, method, path, payload=None, **kwargs):
        if payload is not None:
            kwargs['data'] = json.dumps(payload, ensure_ascii=False).encode()
            kwargs['headers'] = {'Content-Type': JSON}
        response = self.request(method, path, **kwargs)
        try:
            return decode(response)
        except ValueError as error:
            raise PermanentError(f'Почта России: ответ не JSON ({error})',
                status=response.status_code, body=response.text,
                detail=self.describe(response)) from error

    def _clean(self, path, field, values):
        """{our id: text} -> {our id: answer}; the answers come in any
        order (B.5) and are matched by id"""
        values = {str(k): v for k, v in values.items()}
        if not values:
            return {}
        answers = self._json('POST', path, [{'id': k, field: v}
                for k, v in values.items()])
        found = {str(a.get('id')): a for a in answers or []
            if isinstance(a, dict)}
        missing = set(values) - set(found)
        if missing:
            raise PermanentError('Почта России не вернула результат '
                f"нормализации для: {', '.join(sorted(missing))}")
        return found

    # -- normalisation -------------------------------------------------------
    def clean_addresses(self, addresses):
        """{id: one-line address} -> {id: answer}; each answer has the
        service's fields plus ``deliverable`` and ``problem`` (Russian)"""
        answers = self._clean('/1.0/clean/address', 'original-address',
            addresses)
        for answer in answers.values():
            answer['deliverable'] = is_deliverable(answer)
            answer['problem'] = address_problem(answer)
        return answers

    def clean_address(self, address):
        return self.clean_addresses({'0': address})['0']

    def clean_names(self, names):
        "{id: full name} -> {id: {surname, name, middle-name, quality-code}}"
        return self._clean('/1.0/clean/physical', 'original-fio', names)

    def clean_phones(self, phones):
        "{id: phone} -> {id: {phone-country-code, phone-city-code, …}}"
        return self._clean('/1.0/clean/phone', 'original-phone', phones)

    # -- reference -----------------------------------------------------------
    def tariff(self, index_from, index_to, mass, mail_type='POSTAL_PARCEL',
            mail_category='ORDINARY', declared_value=None, fragile=False,
            payment_method='CASHLESS', delivery_point=None, **extra):
        """The price of a parcel (B.6): {total, vat, total_with_vat (Decimal
        roubles), min_days, max_days, raw}"""
        body = {'index-from': int(index_from), 'mail-type': mail_type,
            'mail-category': mail_category, 'mass': int(mass),
            'fragile': bool(fragile), 'payment-method': payment_method,
            **extra}
        if delivery_point:
            body['delivery-point-index'] = int(delivery_point)
        else:
            body['index-to'] = int(index_to)
        if declared_value:
            body['declared-value'] = kopecks(declared_value)
        raw = self._json('POST', '/1.0/tariff', body)
        total, vat = rubles(raw.get('total-rate')), rubles(
            raw.get('total-vat'))
        days = raw.get('delivery-time') or {}
        return {'total': total, 'vat': vat,
            'total_with_vat': (total or 0) + (vat or 0),
            'min_days': days.get('min-days'), 'max_days': days.get('max-days'),
            'raw': raw}

    def post_office(self, index):
        "The office's passport, or None when there is no such office"
        try:
            return self._json('GET', f'/postoffice/1.0/{index}')
        except PermanentError as error:
            if error.status == 404:
                return None
            raise

    # -- orders --------------------------------------------------------------
    def find_orders(self, number):
        """Orders with the shop's number: in the backlog, then in batches
        (whose search is assumed to take the order number too)"""
        number = str(number)
        found = self._json('GET', '/1.0/backlog/search',
            params={'query': number})
        found = [o for o in found or [] if str(o.get('order-num')) == number]
        if found:
            return found
        batched = self._json('GET', '/1.0/shipment/search',
            params={'query': number})
        return [o for o in batched or [] if str(o.get('order-num')) == number]

    def get_order(self, order_id):
        return self._json('GET', f'/1.0/backlog/{order_id}')

    def create_orders(self, orders):
        """PUT /1.0/user/backlog with several orders; one result a
        position: {'id': …} or {'errors': [{code, description}]}"""
        answer = self._json('PUT', '/1.0/user/backlog', list(orders))
        results = [None] * len(orders)
        for error in answer.get('errors') or []:
            results[int(error.get('position', 0))] = {'errors':
                error.get('error-codes') or [{'code': error.get('error-code'),
                        'description': error.get('error-description')}]}
        ids = iter(answer.get('result-ids') or [])
        for position, result in enumerate(results):
            if result is None:
                order_id = next(ids, None)
                results[position] = ({'id': order_id} if order_id is not None
                    else {'errors': [{'code': 'NO_RESULT', 'description':
                                'Почта России не вернула номер заказа'}]})
        return results

    def create_order(self, order):
        """Create one order, unless one with its order-num exists already.

        Returns {id, barcode (None until assigned), existing, order}.
        PermanentError with Russian Post's reasons when it refuses."""
        number = order['order-num']
        existing = self.find_orders(number)
        if existing:
            found = existing[0]
            return {'id': found['id'], 'barcode': found.get('barcode'),
                'existing': True, 'order': found}
        [result] = self.create_orders([order])
        if 'errors' in result:
            raise PermanentError(MSG_REFUSED.format(number=number,
                    errors='; '.join(describe_error(e)
                        for e in result['errors'])),
                body=json.dumps(result, ensure_ascii=False))
        created = self.get_order(result['id'])
        return {'id': result['id'], 'barcode': created.get('barcode'),
            'existing': False, 'order': created}

    def delete_orders(self, ids):
        """Delete orders from the backlog: {deleted, not_found}.  Not found
        means deleted already or moved into a batch (Russian Post answers
        NOT_FOUND for both; a batched order is removed from its batch
        with ``delete_batched``).  Other refusals raise PermanentError."""
        return self._delete('/1.0/backlog', ids)

    def delete_batched(self, ids):
        """Remove orders from their batches, deleting them (B.4, ``DELETE
        /1.0/shipment``): {deleted, not_found}.  Not found: deleted already
        or still in the backlog.  A batch handed in at the office (its
        Ф103 checked in) refuses: PermanentError with the reason."""
        return self._delete('/1.0/shipment', ids)

    def _delete(self, path, ids):
        ids = list(ids)
        answer = self._json('DELETE', path, ids)
        not_found, refused = [], []
        for error in answer.get('errors') or []:
            order_id = ids[int(error.get('position', 0))]
            code = error.get('error-code')
            if code == 'NOT_FOUND':
                not_found.append(order_id)
            else:
                refused.append(f"{order_id}: {describe_error(error)}")
        if refused:
            raise PermanentError('Почта России не удалила заказы: '
                + '; '.join(refused), body=json.dumps(answer))
        return {'deleted': answer.get('result-ids') or [],
            'not_found': not_found}

    # -- batches and forms ---------------------------------------------------
    def create_batch(self, ids, sending_date=None):
        """Move backlog orders into batches (B.4): {batches, ids, errors};
        an order already batched comes back in errors as NOT_FOUND"""
        params = {'sending-date': sending_date.isoformat()} if (
            sending_date) else None
        answer = self._json('POST', '/1.0/user/shipment', list(ids),
            params=params)
        return {'batches': answer.get('batches') or [],
            'ids': answer.get('result-ids') or [],
            'errors': answer.get('errors') or []}

    def find_shipment(self, barcode):
        "Batched shipments with that barcode (B.4)"
        return self._json('GET', '/1.0/shipment/search',
            params={'query': str(barcode)})

    def forms(self, order_id, form='all', backlog=False):
        """PDF bytes: 'f7p' the address label, 'f112' the COD money order,
        'all' both (the order in a batch), or with backlog=True the forms
        of an order not batched yet"""
        path = (f'/1.0/forms/backlog/{order_id}/forms' if backlog
            else f'/1.0/forms/{order_id}/{FORMS[form]}')
        response = self.request('GET', path,
            headers={'Accept': 'application/pdf'})
        content_type = response.headers.get('Content-Type', '')
        if not response.content.startswith(b'%PDF'):
            raise PermanentError(MSG_NOT_PDF.format(
                    content_type=content_type or '?'),
                detail=self.describe(response))
        return response.content


def describe_error(error):
    "One error code of a refused order as a person reads it"
    code = error.get('code') or error.get('error-code') or '?'
    description = error.get('description') or error.get(
        'error-description')
    return f'{description} ({code})' if description else code


def decode(response):
    "The JSON body, tolerant of a UTF-8 BOM; ValueError when not JSON"
    text = response.content.decode('utf-8-sig') if response.content else ''
    return json.loads(text) if text.strip() else None
