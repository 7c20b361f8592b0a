"""Payments, refunds and receipts of orders, without a provider: random
sequences of edits, payments, partial refunds and hand-overs keep
paid − refunded = the net of the receipts, and every receipt's items sum
to its total to the kopeck."""
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.order_hub.pricing import format_money
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_order, create_product, create_promotion,
    setup_company)

from .test_concurrency import test_provider

steps = st.lists(st.one_of(
        st.tuples(st.just('edit'), st.integers(0, 2), st.integers(1, 4)),
        st.tuples(st.just('refund'), st.integers(0, 2), st.integers(1, 3)),
        st.tuples(st.just('refund_delivery'), st.just(0), st.just(0)),
        st.tuples(st.just('settle'), st.just(0), st.just(0)),
        st.tuples(st.just('cancel'), st.just(0), st.just(0)),
        ), max_size=8)
# the order paid at once, or by two payments: the first of n kopecks
first_payments = st.one_of(st.none(), st.integers(1, 700000))


class PaymentRulesTestCase(HubTestCase):
    "The rules that always hold"
    modules = ['order_payment']

    def order(self, prices=('1999.99', '333.33', '10.01')):
        test_provider()
        company = setup_company()
        # for the rest of the transaction
        Transaction().set_context(company=company.id)
        create_promotion("Минус 7%", '7')
        products = [create_product(f"Товар {i}", p)[0]
            for i, p in enumerate(prices)]
        order = create_order([(p, 3) for p in products],
            delivery_cost=Decimal('349.90'))
        return order

    def pay(self, order, amount=None):
        Payment = Pool().get('order_payment.payment')
        payment, = Payment.create([{'order': order.id, 'kind': 'checkout',
                    'provider': 'test', 'amount': amount or order.total,
                    'state': 'pending'}])
        Payment.set_provider_state(payment, 'succeeded')
        return Payment(payment.id)

    def pay_twice(self, order, first):
        "Two payments: first, then what is still due"
        Order = Pool().get('order_hub.order')
        self.pay(order, first)
        return self.pay(order, Order(order.id).payment_due)

    def check_rules(self, order):
        Order = Pool().get('order_hub.order')
        order = Order(order.id)
        self.assertEqual(sum((r.net for r in order.receipts), Decimal(0)),
            order.paid_amount - order.refunded_amount)
        for receipt in order.receipts:
            self.assertEqual(sum((i.amount for i in receipt.items),
                    Decimal(0)), receipt.total)
            self.assertTrue(all(i.unit_price == i.unit_price.quantize(
                            Decimal('0.01')) for i in receipt.items))

    @with_transaction()
    def test_payment_makes_the_order_paid_with_its_receipt(self):
        order = self.order()
        payment = self.pay(order)
        order = payment.order
        self.assertEqual(order.state, 'paid')
        receipt, = order.receipts
        self.assertEqual((receipt.kind, receipt.state, receipt.total),
            ('prepayment', 'pending', order.total))
        for line in order.lines:
            self.assertEqual(sum(i.amount for i in receipt.items
                    if i.line == line), line.amount)
        self.assertEqual(receipt.email, 'm.ivanova@example.ru')
        self.check_rules(order)

    @with_transaction()
    def test_refund_never_more_than_paid(self):
        Refund = Pool().get('order_payment.refund')
        order = self.order()
        self.pay(order)
        line = order.lines[0]
        with self.assertRaises(UserError):
            Refund.request(order, [(line, Decimal(4))])
        with self.assertRaises(UserError):
            Refund.request(order, [(line, Decimal(1))], amount=Decimal(1))
        Refund.request(order, [(line, Decimal(3))], delivery=True)
        with self.assertRaises(UserError):
            Refund.request(order, [(line, Decimal(1))])
        self.check_rules(order)

    @with_transaction()
    def test_part_payment_waits(self):
        Payment = Pool().get('order_payment.payment')
        order = self.order()
        payment, = Payment.create([{'order': order.id, 'kind': 'checkout',
                    'provider': 'test', 'amount': Decimal('100.00'),
                    'state': 'pending'}])
        Payment.set_provider_state(payment, 'succeeded')
        order = Payment(payment.id).order
        self.assertEqual(order.state, 'awaiting_payment')
        receipt, = order.receipts
        item, = receipt.items
        self.assertEqual((item.payment_mode, item.vat), ('advance', '22/122'))
        self.check_rules(order)

    @with_transaction()
    def test_refund_spans_two_payments(self):
        "One refund per payment, each with its receipt"
        Refund = Pool().get('order_payment.refund')
        order = self.order()
        latest = self.pay_twice(order, Decimal('3500.00'))
        order = order.__class__(order.id)
        self.assertEqual(order.state, 'paid')
        line = order.lines[0]
        # 3 units of 1859.99 (7 % off 1999.99): more than either payment
        # holds; the latest returns all it holds, the first the rest
        self.assertGreater(line.amount, max(p.amount for p in order.payments))
        refunds = Refund.request(order, [(line, Decimal(3))])
        self.assertEqual(len(refunds), 2)
        first, second = refunds
        self.assertEqual(first.payment, latest)
        self.assertEqual(first.amount, latest.amount)
        self.assertEqual(first.amount + second.amount, line.amount)
        for refund in refunds:
            receipt, = refund.receipts
            self.assertEqual(receipt.total, refund.amount)
            self.assertEqual(refund.payment.refunded_amount, refund.amount)
        # the line counts as refunded once
        self.assertEqual(sum(l.quantity for r in refunds for l in r.lines),
            Decimal(3))
        with self.assertRaises(UserError):
            Refund.request(order, [(line, Decimal(1))])
        self.check_rules(order)

    @with_transaction()
    def test_cancelling_a_paid_order_refunds_it(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Refund = pool.get('order_payment.refund')
        order = self.order()
        self.pay_twice(order, Decimal('2500.00'))
        order = Order(order.id)
        Refund.request(order, [(order.lines[1], Decimal(1))])
        Order.cancel([order])
        order = Order(order.id)
        self.assertEqual(order.state, 'cancelled')
        self.assertEqual(order.refunded_amount, order.paid_amount)
        self.assertEqual({r.payment for r in order.refunds},
            set(order.payments))
        for refund in order.refunds:
            self.assertEqual([r.kind for r in refund.receipts], ['refund'])
        reason = gettext('order_payment.msg_refund_reason_cancelled')
        by_cancel = [r for r in order.refunds if r.reason == reason]
        self.assertEqual(len(by_cancel), 2)
        self.assertIn(gettext('order_payment.msg_log_cancel_refund',
                amount=format_money(sum(r.amount for r in by_cancel)),
                count=2),
            [l.description for l in order.action_logs
                if l.kind == 'payment'])
        self.check_rules(order)
        # cancelled again: nothing more
        Order.cancel([order])
        self.assertEqual(len(Order(order.id).refunds), len(order.refunds))

    @with_transaction()
    def test_cancelling_an_advance_refunds_the_advance(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        order = self.order()
        self.pay(order, Decimal('100.00'))
        Order.cancel([Order(order.id)])
        order = Order(order.id)
        refund, = order.refunds
        self.assertEqual(refund.amount, Decimal('100.00'))
        receipt, = refund.receipts
        item, = receipt.items
        self.assertEqual(item.payment_mode, 'advance')
        self.check_rules(order)

    @with_transaction()
    def test_day_totals_by_the_company_day(self):
        "«Итоги дня» count Moscow days: 22:30 UTC is the next day there"
        import datetime as dt
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Refund = pool.get('order_payment.refund')
        DayTotal = pool.get('order_payment.day_total')
        Company = pool.get('company.company')
        order = self.order()
        late = self.pay(order, Decimal('1000.00'))
        early = self.pay(order, Decimal('2000.00'))
        Payment.set_local_days([late], dt.datetime(2026, 12, 6, 22, 30))
        Payment.set_local_days([early], dt.datetime(2026, 12, 6, 20, 59))
        refund, = Refund.request(order, [], delivery=True)
        Refund.set_provider_state(refund, 'succeeded')
        Refund.set_local_days([refund], dt.datetime(2026, 12, 6, 21, 15))

        def totals():
            return [(d.day, d.payments, d.paid, d.refunds, d.refunded, d.net)
                for d in DayTotal.search([])]
        self.assertEqual(totals(), [
                ('2026-12-07', 1, Decimal('1000.00'), 1, Decimal('349.90'),
                    Decimal('650.10')),
                ('2026-12-06', 1, Decimal('2000.00'), 0, Decimal(0),
                    Decimal('2000.00')),
                ])
        self.assertEqual(Payment(late.id).paid_date, dt.date(2026, 12, 7))
        # a company in UTC counts UTC days
        company = order.company
        Company.write([company], {'timezone': 'UTC'})
        Payment.set_local_days([late], dt.datetime(2026, 12, 6, 22, 30))
        self.assertEqual(Payment(late.id).paid_date, dt.date(2026, 12, 6))
        # rows stored before the day was: filled from the moment
        Company.write([company], {'timezone': None})
        Payment.write([late, early], {'paid_date': None})
        Payment.fill_local_days()
        self.assertEqual([Payment(p.id).paid_date for p in (late, early)],
            [dt.date(2026, 12, 7), dt.date(2026, 12, 6)])

    @settings(max_examples=12, deadline=None,
        suppress_health_check=list(HealthCheck))
    @given(steps, first_payments)
    def test_random_sequences_keep_the_rules(self, actions, first):
        with Transaction().start(self._db(), 0, context={'language': 'ru'}):
            self._random_sequence(actions, first)
            Transaction().rollback()

    @staticmethod
    def _db():
        from trytond.tests.test_tryton import DB_NAME
        return DB_NAME

    def _random_sequence(self, actions, first=None):
        pool = Pool()
        Order = pool.get('order_hub.order')
        OrderLine = pool.get('order_hub.order.line')
        Refund = pool.get('order_payment.refund')
        Receipt = pool.get('order_payment.receipt')
        order = self.order()
        paid = False
        for action, index, quantity in actions:
            order = Order(order.id)
            line = order.lines[index]
            try:
                if action == 'edit' and not paid:
                    OrderLine.write([line], {'quantity': Decimal(quantity)})
                elif action == 'refund' and paid:
                    Refund.request(order, [(line, Decimal(quantity))])
                elif action == 'refund_delivery' and paid:
                    Refund.request(order, [], delivery=True)
                elif action == 'settle' and paid:
                    Receipt.create_settlement(order)
                elif action == 'cancel' and paid:
                    Order.cancel([order])
            except UserError:
                pass
            if not paid and action != 'edit':
                order = Order(order.id)
                amount = first and Decimal(first) / 100
                if amount and amount < order.total:
                    self.pay_twice(order, amount)
                else:
                    self.pay(order)
                paid = True
            self.check_rules(order)
