"""1C UT11 and the hub over real HTTP (the sandbox simulator): the
catalogue and stock come in, a reserved order goes out with its reservation
per warehouse, and nothing is lost or doubled when 1C is down or refuses.

Each step is committed, as the queue and the web client would."""
from decimal import Decimal

from trytond.pool import Pool

from sandbox.ut11 import stable_ref  # noqa: E402

from trytond.modules.ut11_bridge import payloads  # noqa: E402

from .tools import UT11SimulatorTestCase  # noqa: E402

SNEAKERS = stable_ref('item', 'КР-1001')
SHOP = 'Магазин на Тверской'


class UT11BridgeTestCase(UT11SimulatorTestCase):
    "The 1C UT11 bridge"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.counts = cls.step(lambda: Pool().get(
                'ut11_bridge.loader').load())

    def variant(self, article, size):
        Product = Pool().get('product.product')
        product, = Product.search([('template.code', '=', article),
                ('hub_size', '=', size)])
        return product

    def warehouse(self, name):
        Location = Pool().get('stock.location')
        warehouse, = Location.search([('name', '=', name),
                ('type', '=', 'warehouse')])
        return warehouse

    def new_paid_order(self, quantity, city="Москва"):
        def create():
            pool = Pool()
            Order = pool.get('order_hub.order')
            City = pool.get('order_hub.city')
            city_, = City.search([('name', '=', city)])
            order, = Order.create([{'customer_name': "Иванова Мария",
                        'delivery_city': city_.id, 'lines': [('create', [{
                                        'product': self.variant(
                                            'КР-1001', '42').id,
                                        'quantity': Decimal(quantity)}])]}])
            Order.pay([order])
            return order.id
        return self.step(create)

    def reserve(self, order_id):
        "Reserve; returns the outbox messages it queued"
        def reserve():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Outbox = pool.get('hub_sync.outbox')
            Order.reserve([Order(order_id)])
            return [m.id for m in Outbox.search([
                        ('record', '=', f'order_hub.order,{order_id}'),
                        ('state', '=', 'pending')])]
        return self.step(reserve)

    def process(self, message_ids):
        def process():
            Outbox = Pool().get('hub_sync.outbox')
            Outbox.process(Outbox.browse(message_ids))
        self.step(process)

    def make_due(self, message_ids):
        def due():
            Outbox = Pool().get('hub_sync.outbox')
            Outbox.write(Outbox.browse(message_ids), {'next_try': None})
        self.step(due)

    def read(self, func):
        return self.step(func)

    def orders_in_1c(self):
        return [d for d in self.sim.documents('ЗаказКлиента')]

    # -- inbound ----------------------------------------------------------
    def test_catalogue_and_stock_loaded(self):
        self.assertGreaterEqual(self.counts['warehouses'], 8)
        self.assertGreaterEqual(self.counts['products'], 20)

        def check():
            size42 = self.variant('КР-1001', '42')
            self.assertEqual(size42.template.external_ref, SNEAKERS)
            self.assertEqual(size42.list_price_used, Decimal('6990'))
            shop = self.warehouse(SHOP)
            self.assertTrue(shop.hub_is_shop)
            self.assertEqual(shop.hub_city.name, "Москва")
            StockLevel = Pool().get('order_hub.stock')
            level, = StockLevel.search([('product', '=', size42.id),
                    ('warehouse', '=', shop.id)])
            info, = self.sim.stock(SNEAKERS, SHOP, '42')
            self.assertEqual(level.quantity, Decimal(str(info['free'])))
            self.assertEqual(level.source, 'ut11')
        self.read(check)

    def test_stock_change_in_1c_reaches_the_mirror(self):
        self.sim.set_stock('КР-1001', SHOP, 11, '42')
        self.step(lambda: Pool().get('ut11_bridge.loader').load(
                stock_only=True))

        def check():
            StockLevel = Pool().get('order_hub.stock')
            level, = StockLevel.search([
                    ('product', '=', self.variant('КР-1001', '42').id),
                    ('warehouse', '=', self.warehouse(SHOP).id)])
            return level.quantity
        self.assertEqual(self.read(check), 11 - self._reserved_in_1c())

    def _reserved_in_1c(self):
        info, = self.sim.stock(SNEAKERS, SHOP, '42')
        return Decimal(str(info['reserved']))

    # -- outbound ---------------------------------------------------------
    def test_reserved_order_goes_to_1c_with_its_warehouses(self):
        self.sim.set_stock('КР-1001', SHOP, 1, '42')
        self.sim.set_stock('КР-1001', 'Центральный склад', 5, '42')
        self.step(lambda: Pool().get('ut11_bridge.loader').load(
                stock_only=True))
        order_id = self.new_paid_order(3)
        messages = self.reserve(order_id)
        self.assertEqual(len(messages), 1)
        before = len(self.orders_in_1c())
        self.process(messages)

        documents = self.orders_in_1c()
        self.assertEqual(len(documents), before + 1)
        document = documents[-1]
        self.assertTrue(document['Posted'])

        def check():
            Order = Pool().get('order_hub.order')
            order = Order(order_id)
            self.assertEqual(order.ut11_number, document['Number'])
            self.assertTrue(all(r.in_mirror for r in order.reservations))
            held = {(r.warehouse.name, r.quantity)
                for r in order.reservations}
            self.assertIn(("Магазин на Тверской", 1), held)
            self.assertTrue(any("1С" in e.description or
                    document['Number'] in e.description
                    for e in order.action_logs if e.kind == 'exchange'))
            StockLevel = Pool().get('order_hub.stock')
            level, = StockLevel.search([
                    ('product', '=', self.variant('КР-1001', '42').id),
                    ('warehouse', '=', self.warehouse(SHOP).id)])
            # 1C reserves it now; the hub does not count it twice
            return level.free_quantity
        self.assertEqual(self.read(check), 0)
        info, = self.sim.stock(SNEAKERS, SHOP, '42')
        self.assertEqual(Decimal(str(info['reserved'])), 1)

    def test_1c_down_then_back_nothing_lost_nothing_doubled(self):
        order_id = self.new_paid_order(1)
        messages = self.reserve(order_id)
        before = len(self.orders_in_1c())
        self.sim.faults.add(kind='down', endpoint='*', count=2)
        self.process(messages)
        self.make_due(messages)
        self.process(messages)

        def state():
            Outbox = Pool().get('hub_sync.outbox')
            message = Outbox(messages[0])
            return message.state, message.attempts
        self.assertEqual(self.read(state), ('pending', 2))
        self.assertEqual(len(self.orders_in_1c()), before)

        self.make_due(messages)
        self.process(messages)
        self.process(messages)  # a second run changes nothing
        self.assertEqual(self.read(state)[0], 'done')
        self.assertEqual(len(self.orders_in_1c()), before + 1)

    def cancel(self, order_id):
        "Cancel; returns the pending outbox messages of the order"
        def cancel():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Outbox = pool.get('hub_sync.outbox')
            Order.cancel([Order(order_id)])
            return [m.id for m in Outbox.search([
                        ('record', '=', f'order_hub.order,{order_id}'),
                        ('state', '=', 'pending')])]
        return self.step(cancel)

    def test_cancel_closes_the_order_in_1c_and_releases_its_reserve(self):
        "UT11's way: lines kept, cancelled with a reason; the reserve goes"
        order_id = self.new_paid_order(2)
        self.process(self.reserve(order_id))
        reserved = self._reserved_in_1c()
        messages = self.cancel(order_id)
        self.assertEqual(len(messages), 1)
        self.process(messages)

        def check():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Outbox = pool.get('hub_sync.outbox')
            order = Order(order_id)
            client = pool.get('hub_sync.system').get('ut11').ut11_client()
            document = client.get(payloads.ORDER, order.ut11_ref)
            logs = [(e.description, e.actor) for e in order.action_logs
                if e.kind == 'exchange']
            return (Outbox(messages[0]).state, document, logs,
                [r.in_mirror for r in order.reservations],
                client.order_reserves(order.ut11_ref, {SNEAKERS}))
        state, document, logs, in_mirror, reserves = self.read(check)
        self.assertEqual(state, 'done')
        self.assertEqual(document['Статус'], 'Закрыт')
        self.assertTrue(document['Товары'])
        for row in document['Товары']:
            self.assertTrue(row['Отменено'])
            self.assertEqual(row['ПричинаОтмены_Key'],
                stable_ref('cancel', 'Отказ клиента'))
        self.assertEqual(sum(document['Товары'][i]['Количество']
                for i in range(len(document['Товары']))), 2)
        self.assertFalse(any(reserves.values()))
        self.assertFalse(any(in_mirror))
        self.assertLessEqual(self._reserved_in_1c(), reserved - 2
            if reserved >= 2 else 0)
        self.assertIn(("Заказ закрыт в 1С УТ11: заказ клиента "
                f"{document['Number']}, строки отменены, резерв снят.",
                "Система (1С УТ11)"), logs)

    def test_cancel_while_the_first_push_waits_creates_nothing_in_1c(self):
        "1C down, the order cancelled meanwhile: no empty closed document"
        order_id = self.new_paid_order(1)
        messages = self.reserve(order_id)
        before = len(self.orders_in_1c())
        self.sim.faults.add(kind='down', endpoint='*', count=1)
        self.process(messages)
        self.assertEqual(self.cancel(order_id), messages)
        self.process(messages)

        def state():
            Outbox = Pool().get('hub_sync.outbox')
            message = Outbox(messages[0])
            return message.state, message.result
        self.assertEqual(self.read(state),
            ('done', "В 1С УТ11 нет документа этого заказа — закрывать "
                "нечего."))
        self.assertEqual(len(self.orders_in_1c()), before)

    def test_paid_order_reserved_and_sent_at_once(self):
        "With «Резервировать при оплате», paying is enough"
        def switch(value):
            System = Pool().get('hub_sync.system')
            System.write(System.search([('code', '=', 'ut11')]),
                {'ut11_reserve_on_payment': value})
        self.step(lambda: switch(True))
        self.addCleanup(self.step, lambda: switch(False))
        order_id = self.new_paid_order(1)

        def pending():
            Outbox = Pool().get('hub_sync.outbox')
            order = Pool().get('order_hub.order')(order_id)
            return order.state, [m.id for m in Outbox.search([
                        ('record', '=', f'order_hub.order,{order_id}'),
                        ('state', '=', 'pending')])]
        state, messages = self.read(pending)
        self.assertEqual(state, 'assembling')
        self.assertEqual(len(messages), 1)
        self.process(messages)
        self.assertTrue(self.read(
                lambda: Pool().get('order_hub.order')(order_id).ut11_number))

    def test_1c_refusal_reaches_the_manager(self):
        order_id = self.new_paid_order(1)
        messages = self.reserve(order_id)
        self.sim.refuse_posting('ЗаказКлиента',
            message="Недостаточно свободного остатка товара на складе")
        self.process(messages)

        def check():
            Order = Pool().get('order_hub.order')
            Outbox = Pool().get('hub_sync.outbox')
            order = Order(order_id)
            entries = [e.description for e in order.action_logs
                if e.kind == 'exchange']
            return Outbox(messages[0]).state, entries
        state, entries = self.read(check)
        self.assertEqual(state, 'failed')
        refusal, = [e for e in entries
            if "Недостаточно свободного остатка" in e]
        # what was refused, in the manager's words, not the operation code
        self.assertIn("«передача заказа клиента»", refusal)

    def test_moving_a_reservation_updates_1c(self):
        self.sim.set_stock('КР-1001', 'Центральный склад', 5, '42')
        self.step(lambda: Pool().get('ut11_bridge.loader').load(
                stock_only=True))
        order_id = self.new_paid_order(1, city="Казань")
        self.process(self.reserve(order_id))

        def move():
            pool = Pool()
            Order = pool.get('order_hub.order')
            Outbox = pool.get('hub_sync.outbox')
            reservation, = [r for r in Order(order_id).reservations
                if r.active]
            target = self.warehouse('Центральный склад')
            if reservation.warehouse == target:
                target = self.warehouse(SHOP)
            reservation.move(target, Decimal(1))
            return reservation.warehouse.name, target.name, [
                m.id for m in Outbox.search([
                        ('record', '=', f'order_hub.order,{order_id}'),
                        ('state', '=', 'pending')])]
        source, target, messages = self.step(move)
        self.assertEqual(len(messages), 1)
        before = {w: self._reserved_at(w) for w in (source, target)}
        self.process(messages)

        # 1C's reserve left the old warehouse and is held at the new one
        self.assertEqual(self._reserved_at(source), before[source] - 1)
        self.assertEqual(self._reserved_at(target), before[target] + 1)

        def check():
            Order = Pool().get('order_hub.order')
            order = Order(order_id)
            line, = order.lines
            held = {(r.warehouse.name, r.ut11_reserved)
                for r in order.reservations}
            return order.ut11_number, held, line.ut11_reserved
        number, held, line_reserved = self.read(check)
        self.assertEqual(held, {(target, 1)})
        self.assertEqual(line_reserved, 1)
        document, = [d for d in self.orders_in_1c()
            if d['Number'] == number]
        self.assertTrue(document['Posted'])

    def _reserved_at(self, warehouse):
        info, = self.sim.stock(SNEAKERS, warehouse, '42')
        return Decimal(str(info['reserved']))

    def test_1c_reserving_less_is_told_to_the_manager(self):
        kazan = 'Магазин на Баумана'
        self.sim.set_stock('КР-1001', kazan, 3, '42')
        self.step(lambda: Pool().get('ut11_bridge.loader').load(
                stock_only=True))
        # 1C sells two before the hub hears of it; the shop does not
        # control its stock in 1C, so 1C reserves what it has
        self.sim.set_stock('КР-1001', kazan, 1, '42')
        self.sim.stock_control(kazan, False)
        self.addCleanup(self.sim.stock_control, kazan, True)
        order_id = self.new_paid_order(3, city="Казань")
        self.process(self.reserve(order_id))

        def check():
            Order = Pool().get('order_hub.order')
            order = Order(order_id)
            line, = order.lines
            held = [(r.warehouse.name, r.quantity, r.ut11_reserved)
                for r in order.reservations]
            entries = [e.description for e in order.action_logs
                if e.kind == 'reservation' and e.source == 'ut11']
            return held, line.ut11_reserved, entries
        held, line_reserved, entries = self.read(check)
        self.assertEqual(held, [(kazan, 3, 1)])
        self.assertEqual(line_reserved, 1)
        entry, = entries
        self.assertIn("зарезервировала меньше", entry)
        self.assertIn(kazan, entry)
        self.assertIn("1 из 3", entry)
        self.assertIn("не хватает 2", entry)


del UT11SimulatorTestCase  # the base alone is no test
