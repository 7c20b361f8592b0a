"""Returns with the 1C UT11 bridge, against the UT11 simulator over real
HTTP: sneakers sold in 1C (the sale of their shipment), handed over, then
returned — one pair through the pickup shop (back into the shop's stock),
one through a carrier (back to the warehouse they left): a
ВозвратТоваровОтКлиента on the basis of the sale for each, the numbers on
the blocks.

Each step is committed, as the queue, the cron and the web client would."""
from decimal import Decimal

from trytond.pool import Pool

from trytond.modules.order_shipments.tests.test_shipments_ut11 import (
    NEVSKY, TVERSKAYA, ShipmentsUT11Base)
from trytond.modules.ut11_bridge.client import UT11Client

RETURN = 'Document_ВозвратТоваровОтКлиента'


class ReturnsUT11TestCase(ShipmentsUT11Base):
    "Return blocks become 1C returns on the basis of the sale"
    modules = ['order_returns', 'ut11_bridge']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = UT11Client(cls.url, 'odata', 'odata')

    def on_hand(self, warehouse):
        info, = self.sim.stock('КР-1001', warehouse, self.size)
        return Decimal(str(info['on_hand']))

    def handed_over(self):
        "An order of 2 sneakers sold in 1C and handed over on Tverskaya"
        order_id = self.order_in_1c(pickup=TVERSKAYA)
        shipment_id = self.request(order_id, TVERSKAYA, 'shop_pickup')
        self.transfer_received_in_1c(shipment_id)
        self.process_sales(shipment_id)
        self.shipment_action(shipment_id, 'arrive')
        self.shipment_action(shipment_id, 'hand_over')
        self.assertEqual(self.read(shipment_id)['order'], "Выдан")
        return order_id, shipment_id

    def new_block(self, order_id, channel, receive=False, refund=False):
        """A block of one pair; its goods taken in («Товар получен») and
        refunded (the test provider confirms) if asked"""
        def create():
            pool = Pool()
            Block = pool.get('order_returns.block')
            Reason = pool.get('order_returns.reason')
            order = pool.get('order_hub.order')(order_id)
            reason, = Reason.search([], limit=1)
            block = Block.create_return(order,
                [(order.lines[0], Decimal(1))], reason, channel=channel,
                shop=self.warehouse(TVERSKAYA) if channel == 'shop'
                else None)
            if receive:
                Block.receive([block])
            return block.id
        block_id = self.step(create)
        if refund:
            self.refund(block_id)
        return block_id

    def refund(self, block_id):
        "«Сделать возврат», confirmed by the test provider"
        def refund():
            pool = Pool()
            Block = pool.get('order_returns.block')
            Refund = pool.get('order_payment.refund')
            Block.refund_issued([Block(block_id)])
            for refund in Block(block_id).refunds:
                Refund.set_provider_state(refund, 'succeeded')
        self.step(refund)

    def return_one(self, order_id, channel):
        "A block of one pair, refunded"
        return self.new_block(order_id, channel, refund=True)

    def block(self, block_id):
        def read():
            block = Pool().get('order_returns.block')(block_id)
            return {'state': block.state, 'documents': block.documents,
                'amount': block.goods_amount,
                'returns': [(d.state, d.ut11_ref, d.ut11_number,
                        d.warehouse.name, d.basis.ut11_ref)
                    for d in block.get_ut11_returns()],
                'log': [e.description for e in block.order.action_logs
                    if e.kind == 'return']}
        return self.step(read)

    def process_returns(self, block_id):
        def ids():
            block = Pool().get('order_returns.block')(block_id)
            return [d.id for d in block.get_ut11_returns()]
        for document_id in self.step(ids):
            self.process(f'ut11_bridge.document,{document_id}')

    def test_returns_through_a_shop_and_a_carrier_in_1c(self):
        self.use_size('42')
        order_id, shipment_id = self.handed_over()
        (_, sale_ref, _), = self.read(shipment_id)['sales']
        on_hand = {w: self.on_hand(w) for w in (TVERSKAYA, NEVSKY)}
        returns = len(self.sim.documents('ВозвратТоваровОтКлиента'))

        # through the shop: the pair goes back into the shop's stock
        shop_block = self.return_one(order_id, 'shop')
        block = self.block(shop_block)
        self.assertEqual(block['state'], 'returned')
        (state, *_), = block['returns']
        self.assertEqual(state, 'pending')
        self.process_returns(shop_block)
        block = self.block(shop_block)
        (state, ref, number, warehouse, basis), = block['returns']
        self.assertEqual((state, warehouse, basis),
            ('posted', TVERSKAYA, sale_ref))
        self.assertEqual(block['documents'], number)
        in_1c = self.client.get(RETURN, ref)
        self.assertTrue(in_1c['Posted'])
        self.assertEqual(in_1c['ДокументРеализации'], sale_ref)
        self.assertEqual([(r['Количество'], Decimal(str(r['Сумма'])))
                for r in in_1c['Товары']], [(1, block['amount'])])
        self.assertEqual(self.on_hand(TVERSKAYA), on_hand[TVERSKAYA] + 1)
        self.assertTrue(any(number in e for e in block['log']),
            block['log'])

        # through a carrier: to the warehouse the pair was shipped from
        carrier_block = self.return_one(order_id, 'carrier')
        self.process_returns(carrier_block)
        block = self.block(carrier_block)
        (state, ref, number, warehouse, basis), = block['returns']
        self.assertEqual((state, warehouse, basis),
            ('posted', NEVSKY, sale_ref))
        self.assertEqual(block['documents'], number)
        self.assertEqual(self.on_hand(NEVSKY), on_hand[NEVSKY] + 1)
        self.assertEqual(self.on_hand(TVERSKAYA), on_hand[TVERSKAYA] + 1)
        self.assertEqual(len(self.sim.documents('ВозвратТоваровОтКлиента')),
            returns + 2)

    def test_units_returned_before_shipment_leave_the_1c_order(self):
        """A paid order in 1C, one pair returned before anything was
        shipped: the customer order in 1C drops it and 1C's reserve of it
        is released (the pair is free again there)"""
        self.use_size('41')
        order_id = self.order_in_1c(pickup=TVERSKAYA)
        ref = self.step(
            lambda: Pool().get('order_hub.order')(order_id).ut11_ref)

        def in_1c():
            order = self.client.get('Document_ЗаказКлиента', ref)
            return (sum(r['Количество'] for r in order['Товары']
                    if not r.get('Отменено')),
                sum(Decimal(str(i['reserved']))
                    for i in self.sim.stock('КР-1001', None, self.size)))
        self.assertEqual(in_1c(), (2, 2))

        self.new_block(order_id, 'carrier')
        self.process(f'order_hub.order,{order_id}')
        self.assertEqual(in_1c(), (1, 1))

    def test_goods_received_before_the_refund_go_back_in_1c(self):
        """«Товар получен» on a carrier return: the 1C return is made then,
        the refund afterwards makes no second one"""
        self.use_size('40')
        order_id, _ = self.handed_over()
        on_hand = self.on_hand(NEVSKY)
        returns = len(self.sim.documents('ВозвратТоваровОтКлиента'))

        block_id = self.new_block(order_id, 'carrier', receive=True)
        self.process_returns(block_id)
        block = self.block(block_id)
        self.assertEqual(block['state'], 'to_return')
        (state, _, number, warehouse, _), = block['returns']
        self.assertEqual((state, warehouse), ('posted', NEVSKY))
        self.assertEqual(self.on_hand(NEVSKY), on_hand + 1)

        self.refund(block_id)
        block = self.block(block_id)
        self.assertEqual(block['state'], 'returned')
        self.assertEqual(len(block['returns']), 1)
        self.assertEqual(len(self.sim.documents('ВозвратТоваровОтКлиента')),
            returns + 1)

    def test_1c_refusing_the_return_is_logged(self):
        self.use_size('43')
        order_id, _ = self.handed_over()
        self.sim.refuse_posting('ВозвратТоваровОтКлиента',
            message="Период закрыт для изменений")
        block_id = self.return_one(order_id, 'shop')
        self.process_returns(block_id)
        block = self.block(block_id)
        self.assertEqual([s for s, *_ in block['returns']], ['refused'])
        self.assertIsNone(block['documents'])
        self.assertTrue(any("Период закрыт" in e for e in block['log']),
            block['log'])
        # the block stays returned: the money is back, only 1C waits
        self.assertEqual(block['state'], 'returned')


del ShipmentsUT11Base
