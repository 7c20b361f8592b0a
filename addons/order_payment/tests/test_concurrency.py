"""Two accountants cannot refund the same money twice (PostgreSQL only).

Several processes ask for a refund of the same order at the same moment,
round after round, each retrying as Tryton's RPC layer does when a
transaction loses a lock race.  Never more than paid is refunded.
"""
import unittest
from decimal import Decimal

from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction

from trytond.modules.order_hub.tests.concurrency import run_in_processes
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_order, create_product, set_company, setup_company)

PROCESSES = 4
ROUNDS = 5
UNITS = 10          # units of the order, 1000 each
WANTED = 3          # units each process refunds: three fit, the fourth not


def test_provider():
    "order_payment alone has no provider: a stand-in for the tests"
    Payment = Pool(DB_NAME).get('order_payment.payment')
    Payment.providers = classmethod(lambda cls: [('test', "Test")])


def refund_wanted(order_id):
    "One accountant's click: refund WANTED units of the order's line"
    pool = Pool()
    Order = pool.get('order_hub.order')
    Refund = pool.get('order_payment.refund')
    order = Order(order_id)
    Refund.request(order, [(order.lines[0], WANTED)], reason="Возврат")


def paid_payment(order):
    "A paid payment, written as the provider's notification would leave it"
    Payment = Pool().get('order_payment.payment')
    payment, = Payment.create([{'order': order.id, 'kind': 'checkout',
                'provider': 'test', 'amount': order.total,
                'provider_ref': f'test-{order.id}', 'state': 'succeeded'}])
    return payment


@unittest.skipUnless(backend.name == 'postgresql', "needs row locks")
class RefundConcurrencyTestCase(HubTestCase):
    "Never refund more than paid"
    modules = ['order_payment']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company, cls.rounds = cls.prepare()

    @classmethod
    @with_transaction()
    def prepare(cls):
        test_provider()
        company = setup_company()
        with set_company(company):
            rounds = []
            for r in range(ROUNDS):
                product, = create_product(f"Кеды {r}", '1000')
                order = create_order([(product, UNITS)])
                paid_payment(order)
                rounds.append(order.id)
            Transaction().commit()
        return company.id, rounds

    @with_transaction()
    def test_concurrent_refunds_never_exceed_paid(self):
        Order = Pool().get('order_hub.order')
        outcomes = run_in_processes(self.company, refund_wanted,
            self.rounds, PROCESSES, setup=test_provider)

        self.assertNotIn(None, [o for _, o, _ in outcomes],
            "a refund gave up after 50 lock retries")
        Transaction().rollback()  # see what the processes committed
        for order_id in self.rounds:
            done = [o for i, o, _ in outcomes if i == order_id]
            self.assertEqual(done.count('done'), UNITS // WANTED, done)
            order = Order(order_id)
            self.assertLessEqual(order.refunded_amount, order.paid_amount)
            self.assertEqual(order.refunded_amount,
                Decimal(1000 * WANTED * done.count('done')))
            self.assertEqual(sum(r.amount for r in order.refunds),
                order.refunded_amount)
            self.assertEqual(sum(-r.net for r in order.receipts),
                order.refunded_amount)


del HubTestCase
