"""Shipments as the manager and shop staff meet them, in a hub without any
1C bridge: «Запросить товар» makes the transfer and the shipment, the shop
sends and receives, hands over, and the order is issued with its receipt."""
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_order, create_user, set_company, set_stock,
    setup_company)

from .tools import create_shops, paid_order


class ShipmentsTestCase(HubTestCase):
    "Shipments without 1C"
    modules = ['order_shipments']

    def setup_shops(self):
        self.__dict__.update(vars(create_shops()))

    def paid_order(self):
        "Two scarves and a hat to pick up on Tverskaya, paid online"
        return paid_order([(self.scarf, 2), (self.hat, 1)],
            delivery_service='pickup', pickup_shop=self.tverskaya.id)

    def request(self, order, lines, source, target=None,
            delivery_type='shop_pickup', carrier=None):
        Shipment = Pool().get('order_shipments.shipment')
        return Shipment.request_goods(order, lines, source,
            target or self.tverskaya, delivery_type, carrier=carrier)

    def movements(self, shipment):
        Movement = Pool().get('order_hub.item.movement')
        return [(m.location.name, m.status) for m in reversed(
                Movement.search([('shipment', '=', shipment.id)]))]

    @with_transaction()
    def test_pickup_from_request_to_hand_over_and_receipt(self):
        """Request goods → transfer → shipment «Собирается» → the shop
        sends and receives → «Отправлено» → «Доставлено» (customer told) →
        «Выдан» → order «Выдан» with its full-settlement receipt"""
        pool = Pool()
        Shipment = pool.get('order_shipments.shipment')
        Transfer = pool.get('order_hub.transfer')
        Message = pool.get('hub_notify.message')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.paid_order()
            self.assertEqual(order.state, 'paid')
            scarf_line, hat_line = order.lines

            shipment = self.request(order, [(scarf_line, Decimal(2))],
                self.nevsky)

            self.assertEqual(shipment.state_string, "Собирается")
            self.assertTrue(shipment.number.startswith("ОТ-"))
            self.assertEqual(order.state_string, "Собирается")
            transfer, = shipment.transfers
            self.assertEqual((transfer.state, transfer.from_warehouse,
                    transfer.to_warehouse), ('requested', self.nevsky,
                    self.tverskaya))
            self.assertEqual([(l.product, l.quantity, l.state_string)
                    for l in shipment.lines],
                [(self.scarf, 2, "Товар запрошен")])
            self.assertIn(shipment.number, scarf_line.shipment_names)
            self.assertIsNone(hat_line.shipment_names)
            self.assertEqual(hat_line.unshipped_quantity, 1)

            Transfer.shop_ship([transfer])
            self.assertEqual(order.state_string, "Доставляется")
            self.assertEqual(shipment.lines[0].state_string,
                "Отправлен на пункт выдачи / передан курьеру")
            Transfer.shop_receive([transfer])
            self.assertEqual(shipment.state_string, "Отправлено")

            Shipment.arrive([shipment])
            self.assertEqual(shipment.state_string, "Доставлено")
            sms, email = Message.search([('origin', '=', str(shipment))],
                order=[('channel', 'DESC')])
            self.assertEqual(email.recipient, 'm.ivanova@example.ru')
            for message in (email, sms):
                self.assertIn(order.number, message.text)
                self.assertIn("ул. Тестовая, 1", message.text)
                self.assertIn("10:00–22:00", message.text)

            Shipment.hand_over([shipment])
            self.assertEqual(shipment.state_string, "Выдан")
            self.assertEqual(order.state_string, "Доставляется",
                "the hat is not in a shipment yet")

            hat = self.request(order, [(hat_line, Decimal(1))],
                self.tverskaya)
            self.assertFalse(hat.transfers, "already in the pickup shop")
            self.assertEqual(hat.state_string, "Отправлено")
            Shipment.arrive([hat])
            Shipment.hand_over([hat])

            self.assertEqual(order.state_string, "Выдан")
            settlement, = [r for r in order.receipts
                if r.kind == 'settlement']
            self.assertEqual(settlement.total, order.total)
            self.assertEqual([s for _, s in self.movements(shipment)],
                ['requested', 'to_pickup', 'to_pickup', 'to_pickup',
                    'to_pickup', 'issued'])
            self.assertEqual(self.movements(shipment)[0][0],
                "Магазин на Невском")
            log = [e.description for e in order.action_logs
                if e.kind == 'shipment']
            self.assertTrue(any("выдано покупателю" in e for e in log), log)

    @with_transaction()
    def test_two_shipments_from_two_shops(self):
        "Two shops send parts of one order; each line shows its shipment"
        Transfer = Pool().get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            set_stock(self.scarf, self.galereya, 1)
            order = self.paid_order()
            scarf_line, hat_line = order.lines

            first = self.request(order, [(scarf_line, Decimal(1))],
                self.nevsky)
            second = self.request(order, [(scarf_line, Decimal(1)),
                    (hat_line, Decimal(1))], self.galereya)

            self.assertEqual(len(order.shipments), 2)
            self.assertEqual({t.from_warehouse for t in Transfer.search([])},
                {self.nevsky, self.galereya})
            self.assertEqual(scarf_line.shipped_quantity, 2)
            self.assertIn(first.number, scarf_line.shipment_names)
            self.assertIn(second.number, scarf_line.shipment_names)
            self.assertIn(second.number, hat_line.shipment_names)

            with self.assertRaises(UserError) as cm:
                self.request(order, [(hat_line, Decimal(1))], self.nevsky)
            self.assertIn("Шапка вязаная", cm.exception.message)
            self.assertEqual(len(order.shipments), 2)

    @with_transaction()
    def test_shop_employee_of_another_shop_refused(self):
        "Shop staff see and hand over their own shop's shipments only"
        pool = Pool()
        Shipment = pool.get('order_shipments.shipment')
        Transfer = pool.get('order_hub.transfer')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.paid_order()
            shipment = self.request(order, [(order.lines[0], Decimal(2))],
                self.nevsky)
            transfer, = shipment.transfers
            stranger = create_user('galereya', ['group_shop'],
                [self.galereya])
            sender = create_user('nevsky', ['group_shop'], [self.nevsky])
            clerk = create_user('tverskaya', ['group_shop'],
                [self.tverskaya])

            with Transaction().set_user(stranger.id), \
                    Transaction().set_context(_check_access=True):
                self.assertEqual(Shipment.search([]), [])
                with self.assertRaises(UserError):
                    Transfer.shop_ship([Transfer(transfer.id)])
            with Transaction().set_user(clerk.id), \
                    Transaction().set_context(_check_access=True):
                with self.assertRaises(UserError) as cm:
                    Transfer.shop_ship([Transfer(transfer.id)])
                self.assertIn("Магазин на Невском", cm.exception.message)
            with Transaction().set_user(sender.id), \
                    Transaction().set_context(_check_access=True):
                to_send = Transfer.search([('state', '=', 'requested'),
                        ('sent_by_my_shop', '=', True)])
                self.assertEqual(to_send, [transfer])
                Transfer.shop_ship(to_send)
            with Transaction().set_user(clerk.id), \
                    Transaction().set_context(_check_access=True):
                Transfer.shop_receive([Transfer(transfer.id)])
                mine = Shipment.search([('at_my_shop', '=', True)])
                self.assertEqual(mine, [shipment])
                Shipment.arrive(mine)
            with Transaction().set_user(stranger.id), \
                    Transaction().set_context(_check_access=True):
                with self.assertRaises(UserError):
                    Shipment.hand_over([Shipment(shipment.id)])
            self.assertEqual(Shipment(shipment.id).state, 'delivered')

    @with_transaction()
    def test_open_work_per_shop(self):
        "The manager sees what each shop still has open, and since when"
        OpenWork = Pool().get('order_shipments.shop_open')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.paid_order()
            self.request(order, [(order.lines[0], Decimal(2))], self.nevsky)
            self.request(order, [(order.lines[1], Decimal(1))],
                self.tverskaya)
            rows = {(r.warehouse, r.kind): r for r in OpenWork.search([])}
            self.assertEqual(set(rows), {(self.nevsky, 'to_send'),
                    (self.tverskaya, 'to_hand_over')})
            self.assertTrue(all(r.count == 1 and r.since
                    for r in rows.values()))

    @with_transaction()
    def test_bad_request_changes_nothing(self):
        "Too many units, no pickup shop: a Russian error, nothing made"
        Shipment = Pool().get('order_shipments.shipment')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.paid_order()
            with self.assertRaises(UserError) as cm:
                self.request(order, [(order.lines[0], Decimal(3))],
                    self.nevsky)
            self.assertIn("Шарф шерстяной", cm.exception.message)
            unpaid = create_order([(self.scarf, 1)])
            with self.assertRaises(UserError) as cm:
                self.request(unpaid, [(unpaid.lines[0], Decimal(1))],
                    self.nevsky)
            self.assertIn("оплаченного", cm.exception.message)
            self.assertEqual(Shipment.search([]), [])
            self.assertEqual(order.state, 'paid')

    @with_transaction()
    def test_cancel_shipment_cancels_its_transfer(self):
        "Cancelled: the transfer still requested is cancelled, the goods free"
        Shipment = Pool().get('order_shipments.shipment')
        with set_company(setup_company()):
            self.setup_shops()
            order = self.paid_order()
            line = order.lines[0]
            shipment = self.request(order, [(line, Decimal(2))], self.nevsky)
            Shipment.cancel([shipment])
            self.assertEqual(shipment.state_string, "Отменено")
            self.assertEqual(shipment.transfers[0].state, 'cancelled')
            self.assertEqual(line.unshipped_quantity, 2)

    @with_transaction()
    def test_pickup_slip_pdf_with_qr(self):
        "The slip is a PDF; its QR code holds the shipment's portal address"
        pool = Pool()
        Slip = pool.get('order_shipments.shipment.slip', type='report')
        Configuration = pool.get('order_shipments.configuration')
        with set_company(setup_company()):
            self.setup_shops()
            Configuration.write([Configuration(1)],
                {'portal_url': 'https://hub.example.ru/hub/shop/shipment/'})
            order = self.paid_order()
            shipment = self.request(order, [(order.lines[1], Decimal(1))],
                self.tverskaya)
            self.assertEqual(shipment.slip_url,
                'https://hub.example.ru/hub/shop/shipment/'
                + shipment.number)
            extension, content, _, name = Slip.execute([shipment.id], {})
            self.assertEqual(extension, 'pdf')
            self.assertTrue(bytes(content).startswith(b'%PDF'))
