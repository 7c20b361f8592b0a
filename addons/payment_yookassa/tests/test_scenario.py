"""Payments, receipts and refunds against the YooKassa simulator, over
real HTTP: notifications included."""
import email
import email.policy
import time
from decimal import Decimal

from trytond.pool import Pool

from .tools import YooKassaScenario


def free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class PaymentScenarioTestCase(YooKassaScenario):
    "Payment on the website → advance receipt → hand-over → full settlement"

    def pay_on_site(self, order_id):
        total = self.order(order_id)['total']
        payment_id = self.site_payment(order_id, total)
        self.sim.succeed_payment(payment_id)
        self.deliver()
        return payment_id

    def test_site_payment_and_receipts(self):
        order_id = self.new_order([(None, 2)], site_number='S-1001')
        payment_id = self.pay_on_site(order_id)
        order = self.order(order_id)
        self.assertEqual(order['state'], 'paid')
        self.assertEqual(order['paid'], Decimal('6300.00'))
        self.assertEqual(order['payments'], [
                ('checkout', 'succeeded', Decimal('6300.00'), payment_id)])
        # the advance receipt, sent on its own, then registered
        self.run_queue()
        self.refresh()
        self.assertEqual(self.order(order_id)['receipts'], [
                ('prepayment', 'registered', Decimal('6300.00'))])
        sent, = [r for r in self.sim.receipts.values()
            if r['payment_id'] == payment_id]
        self.assertEqual(sent['settlements'], [{'type': 'cashless',
                    'amount': {'value': '6300.00', 'currency': 'RUB'}}])
        self.assertEqual([(i['payment_mode'], i['payment_subject'],
                    i['amount']['value'], i['quantity'])
                for i in sent['items']], [
                ('full_prepayment', 'commodity', '3000.00', '2.00'),
                ('full_prepayment', 'service', '300.00', '1.00')])

        def settle():
            Order = Pool().get('order_hub.order')
            Order.issue_settlement_receipt([Order(order_id)])
        self.step(settle)
        self.run_queue()
        self.refresh()
        order = self.order(order_id)
        self.assertEqual(order['receipts'][-1],
            ('settlement', 'registered', Decimal('6300.00')))
        self.assertEqual(order['net'], order['paid'] - order['refunded'])
        second = [r for r in self.sim.receipts.values()
            if r['payment_id'] == payment_id][-1]
        self.assertEqual(second['settlements'][0]['type'], 'prepayment')
        self.assertEqual({i['payment_mode'] for i in second['items']},
            {'full_payment'})

    def test_failed_payment(self):
        order_id = self.new_order(site_number='S-1002')
        payment_id = self.site_payment(order_id, Decimal('3300'))
        self.sim.fail_payment(payment_id, reason='insufficient_funds')
        self.deliver()
        order = self.order(order_id)
        self.assertEqual(order['state'], 'awaiting_payment')
        self.assertEqual(order['payments'][0][1], 'cancelled')
        self.assertTrue(any('недостаточно средств' in line
                for line in order['log']), order['log'])

    def test_notifications_forged_duplicated_reordered(self):
        import requests
        order_id = self.new_order(site_number='S-1003')
        payment_id = self.site_payment(order_id, Decimal('3300'))
        notification = {'type': 'notification', 'event': 'payment.succeeded',
            'object': {'id': payment_id, 'status': 'succeeded',
                'amount': {'value': '3300.00', 'currency': 'RUB'}}}
        # forged: claims a payment the customer never made
        url = self.sim.notification_url
        for _ in range(2):
            answer = self._post_async(requests, url, notification)
            self.hub.pump(idle=0.3)
            self.assertEqual(answer.result().status_code, 200)
        self.run_queue()
        self.assertEqual(self.order(order_id)['state'], 'awaiting_payment')
        # genuine, delivered twice and out of order with a stale one
        self.sim.faults.add(kind='webhook_duplicate')
        self.sim.succeed_payment(payment_id)
        self.deliver()
        stale = dict(notification, event='payment.waiting_for_capture')
        answer = self._post_async(requests, url, stale)
        self.hub.pump(idle=0.3)
        self.run_queue()
        order = self.order(order_id)
        self.assertEqual(order['state'], 'paid')
        self.assertEqual(len(order['payments']), 1)
        self.assertEqual(sum(1 for line in order['log']
                if 'получен' in line), 1, order['log'])
        self.assertEqual(answer.result().status_code, 200)

    def test_notification_from_unknown_address(self):
        from trytond.wsgi import app
        from werkzeug.test import Client
        from trytond.tests.test_tryton import DB_NAME
        response = Client(app).post(
            f'/{DB_NAME}/payment_yookassa/notifications',
            json={'type': 'notification', 'event': 'payment.succeeded',
                'object': {'id': 'x'}},
            environ_base={'REMOTE_ADDR': '203.0.113.9'})
        self.assertEqual(response.status_code, 403)

    @staticmethod
    def _post_async(requests, url, body):
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(1)
        future = pool.submit(requests.post, url, json=body, timeout=10)
        pool.shutdown(wait=False)
        return future


