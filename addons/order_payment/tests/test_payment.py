"""Payments, refunds and receipts of orders, without a provider: random
sequences of edits, payments, partial refunds and hand-overs keep
paid − refunded = the net of the receipts, and every receipt's items sum
to its total to the kopeck."""
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.exceptions import UserError
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
        ), max_size=8)


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

    def pay(self, order):
        Payment = Pool().get('order_payment.payment')
        payment, = Payment.create([{'order': order.id, 'kind': 'checkout',
                    'provider': 'test', 'amount': order.total,
                    'state': 'pending'}])
        Payment.set_provider_state(payment, 'succeeded')
        return Payment(payment.id)

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

    @settings(max_examples=12, deadline=None,
        suppress_health_check=list(HealthCheck))
    @given(steps)
    def test_random_sequences_keep_the_rules(self, actions):
        with Transaction().start(self._db(), 0, context={'language': 'ru'}):
            self._random_sequence(actions)
            Transaction().rollback()

    @staticmethod
    def _db():
        from trytond.tests.test_tryton import DB_NAME
        return DB_NAME

    def _random_sequence(self, actions):
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
            except UserError:
                pass
            if not paid and action != 'edit':
                self.pay(Order(order.id))
                paid = True
            self.check_rules(order)
