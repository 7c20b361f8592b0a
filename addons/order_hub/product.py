from decimal import Decimal

from trytond.model import Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class ExternalRefMixin:
    "A unique external id, reset on copy"
    __slots__ = ()
    _external_field = None

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        name = cls._external_field
        cls._sql_constraints += [(f'{name}_unique',
                Unique(t, getattr(t, name)), 'order_hub.msg_external_ref_unique')]

    @classmethod
    def copy(cls, records, default=None):
        default = dict(default or {}, **{cls._external_field: None})
        return super().copy(records, default=default)


class Template(ExternalRefMixin, metaclass=PoolMeta):
    __name__ = 'product.template'
    _external_field = 'external_ref'

    hub_marked = fields.Boolean(
        "Marked Goods",
        help="Every unit carries a Chestny Znak marking code.")
    # The catalogue's ids that the retailer's systems share: 1C's product
    # GUID is the site's product XML_ID (CommerceML Ид).  Kept here, not in
    # a bridge, so that the site bridge works without the 1C bridge.
    external_ref = fields.Char("External ID", readonly=True,
        help="The product's ID in the ERP and on the website "
        "(1C GUID, CommerceML «Ид»).")


class Product(ExternalRefMixin, metaclass=PoolMeta):
    __name__ = 'product.product'
    _external_field = 'external_variant_ref'

    external_variant_ref = fields.Char("External Variant ID", readonly=True,
        help="The variant's characteristic ID in the ERP; the website's "
        "offer is «<product ID>#<characteristic ID>».")
    hub_size = fields.Char("Size")
    hub_marked = fields.Function(
        fields.Boolean("Marked Goods"), 'on_change_with_hub_marked')

    @fields.depends('template', '_parent_template.hub_marked')
    def on_change_with_hub_marked(self, name=None):
        return bool(self.template and self.template.hub_marked)

    @property
    def external_offer_id(self):
        """The offer's XML_ID on the website: the product's external ID,
        with «#characteristic» for a variant of a product with
        characteristics; None when the product has none"""
        ref = self.template.external_ref
        if not ref:
            return None
        if self.external_variant_ref:
            return f'{ref}#{self.external_variant_ref}'
        return ref

    @classmethod
    def search_offer(cls, product_ref, variant_ref=None):
        "The variant of an offer by its external IDs, or None"
        domain = [('template.external_ref', '=', product_ref)]
        if variant_ref:
            domain.append(('external_variant_ref', '=', variant_ref))
        found = cls.search(domain, limit=1)
        return found[0] if found else None

    def get_rec_name(self, name):
        name = super().get_rec_name(name)
        if self.hub_size and not (self.code or '').endswith(self.hub_size):
            name = f'{name}, {self.hub_size}'
        return name

    @classmethod
    def hub_categories(cls, products):
        """{product id: frozenset of its category ids, parents included},
        computed for all products at once"""
        return {p['id']: frozenset(p['categories_all'])
            for p in cls.read(list({p.id for p in products}),
                ['categories_all'])}

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
