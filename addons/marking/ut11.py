"""With ut11_bridge: 1C's «ОсобенностьУчета» of a product (the kind of
marking 1C keeps it under) gives the template's Chestny Znak product group,
through a configurable table.  A value the table lacks is never guessed:
the product gets no group and the load's journal lists the value; once
the value is mapped, the products 1C keeps under it get its group."""
from trytond.cache import Cache
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .product import GROUPS

FIELD = 'ОсобенностьУчета'


class UT11Feature(ModelSQL, ModelView):
    "1C Accounting Feature of Marked Products"
    __name__ = 'marking.ut11_feature'
    __string__ = "1C Accounting Feature"

    name = fields.Char("1C Value", required=True, strip=True,
        help="The value of «ОсобенностьУчета» of a product in 1C, "
        "e.g. ОбувнаяПродукция.")
    group = fields.Selection(GROUPS, "Marking Product Group",
        help="Empty: 1C's value is known but is no Chestny Znak group "
        "(the product gets none).")
    _groups_cache = Cache('marking.ut11_feature.groups', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [('name_unique', Unique(t, t.name),
                'marking.msg_ut11_feature_unique')]
        cls._order = [('name', 'ASC'), ('id', 'ASC')]

    @classmethod
    def groups(cls):
        "{1C value: product group or None}"
        groups = cls._groups_cache.get(None)
        if groups is None:
            with without_check_access():
                groups = {f.name: f.group for f in cls.search([])}
            cls._groups_cache.set(None, groups)
        return groups

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        cls._groups_cache.clear()
        if mode != 'delete':
            cls.apply_to_products(records)

    @classmethod
    def apply_to_products(cls, features):
        "The group of each feature on the products 1C keeps under it"
        Template = Pool().get('product.template')
        to_write = []
        # 1C's products: the mapping's consequence, not a user's edit
        for feature in features:
            templates = Template.search([
                    ('marking_ut11_feature', '=', feature.name)])
            if templates:
                to_write.extend([templates, {'marking_group': feature.group}])
        if to_write:
            with without_check_access():
                Template.write(*to_write)


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    marking_ut11_feature = fields.Char("1C Accounting Feature",
        readonly=True,
        help="«ОсобенностьУчета» of the product in 1C: it gives the "
        "marking product group (Marking › 1C Accounting Features).")


class Loader(metaclass=PoolMeta):
    __name__ = 'ut11_bridge.loader'

    @classmethod
    def ut11_product_values(cls, row, unknown):
        values = super().ut11_product_values(row, unknown)
        values['marking_ut11_feature'] = row['marking']
        values['marking_group'] = cls.marking_ut11_group(row, unknown)
        return values

    @classmethod
    def marking_ut11_group(cls, row, unknown):
        "The product group of 1C's «ОсобенностьУчета»; None when not known"
        feature = row['marking']
        if not feature:
            return None
        groups = Pool().get('marking.ut11_feature').groups()
        if feature not in groups:
            counts = unknown.setdefault(FIELD, {})
            counts[feature] = counts.get(feature, 0) + 1
        return groups.get(feature)
