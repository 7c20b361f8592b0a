"""The 1C-Bitrix site and the hub over real HTTP (the sandbox simulators):
site orders come in once, with the site's customer, delivery and prices,
and with pricing method «site» every edit is priced by the site — or
refused, keeping the order's prices, when the site cannot answer.

Each step is committed, as the cron, the queue and the web client would."""
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.order_hub.exceptions import (
    PricingUnavailable, PromoCodeError)
from trytond.pool import Pool

from .tools import SiteScenario


class SiteBridgeTestCase(SiteScenario):
    "The 1C-Bitrix site bridge"

    # -- orders from the site -----------------------------------------------
    def test_site_order_becomes_one_hub_order(self):
        placed, order_id = self.new_order()
        expected = self.site_prices((1, 2))

        def check():
            order = Pool().get('order_hub.order')(order_id)
            self.assertEqual(order.state, 'awaiting_payment')
            self.assertEqual(order.state_string,
                "Подтвержден, ожидает оплаты")
            self.assertEqual(order.site_number, placed['account_number'])
            self.assertEqual(order.customer_name, "Иванова Мария Сергеевна")
            self.assertEqual(order.phone, '+79161234567')
            self.assertEqual(order.email, 'ivanova.m@example.ru')
            self.assertEqual(order.site_login, 'ivanova.m')
            self.assertEqual(order.loyalty_level, 'Серебряный')
            party = order.customer
            self.assertEqual(party.hub_site_login, 'ivanova.m')
            self.assertEqual(party.email, 'ivanova.m@example.ru')
            self.assertEqual(order.delivery_service, 'cdek_pickup')
            self.assertEqual(order.delivery_terms, '2–4 рабочих дня')
            self.assertEqual(order.delivery_cost, Decimal('350'))
            self.assertEqual(order.delivery_city.name, "Москва")
            self.assertIn('ул. Льва Толстого', order.delivery_address)
            self.assertEqual(order.payment_method, 'online')
            self.assertEqual(order.promo_code, 'ВЕСНА10')
            lines = [(l.quantity, l.unit_price, l.discount)
                for l in order.lines]
            self.assertEqual(lines, [(Decimal(q), p, d) for q, (p, d)
                    in zip((1, 2), expected)])
            self.assertEqual(lines[0][1:], (Decimal('6990'), Decimal('699')))
            self.assertEqual(order.total, Decimal(str(placed['price'])))
            self.assertTrue(any(e.source == 'site'
                    for e in order.action_logs))
        self.step(check)

    def test_site_order_sent_again_is_not_duplicated(self):
        placed, order_id = self.new_order()
        self.assertEqual(self.fetch(), [])     # confirmed: not sent again
        # a change on the site re-exports the order: same event, no new order
        self.site.edit_order(placed['id'], allow_delivery=True)
        events = self.fetch()
        self.assertEqual(len(events), 1)
        self.assertEqual(self.hub_order(placed['account_number']),
            [order_id])

        def replay():   # an administrator's «Повторить» re-applies it
            Inbox = Pool().get('hub_sync.inbox')
            event = Inbox(events[0][0])
            Inbox.replay([event])
        self.step(replay)
        self.step(lambda: Pool().get('hub_sync.inbox').process(
                [events[0][0]]))
        self.assertEqual(self.hub_order(placed['account_number']),
            [order_id])
        self.assertEqual(self.step(lambda: Pool().get(
                    'party.party').search_count(
                    [('hub_site_login', '=', 'ivanova.m')])), 1)

    def test_unknown_product_refuses_the_site_order(self):
        placed = self.site.place_order([{'product_xml_id':
                    '5f1b2c3d-2002-11ee-be56-0242ac120002', 'quantity': 1}])
        (event_id, state, _), = self.fetch()
        self.assertEqual(state, 'failed')
        self.assertEqual(self.hub_order(placed['account_number']), [])

        def journal():
            Journal = Pool().get('hub_sync.journal')
            entry, = Journal.search([('inbox', '=', event_id)])
            return entry.outcome, entry.summary
        outcome, summary = self.step(journal)
        self.assertEqual(outcome, 'refused')
        self.assertIn(f"Заказ сайта {placed['account_number']}", summary)
        self.assertIn('не найден в хабе', summary)

    # -- pricing through the site --------------------------------------------
    def change_quantity(self, order_id, index, quantity):
        def change():
            Order = Pool().get('order_hub.order')
            Line = Pool().get('order_hub.order.line')
            line = Order(order_id).lines[index]
            Line.write([line], {'quantity': Decimal(quantity)})
        self.step(change)

    def test_quantity_change_is_priced_by_the_site(self):
        _, order_id = self.new_order()
        self.change_quantity(order_id, 1, 3)
        expected = self.site_prices((1, 3))
        after = self.snapshot(order_id)
        self.assertEqual([l[2:] for l in after['lines']], expected)
        self.assertEqual(after['lines'][1][1], Decimal(3))
        # ВЕСНА10: 10 % of 890 per hat
        self.assertEqual(expected[1], (Decimal('890'), Decimal('267')))

    def test_expired_coupon_gives_the_site_message(self):
        _, order_id = self.new_order()
        before = self.snapshot(order_id)

        def apply_code():
            Order = Pool().get('order_hub.order')
            Order.write([Order(order_id)], {'promo_code': 'ЛЕТО2023'})
        with self.assertRaises(PromoCodeError) as cm:
            self.step(apply_code)
        self.assertIn('Срок действия промокода ЛЕТО2023 истёк',
            cm.exception.message)
        self.assertEqual(self.snapshot(order_id), before)

    def test_site_down_keeps_the_order_prices(self):
        _, order_id = self.new_order()
        before = self.snapshot(order_id)
        self.site.faults.add(kind='down', endpoint='*', count=5)
        with self.assertRaises(PricingUnavailable) as cm:
            self.change_quantity(order_id, 0, 2)
        self.assertIsInstance(cm.exception, UserError)
        self.assertIn('Сайт не ответил на запрос цен', cm.exception.message)
        self.assertIn('заказ сохраняет прежние цены', cm.exception.message)
        self.site.faults.clear()
        self.assertEqual(self.snapshot(order_id), before)
