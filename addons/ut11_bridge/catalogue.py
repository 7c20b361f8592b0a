"""From 1C UT11 into the hub: warehouses, products with sizes, prices and
free stock per warehouse, on demand (command line) and on a schedule.

1C owns these facts: existing records are updated, never the other way.
"""
import logging
from collections import defaultdict
from decimal import Decimal

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Model
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)


def batch_size():
    "Templates per create: SQLite cannot parse the unique checks of many"
    return 10 if backend.name == 'sqlite' else 200
SHOP_TYPES = {'РозничныйМагазин', 'Магазин'}


class Loader(Model):
    "1C UT11 Catalogue and Stock Loader"
    __name__ = 'ut11_bridge.loader'

    @classmethod
    def load(cls, stock_only=False, progress=None):
        """Read from 1C and update the hub; returns {stage: count}.

        progress(stage, count) is called as the load goes (command line)."""
        System = Pool().get('hub_sync.system')
        system = System.get('ut11')
        client = system.ut11_client()
        progress = progress or (lambda stage, count: None)
        counts = {}
        if not stock_only:
            counts['warehouses'] = cls.load_warehouses(client)
            progress('warehouses', counts['warehouses'])
            counts['products'] = cls.load_products(client, progress)
            if system.ut11_price_type:
                counts['prices'] = cls.load_prices(
                    client, system.ut11_price_type)
                progress('prices', counts['prices'])
        counts['stock'] = cls.load_stock(client, progress)
        cls._journal(counts)
        return counts

    @classmethod
    def cron_refresh_stock(cls):
        cls.load(stock_only=True)

    @classmethod
    def cron_load_catalogue(cls):
        cls.load()

    @classmethod
    def _journal(cls, counts):
        Journal = Pool().get('hub_sync.journal')
        Journal.add([{'system': 'ut11', 'direction': 'in',
                    'operation': 'ut11_load', 'outcome': 'ok',
                    'summary': gettext('ut11_bridge.msg_load_summary',
                        counts=', '.join(f'{k}: {v}'
                            for k, v in counts.items()))}])

    # -- warehouses --------------------------------------------------------
    @classmethod
    def load_warehouses(cls, client):
        Location = Pool().get('stock.location')
        existing = {l.ut11_ref: l for l in Location.search(
                [('ut11_ref', '!=', None)])}
        cities = cls._cities()
        new, to_write = [], []
        for row in client.warehouses():
            if row['is_group'] or row['deleted']:
                continue
            values = cls.warehouse_values(row, cities)
            if row['key'] in existing:
                to_write.extend([[existing[row['key']]], values])
            else:
                new.append({**values, 'ut11_ref': row['key']})
        if to_write:
            Location.write(*to_write)
        Location.hub_create_warehouses(new)
        return len(new) + len(to_write) // 2

    @classmethod
    def _cities(cls):
        City = Pool().get('order_hub.city')
        return {c.name.casefold(): c.id for c in City.search([])}

    @classmethod
    def warehouse_values(cls, row, cities):
        city = cities.get((row['city'] or '').casefold())
        if row['city'] and not city:
            # without coordinates the nearest-warehouse rule cannot use it
            logger.warning("1C warehouse %s: city %r is not among the hub's "
                "cities", row['name'], row['city'])
        return {'name': row['name'], 'hub_street': row['address'],
            'hub_city': city, 'hub_is_shop': row['type'] in SHOP_TYPES}

    # -- products ----------------------------------------------------------
    @classmethod
    def load_products(cls, client, progress):
        Template = Pool().get('product.template')
        characteristics = defaultdict(list)
        for row in client.characteristics():
            if not row['deleted']:
                characteristics[row['product']].append(row)
        known = {t.ut11_ref for t in Template.search(
                [('ut11_ref', '!=', None)])}
        new, count = [], 0
        for row in client.products():
            if row['deleted'] or row['key'] in known:
                continue
            new.append(cls.template_values(row, characteristics[row['key']]))
            if len(new) >= batch_size():
                count += len(Template.create(new))
                new = []
                progress('products', count)
        count += len(Template.create(new))
        progress('products', count)
        return count

    @classmethod
    def template_values(cls, row, characteristics):
        Uom = Pool().get('product.uom')
        unit = Uom.search([('symbol', '=', 'u')], limit=1)[0]
        variants = [{'hub_size': c['name'], 'ut11_characteristic': c['key'],
                'suffix_code': f"-{c['name']}"}
            for c in sorted(characteristics, key=lambda c: c['code'] or '')
            ] if row['has_characteristics'] else [{}]
        return {
            'name': row['name'], 'code': row['article'], 'type': 'goods',
            'default_uom': unit.id, 'ut11_ref': row['key'],
            'hub_marked': bool(row['marking']),
            'products': [('create', variants)],
            }

    # -- prices ------------------------------------------------------------
    @classmethod
    def load_prices(cls, client, price_type):
        pool = Pool()
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        templates = {t.ut11_ref: t for t in Template.search(
                [('ut11_ref', '!=', None)])}
        variants = cls._variants()
        to_template, to_product = [], []
        for row in client.prices(price_type):
            price = Decimal(row['price'])
            if row['characteristic']:
                product = variants.get((row['product'], row['characteristic']))
                if product:
                    to_product.extend([[Product(product)],
                            {'list_price': price}])
            elif row['product'] in templates:
                to_template.extend([[templates[row['product']]],
                        {'list_price': price}])
        if to_template:
            Template.write(*to_template)
        if to_product:
            Product.write(*to_product)
        return (len(to_template) + len(to_product)) // 2

    # -- stock -------------------------------------------------------------
    @classmethod
    def _variants(cls):
        "{(1C product GUID, characteristic GUID or None): product id}"
        pool = Pool()
        product = pool.get('product.product').__table__()
        template = pool.get('product.template').__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*product.join(template,
                condition=product.template == template.id).select(
                template.ut11_ref, product.ut11_characteristic, product.id,
                where=template.ut11_ref != None))  # noqa: E711
        return {(t, c): p for t, c, p in cursor}

    @classmethod
    def load_stock(cls, client, progress):
        pool = Pool()
        Location = pool.get('stock.location')
        StockLevel = pool.get('order_hub.stock')
        variants = cls._variants()
        warehouses = {l.ut11_ref: l.id for l in Location.search(
                [('ut11_ref', '!=', None)])}
        skipped = 0

        def rows():
            nonlocal skipped
            for n, row in enumerate(client.free_stock(), 1):
                product = variants.get(
                    (row['product'], row['characteristic']))
                warehouse = warehouses.get(row['warehouse'])
                if product and warehouse:
                    yield product, warehouse, max(row['free'], Decimal(0))
                else:
                    skipped += 1
                if not n % 10000:
                    progress('stock', n)
        count = StockLevel.set_levels(rows(), source='ut11')
        if skipped:
            logger.info("1C stock: %s rows of unknown products or "
                "warehouses skipped", skipped)
        progress('stock', count)
        return count


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('ut11_bridge.loader|cron_refresh_stock',
                    "Refresh Stock from 1C UT11"),
                ('ut11_bridge.loader|cron_load_catalogue',
                    "Load Catalogue from 1C UT11"),
                ])
