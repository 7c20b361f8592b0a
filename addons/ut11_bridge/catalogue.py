"""From 1C UT11 into the hub: warehouses, products with sizes, prices and
free stock per warehouse, on demand (command line) and on a schedule.

1C owns these facts: existing records are updated, never the other way.
"""
import datetime as dt
import logging
from decimal import Decimal

from stdnum.ru import inn as ru_inn

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Model
from trytond.modules.order_hub.bulk import (
    batched, clear_cache, insert_rows, update_rows)
from trytond.modules.hub_common import utcnow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .products import ProductWriter, variant_ids

logger = logging.getLogger(__name__)


def orm_batch():
    "Records per ORM create: SQLite cannot parse the unique checks of many"
    return 10 if backend.name == 'sqlite' else 500

ZERO = Decimal(0)
# a stock refresh reads from this long before the previous one started: the
# clocks of 1C and the hub differ, and a document being posted while the
# previous refresh read may carry an earlier time
STOCK_OVERLAP = dt.timedelta(minutes=5)
SHOP_TYPES = {'РозничныйМагазин', 'Магазин'}
STAGES = {
    'warehouses': 'ut11_bridge.msg_stage_warehouses',
    'counterparties': 'ut11_bridge.msg_stage_counterparties',
    'groups': 'ut11_bridge.msg_stage_groups',
    'products': 'ut11_bridge.msg_stage_products',
    'characteristics': 'ut11_bridge.msg_stage_characteristics',
    'barcodes': 'ut11_bridge.msg_stage_barcodes',
    'prices': 'ut11_bridge.msg_stage_prices',
    'stock': 'ut11_bridge.msg_stage_stock',
    }


