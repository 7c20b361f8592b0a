"""How promotions turn into line discounts: pure functions, no database.

Discounts do not add up: each line gets the single most favourable discount
among the promotions it qualifies for.  A fixed-amount promotion is spread
over its eligible lines in proportion to their amounts, so every fiscal
receipt line later carries its own discount.
"""
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal('0.01')


def round_money(amount):
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class BasketLine:
    key: int
    product: int
    quantity: Decimal
    unit_price: Decimal
    categories: frozenset = frozenset()

    @property
    def amount(self):
        return round_money(self.quantity * self.unit_price)


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str  # 'percent' or 'fixed'
    value: Decimal
    min_amount: Decimal = Decimal(0)
    products: frozenset = field(default_factory=frozenset)
    categories: frozenset = field(default_factory=frozenset)

    def eligible(self, line):
        if not self.products and not self.categories:
            return True
        return (line.product in self.products
            or bool(line.categories & self.categories))

    def eligible_lines(self, lines):
        return [l for l in lines if self.eligible(l) and l.amount > 0]

    def allocate(self, lines):
        "Discount per line key this rule alone would give the basket"
        subtotal = sum((l.amount for l in lines), Decimal(0))
        eligible = self.eligible_lines(lines)
        if subtotal < self.min_amount or not eligible:
            return {}
        if self.kind == 'percent':
            return {l.key: round_money(l.amount * self.value / 100)
                for l in eligible}
        return spread(min(self.value, sum(l.amount for l in eligible)),
            eligible)


def spread(total, lines):
    "Split total over lines by their amounts; the cents left go to the largest"
    base = sum(l.amount for l in lines)
    shares = {l.key: round_money(total * l.amount / base) for l in lines}
    largest = max(lines, key=lambda l: (l.amount, -l.key))
    shares[largest.key] += total - sum(shares.values())
    return shares


def best_discounts(lines, rules):
    "{line key: (discount, rule id)} with the best rule for each line"
    best = {}
    for rule in rules:
        for key, discount in rule.allocate(lines).items():
            if discount > 0 and discount > best.get(key, (0, None))[0]:
                best[key] = (discount, rule.id)
    return best
