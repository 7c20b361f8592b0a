"""Return blocks without a provider's network: the goods leave the sale,
the money goes back once, and the rules always hold (hypothesis)."""
from decimal import Decimal

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_order, create_product, create_promotion,
    setup_company)
from trytond.modules.order_payment.tests.test_concurrency import (
    test_provider)


class ReturnsTestCase(HubTestCase):
    "Returns at every stage"
    modules = ['order_returns']

    def order(self, prices=('1999.99', '333.33', '10.01'), quantity=3):
        test_provider()
        company = setup_company()
        Transaction().set_context(company=company.id)
        create_promotion("Минус 7%", '7')
        products = [create_product(f"Товар {i}", p)[0]
            for i, p in enumerate(prices)]
        return create_order([(p, quantity) for p in products],
            delivery_cost=Decimal('349.90'))

    def pay(self, order, amount=None):
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Order = pool.get('order_hub.order')
        order = Order(order.id)
        payment, = Payment.create([{'order': order.id, 'kind': 'checkout',
                    'provider': 'test', 'amount': amount or order.total,
                    'state': 'pending'}])
        Payment.set_provider_state(payment, 'succeeded')
        return Order(order.id)

    def reason(self, delivery=False):
        Reason = Pool().get('order_returns.reason')
        reason, = Reason.search([('refund_delivery', '=', delivery)],
            limit=1)
        return reason

    def create_return(self, order, goods, delivery=False):
        Block = Pool().get('order_returns.block')
        order = order.__class__(order.id)
        return Block.create_return(order,
            [(order.lines[i], Decimal(q)) for i, q in goods],
            self.reason(delivery))

    def confirm(self, block, state='succeeded', reason=None):
        pool = Pool()
        Refund = pool.get('order_payment.refund')
        Block = pool.get('order_returns.block')
        for refund in Block(block.id).refunds:
            Refund.set_provider_state(refund, state, reason=reason)
        return Block(block.id)

    def log(self, order):
        Order = Pool().get('order_hub.order')
        return [e.description for e in Order(order.id).action_logs
            if e.kind == 'return']

    def check_rules(self, order):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Block = pool.get('order_returns.block')
        order = Order(order.id)
        self.assertLessEqual(order.refunded_amount, order.paid_amount)
        self.assertEqual(sum((r.net for r in order.receipts), Decimal(0)),
            order.paid_amount - order.refunded_amount)
        taken = Block.taken_units(order.lines)
        for line in order.lines:
            self.assertLessEqual(taken[line.id], line.quantity)
        for block in order.return_blocks:
            self.assertEqual(sum(l.amount for l in block.lines),
                block.goods_amount)
            done = [r for r in block.refunds if r.state != 'cancelled']
            if done:
                self.assertEqual(sum(r.amount for r in done), block.amount)
                self.assertEqual(sum(r.total for r in block.receipts
                        if r.state != 'cancelled'), block.amount)
        # a line's returns never refund more than was paid for it, and
        # all of its units returned refund exactly what was paid
        for line in order.lines:
            refunded = [l for b in order.return_blocks
                if b.state == 'returned' and b.refund_money
                for l in b.lines if l.order_line == line]
            self.assertLessEqual(sum((l.amount for l in refunded),
                    Decimal(0)), line.amount)
            if sum((l.quantity for l in refunded), Decimal(0)) == (
                    line.quantity):
                self.assertEqual(sum(l.amount for l in refunded),
                    line.amount)
        # what is still sold, at the prices paid, is the order's total
        sold = sum((l.amount for l in order.lines), Decimal(0)) - sum(
            (b.goods_amount for b in order.return_blocks
                if b.state != 'cancelled' and b.refund_money), Decimal(0))
        delivery = order.delivery_cost - sum((b.delivery_amount
                for b in order.return_blocks
                if b.state != 'cancelled' and b.refund_money), Decimal(0))
        self.assertEqual(order.total, sold + delivery)

    @with_transaction()
    def test_return_of_paid_goods_refunds_them_with_a_receipt(self):
        Block = Pool().get('order_returns.block')
        order = self.pay(self.order())
        total = order.total
        line = order.lines[0]
        block = self.create_return(order, [(0, 1)])
        self.assertEqual((block.state, block.number), ('to_return', 1))
        # the dearest unit of 3 × 1859.99 (7 % off): the receipt's price
        receipt, = order.receipts
        price, = {i.unit_price for i in receipt.items if i.line == line}
        self.assertEqual(block.amount, price)
        self.assertEqual(block.delivery_amount, 0)
        order = order.__class__(order.id)
        self.assertEqual(order.total, total - price)
        self.assertEqual(order.lines[0].quantity, 3)
        self.assertEqual(order.lines[0].returned_quantity, 1)

        Block.refund([block])
        block = Block(block.id)
        refund, = block.refunds
        self.assertEqual((refund.state, refund.amount), ('pending', price))
        self.assertEqual(block.state, 'to_return')
        block = self.confirm(block)
        self.assertEqual(block.state, 'returned')
        refund_receipt, = block.receipts
        self.assertEqual((refund_receipt.kind, refund_receipt.total),
            ('refund', price))
        # created, refund requested, returned
        self.assertEqual(len(self.log(order)), 3)
        self.check_rules(order)

    @with_transaction()
    def test_return_of_goods_paid_outside_the_hub(self):
        "Paid on the site (recorded outside the hub): a person refunds there"
        pool = Pool()
        Block = pool.get('order_returns.block')
        Payment = pool.get('order_payment.payment')
        Refund = pool.get('order_payment.refund')
        order = self.order()
        Payment.record_external(order, order.total, method="Сайт")
        block = self.create_return(order, [(0, 1)])
        self.assertEqual((block.state, block.refund_money),
            ('to_return', True))
        Block.refund([block])
        refund, = Block(block.id).refunds
        # no receipt of the hub's; the block waits for the confirmation
        self.assertEqual((refund.state, refund.provider, refund.amount,
                refund.receipts), ('pending', 'external', block.amount, ()))
        self.assertEqual(Block(block.id).state, 'to_return')
        Refund.confirm_external([refund])
        block = Block(block.id)
        self.assertEqual((block.state, block.receipts), ('returned', ()))
        self.assertEqual(order.__class__(order.id).refunded_amount,
            block.amount)

    @with_transaction()
    def test_unpaid_goods_simply_leave_the_sale(self):
        order = self.order()
        total = order.total
        block = self.create_return(order, [(1, 2), (2, 3)])
        order = order.__class__(order.id)
        self.assertEqual(block.state, 'returned')
        self.assertFalse(block.refund_money)
        self.assertEqual(block.amount, 0)
        self.assertEqual([l.quantity for l in order.lines], [3, 1])
        self.assertLess(order.total, total)
        self.assertFalse(order.refunds)
        self.assertFalse(order.receipts)
        self.assertIn("без возврата денег", self.log(order)[0])
        # the rest is paid as usual: the receipt holds what is still sold
        order = self.pay(order)
        self.assertEqual(order.state, 'paid')
        self.check_rules(order)

    @with_transaction()
    def test_same_unit_never_in_two_open_blocks(self):
        order = self.pay(self.order())
        self.create_return(order, [(0, 2)])
        with self.assertRaises(UserError):
            self.create_return(order, [(0, 2)])
        self.create_return(order, [(0, 1)])
        with self.assertRaises(UserError):
            self.create_return(order, [(0, 1)])
        self.check_rules(order)

    @with_transaction()
    def test_two_partial_returns_refund_the_line_exactly(self):
        Block = Pool().get('order_returns.block')
        order = self.pay(self.order())
        line = order.lines[0]
        first = self.create_return(order, [(0, 1)], delivery=True)
        second = self.create_return(order, [(0, 2)])
        self.assertEqual(first.delivery_amount, Decimal('349.90'))
        self.assertEqual(second.number, 2)
        # refunded in the other order: the prices follow the receipts
        Block.refund([second])
        self.confirm(second)
        Block.refund([first])
        first = self.confirm(first)
        second = Block(second.id)
        self.assertEqual((first.state, second.state),
            ('returned', 'returned'))
        self.assertEqual(first.goods_amount + second.goods_amount,
            line.amount)
        order = order.__class__(order.id)
        self.assertEqual(order.refunded_amount,
            line.amount + Decimal('349.90'))
        self.check_rules(order)

    @with_transaction()
    def test_failed_refund_stays_to_return_and_retries_once(self):
        Block = Pool().get('order_returns.block')
        order = self.pay(self.order())
        block = self.create_return(order, [(1, 2)])
        Block.refund([block])
        # a second click while the refund is pending pays nothing more
        with self.assertRaises(UserError):
            Block.refund([block])
        block = self.confirm(block, 'cancelled', reason="Недостаточно средств")
        self.assertEqual(block.state, 'to_return')
        self.assertEqual(block.refund_error, "Недостаточно средств")
        Block.refund([block])
        block = self.confirm(Block(block.id))
        self.assertEqual(block.state, 'returned')
        self.assertIsNone(block.refund_error)
        order = order.__class__(order.id)
        self.assertEqual(order.refunded_amount, block.amount)
        self.check_rules(order)

    @with_transaction()
    def test_cancelled_return_puts_the_goods_back(self):
        Block = Pool().get('order_returns.block')
        order = self.pay(self.order())
        total = order.total
        block = self.create_return(order, [(0, 3)])
        Block.cancel([block])
        order = order.__class__(order.id)
        self.assertEqual(order.total, total)
        self.create_return(order, [(0, 3)])
        self.check_rules(order)

    @with_transaction()
    def test_claim_and_waybill_are_pdf(self):
        pool = Pool()
        Claim = pool.get('order_returns.block.claim', type='report')
        Waybill = pool.get('order_returns.block.waybill', type='report')
        order = self.pay(self.order())
        block = self.create_return(order, [(0, 2), (1, 1)], delivery=True)
        self.assertEqual(sum(l.amount for l in block.lines),
            block.goods_amount)
        for Report in (Claim, Waybill):
            extension, content, _, name = Report.execute([block.id], {})
            self.assertEqual(extension, 'pdf')
            self.assertTrue(bytes(content).startswith(b'%PDF'))

    @with_transaction()
    def test_line_cannot_go_below_its_returns(self):
        Line = Pool().get('order_hub.order.line')
        order = self.pay(self.order())
        self.create_return(order, [(0, 2)])
        with self.assertRaises(UserError):
            Line.write([order.lines[0]], {'quantity': Decimal(1)})

    # each example builds an order (seconds): no shrinking, few examples
    @settings(max_examples=10, deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=list(HealthCheck))
    @given(steps=st.lists(st.one_of(
                st.tuples(st.just('return'), st.integers(0, 2),
                    st.integers(1, 3), st.booleans()),
                st.tuples(st.just('refund'), st.integers(0, 5),
                    st.sampled_from(['succeeded', 'cancelled', None]),
                    st.just(False)),
                st.tuples(st.just('edit'), st.integers(0, 2),
                    st.integers(1, 4), st.just(False)),
                st.tuples(st.just('pay'), st.just(0), st.just(0),
                    st.just(False)),
                st.tuples(st.just('hand_over'), st.just(0), st.just(0),
                    st.just(False)),
                ), max_size=12))
    def test_rules_hold_over_random_sequences(self, steps):
        from trytond.tests.test_tryton import DB_NAME
        with Transaction().start(DB_NAME, 0, context={'language': 'ru'}):
            self._random_sequence(steps)
            Transaction().rollback()

    def _random_sequence(self, steps):
        if True:
            pool = Pool()
            Block = pool.get('order_returns.block')
            Line = pool.get('order_hub.order.line')
            Order = pool.get('order_hub.order')
            order = self.order()
            for kind, a, b, flag in steps:
                order = Order(order.id)
                try:
                    if kind == 'return':
                        self.create_return(order, [(a % len(order.lines),
                                    b)], delivery=flag)
                    elif kind == 'refund':
                        blocks = [x for x in order.return_blocks
                            if x.state == 'to_return']
                        if blocks:
                            block = blocks[a % len(blocks)]
                            Block.refund([block])
                            if b:
                                self.confirm(block, b, reason="Отказ")
                    elif kind == 'edit' and not order.paid_amount:
                        Line.write([order.lines[a % len(order.lines)]],
                            {'quantity': Decimal(b)})
                    elif kind == 'pay' and order.payment_due > 0:
                        self.pay(order, order.payment_due)
                    elif kind == 'hand_over' and order.state == 'paid':
                        # handed over: the settlement receipt is issued
                        Order.assemble([order])
                        Order.deliver([Order(order.id)])
                        Order.issue([Order(order.id)])
                except UserError:
                    pass
                self.check_rules(order)


