"""Control actions (POST /__sandbox__/<name>): seed data, change stock and
prices, switch versions and credentials, inspect documents, refuse
postings."""
import itertools
from zoneinfo import ZoneInfo

from ..core import control
from .catalogue import demo_dataset
from .metadata import ENTITY_SETS
from .odata import EMPTY_REF, GUID_RE, to_decimal


class Control:
    "Control actions (a part of UT11Simulator)"

    @control('seed')
    def seed(self, dataset=None, products=None, warehouses=None):
        """Replace the catalogue and stock.

        No arguments: the demo data set; ``products``/``warehouses``: a
        generated N x M data set for load tests; ``dataset``: a dict like
        :func:`demo_dataset` returns.
        """
        with self.lock:
            if products is not None:
                return self._generate(int(products), int(warehouses or 30))
            self._reset_data()
            return self._load_dataset(dataset or demo_dataset())

    @control('set_stock')
    def set_stock(self, product, warehouse, quantity, characteristic=None):
        "Set on-hand stock, as if a stock document was entered in 1C"
        with self.lock:
            key = self._variant_key(product, characteristic, warehouse)
            self.ledger.set_on_hand(key, to_decimal(quantity))
            return self._stock_info(key)

    @control('stock_control')
    def stock_control(self, warehouse, enabled=True):
        """Switch the warehouse's КонтролироватьОперативныеОстатки: without
        it, posting an order reserves only the free stock, refusing nothing"""
        with self.lock:
            row = self.tables['Catalog_Склады'].get(
                self._resolve_warehouse(warehouse))
            row['КонтролироватьОперативныеОстатки'] = bool(enabled)
            row['DataVersion'] = self._data_version()
            return {'warehouse': row['Description'], 'enabled': bool(enabled)}

    @control('stock')
    def stock(self, product=None, warehouse=None, characteristic=None):
        "On hand, reserved and free stock per variant and warehouse"
        with self.lock:
            item = self._resolve_item(product) if product else None
            wh = self._resolve_warehouse(warehouse) if warehouse else None
            char = (self._resolve_characteristic(item, characteristic)
                if characteristic else None)
            keys = itertools.islice((k for k in self.ledger.keys(item, wh)
                    if char is None or k[1] == char), 1000)
            return [self._stock_info(k) for k in keys]

    @control('set_price')
    def set_price(self, product, price, price_type='Розничная', period=None):
        with self.lock:
            item = self._resolve_item(product)
            self._add_price(item, price, price_type,
                period or self.now())
            return {'Номенклатура_Key': item, 'Цена': float(price)}

    @control('credentials')
    def credentials(self, user=None, password=None):
        "Show or change the OData user (HTTP Basic)"
        with self.lock:
            if user is not None:
                self.user = user
            if password is not None:
                self.password = password
            return {'user': self.user, 'password': self.password,
                'base_path': f'/{self.publication}/odata/standard.odata'}

    @control('configure')
    def configure(self, version=None, publication=None, ib_prefix=None,
            timezone=None):
        """UT version (11.5 or 11.4 registers), publication name, number
        prefix, time zone of the 1C server's clock"""
        with self.lock:
            if timezone is not None:
                ZoneInfo(timezone)
                self.timezone = timezone
            if version is not None:
                if version not in ('11.4', '11.5'):
                    raise ValueError('version must be 11.4 or 11.5')
                self.version = version
            if publication is not None:
                self.publication = publication
            if ib_prefix is not None:
                self.ib_prefix = ib_prefix
            return {'version': self.version, 'publication': self.publication,
                'ib_prefix': self.ib_prefix, 'timezone': self.timezone,
                'now': self.now()}

    @control('unpublish')
    def unpublish(self, entity_sets):
        "Take entity sets out of the OData composition (they answer 404)"
        with self.lock:
            self.unpublished.update(entity_sets)
            return {'unpublished': sorted(self.unpublished)}

    @control('documents')
    def documents(self, type=None):
        "Every document with its posted state, for inspection"
        with self.lock:
            result = []
            for name, entity in ENTITY_SETS.items():
                if entity.kind != 'document' or (type and type not in (
                        name, name.removeprefix('Document_'))):
                    continue
                for row in self.tables[name]:
                    result.append({'type': name.removeprefix('Document_'),
                        'Ref_Key': row['Ref_Key'], 'Number': row['Number'],
                        'Date': row['Date'], 'Posted': row['Posted'],
                        'DeletionMark': row['DeletionMark'],
                        'Статус': row.get('Статус', ''),
                        'lines': len(row.get('Товары', []))})
            return result

    @control('refuse_posting')
    def refuse_posting(self, document, message='Недостаточно прав для '
            'проведения документа', count=1):
        "The next `count` postings of a document type fail with message"
        name = document if document.startswith('Document_') else (
            'Document_' + document)
        if name not in ENTITY_SETS:
            raise ValueError(f'unknown document {document}')
        with self.lock:
            self.refusals[name].append((message, count))
            return {'document': name, 'message': message, 'count': count}

    def _resolve_item(self, product):
        table = self.tables['Catalog_Номенклатура']
        if GUID_RE.match(str(product)) and table.get(product.lower()):
            return product.lower()
        generated = table.generated
        if generated and str(product).startswith('ART-'):
            i = int(product[4:]) - 1
            if 0 <= i < generated.count:
                return generated.key(i)
        for row in table.rows.values():
            if product in (row['Артикул'], row['Description']) and \
                    not row['IsFolder']:
                return row['Ref_Key']
        raise KeyError(f'unknown product {product}')

    def _resolve_warehouse(self, warehouse):
        for row in self.tables['Catalog_Склады']:
            if warehouse in (row['Ref_Key'], row['Description']):
                return row['Ref_Key']
        raise KeyError(f'unknown warehouse {warehouse}')

    def _resolve_characteristic(self, item, characteristic):
        for row in self.tables['Catalog_ХарактеристикиНоменклатуры']:
            if row['Owner_Key'] == item and str(characteristic) in (
                    row['Ref_Key'], row['Description']):
                return row['Ref_Key']
        raise KeyError(f'unknown characteristic {characteristic}')

    def _variant_key(self, product, characteristic, warehouse):
        item = self._resolve_item(product)
        char = (self._resolve_characteristic(item, characteristic)
            if characteristic else EMPTY_REF)
        return (item, char, self._resolve_warehouse(warehouse))

    def _stock_info(self, key):
        onhand, reserved = self.ledger.on_hand(key), self.ledger.reserved(key)
        return {'Номенклатура_Key': key[0], 'Характеристика_Key': key[1],
            'Склад_Key': key[2], 'product': self._variant_name(key),
            'warehouse': self._name('Catalog_Склады', key[2]),
            'on_hand': float(onhand), 'reserved': float(reserved),
            'free': float(onhand - reserved)}
