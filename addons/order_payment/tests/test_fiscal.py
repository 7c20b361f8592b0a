"""The rules that always hold, over random baskets, discounts and refunds
(hypothesis; pure functions, no database):

* receipt items sum to the receipt's total to the kopeck;
* a line's items cost what the line costs after the discount that
  order_hub's promotion rules gave it — the line's Сумма that 1C gets
  (quantity × price − discount), and the site's basket row carries the
  same discount;
* refunds, however split, return exactly what was paid for the units, so
  paid − refunded = the net of the receipts.
"""
import unittest
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.order_hub.promotion_rules import (
    BasketLine, Rule, best_discounts, round_money)
from trytond.modules.order_payment import fiscal

CENT = Decimal('0.01')
prices = st.decimals(min_value=Decimal('0.01'), max_value=Decimal('99999'),
    places=2)
quantities = st.integers(min_value=1, max_value=12)
baskets = st.lists(st.tuples(prices, quantities), min_size=1, max_size=6)
rules = st.lists(st.tuples(st.sampled_from(['percent', 'fixed']),
        st.decimals(min_value=Decimal('0.01'), max_value=Decimal('5000'),
            places=2)), max_size=3)


def basket_lines(basket):
    return [BasketLine(key=i, product=i, quantity=Decimal(q), unit_price=p)
        for i, (p, q) in enumerate(basket)]


def discounted(basket, promotions):
    "{key: (line, amount after the best discount)} as order_hub prices it"
    lines = basket_lines(basket)
    rule_objects = [Rule(id=i, kind=k, value=min(v, Decimal(99))
            if k == 'percent' else v) for i, (k, v) in enumerate(promotions)]
    best = best_discounts(lines, rule_objects)
    return {l.key: (l, l.amount - best.get(l.key, (Decimal(0),))[0])
        for l in lines}


def template(line):
    return fiscal.Item(description='x', quantity=line.quantity,
        unit_price=Decimal(0), vat='22', payment_subject='commodity',
        payment_mode='full_prepayment', line=line.key)


class FiscalRulesTestCase(unittest.TestCase):
    "Receipt items and refunds"

    @settings(max_examples=300, deadline=None)
    @given(baskets, rules)
    def test_items_sum_to_the_line_amounts(self, basket, promotions):
        items = []
        for line, amount in discounted(basket, promotions).values():
            # the figure 1C gets as the line's Сумма
            self.assertEqual(amount, round_money(
                    line.quantity * line.unit_price) - (line.amount - amount))
            line_items = fiscal.line_items(template(line),
                fiscal.unit_prices(amount, line.quantity))
            self.assertEqual(fiscal.total(line_items), amount)
            for item in line_items:
                self.assertEqual(item.unit_price, item.unit_price.quantize(
                        CENT))
                self.assertGreaterEqual(item.unit_price, 0)
            items += line_items
        total = sum((a for _, a in discounted(basket, promotions).values()),
            Decimal(0))
        self.assertEqual(fiscal.total(items), total)

    @settings(max_examples=300, deadline=None)
    @given(st.integers(min_value=1, max_value=20), prices,
        st.lists(st.integers(min_value=1, max_value=5), max_size=8),
        st.integers(min_value=0, max_value=20))
    def test_refunds_return_what_was_paid(self, quantity, amount, refunds,
            marked):
        """However a line is refunded, the refunds never exceed it, a full
        refund returns it exactly, and what remains is what is still sold"""
        quantity, paid = Decimal(quantity), amount
        refunded, returned = Decimal(0), Decimal(0)
        for count in refunds:
            count = min(Decimal(count), quantity - refunded)
            prices_ = fiscal.refund_prices(amount, quantity, refunded, count)
            self.assertEqual(len(prices_), count)
            returned += sum(prices_, Decimal(0))
            refunded += count
            still_sold = fiscal.unit_prices(amount, quantity)[
                :int(quantity - refunded)]
            self.assertEqual(paid - returned, sum(still_sold, Decimal(0)))
        if refunded == quantity:
            self.assertEqual(returned, paid)

    @settings(max_examples=200, deadline=None)
    @given(st.integers(min_value=1, max_value=10), prices,
        st.integers(min_value=0, max_value=12))
    def test_marked_units_one_item_each(self, quantity, amount, codes):
        quantity = Decimal(quantity)
        codes = [f'010460043993125621JgXJ5.T{i}' for i in range(codes)]
        line = BasketLine(key=1, product=1, quantity=quantity,
            unit_price=amount)
        items = fiscal.line_items(template(line),
            fiscal.unit_prices(amount, quantity), codes)
        coded = [i for i in items if i.mark_code]
        self.assertEqual(len(coded), min(len(codes), int(quantity)))
        self.assertTrue(all(i.quantity == 1 and i.payment_subject == 'marked'
                for i in coded))
        self.assertEqual(fiscal.total(items), amount)

    def test_phone(self):
        self.assertEqual(fiscal.phone_e164('+7 916 123-45-67'), '79161234567')
        self.assertEqual(fiscal.phone_e164('8 (916) 123-45-67'),
            '79161234567')
        self.assertEqual(fiscal.phone_e164('9161234567'), '79161234567')
        self.assertIsNone(fiscal.phone_e164('нет'))
        self.assertIsNone(fiscal.phone_e164('12-34'))

    def test_unit_prices(self):
        self.assertEqual(fiscal.unit_prices(Decimal('100.00'), 3),
            [Decimal('33.34'), Decimal('33.33'), Decimal('33.33')])
        self.assertEqual(fiscal.refund_prices(Decimal('100.00'), 3, 0, 1),
            [Decimal('33.33')])
