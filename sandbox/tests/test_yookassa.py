"""YooKassa simulator, driven by the official SDK and by plain requests."""
import time
import unittest
import uuid

import requests
from flask import request
from yookassa import Configuration, Payment, Receipt, Refund
from yookassa.domain.exceptions import (BadRequestError, InternalServerError,
    NotFoundError, UnauthorizedError)

from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.core import Simulator, route
from sandbox.yookassa import YooKassaSimulator

# a Chestny Znak DataMatrix code as text, GS = \x1d
GS1M = '0104601234567890215Xk!bq<7dRe1A\x1d91EE06\x1d92' + 'A' * 44


class Receiver(Simulator):
    "Plays the hub's notification endpoint"
    name = 'receiver'

    @route('/yookassa/notify', methods=['POST'])
    def notify(self):
        self.received.append(request.get_json())
        return '', self.answer

    def init_state(self):
        self.received = []
        self.answer = 200


def item(price='100.00', quantity=1, **extra):
    return {'description': 'Ботинки', 'quantity': quantity,
        'amount': {'value': price, 'currency': 'RUB'}, 'vat_code': 4,
        'payment_mode': 'full_prepayment', 'payment_subject': 'commodity',
        **extra}


def payment_params(value='100.00', capture=True, **extra):
    return {'amount': {'value': value, 'currency': 'RUB'},
        'capture': capture, 'description': 'Заказ №37',
        'metadata': {'order_id': '37'},
        'confirmation': {'type': 'redirect',
            'return_url': 'https://shop.example/return'}, **extra}


class YooKassaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # servers are started once: stopping one costs ~0.5 s of polling
        cls.clock = FakeClock()
        cls.sim = YooKassaSimulator(clock=cls.clock)
        cls.url = cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        cls.control = SandboxControl(cls.url)
        cls.receiver = Receiver()
        cls.hook = cls.receiver.start() + '/yookassa/notify'
        cls.addClassCleanup(cls.receiver.stop)

    def setUp(self):
        self.sim.webhooks.wait_idle()
        self.sim.reset()
        self.receiver.reset()
        creds = self.control.action('configure', notification_url=self.hook)
        self.auth = (creds['shop_id'], creds['secret_key'])
        # the official SDK pointed at the simulator
        Configuration.configure(creds['shop_id'], creds['secret_key'],
            api_url=creds['api_url'])

    def post(self, path, body, key=None, auth=None):
        return requests.post(self.url + '/v3' + path, json=body,
            auth=auth or self.auth, timeout=5,
            headers={'Idempotence-Key': key or str(uuid.uuid4())})

    def events(self, count):
        deadline = time.monotonic() + 5
        while len(self.receiver.received) < count and (
                time.monotonic() < deadline):
            time.sleep(0.02)
        return [n['event'] for n in self.receiver.received]

    def paid(self, capture=True, **extra):
        payment = Payment.create(payment_params(capture=capture, **extra))
        self.control.action('succeed_payment', payment_id=payment.id)
        return Payment.find_one(payment.id)

    # -- auth and idempotence ----------------------------------------------
    def test_wrong_credentials(self):
        response = self.post('/payments', payment_params(),
            auth=('100500', 'wrong'))
        self.assertEqual(response.status_code, 401)
        body = response.json()
        self.assertEqual((body['type'], body['code']),
            ('error', 'invalid_credentials'))
        Configuration.configure('100500', 'wrong', api_url=self.url + '/v3')
        with self.assertRaises(UnauthorizedError):
            Payment.find_one('nope')

    def test_idempotence_key_required(self):
        response = requests.post(self.url + '/v3/payments',
            json=payment_params(), auth=self.auth, timeout=5)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()['parameter'], 'Idempotence-Key')
        long_key = self.post('/payments', payment_params(), key='k' * 65)
        self.assertEqual(long_key.status_code, 400)

    def test_same_key_same_body_replays(self):
        first = self.post('/payments', payment_params(), key='order-37')
        again = self.post('/payments', payment_params(), key='order-37')
        self.assertEqual(first.json(), again.json())
        self.assertEqual(len(Payment.list().items), 1)

    def test_same_key_other_body_rejected(self):
        self.post('/payments', payment_params(), key='order-37')
        other = self.post('/payments', payment_params('200.00'),
            key='order-37')
        self.assertEqual(other.status_code, 400)
        body = other.json()
        self.assertEqual((body['code'], body['description'],
                body['parameter']), ('invalid_request',
                'Idempotence key duplicated', 'Idempotence-Key'))

    def test_key_expires(self):
        self.control.action('configure', idempotence_ttl=3600)
        first = self.post('/payments', payment_params(), key='k1')
        self.clock.advance(3600)
        again = self.post('/payments', payment_params(), key='k1')
        self.assertEqual(first.json()['id'], again.json()['id'])
        self.clock.advance(1)
        second = self.post('/payments', payment_params(), key='k1')
        self.assertNotEqual(first.json()['id'], second.json()['id'])

    def test_lost_response_then_retry_with_same_key(self):
        self.control.action('lose_responses', count=1)
        lost = self.post('/payments', payment_params(), key='k2')
        self.assertEqual(lost.status_code, 500)
        retry = self.post('/payments', payment_params(), key='k2')
        self.assertEqual(retry.status_code, 200)
        self.assertEqual(len(Payment.list().items), 1)

    # -- payments -----------------------------------------------------------
    def test_create_payment_with_sdk(self):
        payment = Payment.create(payment_params())
        self.assertEqual(payment.status, 'pending')
        self.assertFalse(payment.paid)
        self.assertEqual(payment.amount.value, 100)
        self.assertEqual(payment.metadata['order_id'], '37')
        self.assertIn('/api-pages/v2/payment-confirm/epl?orderId=' +
            payment.id, payment.confirmation.confirmation_url)
        raw = requests.get(f'{self.url}/v3/payments/{payment.id}',
            auth=self.auth, timeout=5).json()
        self.assertEqual(raw['amount'], {'value': '100.00',
                'currency': 'RUB'})
        self.assertTrue(raw['test'])

    def test_invalid_amount(self):
        for value in ('-1', 'abc', '1.001'):
            response = self.post('/payments', payment_params(value))
            self.assertEqual(response.status_code, 400, value)
            self.assertEqual(response.json()['parameter'], 'amount.value')

    def test_buyer_pays_on_confirmation_page(self):
        payment = Payment.create(payment_params())
        page = payment.confirmation.confirmation_url
        self.assertIn('Pay', requests.get(page, timeout=5).text)
        answer = requests.post(page, data={'result': 'succeeded'},
            allow_redirects=False, timeout=5)
        self.assertEqual(answer.headers['Location'],
            'https://shop.example/return')
        payment = Payment.find_one(payment.id)
        self.assertEqual((payment.status, payment.paid), ('succeeded', True))
        self.assertEqual(self.events(1), ['payment.succeeded'])
        notification = self.receiver.received[0]
        self.assertEqual(notification['type'], 'notification')
        self.assertEqual(notification['object']['id'], payment.id)
        self.assertEqual(notification['object']['status'], 'succeeded')

    def test_two_stage_partial_capture(self):
        payment = self.paid(capture=False)
        self.assertEqual(payment.status, 'waiting_for_capture')
        self.assertIsNotNone(payment.expires_at)
        captured = Payment.capture(payment.id,
            {'amount': {'value': '60.00', 'currency': 'RUB'}})
        self.assertEqual(captured.status, 'succeeded')
        self.assertEqual(str(captured.amount.value), '60.00')
        self.assertEqual(self.events(2),
            ['payment.waiting_for_capture', 'payment.succeeded'])

    def test_capture_more_than_held(self):
        payment = self.paid(capture=False)
        with self.assertRaises(BadRequestError) as caught:
            Payment.capture(payment.id,
                {'amount': {'value': '150.00', 'currency': 'RUB'}})
        self.assertEqual(caught.exception.content['parameter'],
            'amount.value')

    def test_cancel_held_payment(self):
        payment = self.paid(capture=False)
        canceled = Payment.cancel(payment.id)
        self.assertEqual(canceled.status, 'canceled')
        self.assertEqual(canceled.cancellation_details.party, 'merchant')
        self.assertEqual(canceled.cancellation_details.reason,
            'canceled_by_merchant')
        self.assertEqual(self.events(2)[-1], 'payment.canceled')

    def test_cannot_capture_or_cancel_pending(self):
        payment = Payment.create(payment_params(capture=False))
        with self.assertRaises(BadRequestError):
            Payment.capture(payment.id)
        with self.assertRaises(BadRequestError):
            Payment.cancel(payment.id)

    def test_failed_payment(self):
        payment = Payment.create(payment_params())
        self.control.action('fail_payment', payment_id=payment.id,
            reason='insufficient_funds')
        payment = Payment.find_one(payment.id)
        self.assertEqual(payment.status, 'canceled')
        self.assertEqual((payment.cancellation_details.party,
                payment.cancellation_details.reason),
            ('payment_network', 'insufficient_funds'))
        self.assertEqual(self.events(1), ['payment.canceled'])

    def test_hold_expires(self):
        self.control.action('configure', capture_hold_seconds=3600)
        payment = self.paid(capture=False)
        self.clock.advance(3599)
        self.assertEqual(Payment.find_one(payment.id).status,
            'waiting_for_capture')
        self.clock.advance(1)
        payment = Payment.find_one(payment.id)
        self.assertEqual(payment.cancellation_details.reason,
            'expired_on_capture')

    def test_unknown_payment(self):
        with self.assertRaises(NotFoundError) as caught:
            Payment.find_one('2419a771-000f-5000-9000-1edaf29243f2')
        self.assertEqual(caught.exception.content['code'], 'not_found')

    def test_list_pagination(self):
        for _ in range(3):
            Payment.create(payment_params())
        page = Payment.list({'limit': 2})
        self.assertEqual(len(page.items), 2)
        rest = Payment.list({'limit': 2, 'cursor': page.next_cursor})
        self.assertEqual(len(rest.items), 1)
        self.assertIsNone(getattr(rest, 'next_cursor', None))

    # -- refunds ------------------------------------------------------------
    def test_partial_refunds_never_exceed_payment(self):
        payment = self.paid()
        first = Refund.create({'payment_id': payment.id,
                'amount': {'value': '30.00', 'currency': 'RUB'}})
        self.assertEqual(first.status, 'succeeded')
        Refund.create({'payment_id': payment.id,
                'amount': {'value': '50.00', 'currency': 'RUB'}})
        with self.assertRaises(BadRequestError) as caught:
            Refund.create({'payment_id': payment.id,
                    'amount': {'value': '20.01', 'currency': 'RUB'}})
        self.assertEqual(caught.exception.content['code'], 'invalid_request')
        payment = Payment.find_one(payment.id)
        self.assertEqual(str(payment.refunded_amount.value), '80.00')
        refunds = Refund.list({'payment_id': payment.id})
        self.assertEqual(len(refunds.items), 2)
        self.assertEqual(self.events(3)[-1], 'refund.succeeded')

    def test_refund_only_succeeded_payment(self):
        payment = Payment.create(payment_params())
        response = self.post('/refunds', {'payment_id': payment.id,
                'amount': {'value': '1.00', 'currency': 'RUB'}})
        self.assertEqual(response.status_code, 400)

    # -- receipts -----------------------------------------------------------
    def test_receipt_with_payment_is_registered(self):
        payment = self.paid(receipt={'customer': {'email': 'a@example.com'},
                'items': [item('60.00'), item('20.00', 2)]})
        receipts = Receipt.list({'payment_id': payment.id}).items
        self.assertEqual(len(receipts), 1)
        self.assertEqual(receipts[0].status, 'succeeded')
        self.assertEqual(receipts[0].settlements[0].type, 'cashless')
        self.assertEqual(Payment.find_one(payment.id).receipt_registration,
            'succeeded')

    def test_receipt_must_match_amount(self):
        response = self.post('/payments', payment_params(receipt={
                    'customer': {'phone': '79000000000'},
                    'items': [item('99.99')]}))
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()['parameter'], 'receipt.items')

    def test_receipt_needs_contact(self):
        response = self.post('/payments', payment_params(receipt={
                    'customer': {}, 'items': [item()]}))
        self.assertEqual(response.json()['parameter'], 'receipt.customer')

    def test_receipt_required_when_configured(self):
        self.control.action('configure', receipts_required=True)
        response = self.post('/payments', payment_params())
        self.assertEqual(response.json()['parameter'], 'receipt')

    def second_receipt(self, payment, **item_fields):
        line = item(payment_mode='full_payment', **item_fields)
        return {'type': 'payment', 'payment_id': payment.id, 'send': True,
            'customer': {'email': 'a@example.com'}, 'items': [line],
            'settlements': [{'type': 'prepayment',
                    'amount': {'value': '100.00', 'currency': 'RUB'}}]}

    def test_second_receipt_with_marking_code(self):
        self.control.action('configure', receipt_delay=30)
        payment = self.paid()
        params = self.second_receipt(payment, payment_subject='marked',
            mark_mode='0', mark_code_info={'gs_1m': GS1M}, measure='piece')
        receipt = Receipt.create(params)
        self.assertTrue(receipt.id.startswith('rt_'))
        self.assertEqual(receipt.status, 'pending')
        self.assertEqual(receipt.settlements[0].type, 'prepayment')
        self.control.action('register_receipts')
        stored = requests.get(f'{self.url}/v3/receipts/{receipt.id}',
            auth=self.auth, timeout=5).json()
        self.assertEqual(stored['status'], 'succeeded')
        self.assertIn('fiscal_document_number', stored)
        # the code comes back exactly as sent
        self.assertEqual(stored['items'][0]['mark_code_info']['gs_1m'], GS1M)

    def test_marking_code_rules(self):
        payment = self.paid()
        cases = {
            'mark_mode': {'payment_subject': 'marked',
                'mark_code_info': {'gs_1m': GS1M}},
            'payment_subject': {'payment_subject': 'commodity',
                'mark_mode': '0', 'mark_code_info': {'gs_1m': GS1M}},
            'mark_code_info': {'payment_subject': 'marked'},
            'mark_code_info.ean_13': {'payment_subject': 'marked',
                'mark_mode': '0', 'mark_code_info': {'ean_13': '123'}},
            }
        for parameter, fields in cases.items():
            response = self.post('/receipts',
                self.second_receipt(payment, **fields))
            self.assertEqual(response.status_code, 400, parameter)
            self.assertEqual(response.json()['parameter'],
                'receipt.items[0].' + parameter)

    def test_settlements_must_match_items(self):
        payment = self.paid()
        params = self.second_receipt(payment)
        params['settlements'][0]['amount']['value'] = '90.00'
        response = self.post('/receipts', params)
        self.assertEqual(response.json()['parameter'], 'settlements')
        params = self.second_receipt(payment)
        params['send'] = False
        self.assertEqual(self.post('/receipts', params).json()['parameter'],
            'send')

    def test_refund_receipt(self):
        payment = self.paid()
        refund = Refund.create({'payment_id': payment.id,
                'amount': {'value': '100.00', 'currency': 'RUB'},
                'receipt': {'customer': {'email': 'a@example.com'},
                    'items': [item()]}})
        receipts = Receipt.list({'refund_id': refund.id}).items
        self.assertEqual([r.type for r in receipts], ['refund'])
        self.assertEqual(Refund.find_one(refund.id).receipt_registration,
            'succeeded')

    # -- faults and notifications -------------------------------------------
    def test_injected_500_has_yookassa_body(self):
        self.control.fault('error', '/v3/payments', method='POST', count=1)
        with self.assertRaises(InternalServerError) as caught:
            Payment.create(payment_params())
        self.assertEqual(caught.exception.content['code'],
            'internal_server_error')
        self.assertEqual(Payment.create(payment_params()).status, 'pending')

    def test_injected_429(self):
        self.control.fault('rate_limit', '/v3/payments*', count=1)
        response = requests.get(self.url + '/v3/payments', auth=self.auth,
            timeout=5)
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response.json()['code'], 'too_many_requests')

    def test_notification_redelivered_after_failure(self):
        self.receiver.answer = 500
        self.paid()
        self.events(1)
        self.sim.webhooks.wait_idle()
        self.receiver.answer = 200
        self.assertEqual(
            self.control.action('redeliver_notifications')['resent'], 1)
        self.assertEqual(self.events(2), ['payment.succeeded'] * 2)
        self.sim.webhooks.wait_idle()
        self.assertEqual(
            self.control.action('redeliver_notifications')['resent'], 0)

    def test_dropped_notification_fault(self):
        self.control.fault('webhook_drop', '/yookassa/notify', count=1)
        self.paid()
        self.sim.webhooks.wait_idle()
        self.assertEqual(self.receiver.received, [])
        self.assertEqual(self.control.webhooks()[0]['outcome'], 'dropped')


if __name__ == '__main__':
    unittest.main()
