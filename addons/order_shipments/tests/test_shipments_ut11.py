"""Shipments with the 1C UT11 bridge, against the UT11 simulator over real
HTTP: request goods → transfer in 1C → received in the pickup shop → sale
in 1C → «Отправлено» → «Доставлено» → «Выдан» → order «Выдан» → the
full-settlement receipt; 1C refusing the sale.

Each step is committed, as the queue, the cron and the web client would."""
from decimal import Decimal

from trytond.pool import Pool

from trytond.modules.ut11_bridge.client import UT11Client
from trytond.modules.ut11_bridge.tests.tools import UT11SimulatorTestCase

from .tools import paid_order

NEVSKY, TVERSKAYA = 'Магазин на Невском', 'Магазин на Тверской'


class ShipmentsUT11Base(UT11SimulatorTestCase):
    "The hub with the 1C bridge and a simulator; helpers of the steps"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.step(lambda: Pool().get('ut11_bridge.loader').load())

    def use_size(self, size):
        "Sneakers of a size no other test touches, 4 of them on Nevsky"
        self.size = size
        self.sim.set_stock('КР-1001', NEVSKY, 4, size)
        self.step(lambda: Pool().get('ut11_bridge.loader').load(
                stock_only=True))

    def sneakers(self):
        Product = Pool().get('product.product')
        product, = Product.search([('template.code', '=', 'КР-1001'),
                ('hub_size', '=', self.size)])
        return product

    @staticmethod
    def warehouse(name):
        Location = Pool().get('stock.location')
        warehouse, = Location.search([('name', '=', name),
                ('type', '=', 'warehouse')])
        return warehouse

    def pending(self, record):
        def search():
            Outbox = Pool().get('hub_sync.outbox')
            return [m.id for m in Outbox.search([
                        ('record', '=', str(record)),
                        ('state', '=', 'pending')])]
        return self.step(search)

    def process(self, record):
        "Deliver the record's pending messages, as the queue would"
        ids = self.pending(record)
        self.step(lambda: Pool().get('hub_sync.outbox').process(
                Pool().get('hub_sync.outbox').browse(ids)))
        return ids

    def order_in_1c(self, pickup=None, **values):
        "A paid order of 2 sneakers, reserved and sent to 1C"
        def create():
            Order = Pool().get('order_hub.order')
            if pickup:
                values.update(delivery_service='pickup',
                    pickup_shop=self.warehouse(pickup).id)
            if isinstance(values.get('delivery_city'), str):
                city, = Pool().get('order_hub.city').search([
                        ('name', '=', values['delivery_city'])])
                values['delivery_city'] = city.id
            order = paid_order([(self.sneakers(), 2)], **values)
            Order.reserve([order])
            return order.id
        order_id = self.step(create)
        self.process(f'order_hub.order,{order_id}')
        self.assertTrue(self.step(
                lambda: Pool().get('order_hub.order')(order_id).ut11_ref))
        return order_id

    def request(self, order_id, target, delivery_type, carrier=None):
        def request():
            pool = Pool()
            Shipment = pool.get('order_shipments.shipment')
            order = pool.get('order_hub.order')(order_id)
            return Shipment.request_goods(order, [(order.lines[0],
                        Decimal(2))], self.warehouse(NEVSKY),
                target and self.warehouse(target), delivery_type,
                carrier=carrier).id
        return self.step(request)

    def sale_documents(self, shipment_id):
        def read():
            Document = Pool().get('ut11_bridge.document')
            return [d.id for d in Document.search([
                        ('origin', '=',
                            f'order_shipments.shipment,{shipment_id}')])]
        return self.step(read)

    def process_sales(self, shipment_id):
        for document_id in self.sale_documents(shipment_id):
            self.process(f'ut11_bridge.document,{document_id}')

    def read(self, shipment_id):
        def read():
            pool = Pool()
            shipment = pool.get('order_shipments.shipment')(shipment_id)
            order = shipment.order
            return {'state': shipment.state_string,
                'carrier_state': shipment.carrier_state,
                'error': shipment.carrier_error,
                'transfers': [(t.state, t.ut11_transfer_ref)
                    for t in shipment.transfers],
                'order': order.state_string,
                'receipts': [r.kind for r in order.receipts],
                'sales': [(d.state, d.ut11_ref, d.warehouse.name)
                    for d in pool.get('ut11_bridge.document').search([
                            ('origin', '=', str(shipment))])],
                'log': [e.description for e in order.action_logs]}
        return self.step(read)

    def transfer_received_in_1c(self, shipment_id):
        "The pickup shop accepts the goods in 1C; the hub's cron notices"
        def transfer():
            shipment = Pool().get('order_shipments.shipment')(shipment_id)
            return shipment.transfers[0].id
        transfer_id = self.step(transfer)
        self.process(f'order_hub.transfer,{transfer_id}')
        _, ref = self.read(shipment_id)['transfers'][0]
        self.client.receive_transfer(ref)
        self.step(lambda: Pool().get('order_hub.transfer').ut11_poll())

    @classmethod
    def shipment_action(cls, shipment_id, action):
        def run():
            Shipment = Pool().get('order_shipments.shipment')
            getattr(Shipment, action)([Shipment(shipment_id)])
        cls.step(run)


