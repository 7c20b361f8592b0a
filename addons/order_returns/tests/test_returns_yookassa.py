"""Returns against the YooKassa simulator, over real HTTP both ways: the
order paid on the website, the refund made by YooKassa, its receipt
registered, the notifications delivered.  A return at every stage of the
order, two successive partial returns, a refund refused then made once.

Each step is committed, as the queue and the web client would."""
import itertools
from decimal import Decimal

from trytond.pool import Pool

from trytond.modules.order_hub.tests.tools import (
    create_warehouse, set_stock)
from trytond.modules.payment_yookassa.tests.tools import YooKassaScenario

_numbers = itertools.count(7001)


class ReturnsYooKassaTestCase(YooKassaScenario):
    "Return blocks refunded through YooKassa"
    modules = ['order_returns', 'payment_yookassa']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def shops():
            pool = Pool()
            city = pool.get('order_hub.city')(cls.city)
            Product = pool.get('product.product')
            shop = create_warehouse("Магазин на Тверской", city)
            central = create_warehouse("Центральный склад", city, shop=False)
            for product in (cls.shoes, cls.shirt):
                set_stock(Product(product), shop, 100)
            return shop.id, central.id
        cls.shop, cls.central = cls.step(shops)

    # -- steps -------------------------------------------------------------
    def new_paid_order(self, lines, delivery='300', reserve=True):
        "An order paid on the website, reserved in the pickup shop"
        order_id = self.new_order(lines, delivery=delivery,
            site_number=f'R-{next(_numbers)}', delivery_service='pickup',
            pickup_shop=self.shop)
        payment_id = self.site_payment(order_id, self.order(order_id)['total'])
        self.sim.succeed_payment(payment_id)
        self.deliver()
        self.refresh()
        if reserve:
            def reserve():
                Order = Pool().get('order_hub.order')
                Order.reserve([Order(order_id)])
            self.step(reserve)
        return order_id

    def create_return(self, order_id, goods, delivery=False, channel='shop'):
        "A block of goods [(line index, quantity)]"
        def create():
            pool = Pool()
            Block = pool.get('order_returns.block')
            Reason = pool.get('order_returns.reason')
            Location = pool.get('stock.location')
            order = pool.get('order_hub.order')(order_id)
            reason, = Reason.search([('refund_delivery', '=', delivery)],
                limit=1)
            return Block.create_return(order,
                [(order.lines[i], Decimal(q)) for i, q in goods], reason,
                channel=channel,
                shop=Location(self.shop) if channel == 'shop' else None,
                warehouse=Location(self.central)).id
        return self.step(create)

    def click(self, block_id, button='refund'):
        def click():
            Block = Pool().get('order_returns.block')
            getattr(Block, button)([Block(block_id)])
        self.step(click)

    def settle(self):
        "The queue, the notifications and the receipts' cron"
        self.run_queue()
        self.deliver()
        self.refresh()
        self.run_queue()

    def block(self, block_id):
        def read():
            block = Pool().get('order_returns.block')(block_id)
            return {'state': block.state, 'amount': block.amount,
                'refund_money': block.refund_money,
                'error': block.refund_error,
                'refunds': [(r.state, r.amount, r.provider_ref)
                    for r in block.refunds],
                'receipts': [(r.kind, r.state, r.total)
                    for r in block.receipts]}
        return self.read(read)

    def reserved(self, order_id):
        def read():
            order = Pool().get('order_hub.order')(order_id)
            return [sum((r.quantity for r in l.reservations if r.active),
                    Decimal(0)) for l in order.lines]
        return self.read(read)

    def sim_refunds(self, order_id):
        payment_ref = self.order(order_id)['payments'][0][3]
        return [r['amount']['value'] for r in self.sim.refunds.values()
            if r['payment_id'] == payment_ref]

    def check_money(self, order_id):
        "Refunded ≤ paid; the receipts' net is what was kept"
        order = self.order(order_id)
        self.assertLessEqual(order['refunded'], order['paid'])
        self.assertEqual(order['net'], order['paid'] - order['refunded'])
        self.assertEqual(sum(Decimal(v) for v in self.sim_refunds(order_id)),
            order['refunded'])
        return order

    def returned_log(self, order_id):
        return [l for l in self.order(order_id)['log'] if 'Возврат' in l]

    # -- stages ------------------------------------------------------------
    def test_before_payment_the_goods_leave_the_sale(self):
        order_id = self.new_order([(self.shirt, 3)], delivery='0',
            site_number=f'R-{next(_numbers)}')
        block_id = self.create_return(order_id, [(0, 1)])
        block = self.block(block_id)
        self.assertEqual((block['state'], block['refund_money']),
            ('returned', False))
        self.assertEqual(self.order(order_id)['total'], Decimal('2000.00'))
        self.run_queue()
        self.assertEqual(self.order(order_id)['refunded'], 0)

    def test_while_assembling_reservation_released_and_refunded(self):
        order_id = self.new_paid_order([(self.shirt, 3)])
        order = self.order(order_id)
        self.assertEqual(order['state'], 'assembling')
        self.assertEqual(self.reserved(order_id), [3])
        block_id = self.create_return(order_id, [(0, 2)])
        # the returned units are no longer held in the shop
        self.assertEqual(self.reserved(order_id), [1])
        self.click(block_id)
        self.settle()
        block = self.block(block_id)
        self.assertEqual(block['state'], 'returned')
        self.assertEqual(block['amount'], Decimal('2000.00'))
        (state, amount, ref), = block['refunds']
        self.assertEqual((state, amount), ('succeeded', Decimal('2000.00')))
        self.assertIn(ref, self.sim.refunds)
        self.assertEqual(block['receipts'],
            [('refund', 'registered', Decimal('2000.00'))])
        order = self.check_money(order_id)
        self.assertEqual(order['total'], Decimal('1300.00'))
        # a later edit does not reserve the returned units again
        def reserve():
            Order = Pool().get('order_hub.order')
            Order.reserve([Order(order_id)])
        self.step(reserve)
        self.assertEqual(self.reserved(order_id), [1])
        log = self.order(order_id)['log']
        for text in ("оформлен", "запрошен возврат денег", "возвращено"):
            self.assertTrue(any(text in l.lower() for l in log), (text, log))

    def test_two_successive_partial_returns(self):
        order_id = self.new_paid_order([(self.shirt, 3)], delivery='250')
        first = self.create_return(order_id, [(0, 1)])
        self.click(first)
        self.settle()
        self.assertEqual(self.block(first)['state'], 'returned')
        self.assertEqual(self.order(order_id)['refunded'],
            Decimal('1000.00'))
        second = self.create_return(order_id, [(0, 2)], delivery=True)
        self.assertEqual(self.block(second)['amount'], Decimal('2250.00'))
        self.click(second)
        self.settle()
        self.assertEqual(self.block(second)['state'], 'returned')
        order = self.check_money(order_id)
        self.assertEqual(order['refunded'], order['paid'])
        self.assertEqual(order['net'], 0)
        self.assertEqual(sorted(self.sim_refunds(order_id)),
            ['1000.00', '2250.00'])
        # nothing is left to return
        from trytond.exceptions import UserError
        with self.assertRaises(UserError):
            self.create_return(order_id, [(0, 1)])

    def test_after_hand_over(self):
        order_id = self.new_paid_order([(self.shoes, 2)], delivery='0')

        def hand_over():
            pool = Pool()
            Shipment = pool.get('order_shipments.shipment')
            Location = pool.get('stock.location')
            order = pool.get('order_hub.order')(order_id)
            shop = Location(self.shop)
            shipment = Shipment.request_goods(order,
                [(order.lines[0], Decimal(2))], shop, shop, 'shop_pickup')
            Shipment.arrive([shipment])
            Shipment.hand_over([shipment])
            return shipment.id
        shipment_id = self.step(hand_over)
        self.settle()
        order = self.order(order_id)
        self.assertEqual(order['state'], 'issued')
        self.assertEqual([k for k, _, _ in order['receipts']],
            ['prepayment', 'settlement'])

        block_id = self.create_return(order_id, [(0, 1)])
        self.click(block_id, 'refund_issued')
        self.settle()
        block = self.block(block_id)
        self.assertEqual(block['state'], 'returned')
        self.assertEqual(block['receipts'],
            [('refund', 'registered', Decimal('3000.00'))])
        ref = block['refunds'][0][2]
        receipt, = [r for r in self.sim.receipts.values()
            if r.get('refund_id') == ref]
        self.assertEqual({i['payment_mode'] for i in receipt['items']},
            {'full_payment'})
        self.check_money(order_id)

        def movements():
            pool = Pool()
            Movement = pool.get('order_hub.item.movement')
            return [m.location.id for m in Movement.search([
                        ('shipment', '=', shipment_id),
                        ('status', '=', 'returned')])]
        self.assertEqual(self.read(movements), [self.shop])

    def test_refund_refused_then_retried_once(self):
        order_id = self.new_paid_order([(self.shoes, 1), (self.shirt, 1)])
        block_id = self.create_return(order_id, [(0, 1)])
        # YooKassa refuses the first refund (a permanent error)
        self.sim.faults.add(kind='error', endpoint='/v3/refunds',
            method='POST', count=1, status=400, body={'type': 'error',
                'id': 'refused-1', 'code': 'invalid_request',
                'description': 'Refund is not allowed for this payment'})
        self.click(block_id)
        self.settle()
        block = self.block(block_id)
        self.assertEqual(block['state'], 'to_return')
        self.assertIn('Refund is not allowed', block['error'])
        self.assertEqual([s for s, _, _ in block['refunds']], ['cancelled'])
        self.assertEqual(self.sim_refunds(order_id), [])
        self.assertTrue(any('отклон' in l for l in self.returned_log(
                        order_id)), self.order(order_id)['log'])

        # clicked again: YooKassa is down, then its answer is lost after
        # it made the refund; the outbox retries with the same key
        self.sim.faults.add(kind='error', endpoint='/v3/refunds',
            method='POST', count=1)
        self.click(block_id)
        from trytond.exceptions import UserError
        with self.assertRaises(UserError):
            self.click(block_id)    # a third click while it is pending
        self.run_queue()
        self.sim.lose_responses(1)
        for _ in range(3):
            self.make_all_due()
            self.settle()
        block = self.block(block_id)
        self.assertEqual(block['state'], 'returned')
        self.assertIsNone(block['error'])
        self.assertEqual(sorted(s for s, _, _ in block['refunds']),
            ['cancelled', 'succeeded'])
        self.assertEqual(self.sim_refunds(order_id), ['3000.00'])
        order = self.check_money(order_id)
        self.assertEqual(order['refunded'], Decimal('3000.00'))


del YooKassaScenario
