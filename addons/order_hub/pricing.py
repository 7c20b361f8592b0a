"""Promotions, promo codes and the pricing interface.

Every re-pricing goes through ``order_hub.pricing``: it dispatches on the
configured pricing method to ``price_<method>``.  This module brings the
local method (hub prices and promotions); the site bridge adds the site's.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from sql.aggregate import Count

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Model, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .exceptions import PricingUnavailable, PromoCodeError
from .promotion_rules import BasketLine, Rule, best_discounts, round_money


def normalize_code(code):
    return (code or '').strip().upper()


class Promotion(DeactivableMixin, ModelSQL, ModelView):
    "Promotion"
    __name__ = 'order_hub.promotion'

    name = fields.Char("Name", required=True)
    start_date = fields.Date(
        "Start Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')), ())])
    end_date = fields.Date("End Date")
    min_amount = fields.Numeric(
        "Minimum Order Amount", digits=(16, 2),
        domain=['OR', ('min_amount', '=', None), ('min_amount', '>=', 0)],
        help="Order total without discounts needed for the promotion.")
    discount_type = fields.Selection([
            ('percent', "Percent"),
            ('fixed', "Fixed Amount"),
            ], "Discount Type", required=True)
    discount_value = fields.Numeric(
        "Discount", digits=(16, 2), required=True,
        domain=[('discount_value', '>', 0),
            If(Eval('discount_type') == 'percent',
                ('discount_value', '<=', 100), ())])
    products = fields.Many2Many(
        'order_hub.promotion-product.product', 'promotion', 'product',
        "Products", help="Leave empty (with categories) for every product.")
    categories = fields.Many2Many(
        'order_hub.promotion-product.category', 'promotion', 'category',
        "Categories")
    usage_limit = fields.Integer(
        "Usage Limit",
        domain=['OR', ('usage_limit', '=', None), ('usage_limit', '>', 0)],
        help="How many orders may use the promotion; empty for no limit.")
    codes = fields.One2Many(
        'order_hub.promotion.code', 'promotion', "Promo Codes",
        help="With codes, the promotion applies only to orders "
        "that give one of them.")
    usage_count = fields.Function(
        fields.Integer("Orders Using It"), 'get_usage_count')

    @classmethod
    def default_discount_type(cls):
        return 'percent'

    def is_valid_on(self, date):
        return ((not self.start_date or self.start_date <= date)
            and (not self.end_date or date <= self.end_date))

    @classmethod
    def get_usage_count(cls, promotions, name, exclude_order=None):
        pool = Pool()
        Line = pool.get('order_hub.order.line')
        Order = pool.get('order_hub.order')
        line, order = Line.__table__(), Order.__table__()
        cursor = Transaction().connection.cursor()
        counts = {p.id: 0 for p in promotions}
        where = (line.promotion.in_(list(counts))
            & (order.state != 'cancelled'))
        if exclude_order:
            where &= order.id != exclude_order
        cursor.execute(*line.join(order, condition=line.order == order.id
                ).select(line.promotion, Count(order.id, distinct=True),
                where=where, group_by=[line.promotion]))
        counts.update(cursor)
        return counts

    def limit_reached(self, exclude_order=None):
        if not self.usage_limit:
            return False
        used = self.get_usage_count(
            [self], 'usage_count', exclude_order=exclude_order)[self.id]
        return used >= self.usage_limit

    def as_rule(self):
        return Rule(
            id=self.id, kind=self.discount_type, value=self.discount_value,
            min_amount=self.min_amount or Decimal(0),
            products=frozenset(p.id for p in self.products),
            categories=frozenset(c.id for c in self.categories))


class PromotionProduct(ModelSQL):
    "Promotion - Product"
    __name__ = 'order_hub.promotion-product.product'
    promotion = fields.Many2One(
        'order_hub.promotion', "Promotion", required=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='CASCADE')


class PromotionCategory(ModelSQL):
    "Promotion - Category"
    __name__ = 'order_hub.promotion-product.category'
    promotion = fields.Many2One(
        'order_hub.promotion', "Promotion", required=True, ondelete='CASCADE')
    category = fields.Many2One(
        'product.category', "Category", required=True, ondelete='CASCADE')


class PromotionCode(ModelSQL, ModelView):
    "Promo Code"
    __name__ = 'order_hub.promotion.code'
    _rec_name = 'code'

    promotion = fields.Many2One(
        'order_hub.promotion', "Promotion", required=True, ondelete='CASCADE')
    code = fields.Char("Code", required=True)
    usage_limit = fields.Integer(
        "Usage Limit",
        domain=['OR', ('usage_limit', '=', None), ('usage_limit', '>', 0)],
        help="How many orders may use this code; empty for no limit.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'order_hub.msg_promo_code_unique'),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('code'):
            values['code'] = normalize_code(values['code'])
        return values

    def usage_count(self, exclude_order=None):
        Order = Pool().get('order_hub.order')
        domain = [('promo_code', '=', self.code),
            ('state', '!=', 'cancelled')]
        if exclude_order:
            domain.append(('id', '!=', exclude_order))
        return Order.search_count(domain)


@dataclass
class LinePrice:
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    promotion: int = None


@dataclass
class PricingResult:
    "What a pricing method answers for an order's lines"
    lines: dict = field(default_factory=dict)  # line id -> LinePrice
    promo_error: str = None  # why the promo code does not apply


class Pricing(Model):
    "Order Pricing"
    __name__ = 'order_hub.pricing'

    @classmethod
    def price(cls, order, lines, promo_code=None):
        "Price lines of order with promo_code; returns a PricingResult"
        Configuration = Pool().get('order_hub.configuration')
        method = Configuration(1).pricing_method or 'local'
        return getattr(cls, f'price_{method}')(order, lines, promo_code)

    @classmethod
    def price_local(cls, order, lines, promo_code):
        Product = Pool().get('product.product')
        products = [l.product for l in lines]
        prices = Product.hub_list_prices(products)
        categories = Product.hub_categories(products)
        basket = [cls._basket_line(line, prices[line.product.id],
                categories[line.product.id])
            for line in lines]
        date = order.pricing_date
        rules = [p.as_rule() for p in cls._automatic_promotions(order, date)]
        result = PricingResult()
        code_rule = None
        if promo_code:
            try:
                code_rule = cls._code_promotion(order, promo_code, date)
                rules.append(code_rule.as_rule())
            except PromoCodeError as exc:
                result.promo_error = exc.message
        best = best_discounts(basket, rules)
        for item in basket:
            discount, promotion = best.get(item.key, (Decimal(0), None))
            result.lines[item.key] = LinePrice(
                item.unit_price, discount, promotion)
        if code_rule and not result.promo_error:
            result.promo_error = cls._inapplicable_reason(
                code_rule, promo_code, basket, best)
        return result

    @classmethod
    def _basket_line(cls, line, price, categories):
        product = line.product
        if price is None:
            raise PricingUnavailable(gettext(
                    'order_hub.msg_product_no_price',
                    product=product.rec_name))
        return BasketLine(
            key=line.id, product=product.id, quantity=line.quantity,
            unit_price=round_money(price), categories=categories)

    @classmethod
    def _automatic_promotions(cls, order, date):
        Promotion = Pool().get('order_hub.promotion')
        promotions = Promotion.search([('codes', '=', None)])
        return [p for p in promotions if p.is_valid_on(date)
            and not p.limit_reached(exclude_order=order.id)]

    @classmethod
    def _code_promotion(cls, order, promo_code, date):
        "The promotion of promo_code, or PromoCodeError saying why not"
        Code = Pool().get('order_hub.promotion.code')
        code = normalize_code(promo_code)
        records = Code.search([('code', '=', code)], limit=1)
        if not records or not records[0].promotion.active:
            raise PromoCodeError(gettext(
                    'order_hub.msg_promo_code_unknown', code=code))
        record, = records
        promotion = record.promotion
        promotion.lock()
        if promotion.start_date and date < promotion.start_date:
            raise PromoCodeError(gettext(
                    'order_hub.msg_promo_code_not_started', code=code,
                    date=promotion.start_date.strftime('%d.%m.%Y')))
        if promotion.end_date and date > promotion.end_date:
            raise PromoCodeError(gettext(
                    'order_hub.msg_promo_code_expired', code=code,
                    date=promotion.end_date.strftime('%d.%m.%Y')))
        limit = record.usage_limit
        if ((limit and record.usage_count(order.id) >= limit)
                or promotion.limit_reached(exclude_order=order.id)):
            raise PromoCodeError(gettext(
                    'order_hub.msg_promo_code_used_up', code=code,
                    limit=limit or promotion.usage_limit))
        return promotion

    @classmethod
    def _inapplicable_reason(cls, promotion, promo_code, basket, best):
        rule = promotion.as_rule()
        code = normalize_code(promo_code)
        subtotal = sum((l.amount for l in basket), Decimal(0))
        if subtotal < rule.min_amount:
            return gettext('order_hub.msg_promo_code_min_amount', code=code,
                min_amount=format_money(rule.min_amount),
                amount=format_money(subtotal))
        if not rule.eligible_lines(basket):
            return gettext('order_hub.msg_promo_code_no_products', code=code)
        if not any(p == promotion.id for _, p in best.values()):
            return gettext('order_hub.msg_promo_code_not_better', code=code)


def format_money(amount):
    "1234.5 -> '1 234,50 ₽' as Russian users read amounts"
    text = f'{round_money(amount):,.2f}'.replace(',', '\u00a0')
    return text.replace('.', ',') + '\u00a0₽'

