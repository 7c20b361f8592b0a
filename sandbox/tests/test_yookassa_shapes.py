"""The YooKassa simulator answers in the API's shapes, field by field.

Each object the API returns is checked against a schema written from the
API reference (shared/docs/external/yookassa.md and the reference's object
models): every field the simulator sends must be one the object has, with
the reference's type (amounts as "100.00" strings, times as ISO-8601 UTC
with milliseconds and "Z", booleans as booleans), and the fields the
object always has must be there.
"""
import re
import time
import unittest
import uuid

import requests
from flask import request

from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.core import Simulator, route
from sandbox.yookassa import YooKassaSimulator

AMOUNT_RE = re.compile(r'^\d+\.\d{2}$')
TIME_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
    r'[0-9a-f]{12}$')


def amount(value):
    return (isinstance(value, dict) and set(value) == {'value', 'currency'}
        and isinstance(value['value'], str)
        and bool(AMOUNT_RE.match(value['value']))
        and value['currency'] == 'RUB')


def moment(value):
    return isinstance(value, str) and bool(TIME_RE.match(value))


def text(value):
    return isinstance(value, str) and value != ''


def boolean(value):
    return isinstance(value, bool)


def one_of(*values):
    return lambda value: value in values


def string_map(value):
    return isinstance(value, dict) and all(
        isinstance(v, str) or v is None for v in value.values())


def shaped(fields, required=()):
    "A checker of a nested object"
    def check(value):
        return isinstance(value, dict) and not conform(value, fields,
            required)
    return check


def list_of(check):
    return lambda value: isinstance(value, list) and all(
        check(v) for v in value)


def conform(obj, fields, required):
    "The differences of obj from the schema, as readable strings"
    problems = [f'unknown field {k}' for k in obj if k not in fields]
    problems += [f'missing field {k}' for k in required if k not in obj]
    problems += [f'{k} = {obj[k]!r}' for k, check in fields.items()
        if k in obj and not check(obj[k])]
    return problems


CANCELLATION = shaped({'party': one_of('merchant', 'yoo_money',
            'payment_network', 'refund_network'), 'reason': text},
    ('party', 'reason'))
THREE_D_SECURE = shaped({'applied': boolean, 'protocol': text,
        'method_completed': boolean, 'challenge_completed': boolean},
    ('applied',))
CARD = shaped({'first6': text, 'last4': text, 'expiry_month': text,
        'expiry_year': text, 'card_type': text, 'issuer_country': text,
        'issuer_name': text, 'card_product': dict, 'source': text},
    ('last4', 'expiry_month', 'expiry_year', 'card_type'))
PAYMENT_METHOD = shaped({'type': text, 'id': text, 'saved': boolean,
        'status': one_of('pending', 'active', 'inactive'), 'title': text,
        'card': CARD, 'login': text, 'phone': text, 'account_number': text,
        'sbp_operation_id': text, 'payer_bank_details': dict},
    ('type', 'id', 'saved'))
CONFIRMATION = shaped({'type': one_of('redirect', 'embedded', 'external',
            'qr', 'mobile_application'), 'confirmation_url': text,
        'return_url': text, 'enforce': boolean, 'locale': text,
        'confirmation_token': text, 'confirmation_data': text},
    ('type',))
PAYMENT = {
    'id': lambda v: text(v) and bool(UUID_RE.match(v)),
    'status': one_of('pending', 'waiting_for_capture', 'succeeded',
        'canceled'),
    'amount': amount, 'income_amount': amount, 'description': text,
    'recipient': shaped({'account_id': text, 'gateway_id': text},
        ('account_id', 'gateway_id')),
    'payment_method': PAYMENT_METHOD, 'captured_at': moment,
    'created_at': moment, 'expires_at': moment, 'confirmation': CONFIRMATION,
    'test': boolean, 'refunded_amount': amount, 'paid': boolean,
    'refundable': boolean,
    'receipt_registration': one_of('pending', 'succeeded', 'canceled'),
    'metadata': string_map, 'cancellation_details': CANCELLATION,
    'authorization_details': shaped({'rrn': text, 'auth_code': text,
            'three_d_secure': THREE_D_SECURE}),
    'transfers': list, 'deal': dict, 'merchant_customer_id': text,
    'invoice_details': dict}
