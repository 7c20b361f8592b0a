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

    def request_goods(self, order):
        "The order's «Запросить товар» button, as the client runs it"
        Wizard = Pool().get('order_hub.order.request_goods', type='wizard')
        session_id, _, _ = Wizard.create()
        with Transaction().set_context(active_model='order_hub.order',
                active_id=order.id, active_ids=[order.id]):
            result = Wizard.execute(session_id, {}, 'start')
        Wizard.delete(session_id)
        action, = result['actions']
        return action[1]['res_id']

    @with_transaction()
    def test_request_goods_prefilled_from_the_order(self):
        pool = Pool()
        Transfer = pool.get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.pickup_order()

            transfer, = Transfer.browse(self.request_goods(order))

            self.assertEqual(transfer.state_string, "Черновик")
            self.assertTrue(transfer.number.startswith("ЗП-"))
            self.assertEqual(transfer.order, order)
            self.assertEqual(transfer.to_warehouse, self.tverskaya)
            self.assertEqual(transfer.from_warehouse, self.nevsky)
            self.assertEqual(
                [(l.product, l.quantity) for l in transfer.lines],
                [(self.scarf, 2), (self.hat, 1)])
            self.assertEqual(order.transfers, (transfer,))

            Transfer.request([transfer])

            self.assertEqual(transfer.state_string, "Запрошено")
            entry, = [e for e in order.action_logs if e.kind == 'transfer']
            self.assertIn(transfer.number, entry.description)
            self.assertIn("Магазин на Невском", entry.description)
            self.assertIn("Шарф шерстяной", entry.description)

            Transfer.ship([transfer])
            Transfer.receive([transfer])
            self.assertEqual(transfer.state_string, "Получено")

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