class Loader(Model):
    "1C UT11 Catalogue and Stock Loader"
    __name__ = 'ut11_bridge.loader'

    @classmethod
    def load(cls, stock_only=False, progress=None):
        """Read from 1C and update the hub; returns {stage: count}.

        progress(stage, count, total=None) is called as the load goes (the
        command line prints it, a load run shows it in the client)."""
        System = Pool().get('hub_sync.system')
        system = System.get('ut11')
        client = system.ut11_client()
        progress = progress or (lambda stage, count, total=None: None)
        counts = {}
        if not stock_only:
            counts['warehouses'] = cls.load_warehouses(client)
            progress('warehouses', counts['warehouses'])
            counts['counterparties'] = cls.load_counterparties(client)
            progress('counterparties', counts['counterparties'])
            groups = cls.load_groups(client)
            counts['groups'] = len(groups)
            counts['products'] = cls.load_products(client, progress, groups)
            if system.ut11_price_type:
                counts['prices'] = cls.load_prices(
                    client, system.ut11_price_type)
                progress('prices', counts['prices'])
        counts['stock'] = cls.load_stock(client, progress)
        cls._journal(counts)
        return counts

    @classmethod
    def describe(cls, counts):
        "What a load wrote, for users"
        return gettext('ut11_bridge.msg_load_summary', counts=', '.join(
                f'{gettext(STAGES[k])}: {v}' for k, v in counts.items()))

    @classmethod
    def _journal(cls, counts):
        Journal = Pool().get('hub_sync.journal')
        Journal.add([{'system': 'ut11', 'direction': 'in',
                    'operation': 'ut11_load', 'outcome': 'ok',
                    'summary': cls.describe(counts)}])

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

    # -- counterparties ----------------------------------------------------
    @classmethod
    def load_counterparties(cls, client):
        """Контрагенты as parties, the customers orders can name: new ones
        created, those whose DataVersion changed updated, those marked for
        deletion deactivated.  Returns how many were written."""
        Party = Pool().get('party.party')
        known = {p.ut11_ref: p for p in Party.search([
                    ('ut11_ref', '!=', None),
                    ('active', 'in', [True, False])])}
        new, to_write = [], []
        for row in client.counterparties():
            party = known.get(row['key'])
            if row['deleted']:
                if party and party.active:
                    to_write.extend([[party], {'active': False}])
                continue
            if party and party.ut11_version == row['version'] \
                    and party.active:
                continue
            values = {'name': row['name'], 'hub_kpp': row['kpp'],
                'ut11_version': row['version'], 'active': True,
                'identifiers': cls._inn(row, party)}
            if party is None:
                new.append({**values, 'ut11_ref': row['key']})
            else:
                to_write.extend([[party], values])
        # a few thousand at most: the ORM keeps the party rules
        for part in batched(new, orm_batch()):
            Party.create(part)
        if to_write:
            Party.write(*to_write)
        return len(new) + len(to_write) // 2

    @classmethod
    def _inn(cls, row, party):
        "Identifier actions: the INN from 1C replaces the one from 1C"
        actions = []
        old = [i for i in (party.identifiers if party else [])
            if i.type == 'ru_vat']
        if old and [i.code for i in old] != [row['inn']]:
            actions.append(('delete', [i.id for i in old]))
        if row['inn'] and (not old or [i.code for i in old] != [row['inn']]):
            if ru_inn.is_valid(row['inn']):
                actions.append(('create', [{'type': 'ru_vat',
                                'code': row['inn']}]))
            else:
                # Tryton would refuse the party: load it without the INN
                logger.warning("1C counterparty %s: INN %r is not valid, "
                    "not loaded", row['name'], row['inn'])
        return actions

    # -- product groups ----------------------------------------------------
    @classmethod
    def load_groups(cls, client):
        "Folders of Номенклатура as product categories; {1C key: id}"
        Category = Pool().get('product.category')
        existing = {c.ut11_ref: c for c in Category.search(
                [('ut11_ref', '!=', None)])}
        rows = [r for r in client.product_groups() if not r['deleted']]
        new = [{'name': r['name'], 'ut11_ref': r['key']} for r in rows
            if r['key'] not in existing]
        existing.update({c.ut11_ref: c for c in Category.create(new)})
        to_write = []
        for row in rows:
            category = existing[row['key']]
            parent = existing.get(row['parent'])
            values = {'name': row['name'], 'parent': parent.id
                if parent else None}
            if (category.name, category.parent) != (row['name'], parent):
                to_write.extend([[category], values])
        if to_write:
            Category.write(*to_write)
        return {k: c.id for k, c in existing.items()}

    # -- products ----------------------------------------------------------
    @classmethod
    def load_products(cls, client, progress, groups=None):
        """Templates from Номенклатура, variants from characteristics, and
        barcodes, written in bulk; products whose DataVersion is unchanged
        are not touched.  Returns the number of templates created or
        updated."""
        writer = ProductWriter(groups or {}, cls.ut11_product_values)
        total = client.count_products()
        seen = 0
        for row in client.products():
            writer.product(row)
            seen += 1
            if not seen % 5000:
                writer.flush()
                progress('products', seen, total)
        writer.flush()
        progress('products', seen, total)
        for row in client.characteristics():
            writer.characteristic(row)
        writer.flush()
        progress('characteristics', writer.counts['variants'])
        writer.barcodes(client.barcodes())
        progress('barcodes', writer.counts['barcodes'])
        cls._journal_unknown(writer.unknown)
        return writer.counts['templates']

    @classmethod
    def ut11_product_values(cls, row, unknown):
        """The product template's values from a parsed 1C product row
        (client.parse_product); the same keys for every row.  A value that
        cannot be mapped is added to unknown[1C field][value] (journalled
        once per load), never guessed.  Modules extend it."""
        return {'name': row['name'], 'code': row['article'],
            'hub_marked': bool(row['marking'])}

    @classmethod
    def _journal_unknown(cls, unknown):
        "One journal entry listing the 1C values no mapping knew"
        unknown = {f: c for f, c in unknown.items() if c}
        if not unknown:
            return
        Journal = Pool().get('hub_sync.journal')
        detail = '\n'.join(f'{field}: ' + ', '.join(
                    f'«{v}» ({n})' for v, n in sorted(counts.items()))
            for field, counts in sorted(unknown.items()))
        logger.warning("1C values not mapped: %s", detail)
        Journal.add([{'system': 'ut11', 'direction': 'in',
                    'operation': 'ut11_load', 'outcome': 'attention',
                    'summary': gettext('ut11_bridge.msg_load_unknown_values',
                        fields=', '.join(sorted(unknown))),
                    'detail': detail}])

    # -- prices ------------------------------------------------------------
    @classmethod
    def load_prices(cls, client, price_type):
        """1C's current prices of one price type as list prices, in bulk:
        a template price when 1C prices the product, a variant price when
        it prices a characteristic"""
        pool = Pool()
        ListPrice = pool.get('product.list_price')
        company = Transaction().context.get('company')
        templates = cls._templates()
        variants = variant_ids()
        table = ListPrice.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.id, table.template, table.product, table.list_price,
                where=table.company == company))
        existing = {(t, p): (id_, Decimal(str(price))
                if price is not None else None)
            for id_, t, p, price in cursor}
        to_insert, to_update = [], []
        for row in client.prices(price_type):
            template = templates.get(row['product'])
            if template is None:
                continue
            product = None
            if row['characteristic']:
                product = variants.get((row['product'], row['characteristic']))
                if product is None:
                    continue
            price = Decimal(row['price'])
            current = existing.get((template, product))
            if current is None:
                to_insert.append({'template': template, 'product': product,
                        'company': company, 'list_price': price})
            elif current[1] != price:
                to_update.append((current[0], [price]))
        insert_rows(ListPrice, to_insert)
        update_rows(ListPrice, ['list_price'], to_update)
        clear_cache(ListPrice)
        return len(to_insert) + len(to_update)

    @classmethod
    def _templates(cls):
        "{1C product GUID: template id}"
        template = Pool().get('product.template').__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*template.select(template.external_ref, template.id,
                where=template.external_ref != None))  # noqa: E711
        return dict(cursor)

    # -- stock -------------------------------------------------------------
    @classmethod
    def load_stock(cls, client, progress):
        "Free stock of everything, a warehouse at a time"
        StockLevel = Pool().get('order_hub.stock')
        started = utcnow()
        variants = variant_ids()
        warehouses = cls._warehouses()
        skipped, seen = 0, set()

        def rows():
            nonlocal skipped
            # 1C answers a warehouse at a time: progress by warehouse
            for row in client.free_stock(list(warehouses)):
                if row['warehouse'] not in seen:
                    progress('stock', len(seen), len(warehouses))
                    seen.add(row['warehouse'])
                product = variants.get(
                    (row['product'], row['characteristic']))
                if product:
                    yield (product, warehouses[row['warehouse']],
                        max(row['free'], Decimal(0)))
                else:
                    skipped += 1
        mark = StockLevel.next_load_mark()
        count = StockLevel.set_levels(rows(), source='ut11', batch=10000,
            read_at=started, mark=mark)
        # 1C's balance has no row for what is sold out: a level this load
        # did not report is zero now
        zeroed = StockLevel.zero_unreported('ut11', warehouses.values(),
            mark, read_at=started)
        if zeroed:
            logger.info("1C stock: %s levels no longer listed set to zero",
                zeroed)
        if skipped:
            logger.info("1C stock: %s rows of unknown products skipped",
                skipped)
        progress('stock', len(warehouses), len(warehouses))
        cls._system().ut11_mark_stock_read(started)
        return count

    @classmethod
    def refresh_changed_stock(cls):
        """Free stock of the products that moved in 1C since the previous
        refresh or full stock load: {'products': …, 'levels': …}, None
        before the first full load.

        The mark moves only when everything is written: a failure leaves
        it, and the next refresh reads the same changes again."""
        system = cls._system()
        if not system.ut11_stock_read_at:
            return None
        started = utcnow()
        client = system.ut11_client()
        changes = client.stock_changes(system.ut11_local(
                system.ut11_stock_read_at - STOCK_OVERLAP))
        levels = cls.write_stock_of(client, changes, read_at=started)
        system.ut11_mark_stock_read(started)
        return {'products': len({p for p, _, _ in changes}),
            'levels': levels}

    @classmethod
    def write_stock_of(cls, client, changes, read_at=None):
        """Read 1C's free stock of the products of changes ((product,
        characteristic, warehouse) 1C GUIDs) and write it to the mirror;
        a changed key that 1C's Balance leaves out is zero there"""
        StockLevel = Pool().get('order_hub.stock')
        products = {p for p, _, _ in changes}
        variants = variant_ids(products)
        warehouses = cls._warehouses()
        levels = {}

        def put(product, characteristic, warehouse, quantity):
            variant = variants.get((product, characteristic))
            if variant and warehouse in warehouses:
                levels[variant, warehouses[warehouse]] = quantity
        for key in changes:
            put(*key, ZERO)
        for row in client.free_stock_of(products):
            put(row['product'], row['characteristic'], row['warehouse'],
                max(row['free'], ZERO))
        return StockLevel.set_levels(((p, w, q)
                for (p, w), q in levels.items()), source='ut11',
            read_at=read_at)

    @classmethod
    def _warehouses(cls):
        "{1C GUID: warehouse id}"
        Location = Pool().get('stock.location')
        return {l.ut11_ref: l.id for l in Location.search(
                [('ut11_ref', '!=', None)])}

    @classmethod
    def _system(cls):
        return Pool().get('hub_sync.system').get('ut11')


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('ut11_bridge.load_run|cron_refresh_stock',
                    "Refresh Stock from 1C UT11"),
                ('ut11_bridge.load_run|cron_refresh_changed_stock',
                    "Refresh Changed Stock from 1C UT11"),
                ('ut11_bridge.load_run|cron_load_catalogue',
                    "Load Catalogue from 1C UT11"),
                ('ut11_bridge.load_run|execute_queued',
                    "Run Queued Loads from 1C UT11"),
                ])
