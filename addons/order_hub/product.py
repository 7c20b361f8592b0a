from trytond.model import fields
from trytond.pool import PoolMeta


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
        if self.hub_size:
            name = f'{name}, {self.hub_size}'
        return name
