"""The order's shipments and returns in its Bitrix24 deal (the optional
glue with order_shipments and order_returns), over real HTTP to the
simulator: the story in the deal's comment, each event once on the
deal's timeline."""
from decimal import Decimal

from trytond.pool import Pool

from .tools import B24TestCase


class B24StoryTestCase(B24TestCase):
    "Shipments and returns on the deal"
    modules = ['b24_bridge', 'order_returns', 'shipments_carrier_test']

    def pay(self, order_id):
        "Paid online in full (the payments module's test provider)"
        def run():
            from trytond.modules.order_payment.tests.test_concurrency import (
                test_provider)
            pool = Pool()
            Payment = pool.get('order_payment.payment')
            test_provider()
            order = pool.get('order_hub.order')(order_id)
            payment, = Payment.create([{'order': order.id,
                        'kind': 'checkout', 'provider': 'test',
                        'amount': order.total, 'state': 'pending'}])
            Payment.set_provider_state(payment, 'succeeded')
        self.step(run)

    def ship(self, order_id, quantity=2):
        "A courier shipment of the order's first line by the test carrier"
        def run():
            pool = Pool()
            Shipment = pool.get('order_shipments.shipment')
            order = pool.get('order_hub.order')(order_id)
            line = order.lines[0]
            shipment = Shipment.request_goods(order,
                [(line, Decimal(quantity))], order.reservations[0].warehouse,
                None, 'courier', carrier='test')
            return shipment.id
        return self.step(run)

    def shipment(self, shipment_id, method, *args):
        def run():
            Shipment = Pool().get('order_shipments.shipment')
            shipment = Shipment(shipment_id)
            if method.startswith('carrier_'):
                getattr(Shipment, method)(shipment, *args)
            else:
                getattr(Shipment, method)([shipment], *args)
        self.step(run)

    def open_return(self, order_id, quantity=1):
        def run():
            pool = Pool()
            Block = pool.get('order_returns.block')
            Reason = pool.get('order_returns.reason')
            order = pool.get('order_hub.order')(order_id)
            reason, = Reason.search([], limit=1)
            return Block.create_return(order,
                [(order.lines[0], Decimal(quantity))], reason).id
        return self.step(run)

    def block(self, block_id, method):
        def run():
            Block = Pool().get('order_returns.block')
            getattr(Block, method)([Block(block_id)])
        self.step(run)

    def test_shipment_and_return_on_the_deal(self):
        order_id = self.new_order(lines=[(self.shoes, 2)])
        self.pay(order_id)
        self.assertEqual(self.order(order_id)['state'], 'paid')
        self.act(order_id, 'reserve')
        self.run_queue()
        self.assertNotIn("Отправления:", self.deal(order_id)['COMMENTS'])
        self.assertEqual(self.comments(order_id), [])

        shipment = self.ship(order_id)
        self.shipment(shipment, 'carrier_created', 'R-77', 'TRACK-77')
        self.run_queue()
        story = self.deal(order_id)['COMMENTS']
        self.assertIn("Отправления:", story)
        self.assertIn("трек-номер TRACK-77", story)
        self.assertIn("Test Carrier", story)
        self.assertIn("Кеды", story)
        comments = self.comments(order_id)
        self.assertEqual(len(comments), 1, comments)
        self.assertIn("передано: Test Carrier, трек-номер TRACK-77",
            comments[0])
        self.assertEqual(self.order(order_id)['state'], 'delivering')

        self.shipment(shipment, 'send')
        self.run_queue()
        self.shipment(shipment, 'arrive')
        self.shipment(shipment, 'hand_over')
        self.run_queue()
        self.assertEqual(self.order(order_id)['state'], 'issued')
        comments = self.comments(order_id)
        # sent, then delivered and issued coalesced into one push: the last
        self.assertEqual(len(comments), 3, comments)
        self.assertIn("Отправлено", comments[1])
        self.assertIn("Выдан", comments[2])
        self.assertIn("Отправление ", self.deal(order_id)['COMMENTS'])

        block = self.open_return(order_id)
        self.run_queue()
        story = self.deal(order_id)['COMMENTS']
        self.assertIn("Возвраты:", story)
        self.assertRegex(story, r"Возврат 1: К возврату; [^;]*Кеды × 1; ")
        comments = self.comments(order_id)
        self.assertEqual(len(comments), 4, comments)
        self.assertRegex(comments[3], r"^Оформлен возврат 1: [^;]*Кеды × 1 на ")
        self.block(block, 'cancel')
        self.run_queue()
        comments = self.comments(order_id)
        self.assertEqual(len(comments), 5, comments)
        self.assertRegex(comments[4], "^Возврат 1: Отмен")

        # every comment once: another push, a reconciliation's
        # «Синхронизировать», do not post them again
        self.act(order_id, 'b24_enqueue')
        self.run_queue()

        def synchronise():
            pool = Pool()
            Difference = pool.get('b24_bridge.difference')
            difference, = Difference.create([{'order': order_id,
                        'kind': 'stage'}])
            Difference.synchronise([difference])
        self.step(synchronise)
        self.run_queue()
        self.assertEqual(len(self.comments(order_id)), 5)
        self.assertEqual(self.messages('failed'), [])
        self.assertEqual(self.deal(order_id)['STAGE_ID'],
            self.stages()['issued'])
