"""Money taken outside the hub (the site's payment module, a bank transfer,
a shop's till): recorded by an accountant or a bridge, no receipt of the
hub's, refunds confirmed by a person, bad input refused in Russian."""
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_order, create_product, setup_company)

from .test_concurrency import test_provider


class ExternalPaymentTestCase(HubTestCase):
    modules = ['order_payment']

    def order(self):
        test_provider()
        company = setup_company()
        Transaction().set_context(company=company.id, language='ru')
        shoes, = create_product("Кеды", '3000')
        shirt, = create_product("Футболка", '1000')
        return create_order([(shoes, 1), (shirt, 2)],
            delivery_cost=Decimal('300'))

    def refused(self, call, text):
        "call raises a Russian message containing text; returns nothing"
        with self.assertRaises(UserError) as raised:
            call()
        self.assertIn(text, raised.exception.message)

    def logged(self, order):
        return [l.description for l in Pool().get('order_hub.order')(
                order.id).action_logs]

    @with_transaction()
    def test_recorded_payment_pays_the_order_without_a_receipt(self):
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        DayTotal = pool.get('order_payment.day_total')
        order = self.order()
        payment = Payment.record_external(order, Decimal('5300'),
            method="Банковский перевод", reference="п/п 118")
        order = payment.order
        self.assertEqual(order.state, 'paid')
        self.assertEqual((order.paid_amount, order.payment_due),
            (Decimal('5300'), Decimal(0)))
        self.assertEqual((payment.state, payment.provider_string,
                payment.kind), ('succeeded', "Вне хаба", 'external'))
        # fiscalized where the money was taken: no receipt here, and the
        # provider's day totals do not count it
        self.assertEqual(order.receipts, ())
        self.assertEqual(DayTotal.search([]), [])
        self.assertTrue(any("Отмечена оплата 5" in t
                and "Банковский перевод" in t and "п/п 118" in t
                for t in self.logged(order)))

    @with_transaction()
    def test_part_payments_then_the_rest(self):
        Payment = Pool().get('order_payment.payment')
        order = self.order()
        Payment.record_external(order, Decimal('1000'))
        order = order.__class__(order.id)
        self.assertEqual((order.state, order.payment_due),
            ('awaiting_payment', Decimal('4300')))
        Payment.record_external(order, Decimal('4300'))
        self.assertEqual(order.__class__(order.id).state, 'paid')

    @with_transaction()
    def test_bad_input_is_refused_and_records_nothing(self):
        Payment = Pool().get('order_payment.payment')
        Order = Pool().get('order_hub.order')
        order = self.order()
        self.refused(lambda: Payment.record_external(order, Decimal(0)),
            "должна быть больше нуля")
        self.refused(lambda: Payment.record_external(order, Decimal('-5')),
            "должна быть больше нуля")
        self.refused(lambda: Payment.record_external(order, Decimal('5300.01')),
            "больше, чем осталось оплатить")
        Payment.record_external(order, Decimal('100'), reference="42")
        self.refused(lambda: Payment.record_external(Order(order.id),
                Decimal('100'), reference="42"), "уже отмечена")
        self.assertEqual(Order(order.id).paid_amount, Decimal('100'))
        Order.cancel([Order(order.id)])
        self.refused(lambda: Payment.record_external(Order(order.id),
                Decimal('100')), "оплату по нему отметить нельзя")

    @with_transaction()
    def test_refund_is_confirmed_by_a_person(self):
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Refund = pool.get('order_payment.refund')
        Order = pool.get('order_hub.order')
        order = self.order()
        Payment.record_external(order, Decimal('5300'))
        order = Order(order.id)
        shirt = order.lines[1]
        refund, = Refund.request(order, [(shirt, Decimal(1))])
        # no receipt of the hub's; waits for the person who refunds
        self.assertEqual((refund.state, refund.receipts, refund.amount),
            ('pending', (), Decimal('1000')))
        self.assertEqual(Order(order.id).refunded_amount, Decimal('1000'))
        Refund.confirm_external([refund])
        self.assertEqual(Refund(refund.id).state, 'succeeded')
        self.refused(lambda: Refund.confirm_external([Refund(refund.id)]),
            "не ожидающий возврат")
        # a second refund the shop could not make: the money counts again
        refund, = Refund.request(Order(order.id), [(shirt, Decimal(1))])
        Refund.refuse_external([refund])
        refund = Refund(refund.id)
        self.assertEqual((refund.state, refund.cancel_reason),
            ('cancelled', "Отмечено вручную: деньги не возвращены."))
        self.assertEqual(Order(order.id).refunded_amount, Decimal('1000'))

    @with_transaction()
    def test_refund_through_a_provider_is_not_confirmed_by_hand(self):
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Refund = pool.get('order_payment.refund')
        order = self.order()
        payment, = Payment.create([{'order': order.id, 'kind': 'checkout',
                    'provider': 'test', 'amount': Decimal('5300'),
                    'state': 'pending'}])
        Payment.set_provider_state(payment, 'succeeded')
        order = order.__class__(order.id)
        refund, = Refund.request(order, [(order.lines[1], Decimal(1))])
        self.assertEqual(len(refund.receipts), 1)
        self.refused(lambda: Refund.confirm_external([refund]),
            "не ожидающий возврат")
        self.assertEqual(Refund(refund.id).state, 'pending')

    @with_transaction()
    def test_no_settlement_receipt_for_money_taken_outside(self):
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Order = pool.get('order_hub.order')
        order = self.order()
        Payment.record_external(order, Decimal('5300'))
        self.refused(lambda: Order.issue_settlement_receipt(
                [Order(order.id)]), "хаб не выдаёт")
        self.assertEqual(Order(order.id).receipts, ())

    @with_transaction()
    def test_wizard_records_what_the_accountant_typed(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        RecordPayment = pool.get('order_payment.record_payment',
            type='wizard')
        order = self.order()
        session_id, _, _ = RecordPayment.create()
        with Transaction().set_context(active_model='order_hub.order',
                active_id=order.id, active_ids=[order.id]):
            wizard = RecordPayment(session_id)
            defaults = wizard.default_start(None)
            self.assertEqual(defaults['amount'], Decimal('5300'))
            wizard.start.amount = Decimal('5300')
            wizard.start.method = "Наличные в магазине"
            wizard.start.reference = "ПКО 7"
            wizard.transition_save()
        payment, = Order(order.id).payments
        self.assertEqual((payment.method, payment.provider_ref,
                payment.order.state),
            ("Наличные в магазине", "ПКО 7", 'paid'))
