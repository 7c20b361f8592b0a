"""Transfer requests as the manager and shop staff meet them, in a hub
without any 1C bridge."""
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import (
    HubTestCase, create_city, create_order, create_product, create_user,
    create_warehouse, set_company, set_stock, setup_company)


class TransferTestCase(HubTestCase):
    "Transfer requests"

    def setup_shops(self):
        moscow = create_city("Москва", 55.755826, 37.6173)
        spb = create_city("Санкт-Петербург", 59.939095, 30.315868)
        self.tverskaya = create_warehouse("Магазин на Тверской", moscow)
        self.nevsky = create_warehouse("Магазин на Невском", spb)
        self.galereya = create_warehouse("Магазин «Галерея»", spb)
        self.scarf, = create_product("Шарф шерстяной", '1990')
        self.hat, = create_product("Шапка вязаная", '890')

    def pickup_order(self):
        "Two scarves and a hat to pick up on Tverskaya, paid, not reserved"
        Order = Pool().get('order_hub.order')
        set_stock(self.scarf, self.tverskaya, 1)
        set_stock(self.scarf, self.nevsky, 4)
        set_stock(self.scarf, self.galereya, 2)
        order = create_order([(self.scarf, 2), (self.hat, 1)],
            delivery_service='pickup', pickup_shop=self.tverskaya.id)
        Order.pay([order])
        return order

    def open_dialog(self, order):
        "The order's «Запросить товар» button: the dialog's session, values"
        Wizard = Pool().get('order_hub.order.request_goods', type='wizard')
        session_id, _, _ = Wizard.create()
        with Transaction().set_context(active_model='order_hub.order',
                active_id=order.id, active_ids=[order.id]):
            result = Wizard.execute(session_id, {}, 'start')
        self.assertEqual(result['view']['state'], 'start')
        return session_id, result['view']['defaults']

    def submit_dialog(self, order, session_id, values):
        "«Запросить» in the dialog: the view it ends on"
        Wizard = Pool().get('order_hub.order.request_goods', type='wizard')

        def sent(values):
            # as the client sends them: no 'field.' display values
            return {k: [sent(l) for l in v] if k == 'lines' else v
                for k, v in values.items() if '.' not in k}
        values = sent(values)
        with Transaction().set_context(active_model='order_hub.order',
                active_id=order.id, active_ids=[order.id]):
            result = Wizard.execute(session_id, {'start': values}, 'request')
        Wizard.delete(session_id)
        return result['view']

    @with_transaction()
    def test_request_goods_dialog_prefilled_and_requested(self):
        "A dialog pre-filled from the order, that ends with the request sent"
        pool = Pool()
        Transfer = pool.get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.pickup_order()

            session_id, values = self.open_dialog(order)

            self.assertEqual(values['to_warehouse'], self.tverskaya.id)
            self.assertEqual(values['from_warehouse'], self.nevsky.id)
            self.assertEqual(
                [(l['product'], l['quantity']) for l in values['lines']],
                [(self.scarf.id, 2), (self.hat.id, 1)])
            self.assertFalse(Transfer.search([]))

            done = self.submit_dialog(order, session_id, values)

            transfer, = Transfer.search([])
            self.assertEqual(done['state'], 'done')
            self.assertEqual(done['defaults']['transfer'], transfer.id)
            self.assertIn(transfer.number, done['defaults']['message'])
            self.assertIn("Запрошено", done['defaults']['message'])
            self.assertEqual(transfer.state_string, "Запрошено")
            self.assertTrue(transfer.number.startswith("ЗП-"))
            self.assertEqual(transfer.order, order)
            self.assertEqual(transfer.to_warehouse, self.tverskaya)
            self.assertEqual(transfer.from_warehouse, self.nevsky)
            self.assertEqual(
                [(l.product, l.quantity, l.order_line) for l in transfer.lines],
                [(self.scarf, 2, order.lines[0]), (self.hat, 1, order.lines[1])])
            entry, = [e for e in order.action_logs if e.kind == 'transfer']
            self.assertIn(transfer.number, entry.description)
            self.assertIn("Магазин на Невском", entry.description)
            self.assertIn("Шарф шерстяной", entry.description)

            Transfer.ship([transfer])
            Transfer.receive([transfer])
            self.assertEqual(transfer.state_string, "Получено")

    @with_transaction()
    def test_request_goods_dialog_changed_by_the_manager(self):
        "What the manager changes in the dialog is what is requested"
        Transfer = Pool().get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.pickup_order()
            session_id, values = self.open_dialog(order)

            values.update(from_warehouse=self.galereya.id,
                lines=values['lines'][:1], comment="Срочно, к субботе")
            values['lines'][0]['quantity'] = Decimal(1)
            self.submit_dialog(order, session_id, values)

            transfer, = Transfer.search([])
            self.assertEqual(transfer.from_warehouse, self.galereya)
            self.assertEqual(
                [(l.product, l.quantity) for l in transfer.lines],
                [(self.scarf, 1)])
            self.assertEqual(transfer.comment, "Срочно, к субботе")

    @with_transaction()
    def test_request_goods_to_where_the_order_is_gathered(self):
        """Without pickup: to the warehouse holding the order's
        reservations, else to the one nearest the delivery city"""
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.setup_shops()
            set_stock(self.scarf, self.nevsky, 1)
            set_stock(self.scarf, self.tverskaya, 5)
            courier = create_order([(self.scarf, 2), (self.hat, 1)],
                delivery_service='cdek_courier',
                delivery_city=self.nevsky.hub_city.id)
            Order.pay([courier])

            _, values = self.open_dialog(courier)
            # both Petersburg shops are as near: by name, «Галерея» first
            self.assertEqual(values['to_warehouse'], self.galereya.id)
            self.assertEqual(values['from_warehouse'], self.tverskaya.id)

            Order.reserve([courier])
            self.assertEqual(
                [(r.warehouse, r.quantity) for r in courier.reservations],
                [(self.nevsky, 1), (self.tverskaya, 1)])
            set_stock(self.scarf, self.nevsky, 3)
            _, values = self.open_dialog(courier)
            self.assertEqual(values['to_warehouse'], self.nevsky.id)
            self.assertEqual(
                [(l['product'], l['quantity']) for l in values['lines']],
                [(self.hat.id, 1)])

    @with_transaction()
    def test_request_goods_dialog_refused_with_a_reason(self):
        "A request that cannot be made says why, in Russian"
        Transfer = Pool().get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.pickup_order()
            session_id, values = self.open_dialog(order)
            values['lines'][0]['quantity'] = Decimal(0)

            with self.assertRaisesRegex(UserError,
                    "Шарф шерстяной».*целым числом больше нуля"):
                self.submit_dialog(order, session_id, values)

    @with_transaction()
    def test_bad_request_is_refused_and_changes_nothing(self):
        Transfer = Pool().get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            empty, same = Transfer.create([{
                        'from_warehouse': self.nevsky.id,
                        'to_warehouse': self.tverskaya.id,
                        }, {
                        'from_warehouse': self.nevsky.id,
                        'to_warehouse': self.nevsky.id,
                        'lines': [('create', [{
                                        'product': self.scarf.id,
                                        'quantity': Decimal(1)}])],
                        }])
            with self.assertRaisesRegex(UserError, "нет товаров"):
                Transfer.request([empty])
            with self.assertRaisesRegex(UserError, "Магазин на Невском"):
                Transfer.request([same])
            self.assertEqual({empty.state, same.state}, {'draft'})

    @with_transaction()
    def test_requested_transfer_is_frozen_for_users(self):
        Transfer = Pool().get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            transfer, = Transfer.create([{
                        'from_warehouse': self.nevsky.id,
                        'to_warehouse': self.tverskaya.id,
                        'lines': [('create', [{
                                        'product': self.scarf.id,
                                        'quantity': Decimal(2)}])],
                        }])
            Transfer.request([transfer])
            with Transaction().set_context(_check_access=True):
                with self.assertRaisesRegex(UserError, "черновик"):
                    Transfer.write([transfer], {
                            'to_warehouse': self.galereya.id})
                with self.assertRaises(UserError):
                    Transfer.delete([transfer])

    @with_transaction()
    def test_shop_staff_see_their_shops_requests_only(self):
        Transfer = Pool().get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            line = [('create', [{'product': self.scarf.id,
                                'quantity': Decimal(1)}])]
            to_own, from_own, others = Transfer.create([{
                        'from_warehouse': self.nevsky.id,
                        'to_warehouse': self.tverskaya.id, 'lines': line,
                        }, {
                        'from_warehouse': self.tverskaya.id,
                        'to_warehouse': self.galereya.id, 'lines': line,
                        }, {
                        'from_warehouse': self.nevsky.id,
                        'to_warehouse': self.galereya.id, 'lines': line,
                        }])
            clerk = create_user('shop.tverskaya', ['group_shop'],
                [self.tverskaya])

            with Transaction().set_user(clerk.id), \
                    Transaction().set_context(_check_access=True):
                self.assertEqual({t.id for t in Transfer.search([])},
                    {to_own.id, from_own.id})
                with self.assertRaises(AccessError):
                    Transfer.read([others.id], ['number'])
                # shop staff follow requests, managers make them
                with self.assertRaises(AccessButtonError):
                    Transfer.request([Transfer(to_own.id)])


del HubTestCase
