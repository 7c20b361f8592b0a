"""Where hub records come from in 1C: the GUIDs (Ref_Key) of 1C objects.

A product variant is a 1C product (Номенклатура, on the template) plus a
characteristic (Характеристика, on the variant; empty when the product has
none).  Each GUID identifies one hub record.
"""
import uuid

from trytond.model import Unique, fields
from trytond.pool import PoolMeta
from trytond.transaction import Transaction


def document_key(record, part):
    """The GUID a hub record's 1C document gets, the same on every attempt
    (see Order.ut11_document_key): part tells a record's documents apart"""
    database = Transaction().database.name
    return str(uuid.uuid5(uuid.NAMESPACE_URL,
            f'order-hub:{database}:{record.__name__}:{record.id}:{part}'))


def _ref_field(name, string):
    "A mixin: the 1C GUID field name, unique, reset on copy"

    class Mixin:
        __slots__ = ()

        @classmethod
        def __setup__(cls):
            super().__setup__()
            t = cls.__table__()
            cls._sql_constraints += [(f'{name}_unique',
                    Unique(t, getattr(t, name)),
                    'ut11_bridge.msg_ref_unique')]

        @classmethod
        def copy(cls, records, default=None):
            default = dict(default or {}, **{name: None})
            return super().copy(records, default=default)

    setattr(Mixin, name, fields.Char(string, readonly=True))
    return Mixin


class Template(metaclass=PoolMeta):
    """1C's Номенклатура GUID is the catalogue's external id
    (order_hub: Template.external_ref), shared with the site"""
    __name__ = 'product.template'

    # DataVersion of the 1C object last loaded: a full load rewrites only
    # the products whose version changed
    ut11_version = fields.Char("1C Data Version", readonly=True)


class Product(metaclass=PoolMeta):
    "1C's characteristic GUID is Product.external_variant_ref (order_hub)"
    __name__ = 'product.product'

    ut11_version = fields.Char("1C Data Version", readonly=True)


class Category(_ref_field('ut11_ref', "1C GUID"), metaclass=PoolMeta):
    "Product groups (folders of Номенклатура) of 1C"
    __name__ = 'product.category'


class Location(_ref_field('ut11_ref', "1C GUID"), metaclass=PoolMeta):
    __name__ = 'stock.location'


class Party(_ref_field('ut11_ref', "1C GUID"), metaclass=PoolMeta):
    "Counterparties (Контрагенты) of 1C"
    __name__ = 'party.party'

    ut11_version = fields.Char("1C Data Version", readonly=True)
