"""1C's products written into the hub in bulk.

Номенклатура becomes a product template, each characteristic (size) a
variant, a product without characteristics one plain variant; the product
group links the template to its category; barcodes become identifiers.

A full load brings hundreds of thousands of products, so rows go in with
plain SQL (``order_hub.bulk``) instead of the ORM, whose per-record checks
cost many times the write.  What those checks guard is 1C's to keep: 1C
owns these records, managers do not edit them in the hub, and every row is
keyed by its 1C GUID (unique).  Products whose DataVersion is unchanged are
not written at all, so a daily full load touches only what changed in 1C.
"""
import re
from collections import Counter

from sql import Literal

from trytond.modules.order_hub.bulk import (
    clear_cache, in_, insert_rows, update_rows)
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

BATCH = 5000
EAN = re.compile(r'^(\d{8}|\d{12,14})$')


def variant_code(template_code, suffix):
    "product.product's stored code: template code + suffix (sync_code)"
    return ''.join(filter(None, [template_code, suffix])) or None


def variant_ids(products=None):
    """{(1C product GUID, characteristic GUID or None): product id}, of
    every product from 1C or only of products (1C GUIDs)"""
    pool = Pool()
    product = pool.get('product.product').__table__()
    template = pool.get('product.template').__table__()
    cursor = Transaction().connection.cursor()
    where = template.external_ref != None  # noqa: E711
    if products is not None:
        where &= in_(template.external_ref, products)
    cursor.execute(*product.join(template,
            condition=product.template == template.id).select(
            template.external_ref, product.external_variant_ref, product.id,
            where=where))
    return {(t, c): p for t, c, p in cursor}