class ReturnReservationTestCase(HubTestCase):
    "Returned units leave the reservation; a cancelled return takes it back"
    modules = ['order_returns']

    @with_transaction()
    def test_reservation_follows_the_blocks(self):
        from trytond.modules.order_hub.tests.tools import (
            create_city, create_warehouse, set_company, set_stock)
        from trytond.modules.order_shipments.tests.tools import paid_order
        pool = Pool()
        Order = pool.get('order_hub.order')
        Block = pool.get('order_returns.block')
        Reason = pool.get('order_returns.reason')

        def reserved(order):
            return sum((r.quantity for l in Order(order.id).lines
                    for r in l.reservations if r.active), Decimal(0))
        with set_company(setup_company()):
            moscow = create_city("Москва", 55.755826, 37.6173)
            shop = create_warehouse("Магазин на Тверской", moscow)
            product, = create_product("Кеды", '1000')
            set_stock(product, shop, 5)
            order = paid_order([(product, 3)], delivery_city=moscow.id)
            Order.reserve([order])
            order = Order(order.id)
            self.assertEqual((order.state, reserved(order)),
                ('assembling', 3))
            reason, = Reason.search([], limit=1)
            block = Block.create_return(order, [(order.lines[0], 2)], reason)
            self.assertEqual(reserved(order), 1)
            # reserving again leaves the returned units out
            Order.reserve([Order(order.id)])
            self.assertEqual(reserved(order), 1)
            Block.cancel([block])
            self.assertEqual(reserved(order), 3)
            log = [e.description for e in Order(order.id).action_logs]
            self.assertTrue(any("товар возвращён" in e for e in log), log)


