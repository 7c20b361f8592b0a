from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .parser import gtin14

# product groups of the True API (pg) whose unit codes the parser reads
GROUPS = [
    (None, ""),
    ('shoes', "Shoes"),
    ('lp', "Clothing and Linen"),
    ('perfumery', "Perfume"),
    ('milk', "Dairy"),
    ('water', "Packaged Water"),
    ('tobacco', "Tobacco"),
    ('tires', "Tires"),
    ('electronics', "Cameras and Flashes"),
    ]


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    marking_group = fields.Selection(GROUPS, "Marking Product Group",
        states={'invisible': ~Eval('hub_marked')},
        help="The Chestny Znak product group: the layout of the codes.")


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    marking_group = fields.Function(fields.Selection(GROUPS,
            "Marking Product Group"), 'on_change_with_marking_group')

    @fields.depends('template', '_parent_template.marking_group')
    def on_change_with_marking_group(self, name=None):
        return self.template.marking_group if self.template else None

    def marking_gtins(self):
        "The GTINs (14 digits) of the variant's barcodes"
        return {g for g in (gtin14(i.code) for i in self.identifiers
                if i.type in (None, 'ean', 'gtin', 'upc')) if g}