class ShipmentsUT11TestCase(ShipmentsUT11Base):
    "Shop pickup with 1C UT11"
    modules = ['order_shipments', 'ut11_bridge']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = UT11Client(cls.url, 'odata', 'odata')

    def pickup_shipment(self):
        order_id = self.order_in_1c(pickup=TVERSKAYA)
        return self.request(order_id, TVERSKAYA, 'shop_pickup')

    def test_pickup_through_1c_to_hand_over_and_receipt(self):
        self.use_size('42')
        sales_before = len(self.sim.documents('РеализацияТоваровУслуг'))
        shipment_id = self.pickup_shipment()
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['order']),
            ("Собирается", "Собирается"))

        self.transfer_received_in_1c(shipment_id)
        shown = self.read(shipment_id)
        self.assertEqual(shown['transfers'][0][0], 'received')
        self.assertEqual(shown['order'], "Доставляется")
        self.assertEqual(shown['state'], "Собирается", "sale not yet posted")
        self.process_sales(shipment_id)

        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Отправлено")
        (state, ref, warehouse), = shown['sales']
        self.assertEqual((state, warehouse), ('posted', TVERSKAYA))
        sale = self.client.get('Document_РеализацияТоваровУслуг', ref)
        self.assertTrue(sale['Posted'])
        shop_ref = self.step(lambda: self.warehouse(TVERSKAYA).ut11_ref)
        self.assertEqual([(r['Количество'], r['Склад_Key'])
                for r in sale['Товары']], [(2, shop_ref)])
        self.assertEqual(len(self.sim.documents('РеализацияТоваровУслуг')),
            sales_before + 1)

        self.shipment_action(shipment_id, 'arrive')
        self.shipment_action(shipment_id, 'hand_over')
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['order']), ("Выдан", "Выдан"))
        self.assertIn('settlement', shown['receipts'])

    def test_1c_refusing_the_sale_leaves_nothing_half_done(self):
        self.use_size('43')
        shipment_id = self.pickup_shipment()
        self.sim.refuse_posting('РеализацияТоваровУслуг', message=(
                "Недостаточно свободного остатка товара на складе "
                "«Магазин на Тверской»"))
        self.transfer_received_in_1c(shipment_id)
        self.process_sales(shipment_id)

        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Собирается")
        self.assertIn("Недостаточно свободного остатка", shown['error'])
        self.assertEqual([s for s, _, _ in shown['sales']], ['refused'])
        self.assertTrue(any("реализация отклонена" in e
                for e in shown['log']), shown['log'])

        # the manager sends it again once 1C is sorted out
        self.shipment_action(shipment_id, 'release_button')
        self.process_sales(shipment_id)
        shown = self.read(shipment_id)
        self.assertEqual(shown['state'], "Отправлено")
        self.assertIsNone(shown['error'])
        self.assertEqual(sorted(s for s, _, _ in shown['sales']),
            ['posted', 'refused'])


del UT11SimulatorTestCase