class ReturnAfterHandOverTestCase(HubTestCase):
    "A return after the hand-over: «Сделать возврат», units «Возвращен»"
    modules = ['order_returns']

    @with_transaction()
    def test_return_after_hand_over(self):
        from trytond.modules.order_hub.tests.tools import set_company
        from trytond.modules.order_shipments.tests.tools import (
            create_shops, paid_order)
        pool = Pool()
        Shipment = pool.get('order_shipments.shipment')
        Block = pool.get('order_returns.block')
        Reason = pool.get('order_returns.reason')
        Movement = pool.get('order_hub.item.movement')
        with set_company(setup_company()):
            shops = create_shops()
            order = paid_order([(shops.hat, 2)],
                delivery_service='pickup', pickup_shop=shops.tverskaya.id)
            line, = order.lines
            shipment = Shipment.request_goods(order, [(line, Decimal(2))],
                shops.tverskaya, shops.tverskaya, 'shop_pickup')
            Shipment.arrive([shipment])
            Shipment.hand_over([shipment])
            order = order.__class__(order.id)
            self.assertEqual(order.state, 'issued')

            reason, = Reason.search([], limit=1)
            block = Block.create_return(order, [(line, Decimal(1))], reason,
                channel='shop', shop=shops.tverskaya)
            self.assertTrue(block.order_issued)
            Block.refund_issued([block])
            refund, = Block(block.id).refunds
            refund.__class__.set_provider_state(refund, 'succeeded')
            block = Block(block.id)
            self.assertEqual(block.state, 'returned')
            self.assertEqual(block.amount, Decimal('890.00'))
            receipt, = block.receipts
            self.assertEqual(receipt.items[0].payment_mode, 'full_payment')
            returned = Movement.search([('shipment', '=', shipment.id),
                    ('status', '=', 'returned')])
            self.assertEqual(len(returned), 1)
            self.assertEqual(returned[0].location, shops.tverskaya)
            # one unit of two back: the shipment line keeps its status
            self.assertEqual(shipment.lines[0].state, 'issued')

            second = Block.create_return(order, [(line, Decimal(1))], reason)
            Block.refund_issued([second])
            refund, = Block(second.id).refunds
            refund.__class__.set_provider_state(refund, 'succeeded')
            self.assertEqual(Shipment(shipment.id).lines[0].state,
                'returned')
            order = order.__class__(order.id)
            self.assertEqual(order.refunded_amount, line.amount)
            self.assertEqual(order.total, order.delivery_cost or 0)


    @with_transaction()
    def test_goods_received_before_the_refund(self):
        """A parcel from the customer: «Товар получен» takes the goods in
        (movement log, shipment line back) before the money; the return can
        no longer be cancelled; the refund then closes it without taking
        the goods in twice"""
        from trytond.modules.order_hub.tests.tools import set_company
        from trytond.modules.order_shipments.tests.tools import (
            create_shops, paid_order)
        pool = Pool()
        Shipment = pool.get('order_shipments.shipment')
        Block = pool.get('order_returns.block')
        Movement = pool.get('order_hub.item.movement')
        Reason = pool.get('order_returns.reason')
        Refund = pool.get('order_payment.refund')
        reason, = Reason.search([], limit=1)

        def log():
            return [e.description for e in order.__class__(order.id)
                .action_logs if e.kind == 'return']
        with set_company(setup_company()):
            shops = create_shops()
            order = paid_order([(shops.hat, 2)],
                delivery_service='pickup', pickup_shop=shops.tverskaya.id)
            line, = order.lines
            # nothing shipped yet: nothing to receive
            early = Block.create_return(order, [(line, Decimal(1))],
                reason)
            self.assertFalse(early.goods_out)
            with self.assertRaises(UserError) as cm:
                Block.receive([early])
            self.assertIn("ничего из этого товара не отгружалось",
                cm.exception.message)
            Block.cancel([early])

            shipment = Shipment.request_goods(order, [(line, Decimal(2))],
                shops.tverskaya, shops.tverskaya, 'shop_pickup')
            Shipment.arrive([shipment])
            Shipment.hand_over([shipment])
            order = order.__class__(order.id)
            block = Block.create_return(order, [(line, Decimal(2))],
                reason, channel='carrier', warehouse=shops.nevsky)
            self.assertTrue(Block(block.id).goods_out)
            returned = [('shipment', '=', shipment.id),
                ('status', '=', 'returned')]
            self.assertFalse(Movement.search(returned))

            # by the warehouse staff, through the button's access rules;
            # an accountant may not
            from trytond.model.modelview import AccessButtonError
            from trytond.modules.order_hub.tests.tools import create_user
            for login, groups in [('hub_acc', ['group_accountant']),
                    ('hub_wh', ['group_warehouse'])]:
                user = create_user(login, groups)
                with Transaction().set_user(user.id), \
                        Transaction().set_context(_check_access=True):
                    if login == 'hub_acc':
                        with self.assertRaises(AccessButtonError):
                            Block.receive([Block(block.id)])
                    else:
                        Block.receive([Block(block.id)])
            block = Block(block.id)
            self.assertEqual(block.state, 'to_return')
            self.assertTrue(block.received)
            moved, = Movement.search(returned)
            self.assertEqual(moved.location, shops.nevsky)
            self.assertEqual(Shipment(shipment.id).lines[0].state,
                'returned')
            self.assertTrue(any("товар получен" in e for e in log()),
                log())
            with self.assertRaises(UserError) as cm:
                Block.cancel([block])
            self.assertIn("товар по нему уже получен", cm.exception.message)
            Block.receive([block])      # twice: nothing more
            self.assertEqual(len(Movement.search(returned)), 1)

            Block.refund_issued([block])
            refund, = Block(block.id).refunds
            Refund.set_provider_state(refund, 'succeeded')
            block = Block(block.id)
            self.assertEqual(block.state, 'returned')
            self.assertEqual(len(Movement.search(returned)), 1)
            self.assertEqual(block.received, Block(block.id).received)
            order = order.__class__(order.id)
            self.assertEqual(order.refunded_amount, line.amount)


del HubTestCase
