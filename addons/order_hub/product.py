from decimal import Decimal

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    hub_marked = fields.Boolean(
        "Marked Goods",
        help="Every unit carries a Chestny Znak marking code.")


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    hub_size = fields.Char("Size")
    hub_marked = fields.Function(
        fields.Boolean("Marked Goods"), 'on_change_with_hub_marked')

    @fields.depends('template', '_parent_template.hub_marked')
    def on_change_with_hub_marked(self, name=None):
        return bool(self.template and self.template.hub_marked)

    def get_rec_name(self, name):
        name = super().get_rec_name(name)
        if self.hub_size and not (self.code or '').endswith(self.hub_size):
            name = f'{name}, {self.hub_size}'
        return name

    @classmethod
    def hub_list_prices(cls, products):
        """{product id: list price} for the context's company, in one query

        (list_price_used reads its multi-value per product: too slow for
        re-pricing an order of hundreds of lines.)"""
        ListPrice = Pool().get('product.list_price')
        table = ListPrice.__table__()
        templates = {p.id: p.template.id for p in products}
        if not templates:
            return {}
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.template, table.product, table.list_price,
                where=table.template.in_(list(set(templates.values())))
                & (table.company == Transaction().context.get('company'))))
        by_template, by_product = {}, {}
        for template, product, price in cursor:
            if price is None:
                continue
            if product:
                by_product[product] = Decimal(str(price))
            else:
                by_template[template] = Decimal(str(price))
        return {p: by_product.get(p, by_template.get(t))
            for p, t in templates.items()}