class LinkScenarioTestCase(YooKassaScenario):
    """A re-priced order: payment link by e-mail (with a QR code) and SMS;
    receipts sent to the customer by the hub (a local SMTP server)"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Message

        class Inbox(Message):
            def __init__(self):
                super().__init__()
                self.messages = []

            def handle_message(self, message):
                self.messages.append(email.message_from_bytes(
                        message.as_bytes(), policy=email.policy.default))

        cls.mailbox = Inbox()
        port = free_port()
        cls.smtp = Controller(cls.mailbox, hostname='127.0.0.1', port=port)
        cls.smtp.start()
        cls.addClassCleanup(cls.smtp.stop)

        def connect():
            System = Pool().get('hub_sync.system')
            System.yookassa_configure_sandbox(cls.sim.base_url,
                smtp_url=f'smtp://127.0.0.1:{port}')
            system, = System.search([('code', '=', 'yookassa')])
            System.write([system], {'yookassa_ips': cls.allowed_ips})
        cls.step(connect)

    def setUp(self):
        super().setUp()
        self.mailbox.messages.clear()

    def mails(self, count, timeout=5):
        deadline = time.monotonic() + timeout
        while len(self.mailbox.messages) < count and (
                time.monotonic() < deadline):
            time.sleep(0.05)
        return list(self.mailbox.messages)

    def smtp_url(self, url=None):
        "Point the mail connection elsewhere; return its address"
        def change():
            System = Pool().get('hub_sync.system')
            system, = System.search([('code', '=', 'smtp')])
            old = system.base_url
            if url:
                System.write([system], {'base_url': url})
            return old
        return self.step(change)

    def send_link(self, order_id):
        def send():
            Order = Pool().get('order_hub.order')
            Order.send_payment_link([Order(order_id)])
        self.step(send)
        self.run_queue()

    def test_payment_link(self):
        order_id = self.new_order([(None, 1), (self.shirt, 3)],
            delivery='0')
        self.send_link(order_id)
        order = self.order(order_id)
        (kind, state, amount, ref), = order['payments']
        self.assertEqual((kind, state, amount), (
                'link', 'pending', Decimal('6000.00')))
        # the e-mail, with the QR code of the link
        deadline = time.monotonic() + 5
        while not self.mailbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        mail, = self.mailbox.messages
        self.assertEqual(mail['To'], 'm.ivanova@example.ru')
        # names its payment, so that a reply leads back to the order
        self.assertRegex(mail['Message-ID'],
            r'^<hub-\d+\.order_payment\.payment-\d+@[^>]+>$')
        body = mail.get_body(('plain',)).get_content()
        url = self.sim.payments[ref]['confirmation']['confirmation_url']
        self.assertIn(url, body)
        self.assertIn('image/png', [p.get_content_type()
                for p in mail.walk()])
        # the SMS
        sms, = self.sms.list_messages(to='79161234567')
        self.assertIn(url, sms['text'])
        # the buyer pays; the receipt went with the payment
        self.sim.succeed_payment(ref)
        self.deliver()
        self.refresh()
        order = self.order(order_id)
        self.assertEqual(order['state'], 'paid')
        self.assertEqual(order['receipts'], [
                ('prepayment', 'registered', Decimal('6000.00'))])
        payment = self.sim.payments[ref]
        self.assertEqual(payment['receipt_registration'], 'succeeded')

    def test_two_stage_payment_captured_by_hand(self):
        self.configure(capture='manual')
        self.addCleanup(self.configure, capture='auto')
        order_id = self.new_order(delivery='0')
        self.send_link(order_id)
        ref = self.order(order_id)['payments'][0][3]
        self.assertFalse(self.sim.capture_mode[ref])
        self.sim.succeed_payment(ref)
        self.deliver()
        order = self.order(order_id)
        self.assertEqual(order['payments'][0][1], 'waiting_for_capture')
        self.assertEqual(order['state'], 'awaiting_payment')

        def capture():
            Payment = Pool().get('order_payment.payment')
            Payment.capture(Payment.search([('provider_ref', '=', ref)]))
        self.step(capture)
        self.run_queue()
        self.deliver()
        self.assertEqual(self.order(order_id)['state'], 'paid')

    def test_provider_down_nothing_lost_or_doubled(self):
        order_id = self.new_order(delivery='0')
        self.sim.faults.add(kind='down', endpoint='/v3/payments',
            method='POST', count=2)
        created = len(self.sim.payments)
        self.send_link(order_id)
        self.assertEqual(self.order(order_id)['payments'][0][1], 'draft')
        # the answer is lost after YooKassa made the payment: same key
        self.sim.lose_responses(1)
        for _ in range(3):
            self.make_all_due()
            self.run_queue()
        order = self.order(order_id)
        self.assertEqual(order['payments'][0][1], 'pending')
        self.assertEqual(len(self.sim.payments), created + 1)


    def test_receipts_emailed_by_the_hub(self):
        "Every registered receipt reaches the customer's mailbox"
        order_id = self.new_order([(self.shirt, 2)], delivery='0',
            site_number='S-3001')
        payment_id = self.site_payment(order_id, Decimal('2000'))
        self.sim.succeed_payment(payment_id)
        self.deliver()
        self.run_queue()
        self.refresh()
        self.run_queue()
        mail, = self.mails(1)
        self.assertEqual(mail['To'], 'm.ivanova@example.ru')
        self.assertIn('S-3001', mail['Subject'])
        self.assertIn('Предоплата', mail['Subject'])
        text = mail.get_body(('plain',)).get_content()
        self.assertIn('2\u00a0000,00\u00a0₽', text)
        html = mail.get_body(('html',)).get_content()
        self.assertIn('Кассовый чек: Предоплата 100%', html)
        receipt, = [r for r in self.sim.receipts.values()
            if r.get('payment_id') == payment_id]
        self.assertIn(f"ФД № {receipt['fiscal_document_number']}", html)
        self.assertIn(receipt['fiscal_attribute'], text)
        log = self.order(order_id)['log']
        self.assertTrue(any('m.ivanova@example.ru' in l for l in log), log)

        # the mail server is down when the refund receipt is registered:
        # the e-mail waits in the outbox and goes out once it is back
        address = self.smtp_url(f'smtp://127.0.0.1:{free_port()}')

        def refund():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Refund = pool.get('order_payment.refund')
            order = Order(order_id)
            Refund.request(order, [(order.lines[0], Decimal(1))],
                reason="Не подошёл размер")
        self.step(refund)
        self.run_queue()
        self.deliver()
        self.refresh()
        self.run_queue()
        self.assertEqual(len(self.mails(2, timeout=0.5)), 1)

        def waiting():
            Outbox = Pool().get('hub_sync.outbox')
            return [(m.state, m.operation) for m in Outbox.search([
                        ('operation', '=', 'hub_notify_email'),
                        ('state', '!=', 'done')])]
        self.assertEqual(self.read(waiting), [
                ('pending', 'hub_notify_email')])
        self.smtp_url(address)
        self.make_all_due()
        self.run_queue()
        first, second = self.mails(2)
        self.assertIn('Возврат', second['Subject'])
        html = second.get_body(('html',)).get_content()
        self.assertIn('возврат прихода', html)
        self.assertIn('1\u00a0000,00\u00a0₽', second.get_body(
                ('plain',)).get_content())
        self.assertEqual(self.read(waiting), [])

        # the full settlement at hand-over
        def settle():
            Order = Pool().get('order_hub.order')
            Order.issue_settlement_receipt([Order(order_id)])
        self.step(settle)
        self.run_queue()
        self.refresh()
        self.run_queue()
        third = self.mails(3)[-1]
        self.assertIn('Полный расчёт', third['Subject'])

    def test_receipt_by_sms_without_email(self):
        order_id = self.new_order(delivery='0', site_number='S-3002',
            email=None, phone='8 (903) 111-22-33')
        payment_id = self.site_payment(order_id, Decimal('3000'))
        self.sim.succeed_payment(payment_id)
        self.deliver()
        self.run_queue()
        self.refresh()
        self.run_queue()
        receipt, = [r for r in self.sim.receipts.values()
            if r.get('payment_id') == payment_id]
        sms, = self.sms.list_messages(to='79031112233')
        self.assertIn('S-3002', sms['text'])
        self.assertIn('3\u00a0000,00\u00a0₽', sms['text'])
        self.assertIn(receipt['fiscal_attribute'], sms['text'])
        self.assertEqual(self.mails(1, timeout=0.3), [])


class RefundScenarioTestCase(YooKassaScenario):
    "Partial refunds and a rejected receipt re-sent"

    def paid_order(self, lines, **values):
        order_id = self.new_order(lines, **values)
        total = self.order(order_id)['total']
        payment_id = self.site_payment(order_id, total)
        self.sim.succeed_payment(payment_id)
        self.deliver()
        self.refresh()
        return order_id

    def refund(self, order_id, quantities, delivery=False, amount=None):
        def refund():
            Refund = Pool().get('order_payment.refund')
            Order = Pool().get('order_hub.order')
            order = Order(order_id)
            lines = [(l, Decimal(q)) for l, q in zip(order.lines, quantities)]
            return [r.id for r in Refund.request(order, lines,
                    delivery=delivery, amount=amount,
                    reason="Возврат товара")]
        return self.step(refund)

    def test_partial_refunds(self):
        order_id = self.paid_order([(self.shirt, 3)], site_number='S-2001',
            delivery='250', promo_code=None)
        self.refund(order_id, [1])
        self.run_queue()
        self.deliver()
        self.refresh()
        order = self.order(order_id)
        self.assertEqual(order['refunded'], Decimal('1000.00'))
        self.assertEqual(order['receipts'][-1],
            ('refund', 'registered', Decimal('1000.00')))
        self.refund(order_id, [2], delivery=True, amount=Decimal('2250'))
        self.run_queue()
        self.refresh()
        order = self.order(order_id)
        self.assertEqual(order['refunded'], order['paid'])
        self.assertEqual(order['net'], Decimal(0))
        from trytond.exceptions import UserError
        with self.assertRaises(UserError):
            self.refund(order_id, [1])
        refunds = [r for r in self.sim.refunds.values()]
        self.assertEqual(sorted(r['amount']['value'] for r in refunds
                if r['payment_id'] == order['payments'][0][3]),
            ['1000.00', '2250.00'])

    def test_rejected_receipt_sent_again(self):
        order_id = self.paid_order([(None, 1)], site_number='S-2002',
            email=None, phone='нет')
        order = self.order(order_id)
        self.assertEqual(order['state'], 'paid')
        self.run_queue()
        (kind, state, total), = order['receipts'] or self.order(
            order_id)['receipts']
        order = self.order(order_id)
        self.assertEqual(order['receipts'][0][1], 'rejected')

        def fix():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Receipt = pool.get('order_payment.receipt')
            order = Order(order_id)
            Order.write([order], {'phone': '8 (916) 765-43-21'})
            Receipt.resend(list(order.receipts))
        self.step(fix)
        self.run_queue()
        self.refresh()
        order = self.order(order_id)
        self.assertEqual(order['receipts'][0][1], 'registered')
        import json
        sent = self.sim.journal.list(path='/v3/receipts', method='POST')[-1]
        self.assertEqual(json.loads(sent['body'])['customer'],
            {'phone': '79167654321'})
