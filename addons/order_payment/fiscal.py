"""Receipt items as the fiscal rules (54-FZ, FFD 1.2) want them: pure
functions, no database.

An order line of n units costing A in all (quantity × price − its discount,
the same figure 1C gets as the line's Сумма) becomes items whose unit price
is whole kopecks: the kopecks A does not divide go one each to the first
units.  Every unit therefore has a fixed price, so a refund of k units takes
the same prices the payment receipt showed, and a line refunded in full
returns exactly A.  A marked unit is an item of its own with its code.
"""
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from trytond.modules.hub_common import normalise_phone

CENT = Decimal('0.01')

# the provider-neutral attributes; a provider maps them to its codes
VAT_RATES = ['none', '0', '5', '7', '10', '20', '22',
    '5/105', '7/107', '10/110', '20/120', '22/122']
PAYMENT_MODES = ['full_prepayment', 'full_payment', 'advance']
PAYMENT_SUBJECTS = ['commodity', 'marked', 'non_marked', 'service',
    'payment']


def round_money(amount):
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Item:
    "One receipt position; unit_price × quantity is its amount"
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat: str
    payment_subject: str
    payment_mode: str
    line: int = None            # the order line's id, None for delivery
    mark_code: str = None

    @property
    def amount(self):
        return self.unit_price * self.quantity


def unit_prices(amount, quantity):
    """The price of each unit of a line, in unit order: whole kopecks that
    add up to amount exactly, the dearer units first."""
    count = int(quantity)
    if count <= 0:
        return []
    base = (amount / count).quantize(CENT, rounding=ROUND_DOWN)
    dearer = int((amount - base * count) / CENT)
    return [base + CENT] * dearer + [base] * (count - dearer)


def refund_prices(amount, quantity, refunded, count):
    """Prices of count more units of a line whose refunded units are
    already gone: refunds take units from the last one backwards."""
    prices = unit_prices(amount, quantity)
    end = len(prices) - int(refunded)
    return prices[max(end - int(count), 0):end]


def group(prices):
    "[(quantity, unit price)] with equal prices together, in order"
    groups = []
    for price in prices:
        if groups and groups[-1][1] == price:
            groups[-1][0] += 1
        else:
            groups.append([1, price])
    return [(Decimal(q), p) for q, p in groups]


def line_items(template, prices, codes=()):
    """Items of one line from the prices of its units: one item per marked
    unit that has a code, the other units grouped by price."""
    codes = list(codes)[:len(prices)]
    items = [replace(template, quantity=Decimal(1), unit_price=price,
            mark_code=code, payment_subject='marked')
        for price, code in zip(prices, codes)]
    rest = prices[len(codes):]
    items += [replace(template, quantity=quantity, unit_price=price)
        for quantity, price in group(rest)]
    return items


def total(items):
    return sum((i.amount for i in items), Decimal(0))


def description(text, limit=128):
    "Tag 1030 holds at most 128 characters"
    text = ' '.join((text or '').split()) or '—'
    return text if len(text) <= limit else text[:limit - 1] + '…'


def phone_e164(phone):
    """A phone as digits with the country code (E.164 without "+"), or None
    when it cannot be one (a receipt or an SMS must not go to a wrong
    number): '+7 916 123-45-67', '8 (916) 123-45-67' → '79161234567'"""
    key = normalise_phone(phone)
    digits = key[1:] if key else ''
    return digits if 11 <= len(digits) <= 15 else None