PAYMENT_REQUIRED = ('id', 'status', 'amount', 'recipient', 'created_at',
    'test', 'paid', 'refundable', 'metadata')
REFUND = {
    'id': text, 'payment_id': text,
    'status': one_of('pending', 'succeeded', 'canceled'),
    'cancellation_details': CANCELLATION,
    'receipt_registration': one_of('pending', 'succeeded', 'canceled'),
    'created_at': moment, 'amount': amount, 'description': text,
    'sources': list, 'deal': dict, 'refund_method': dict,
    'refund_authorization_details': shaped({'rrn': text}),
    'metadata': string_map}
REFUND_REQUIRED = ('id', 'payment_id', 'status', 'created_at', 'amount')
RECEIPT_ITEM = shaped({
    'description': text, 'quantity': lambda v: isinstance(v, str)
    and bool(re.match(r'^\d+(\.\d+)?$', v)), 'amount': amount,
    'vat_code': lambda v: isinstance(v, int) and 1 <= v <= 12,
    'payment_mode': text, 'payment_subject': text, 'measure': text,
    'mark_quantity': dict, 'mark_code_info': dict, 'mark_mode': text,
    'planned_status': int, 'payment_subject_industry_details': list,
    'product_code': text, 'country_of_origin_code': text,
    'customs_declaration_number': text, 'excise': text, 'supplier': dict,
    'agent_type': text},
    ('description', 'quantity', 'amount', 'vat_code'))
RECEIPT = {
    'id': lambda v: text(v) and v.startswith('rt_'),
    'type': one_of('payment', 'refund'), 'payment_id': text,
    'refund_id': text, 'status': one_of('pending', 'succeeded', 'canceled'),
    'fiscal_document_number': text, 'fiscal_storage_number': text,
    'fiscal_attribute': text, 'registered_at': moment,
    'fiscal_provider_id': text, 'items': list_of(RECEIPT_ITEM),
    'settlements': list_of(shaped({'type': one_of('cashless', 'prepayment',
                'postpayment', 'consideration'), 'amount': amount},
            ('type', 'amount'))),
    'tax_system_code': int, 'receipt_industry_details': list,
    'receipt_operational_details': dict, 'timezone': text,
    'internet': boolean, 'on_behalf_of': text}
RECEIPT_REQUIRED = ('id', 'type', 'status', 'items')
ERROR = {'type': one_of('error'), 'id': text, 'code': one_of(
        'invalid_request', 'invalid_credentials', 'forbidden', 'not_found',
        'gone', 'too_many_requests', 'internal_server_error'),
    'description': text, 'parameter': text, 'retry_after': int}
ERROR_REQUIRED = ('type', 'id', 'code', 'description')
WEBHOOK = {'id': lambda v: text(v) and v.startswith('wh-'), 'event': text,
    'url': text}


class Receiver(Simulator):
    "Plays the hub's notification endpoint"
    name = 'receiver'

    @route('/notify', methods=['POST'])
    def notify(self):
        self.received.append(request.get_json())
        return '', 200

    def init_state(self):
        self.received = []


class YooKassaShapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clock = FakeClock()
        cls.sim = YooKassaSimulator(clock=cls.clock)
        cls.url = cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        cls.control = SandboxControl(cls.url)
        cls.receiver = Receiver()
        cls.hook = cls.receiver.start() + '/notify'
        cls.addClassCleanup(cls.receiver.stop)

    def setUp(self):
        self.sim.webhooks.wait_idle()
        self.sim.reset()
        self.receiver.reset()
        creds = self.control.action('configure', notification_url=self.hook)
        self.auth = (creds['shop_id'], creds['secret_key'])

    # -- helpers -------------------------------------------------------------
    def post(self, path, body, key=None, auth=None, status=200):
        response = requests.post(self.url + '/v3' + path, json=body,
            auth=auth or self.auth, timeout=5,
            headers={'Idempotence-Key': key or str(uuid.uuid4())})
        self.assertEqual(response.status_code, status, response.text)
        self.assertTrue(response.headers['Content-Type'].startswith(
                'application/json'))
        return response.json()

    def get(self, path, params=None, status=200):
        response = requests.get(self.url + '/v3' + path, params=params,
            auth=self.auth, timeout=5)
        self.assertEqual(response.status_code, status, response.text)
        return response.json()

    def assertShape(self, obj, fields, required):
        self.assertEqual(conform(obj, fields, required), [], obj)

    def assertPayment(self, obj):
        self.assertShape(obj, PAYMENT, PAYMENT_REQUIRED)

    def assertError(self, obj, code, parameter=None):
        self.assertShape(obj, ERROR, ERROR_REQUIRED)
        self.assertEqual(obj['code'], code)
        if parameter:
            self.assertEqual(obj['parameter'], parameter)

    def create(self, capture=True, receipt=True, value='100.00', **extra):
        body = {'amount': {'value': value, 'currency': 'RUB'},
            'capture': capture, 'description': 'Заказ №37',
            'metadata': {'order_id': 37},
            'confirmation': {'type': 'redirect',
                'return_url': 'https://shop.example/return'}, **extra}
        if receipt:
            body['receipt'] = {'customer': {'email': 'buyer@example.com'},
                'items': [{'description': 'Ботинки', 'quantity': '1.00',
                        'amount': {'value': value, 'currency': 'RUB'},
                        'vat_code': '4', 'payment_mode': 'full_prepayment',
                        'payment_subject': 'commodity'}]}
        return self.post('/payments', body)

    def pay(self, payment, **kwargs):
        self.control.action('succeed_payment', payment_id=payment['id'],
            **kwargs)
        return self.get(f"/payments/{payment['id']}")

    def notifications(self, count):
        deadline = time.monotonic() + 5
        while len(self.receiver.received) < count and (
                time.monotonic() < deadline):
            time.sleep(0.02)
        return self.receiver.received

    # -- payments -------------------------------------------------------------
    def test_pending_payment(self):
        payment = self.create(merchant_customer_id='buyer-5')
        self.assertPayment(payment)
        self.assertEqual(payment['status'], 'pending')
        self.assertIs(payment['paid'], False)
        self.assertIs(payment['refundable'], False)
        self.assertIs(payment['test'], True)
        self.assertEqual(payment['amount'], {'value': '100.00',
                'currency': 'RUB'})
        # metadata values come back as strings
        self.assertEqual(payment['metadata'], {'order_id': '37'})
        self.assertEqual(payment['merchant_customer_id'], 'buyer-5')
        self.assertEqual(payment['confirmation']['type'], 'redirect')
        self.assertIn('/api-pages/v2/payment-confirm/epl?orderId='
            + payment['id'], payment['confirmation']['confirmation_url'])
        for absent in ('income_amount', 'captured_at', 'refunded_amount',
                'cancellation_details', 'authorization_details'):
            self.assertNotIn(absent, payment)

    def test_amounts_are_two_decimal_strings(self):
        payment = self.create(value='7', receipt=False)
        self.assertEqual(payment['amount']['value'], '7.00')
        paid = self.pay(payment)
        self.assertEqual(paid['income_amount']['value'], '6.76')
        self.assertEqual(paid['refunded_amount']['value'], '0.00')

    def test_succeeded_payment(self):
        payment = self.pay(self.create())
        self.assertPayment(payment)
        self.assertEqual(payment['status'], 'succeeded')
        self.assertIs(payment['paid'], True)
        self.assertIs(payment['refundable'], True)
        for field in ('income_amount', 'captured_at', 'refunded_amount',
                'payment_method', 'authorization_details'):
            self.assertIn(field, payment)
        self.assertNotIn('expires_at', payment)
        self.assertEqual(payment['receipt_registration'], 'succeeded')
        card = payment['payment_method']['card']
        self.assertEqual((card['first6'], card['last4']), ('555555', '4444'))
        self.assertTrue(payment['authorization_details']['rrn'].isdigit())

    def test_two_stage_payment_capture(self):
        payment = self.pay(self.create(capture=False))
        self.assertPayment(payment)
        self.assertEqual(payment['status'], 'waiting_for_capture')
        self.assertIs(payment['paid'], True)
        self.assertIs(payment['refundable'], False)
        self.assertIn('expires_at', payment)
        self.assertNotIn('captured_at', payment)
        captured = self.post(f"/payments/{payment['id']}/capture", None)
        self.assertPayment(captured)
        self.assertEqual(captured['status'], 'succeeded')
        self.assertIn('captured_at', captured)

    def test_cancel_held_payment(self):
        payment = self.pay(self.create(capture=False))
        canceled = self.post(f"/payments/{payment['id']}/cancel", {})
        self.assertPayment(canceled)
        self.assertEqual(canceled['status'], 'canceled')
        self.assertIs(canceled['paid'], False)
        self.assertIs(canceled['refundable'], False)
        self.assertEqual(canceled['cancellation_details'], {
                'party': 'merchant', 'reason': 'canceled_by_merchant'})
        self.assertEqual(canceled['receipt_registration'], 'canceled')

    def test_failed_payment(self):
        payment = self.create(receipt=False)
        self.control.action('fail_payment', payment_id=payment['id'],
            reason='insufficient_funds')
        failed = self.get(f"/payments/{payment['id']}")
        self.assertPayment(failed)
        self.assertEqual(failed['cancellation_details'], {
                'party': 'payment_network', 'reason': 'insufficient_funds'})

    # -- refunds --------------------------------------------------------------
    def test_refund_object(self):
        payment = self.pay(self.create(receipt=False))
        refund = self.post('/refunds', {'payment_id': payment['id'],
                'amount': {'value': '30', 'currency': 'RUB'},
                'description': 'Возврат по заказу №37',
                'metadata': {'hub_refund': 5}})
        self.assertShape(refund, REFUND, REFUND_REQUIRED)
        self.assertEqual(refund['amount'], {'value': '30.00',
                'currency': 'RUB'})
        self.assertEqual(refund['status'], 'succeeded')
        self.assertEqual(refund['metadata'], {'hub_refund': '5'})
        self.assertNotIn('receipt_registration', refund)
        self.assertEqual(self.get(f"/refunds/{refund['id']}"), refund)
        payment = self.get(f"/payments/{payment['id']}")
        self.assertEqual(payment['refunded_amount']['value'], '30.00')
        self.assertIs(payment['refundable'], True)

    def test_full_refund_registers_refund_receipt_of_its_own(self):
        "A full refund needs no receipt data: the payment's is returned"
        payment = self.pay(self.create())
        refund = self.post('/refunds', {'payment_id': payment['id'],
                'amount': payment['amount']})
        self.assertShape(refund, REFUND, REFUND_REQUIRED)
        self.assertEqual(refund['receipt_registration'], 'pending')
        receipt, = self.get('/receipts', {'refund_id': refund['id']})[
            'items']
        self.assertShape(receipt, RECEIPT, RECEIPT_REQUIRED)
        self.assertEqual(receipt['type'], 'refund')
        self.assertEqual(receipt['items'][0]['amount']['value'], '100.00')
        payment = self.get(f"/payments/{payment['id']}")
        self.assertIs(payment['refundable'], False)
        self.assertEqual(self.get(f"/refunds/{refund['id']}")[
                'receipt_registration'], 'succeeded')

    def test_partial_refund_needs_receipt_when_receipts_are_on(self):
        self.control.action('configure', receipts_required=True)
        payment = self.pay(self.create())
        error = self.post('/refunds', {'payment_id': payment['id'],
                'amount': {'value': '10.00', 'currency': 'RUB'}},
            status=400)
        self.assertError(error, 'invalid_request', 'receipt')

    # -- receipts -------------------------------------------------------------
    def test_receipt_object(self):
        payment = self.pay(self.create())
        receipt = self.post('/receipts', {'type': 'payment',
                'payment_id': payment['id'], 'send': True,
                'customer': {'phone': '79000000000'},
                'additional_user_props': {'name': 'a', 'value': 'b'},
                'internet': True, 'tax_system_code': 1,
                'items': [{'description': 'Ботинки', 'quantity': 1,
                        'amount': {'value': '100', 'currency': 'RUB'},
                        'vat_code': 4, 'payment_mode': 'full_payment',
                        'payment_subject': 'commodity'}],
                'settlements': [{'type': 'prepayment',
                        'amount': {'value': '100.00', 'currency': 'RUB'}}]})
        self.assertShape(receipt, RECEIPT, RECEIPT_REQUIRED)
        self.assertEqual(receipt['status'], 'pending')
        for absent in ('customer', 'created_at', 'additional_user_props',
                'send', 'fiscal_attribute'):
            self.assertNotIn(absent, receipt)
        item, = receipt['items']
        self.assertEqual((item['quantity'], item['amount']['value'],
                item['vat_code']), ('1.00', '100.00', 4))
        registered = self.get(f"/receipts/{receipt['id']}")
        self.assertShape(registered, RECEIPT, RECEIPT_REQUIRED + (
                'fiscal_document_number', 'fiscal_storage_number',
                'fiscal_attribute', 'registered_at'))
        self.assertEqual(registered['status'], 'succeeded')

    def test_receipts_listed_with_cursor_and_created_filter(self):
        for _ in range(3):
            self.pay(self.create())
        first = self.get('/receipts', {'limit': 2})
        self.assertEqual(set(first), {'type', 'items', 'next_cursor'})
        self.assertEqual(first['type'], 'list')
        rest = self.get('/receipts', {'limit': 2,
                'cursor': first['next_cursor']})
        self.assertEqual(set(rest), {'type', 'items'})
        ids = [r['id'] for r in first['items'] + rest['items']]
        self.assertEqual(len(set(ids)), 3)
        for receipt in first['items'] + rest['items']:
            self.assertShape(receipt, RECEIPT, RECEIPT_REQUIRED)
        later = self.get('/receipts', {
                'created_at.gte': '2999-01-01T00:00:00.000Z'})
        self.assertEqual(later, {'type': 'list', 'items': []})

    def test_lists_of_payments_and_refunds(self):
        for _ in range(3):
            payment = self.pay(self.create(receipt=False))
            self.post('/refunds', {'payment_id': payment['id'],
                    'amount': {'value': '1.00', 'currency': 'RUB'}})
        for path, fields, required in (
                ('/payments', PAYMENT, PAYMENT_REQUIRED),
                ('/refunds', REFUND, REFUND_REQUIRED)):
            page = self.get(path, {'limit': 2})
            self.assertEqual(page['type'], 'list')
            self.assertEqual(len(page['items']), 2)
            for obj in page['items']:
                self.assertShape(obj, fields, required)
            rest = self.get(path, {'limit': 2, 'cursor': page['next_cursor']})
            self.assertEqual(len(rest['items']), 1)
            self.assertNotIn('next_cursor', rest)
        captured = self.get('/payments', {
                'captured_at.gte': '2000-01-01T00:00:00.000Z'})
        self.assertEqual(len(captured['items']), 3)
        error = self.get('/payments', {'limit': 101}, status=400)
        self.assertError(error, 'invalid_request', 'limit')

    # -- errors and idempotence ------------------------------------------------
    def test_error_objects_and_http_codes(self):
        self.assertError(self.post('/payments', {}, auth=('1', '2'),
                status=401), 'invalid_credentials', 'Authorization')
        self.assertError(self.get('/payments/nope', status=404),
            'not_found', 'payment_id')
        self.assertError(self.get('/refunds/nope', status=404),
            'not_found', 'refund_id')
        self.assertError(self.get('/receipts/rt_nope', status=404),
            'not_found', 'receipt_id')
        self.assertError(self.post('/payments', {'amount': {
                    'value': 'abc', 'currency': 'RUB'}}, status=400),
            'invalid_request', 'amount.value')
        self.control.fault('rate_limit', '/v3/payments*', count=1)
        self.assertError(self.post('/payments', {}, status=429),
            'too_many_requests')
        self.control.fault('error', '/v3/payments*', count=1)
        self.assertError(self.post('/payments', {}, status=500),
            'internal_server_error')

    def test_idempotence_key(self):
        body = {'amount': {'value': '5.00', 'currency': 'RUB'}}
        key = str(uuid.uuid4())
        first = self.post('/payments', body, key=key)
        self.assertEqual(self.post('/payments', body, key=key), first)
        error = self.post('/payments', dict(body, description='другой'),
            key=key, status=400)
        self.assertError(error, 'invalid_request', 'Idempotence-Key')
        # the same key on another endpoint is another body too
        error = self.post(f"/payments/{first['id']}/cancel", {}, key=key,
            status=400)
        self.assertEqual(error['parameter'], 'Idempotence-Key')
        response = requests.post(self.url + '/v3/payments', json=body,
            auth=self.auth, timeout=5)
        self.assertEqual(response.status_code, 400)
        self.assertError(response.json(), 'invalid_request',
            'Idempotence-Key')
        self.assertError(self.post('/payments', body, key='k' * 65,
                status=400), 'invalid_request', 'Idempotence-Key')
        self.assertEqual(len(self.get('/payments')['items']), 1)

    # -- notifications and webhooks --------------------------------------------
    def test_notification_bodies(self):
        payment = self.create(capture=False)
        self.pay(payment)
        self.post(f"/payments/{payment['id']}/capture", {})
        self.post('/refunds', {'payment_id': payment['id'],
                'amount': {'value': '100.00', 'currency': 'RUB'}})
        received = self.notifications(3)
        self.assertEqual([n['event'] for n in received], [
                'payment.waiting_for_capture', 'payment.succeeded',
                'refund.succeeded'])
        for notification in received:
            self.assertEqual(set(notification), {'type', 'event', 'object'})
            self.assertEqual(notification['type'], 'notification')
        for notification in received[:2]:
            self.assertPayment(notification['object'])
        self.assertShape(received[2]['object'], REFUND, REFUND_REQUIRED)

    def test_webhooks(self):
        oauth = {'Authorization': f'Bearer {self.sim.oauth_token}'}
        base = self.url + '/v3/webhooks'
        webhook = requests.post(base, json={'event': 'refund.succeeded',
                'url': 'https://hub.example/n'}, timeout=5, headers={
                **oauth, 'Idempotence-Key': str(uuid.uuid4())}).json()
        self.assertShape(webhook, WEBHOOK, tuple(WEBHOOK))
        listed = requests.get(base, headers=oauth, timeout=5).json()
        self.assertEqual(listed, {'type': 'list', 'items': [webhook]})
        deleted = requests.delete(f"{base}/{webhook['id']}", timeout=5,
            headers={**oauth, 'Idempotence-Key': str(uuid.uuid4())})
        self.assertEqual((deleted.status_code, deleted.json()), (200, {}))
        missing = requests.delete(f"{base}/{webhook['id']}", timeout=5,
            headers={**oauth, 'Idempotence-Key': str(uuid.uuid4())})
        self.assertEqual(missing.status_code, 404)
        self.assertError(missing.json(), 'not_found', 'webhook_id')


if __name__ == '__main__':
    unittest.main()
