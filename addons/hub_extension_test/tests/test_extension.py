"""A later module extends the 1C bridge without touching it: one part of the
order mapper (the header's comment) and a new kind of outbound message, both
through the real outbox against the UT11 simulator over HTTP."""
from decimal import Decimal

from trytond.modules.ut11_bridge import payloads
from trytond.modules.ut11_bridge.tests.tools import UT11SimulatorTestCase
from trytond.pool import Pool

from ..gift import GIFT_NOTE


class ExtensionTestCase(UT11SimulatorTestCase):
    "Extension points of the integrations"
    modules = ['hub_extension_test']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.step(lambda: Pool().get('ut11_bridge.loader').load())

    def new_reserved_order(self, gift_note=None):
        def create():
            pool = Pool()
            Order = pool.get('order_hub.order')
            City = pool.get('order_hub.city')
            Product = pool.get('product.product')
            product, = Product.search([('template.code', '=', 'КР-1001'),
                    ('hub_size', '=', '42')])
            moscow, = City.search([('name', '=', "Москва")])
            order, = Order.create([{'customer_name': "Орлова Анна",
                        'delivery_city': moscow.id, 'gift_note': gift_note,
                        'lines': [('create', [{'product': product.id,
                                        'quantity': Decimal(1)}])]}])
            Order.pay([order])
            Order.reserve([order])
            return order.id
        return self.step(create)

    def run_outbox(self):
        def process():
            Outbox = Pool().get('hub_sync.outbox')
            Outbox.process(Outbox.search([('state', '=', 'pending')],
                    order=[('id', 'ASC')]))
        self.step(process)

    def document_in_1c(self, order_id):
        def read():
            pool = Pool()
            order = pool.get('order_hub.order')(order_id)
            client = pool.get('hub_sync.system').get('ut11').ut11_client()
            return client.get(payloads.ORDER, order.ut11_ref)
        return self.step(read)

    def messages(self, order_id):
        def read():
            Outbox = Pool().get('hub_sync.outbox')
            return [(m.operation, m.state, m.operation_string)
                for m in Outbox.search([
                        ('record', '=', f'order_hub.order,{order_id}')],
                    order=[('id', 'ASC')])]
        return self.step(read)

    def test_mapper_part_overridden(self):
        "The header's comment carries the gift note; the rest is the bridge's"
        order = self.new_reserved_order(gift_note="лента и открытка")
        self.run_outbox()
        document = self.document_in_1c(order)
        self.assertEqual(document['Комментарий'],
            "Орлова Анна; Подарочная упаковка: лента и открытка")
        self.assertEqual(document['Статус'], 'КОбеспечению')
        self.assertEqual(len(document['Товары']), 1)

    def test_mapper_unchanged_without_note(self):
        order = self.new_reserved_order()
        self.run_outbox()
        self.assertEqual(self.document_in_1c(order)['Комментарий'],
            "Орлова Анна")

    def test_new_kind_of_message(self):
        "A message kind of the module goes out through the real outbox"
        order = self.new_reserved_order()
        self.run_outbox()

        def note():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Outbox = pool.get('hub_sync.outbox')
            Order.write([Order(order)], {'gift_note': "коробка"})
            Outbox.enqueue('ut11', GIFT_NOTE, [Order(order)])
        self.step(note)
        self.run_outbox()
        self.assertEqual(self.document_in_1c(order)['Комментарий'],
            "Орлова Анна; Подарочная упаковка: коробка")
        self.assertEqual(self.messages(order)[-1],
            (GIFT_NOTE, 'done', "Отправка подарочной надписи"))
