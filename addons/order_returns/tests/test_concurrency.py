"""Concurrent clicks on «Вернуть деньги» (PostgreSQL only): several
processes refund the same return block at once, round after round; one
refund is made, every other click is refused."""
import unittest
from decimal import Decimal

from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.order_hub.tests.concurrency import run_in_processes
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_order, create_product, set_company, setup_company)
from trytond.modules.order_payment.tests.test_concurrency import (
    paid_payment, test_provider)

PROCESSES = 4
ROUNDS = 4


def refund_block(block_id):
    "One click on «Вернуть деньги»"
    Block = Pool().get('order_returns.block')
    Block.refund([Block(block_id)])


@unittest.skipUnless(backend.name == 'postgresql', "needs row locks")
class ReturnConcurrencyTestCase(HubTestCase):
    "One refund per block, whatever the clicks"
    modules = ['order_returns']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company, cls.rounds = cls.prepare()

    @classmethod
    @with_transaction()
    def prepare(cls):
        pool = Pool()
        Block = pool.get('order_returns.block')
        Reason = pool.get('order_returns.reason')
        test_provider()
        company = setup_company()
        reason, = Reason.search([], limit=1)
        with set_company(company):
            rounds = []
            for r in range(ROUNDS):
                product, = create_product(f"Кеды {r}", '1000')
                order = create_order([(product, 5)])
                paid_payment(order)
                order = order.__class__(order.id)
                block = Block.create_return(order,
                    [(order.lines[0], Decimal(2))], reason)
                rounds.append(block.id)
            Transaction().commit()
        return company.id, rounds

    @with_transaction()
    def test_concurrent_clicks_make_one_refund(self):
        Block = Pool().get('order_returns.block')
        outcomes = run_in_processes(self.company, refund_block,
            self.rounds, PROCESSES, setup=test_provider)
        self.assertNotIn(None, [o for _, o, _ in outcomes],
            "a click gave up after 50 lock retries")
        Transaction().rollback()  # see what the processes committed
        for block_id in self.rounds:
            done = [o for i, o, _ in outcomes if i == block_id]
            self.assertEqual(done.count('done'), 1, done)
            self.assertEqual(done.count('refused'), PROCESSES - 1, done)
            block = Block(block_id)
            refund, = block.refunds
            self.assertEqual(refund.amount, Decimal('2000.00'))
            self.assertEqual(block.order.refunded_amount, Decimal('2000.00'))


del HubTestCase