class ProductWriter:
    """Collects 1C rows and writes them in batches (call flush()).

    groups: {1C group GUID: category id}; values(row, unknown): the
    template's values from a 1C product row (the same keys for every row),
    adding to unknown ({1C field: Counter of values}) what it cannot map."""

    def __init__(self, groups, values):
        pool = Pool()
        self.values = values
        self.unknown = {}
        self.Template = pool.get('product.template')
        self.Product = pool.get('product.product')
        self.Link = pool.get('product.template-product.category')
        self.Identifier = pool.get('product.identifier')
        self.groups = groups
        self.unit = self._unit()
        self.cursor = Transaction().connection.cursor()
        # 1C GUID -> [id, DataVersion, code, active]
        self.templates = self._known(self.Template.__table__(), 'external_ref',
            'code')
        self.variants = self._known(self.Product.__table__(),
            'external_variant_ref', 'suffix_code')
        self.new, self.changed, self.retired = [], [], []
        self.new_variants, self.changed_variants = [], []
        self.retired_variants = []
        self.counts = Counter(templates=0, variants=0, barcodes=0,
            retired=0)

    def _unit(self):
        Uom = Pool().get('product.uom')
        unit, = Uom.search([('symbol', '=', 'u')], limit=1)
        return unit.id

    def _known(self, table, key, code):
        self.cursor.execute(*table.select(getattr(table, key), table.id,
                table.ut11_version, getattr(table, code), table.active,
                where=getattr(table, key) != None))  # noqa: E711
        return {k: [id_, version, c, active]
            for k, id_, version, c, active in self.cursor}

    # -- collecting ----------------------------------------------------------
    def product(self, row):
        known = self.templates.get(row['key'])
        if row['deleted']:
            if known and known[3]:
                self.retired.append(known[0])
                known[3] = False
        elif known is None:
            self.new.append(row)
        elif known[1] != row['version'] or not known[3]:
            self.changed.append((known, row))

    def characteristic(self, row):
        owner = self.templates.get(row['product'])
        if owner is None:
            return   # a product 1C did not list (folder, deleted)
        known = self.variants.get(row['key'])
        suffix = f"-{row['name']}"
        values = {'hub_size': row['name'], 'suffix_code': suffix,
            'code': variant_code(owner[2], suffix),
            'ut11_version': row['version']}
        if row['deleted']:
            if known and known[3]:
                self.retired_variants.append(known[0])
                known[3] = False
        elif known is None:
            self.new_variants.append({**values, 'template': owner[0],
                    'external_variant_ref': row['key'], 'active': True})
            self.variants[row['key']] = [None, row['version'], suffix, True]
        elif known[1] != row['version'] or not known[3]:
            self.changed_variants.append((known[0], values))
        if len(self.new_variants) >= BATCH:
            self.flush()

    # -- writing -------------------------------------------------------------
    def template_values(self, row):
        return {**self.values(row, self.unknown),
            'ut11_version': row['version'], 'active': True}

    def flush(self):
        self._create_templates()
        self._update_templates()
        self._retire()
        insert_rows(self.Product, self.new_variants)
        self.counts['variants'] += len(self.new_variants)
        update_rows(self.Product, ['hub_size', 'suffix_code', 'code',
                'ut11_version', 'active'],
            [(id_, [v['hub_size'], v['suffix_code'], v['code'],
                        v['ut11_version'], True])
                for id_, v in self.changed_variants])
        self.new_variants, self.changed_variants = [], []
        clear_cache(self.Template)
        clear_cache(self.Product)

    def _create_templates(self):
        if not self.new:
            return
        rows = {r['key']: r for r in self.new}
        ids = insert_rows(self.Template, [{
                    **self.template_values(r), 'type': 'goods',
                    'consumable': False, 'default_uom': self.unit,
                    'external_ref': r['key']} for r in self.new],
            returning='external_ref')
        plain, links = [], []
        for id_, key in ids:
            row = rows[key]
            self.templates[key] = [id_, row['version'], row['article'], True]
            if not row['has_characteristics']:
                plain.append({'template': id_, 'code': row['article'],
                        'active': True})
            if row['group'] in self.groups:
                links.append({'template': id_,
                        'category': self.groups[row['group']]})
        insert_rows(self.Product, plain)
        insert_rows(self.Link, links)
        self.counts['templates'] += len(ids)
        self.counts['variants'] += len(plain)
        self.new = []

    def _update_templates(self):
        if not self.changed:
            return
        ids = [known[0] for known, _ in self.changed]
        rows = [(known[0], self.template_values(row))
            for known, row in self.changed]
        columns = sorted(rows[0][1])
        update_rows(self.Template, columns,
            [(id_, [values[c] for c in columns]) for id_, values in rows])
        for known, row in self.changed:
            known[1:4] = [row['version'], row['article'], True]
        self._relink([(known[0], row['group']) for known, row in self.changed])
        self._recode(ids)
        self._drop_name_translations(ids)
        self.counts['templates'] += len(self.changed)
        self.changed = []

    def _relink(self, templates):
        "The category of each template is its 1C group, and only that"
        table = self.Link.__table__()
        for part in grouped_slice(templates):
            part = list(part)
            self.cursor.execute(*table.delete(
                    where=table.template.in_([t for t, _ in part])))
            insert_rows(self.Link, [{'template': t,
                        'category': self.groups[g]}
                    for t, g in part if g in self.groups])

    def _recode(self, template_ids):
        "Variant codes follow the template's code (article)"
        product = self.Product.__table__()
        template = self.Template.__table__()
        updates = []
        for part in grouped_slice(template_ids):
            self.cursor.execute(*product.join(template,
                    condition=product.template == template.id).select(
                    product.id, product.code, template.code,
                    product.suffix_code,
                    where=template.id.in_(list(part))))
            updates.extend((id_, [variant_code(prefix, suffix)])
                for id_, code, prefix, suffix in self.cursor
                if code != variant_code(prefix, suffix))
        update_rows(self.Product, ['code'], updates)

    def _drop_name_translations(self, template_ids):
        """1C has one name: a translation stored by the client would hide
        the new name in that language"""
        Translation = Pool().get('ir.translation')
        table = Translation.__table__()
        for part in grouped_slice(template_ids):
            self.cursor.execute(*table.delete(
                    where=(table.name == 'product.template,name')
                    & (table.type == 'model')
                    & table.res_id.in_(list(part))))

    def _retire(self):
        "Marked for deletion in 1C: deactivated, history stays"
        product = self.Product.__table__()
        if self.retired:
            update_rows(self.Template, ['active'],
                [(id_, [False]) for id_ in self.retired])
            for part in grouped_slice(self.retired):
                self.cursor.execute(*product.update([product.active],
                        [Literal(False)],
                        where=product.template.in_(list(part))))
        update_rows(self.Product, ['active'],
            [(id_, [False]) for id_ in self.retired_variants])
        self.counts['retired'] += len(self.retired) + len(
            self.retired_variants)
        self.retired, self.retired_variants = [], []

    def barcodes(self, rows):
        "Barcodes as identifiers of the variants, the new ones only"
        variants = variant_ids()
        table = self.Identifier.__table__()
        self.cursor.execute(*table.select(table.product, table.code))
        existing = set(self.cursor)
        new = []
        for row in rows:
            product = variants.get((row['product'], row['characteristic']))
            code = (row['barcode'] or '').strip()
            if not product or not code or (product, code) in existing:
                continue
            existing.add((product, code))
            new.append({'product': product, 'code': code,
                    'type': 'ean' if EAN.match(code) else None})
            if len(new) >= BATCH:
                insert_rows(self.Identifier, new)
                self.counts['barcodes'] += len(new)
                new = []
        insert_rows(self.Identifier, new)
        self.counts['barcodes'] += len(new)
