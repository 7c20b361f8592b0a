"""Transfers, sales and returns between the hub and 1C UT11 over real HTTP
(the sandbox simulator): what the manager requests becomes 1C documents,
their numbers and states come back, nothing is lost or doubled.

Each step is committed, as the queue, the cron and the web client would."""
from decimal import Decimal

from trytond.pool import Pool

from sandbox.ut11 import stable_ref  # noqa: E402

from ..client import UT11Client  # noqa: E402
from .tools import UT11SimulatorTestCase  # noqa: E402

SNEAKERS = stable_ref('item', 'КР-1001')
NEVSKY, TVERSKAYA = 'Магазин на Невском', 'Магазин на Тверской'


class UT11DocumentsTestCase(UT11SimulatorTestCase):
    "Transfers, sales and returns in 1C UT11"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = UT11Client(cls.url, 'odata', 'odata')
        cls.step(lambda: Pool().get('ut11_bridge.loader').load())

    def setUp(self):
        super().setUp()
        self.sim.set_stock('КР-1001', NEVSKY, 4, '42')
        self.sim.set_stock('КР-1001', TVERSKAYA, 0, '42')
        self.step(lambda: Pool().get('ut11_bridge.loader').load(
                stock_only=True))

    @staticmethod
    def sneakers():
        Product = Pool().get('product.product')
        product, = Product.search([('template.code', '=', 'КР-1001'),
                ('hub_size', '=', '42')])
        return product

    @staticmethod
    def warehouse(name):
        Location = Pool().get('stock.location')
        warehouse, = Location.search([('name', '=', name),
                ('type', '=', 'warehouse')])
        return warehouse

    def pending(self, record):
        "Ids of the record's pending outbox messages"
        def search():
            Outbox = Pool().get('hub_sync.outbox')
            return [m.id for m in Outbox.search([
                        ('record', '=', record), ('state', '=', 'pending')])]
        return self.step(search)

    def process(self, message_ids, due=False):
        def process():
            Outbox = Pool().get('hub_sync.outbox')
            if due:
                Outbox.write(Outbox.browse(message_ids), {'next_try': None})
        self.step(process)
        self.step(lambda: Pool().get('hub_sync.outbox').process(
                Pool().get('hub_sync.outbox').browse(message_ids)))

    def count(self, kind):
        return len(self.sim.documents(kind))

    def on_hand(self, warehouse):
        info, = self.sim.stock(SNEAKERS, warehouse, '42')
        return Decimal(str(info['on_hand']))

    def paid_order(self, quantity=2):
        "A paid order to pick up on Tverskaya"
        def create():
            Order = Pool().get('order_hub.order')
            order, = Order.create([{'customer_name': "Иванова Мария",
                        'delivery_service': 'pickup',
                        'pickup_shop': self.warehouse(TVERSKAYA).id,
                        'lines': [('create', [{
                                        'product': self.sneakers().id,
                                        'quantity': Decimal(quantity)}])]}])
            Order.pay([order])
            return order.id
        return self.step(create)

    def requested_transfer(self, quantity=2):
        "«Запросить товар» on the order, then «Запросить»"
        order_id = self.paid_order(quantity)

        def request():
            pool = Pool()
            Transfer = pool.get('order_hub.transfer')
            Order = pool.get('order_hub.order')
            transfer = Transfer.create_for_order(Order(order_id))
            self.assertEqual(transfer.to_warehouse.name, TVERSKAYA)
            # the manager picks the shop to take the goods from
            Transfer.write([transfer], {
                    'from_warehouse': self.warehouse(NEVSKY).id})
            Transfer.request([transfer])
            return transfer.id
        transfer_id = self.step(request)
        return order_id, transfer_id

    def transfer(self, transfer_id):
        def read():
            Transfer = Pool().get('order_hub.transfer')
            transfer = Transfer(transfer_id)
            return {'state': transfer.state_string,
                'order_number': transfer.ut11_order_number,
                'order_ref': transfer.ut11_order_ref,
                'number': transfer.ut11_transfer_number,
                'ref': transfer.ut11_transfer_ref,
                'refusal': transfer.refusal,
                'lines': [(l.product.rec_name, l.quantity)
                    for l in transfer.lines],
                'log': [e.description for e in transfer.order.action_logs
                    if e.kind == 'transfer']}
        return self.step(read)

    # -- transfers ---------------------------------------------------------
    def test_transfer_request_made_in_1c_and_received_by_the_shop(self):
        _, transfer_id = self.requested_transfer(2)
        self.process(self.pending(f'order_hub.transfer,{transfer_id}'))

        shown = self.transfer(transfer_id)
        self.assertEqual(shown['state'], "В пути")
        transfer_order = self.client.get('Document_ЗаказНаПеремещение',
            shown['order_ref'])
        self.assertEqual(transfer_order['Number'], shown['order_number'])
        self.assertTrue(transfer_order['Posted'])
        document = self.client.get('Document_ПеремещениеТоваров',
            shown['ref'])
        self.assertEqual(document['Number'], shown['number'])
        self.assertEqual(document['ЗаказНаПеремещение_Key'],
            shown['order_ref'])
        self.assertEqual(document['Статус'], 'Отгружено')
        self.assertTrue(document['Posted'])
        self.assertEqual(self.on_hand(NEVSKY), 2)
        self.assertTrue(any(shown['number'] in e for e in shown['log']))

        # the receiving shop accepts the goods in 1C; the cron notices
        self.step(lambda: Pool().get('order_hub.transfer').ut11_poll())
        self.assertEqual(self.transfer(transfer_id)['state'], "В пути")
        self.client.receive_transfer(shown['ref'])
        self.step(lambda: Pool().get('order_hub.transfer').ut11_poll())

        shown = self.transfer(transfer_id)
        self.assertEqual(shown['state'], "Получено")
        self.assertEqual(self.on_hand(TVERSKAYA), 2)
        self.assertTrue(any("получено" in e for e in shown['log']),
            shown['log'])

    def test_transfer_sent_once_when_1c_is_down_then_back(self):
        before = (self.count('ЗаказНаПеремещение'),
            self.count('ПеремещениеТоваров'))
        _, transfer_id = self.requested_transfer(1)
        messages = self.pending(f'order_hub.transfer,{transfer_id}')
        self.assertEqual(len(messages), 1)
        self.sim.faults.add(kind='down', endpoint='*', count=2)
        self.process(messages)
        self.process(messages, due=True)
        self.assertEqual(self.transfer(transfer_id)['state'], "Запрошено")
        self.assertEqual(self.pending(f'order_hub.transfer,{transfer_id}'),
            messages)

        self.process(messages, due=True)
        self.process(messages, due=True)    # a second run changes nothing
        self.assertEqual(self.transfer(transfer_id)['state'], "В пути")
        self.assertEqual((self.count('ЗаказНаПеремещение'),
                self.count('ПеремещениеТоваров')),
            (before[0] + 1, before[1] + 1))

    def test_refused_transfer_reaches_the_manager_and_can_be_retried(self):
        before = self.count('ЗаказНаПеремещение')
        self.sim.refuse_posting('ПеремещениеТоваров', message=(
                "Недостаточно товара на складе «Магазин на Невском»"))
        order_id, transfer_id = self.requested_transfer(2)
        self.process(self.pending(f'order_hub.transfer,{transfer_id}'))

        shown = self.transfer(transfer_id)
        self.assertEqual(shown['state'], "Запрошено")
        self.assertIn("Недостаточно товара", shown['refusal'])
        self.assertEqual([q for _, q in shown['lines']], [2])
        refused, = [e for e in shown['log'] if "отклонено" in e]
        self.assertIn("Недостаточно товара", refused)

        # the manager requests it again once the shop has the goods
        def again():
            Transfer = Pool().get('order_hub.transfer')
            Transfer.request([Transfer(transfer_id)])
        self.step(again)
        self.process(self.pending(f'order_hub.transfer,{transfer_id}'))
        shown = self.transfer(transfer_id)
        self.assertEqual(shown['state'], "В пути")
        self.assertIsNone(shown['refusal'])
        # the first attempt's transfer order was reused, not doubled
        self.assertEqual(self.count('ЗаказНаПеремещение'), before + 1)

    # -- sales and returns -------------------------------------------------
    def test_sale_and_return_requested_through_the_bridge(self):
        order_id = self.paid_order(2)

        def reserve():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Order.reserve([Order(order_id)])
        self.step(reserve)
        self.process(self.pending(f'order_hub.order,{order_id}'))

        def request_sale():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Document = pool.get('ut11_bridge.document')
            order = Order(order_id)
            line, = order.lines
            return Document.request('sale', order, [{
                        'product': r.product, 'quantity': r.quantity,
                        'unit_price': line.unit_price,
                        'warehouse': r.warehouse}
                    for r in order.reservations]).id
        sale_id = self.step(request_sale)
        self.process(self.pending(f'ut11_bridge.document,{sale_id}'))

        def read(document_id):
            return self.step(lambda: _read(document_id))

        def _read(document_id):
            pool = Pool()
            Document = pool.get('ut11_bridge.document')
            document = Document(document_id)
            order = document.order
            return {'state': document.state_string,
                'ref': document.ut11_ref, 'number': document.ut11_number,
                'refusal': document.refusal,
                'order_ref': order.ut11_ref,
                'listed': [d.id for d in order.ut11_documents],
                'log': [e.description for e in order.action_logs
                    if e.kind == 'exchange']}
        sale = read(sale_id)
        self.assertEqual(sale['state'], "Проведён в 1С")
        in_1c = self.client.get('Document_РеализацияТоваровУслуг',
            sale['ref'])
        self.assertEqual(in_1c['Number'], sale['number'])
        self.assertTrue(in_1c['Posted'])
        self.assertEqual(in_1c['ЗаказКлиента_Key'], sale['order_ref'])
        self.assertIn(sale_id, sale['listed'])
        self.assertTrue(any(sale['number'] in e for e in sale['log']))

        def request_return():
            pool = Pool()
            Document = pool.get('ut11_bridge.document')
            Order = pool.get('order_hub.order')
            sale = Document(sale_id)
            return Document.request('return', Order(order_id), [{
                        'product': self.sneakers(), 'quantity': Decimal(1),
                        'unit_price': sale.lines[0].unit_price}],
                warehouse=self.warehouse(TVERSKAYA), basis=sale).id
        on_hand = self.on_hand(TVERSKAYA)
        return_id = self.step(request_return)
        self.process(self.pending(f'ut11_bridge.document,{return_id}'))

        returned = read(return_id)
        self.assertEqual(returned['state'], "Проведён в 1С",
            returned['refusal'])
        in_1c = self.client.get('Document_ВозвратТоваровОтКлиента',
            returned['ref'])
        self.assertEqual(in_1c['Number'], returned['number'])
        self.assertTrue(in_1c['Posted'])
        self.assertEqual(in_1c['ДокументРеализации'], sale['ref'])
        self.assertEqual(self.on_hand(TVERSKAYA), on_hand + 1)
        self.assertEqual(set(returned['listed']), {sale_id, return_id})


del UT11SimulatorTestCase  # the base alone is no test
