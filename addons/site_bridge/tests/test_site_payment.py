"""With order_payment: money the site takes itself («Деньги принимает
сайт» on the payment system's mapping) is recorded as a payment taken
outside the hub when the site says the order is paid; orders paid through
the hub's provider are only moved, as before."""
from decimal import Decimal

from trytond.pool import Pool

from .tools import SiteScenario

CASH = '1'        # «Наличные курьеру» of the simulator: the site takes it
CARD = '2'        # «Банковская карта (ЮKassa)»: paid through the hub


class SitePaymentTestCase(SiteScenario):
    modules = ['site_bridge', 'ut11_bridge', 'order_payment']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def flag():
            Mapping = Pool().get('site_bridge.mapping')
            Mapping.write(Mapping.search([('kind', '=', 'payment'),
                        ('site_id', '=', CASH)]), {'site_takes_money': True})
        cls.step(flag)

    def money(self, order_id):
        def read():
            order = Pool().get('order_hub.order')(order_id)
            return (order.state, order.paid_amount, order.total,
                [(p.provider, p.kind, p.amount, p.method, p.provider_ref)
                    for p in order.payments],
                len(order.receipts))
        return self.step(read)

    def test_money_taken_by_the_site_is_recorded_when_it_says_paid(self):
        placed, order_id = self.new_order(pay_system_id=int(CASH))
        state, paid, total, payments, receipts = self.money(order_id)
        self.assertEqual((state, paid, payments),
            ('awaiting_payment', Decimal(0), []))
        # the courier brought the cash: the site's manager marks it paid
        self.site.edit_order(placed['id'], paid=True)
        (_, outcome, _), = self.fetch()
        self.assertEqual(outcome, 'done')
        state, paid, total, payments, receipts = self.money(order_id)
        self.assertEqual((state, paid), ('paid', total))
        (provider, kind, amount, method, _), = payments
        self.assertEqual((provider, kind, amount, method),
            ('external', 'external', total, "Наличные курьеру"))
        # the site's till fiscalized it: no receipt of the hub's
        self.assertEqual(receipts, 0)
        # re-delivered as paid again: nothing recorded twice
        self.site.edit_order(placed['id'], properties={'PHONE': '+79160000001'})
        self.fetch()
        self.assertEqual(len(self.money(order_id)[3]), 1)

    def test_paid_on_creation(self):
        placed, order_id = self.new_order(pay_system_id=int(CASH), paid=True)
        state, paid, total, payments, _ = self.money(order_id)
        self.assertEqual((state, paid, len(payments)), ('paid', total, 1))

    def test_payment_through_the_hub_is_not_recorded_from_the_site(self):
        "The hub's provider reports its own payments: no double counting"
        placed, order_id = self.new_order(pay_system_id=int(CARD))
        self.site.edit_order(placed['id'], paid=True)
        self.fetch()
        state, paid, _, payments, _ = self.money(order_id)
        self.assertEqual((state, paid, payments), ('paid', Decimal(0), []))
