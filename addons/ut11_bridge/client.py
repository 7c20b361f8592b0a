"""Client of 1C:Управление торговлей 11 through its standard OData interface.

Plain Python: no Tryton models, only hub_sync's plain HTTP base and errors
(``hub_sync.http``, ``hub_sync.errors``).  Reads are generators of plain dicts
that page with ``$top``/``$skip`` ordered by a stable key; writes take plain
values, build the body with :mod:`.payloads` and post the document.

Duplicates on retry: OData has no idempotency keys.  The hub generates the
document's ``Ref_Key`` once per operation, stores it with the outbox message
and sends it in the create body; a retry whose first attempt did reach 1C
gets code 15 ("key exists") and the client reads that document back instead
of creating a second one.  Orders also carry the hub number in
``НомерПоДаннымКлиента`` (:meth:`UT11Client.find_orders`) for documents
created before the key was stored.
"""
import queue
import threading
from decimal import Decimal
from itertools import islice
from urllib.parse import quote

from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)
from trytond.modules.hub_sync.http import HttpClient, retry_after

from . import odata, payloads
from .odata import object_path, ref

PAGE_SIZE = 5000
PREFETCH = 3   # pages read ahead
# products named in one Balance condition; fewer when the URL would grow
# past CONDITION_BYTES (see UT11Client.items_per_request)
ITEMS_PER_REQUEST = 50
# a Condition travels in the URL's path: IIS refuses paths over 4,096 bytes
# by default (maxUrl), Apache request lines over 8,190; the rest of the URL
# (host, publication, register, $select) takes well under 1,000
CONDITION_BYTES = 3000
ZERO = Decimal(0)
CATALOG = ('Ref_Key', 'DataVersion', 'DeletionMark', 'Code', 'Description')
DOCUMENT = ('Ref_Key', 'DataVersion', 'DeletionMark', 'Number', 'Date',
    'Posted')
PRODUCT = CATALOG + ('Parent_Key', 'Артикул', 'НаименованиеПолное',
    'ОсобенностьУчета', 'ИспользованиеХарактеристик', 'ЕдиницаИзмерения_Key',
    'СтавкаНДС_Key', 'ВидНоменклатуры_Key')
FREE_STOCK = {
    # version: register, warehouse dimension, resources (+ on hand, − reserved)
    '11.5': ('AccumulationRegister_ЗапасыИПотребности', 'Склад',
        ('ВНаличииBalance',), ('РезервироватьНаСкладеBalance',)),
    '11.4': ('AccumulationRegister_СвободныеОстатки', 'Склад_Key',
        ('ВНаличииBalance',),
        ('ВРезервеСоСкладаBalance', 'ВРезервеПодЗаказBalance')),
    }
PRICES = {
    True: ('InformationRegister_ЦеныНоменклатуры25', 'ХарактеристикаЦО_Key'),
    False: ('InformationRegister_ЦеныНоменклатуры', 'Характеристика_Key'),
    }


def _error_class(status, code, message):
    if status in (401, 403) or code == '20':
        return ConfigurationError
    if status == 404 and code in (None, '6', '8'):
        return ConfigurationError   # no publication, or set not published
    # 1C answers a refused posting with 500 and code -1, like an internal
    # error: only its "Не удалось провести…" text tells them apart
    if status == 429 or (status >= 500 and not odata.is_refusal(message)):
        return TransientError
    return PermanentError


class UT11Client(HttpClient):
    """``base_url`` is the OData root, ``http://host/<base>/odata/
    standard.odata``; ``version`` ('11.5' or '11.4') picks the registers."""

    def __init__(self, base_url, login, password, timeout=10,
            version='11.5', page_size=PAGE_SIZE, session=None):
        if version not in FREE_STOCK:
            raise ValueError(f'unsupported UT11 version {version!r}')
        # 1C user names are often Cyrillic: Basic credentials go as UTF-8
        super().__init__(base_url, timeout,
            auth=(login.encode('utf-8'), password.encode('utf-8')),
            headers={'Accept': 'application/json'}, session=session)
        self.version = version
        self.page_size = page_size

    def check(self, response):
        status = response.status_code
        if status < 400:
            return
        code, message = odata.parse_error(response.content)
        cls = _error_class(status, code, message)
        detail = self.describe(response)
        values = {'status': status, 'body': response.text,
            'detail': f'{message}\n\n{detail}' if message else detail}
        if cls is TransientError:
            values['retry_after'] = retry_after(response)
        exc = cls(message or self.reason(response), **values)
        exc.odata_code = code
        raise exc

    # -- plumbing ----------------------------------------------------------
    def _get(self, path, params):
        return odata.loads(self.request('GET', path, params=params).content)

    def _send(self, method, path, payload, data_version=None):
        headers = {'Content-Type': 'application/json;charset=utf-8'}
        if data_version:
            headers['If-Match'] = data_version
        response = self.request(method, path, params={'$format': 'json'},
            data=odata.dumps(payload), headers=headers)
        return odata.loads(response.content)

    def rows(self, path, select=None, filter=None, orderby='Ref_Key'):
        """Every row of an entity set or virtual table, one page at a time.

        A thread reads up to PREFETCH pages ahead while the caller works on
        the current one: a full load then waits on 1C and on its own
        database at the same time instead of in turn."""
        top = self.page_size
        pages = queue.Queue(maxsize=PREFETCH)
        stop = threading.Event()

        def produce():
            skip = 0
            try:
                while not stop.is_set():
                    page = self._get(path, odata.query(select, filter,
                            orderby, top, skip))['value']
                    pages.put(page)
                    if len(page) < top:
                        return
                    skip += top
            except BaseException as error:
                pages.put(error)
        reader = threading.Thread(target=produce, daemon=True)
        reader.start()
        try:
            while True:
                page = pages.get()
                if isinstance(page, BaseException):
                    raise page
                yield from page
                if len(page) < top:
                    return
        finally:
            stop.set()
            while reader.is_alive():   # unblock a reader waiting to put
                try:
                    pages.get_nowait()
                except queue.Empty:
                    reader.join(0.05)

    def count(self, path, filter=None):
        "How many rows rows() would give ($inlinecount), for progress"
        params = odata.query(('Ref_Key',), filter, top=1)
        params['$inlinecount'] = 'allpages'
        return int(self._get(path, params).get('odata.count') or 0)

    def get(self, entity_set, key, select=None):
        return self._get(object_path(entity_set, key),
            odata.query(select=select))

    def versions(self, entity_set, filter=None):
        """(Ref_Key, DataVersion) of every object: standard OData has no
        change feed, so incremental sync re-reads this cheap list and
        fetches the objects whose DataVersion differs from the stored one"""
        for row in self.rows(entity_set, ('Ref_Key', 'DataVersion'), filter):
            yield row['Ref_Key'], row['DataVersion']

    # -- catalogue ---------------------------------------------------------
    def products(self, filter=None):
        flt = 'IsFolder eq false' + (f' and ({filter})' if filter else '')
        for row in self.rows('Catalog_Номенклатура', PRODUCT, flt):
            yield parse_product(row)

    def product_groups(self):
        for row in self.rows('Catalog_Номенклатура', CATALOG + (
                'Parent_Key',), 'IsFolder eq true'):
            yield parse_group(row)

    def characteristics(self, product=None):
        flt = f'Owner_Key eq {odata.guid(product)}' if product else None
        for row in self.rows('Catalog_ХарактеристикиНоменклатуры', CATALOG
                + ('Owner_Key', 'НаименованиеПолное'), flt):
            yield parse_characteristic(row)

    def count_products(self):
        return self.count('Catalog_Номенклатура', 'IsFolder eq false')

    def barcodes(self):
        "Barcodes of product variants (ШтрихкодыНоменклатуры)"
        for row in self.rows('InformationRegister_ШтрихкодыНоменклатуры',
                ('Штрихкод', 'Номенклатура_Key', 'Характеристика_Key'),
                orderby='Штрихкод'):
            yield {'barcode': row['Штрихкод'],
                'product': ref(row.get('Номенклатура_Key')),
                'characteristic': ref(row.get('Характеристика_Key'))}

    def warehouses(self):
        for row in self.rows('Catalog_Склады', CATALOG + ('Parent_Key',
                'IsFolder', 'ТипСклада', 'КонтактнаяИнформация')):
            yield parse_warehouse(row)

    def partners(self):
        for row in self.rows('Catalog_Партнеры', CATALOG + (
                'НаименованиеПолное', 'Клиент', 'ЮрФизЛицо'),
                'IsFolder eq false'):
            yield parse_partner(row)

    def counterparties(self, inn=None):
        flt = 'IsFolder eq false' + (
            f' and ИНН eq {odata.string(inn)}' if inn else '')
        for row in self.rows('Catalog_Контрагенты', CATALOG + (
                'НаименованиеПолное', 'ИНН', 'КПП', 'Партнер_Key',
                'ЮридическоеФизическоеЛицо'), flt):
            yield parse_counterparty(row)

    # -- stock and prices --------------------------------------------------
    def free_stock(self, warehouses=None, version=None):
        """Free stock per product variant and warehouse, one warehouse at a
        time (ut11.md E: filter by warehouse for many SKUs)"""
        register, dim, plus, minus = FREE_STOCK[version or self.version]
        if warehouses is None:
            warehouses = [w['key'] for w in self.warehouses()
                if not w['is_group']]
        select = ('Номенклатура_Key', 'Характеристика_Key', dim) + plus + minus
        for warehouse in warehouses:
            path = odata.virtual_table(register, 'Balance',
                condition=f'{dim} eq {odata.guid(warehouse)}')
            rows = self.rows(path, select,
                orderby='Номенклатура_Key,Характеристика_Key')
            yield from _sum_variants(rows, warehouse, plus, minus)

    def free_stock_of(self, products, version=None):
        """Free stock per variant and warehouse of some products (1C GUIDs),
        rows as free_stock() gives them: a Balance condition names several
        products (``… or …``) per request.

        Unconfirmed: how 1C's OData parses a Condition of many ``or`` terms
        with doubled quotes (the simulator takes both quotings); the
        batching keeps each URL well under web servers' limits."""
        register, dim, plus, minus = FREE_STOCK[version or self.version]
        select = ('Номенклатура_Key', 'Характеристика_Key', dim) + plus + minus
        products = iter(sorted({p.lower() for p in products}))
        while part := list(islice(products, self.items_per_request())):
            path = odata.virtual_table(register, 'Balance',
                condition=odata.any_of('Номенклатура_Key', part))
            rows = self.rows(path, select,
                orderby='Номенклатура_Key,Характеристика_Key')
            yield from _sum_keys(rows, dim, plus, minus)

    @staticmethod
    def items_per_request():
        "How many products one free_stock_of() condition names"
        term = quote(" or Номенклатура_Key eq guid''"
            f"{odata.EMPTY_REF}''", safe="'")
        return max(1, min(ITEMS_PER_REQUEST, CONDITION_BYTES // len(term)))

    def stock_changes(self, since, until=None, version=None):
        """{(product, characteristic, warehouse)} whose free stock moved
        from since to until (the base's local time; until None: up to now).

        Turnovers of the free-stock register grouped by those dimensions.
        Unconfirmed against a real base: the Dimensions names (metadata
        names, without ``_Key``), and whether Turnovers stays fast on a
        big register (it should read the movements of the period only).
        A limit of the method: 1C dates register records by their
        document, so a back-dated document, or one unposted, changes
        stock without a movement in the period; the full refresh catches
        those."""
        register, dim, _, _ = FREE_STOCK[version or self.version]
        dims = ('Номенклатура_Key', 'Характеристика_Key', dim)
        path = odata.virtual_table(register, 'Turnovers', start=since,
            end=until, dimensions=[d.removesuffix('_Key') for d in dims])
        return {(row['Номенклатура_Key'], ref(row.get('Характеристика_Key')),
                ref(row.get(dim))) for row in self.rows(path, dims,
                orderby='Номенклатура_Key,Характеристика_Key')}

    def order_reserves(self, order, products, version=None):
        """What 1C holds in reserve for one customer order:
        {(product, characteristic, warehouse): quantity}.

        11.5: the order's rows of ЗапасыИПотребности (РезервироватьНаСкладе),
        read per product with the confirmed ``Номенклатура_Key`` condition
        and matched on ``Заказ`` here: filtering on a composite dimension
        may need ``cast(…)`` on a real server (unconfirmed).  11.4:
        СвободныеОстатки has no order dimension, so the posted order's
        reserving lines stand for its reserve."""
        if (version or self.version) == '11.4':
            return self._order_line_reserves(order)
        reserves = {}
        for product in sorted(set(products)):
            path = odata.virtual_table(FREE_STOCK['11.5'][0], 'Balance',
                condition=f'Номенклатура_Key eq {odata.guid(product)}')
            for row in self.rows(path, orderby='Номенклатура_Key'):
                if (ref(row.get('Заказ')) or '').lower() != order.lower():
                    continue
                key = (row['Номенклатура_Key'],
                    ref(row.get('Характеристика_Key')), ref(row.get('Склад')))
                reserves[key] = reserves.get(key, ZERO) + odata.number(
                    row.get('РезервироватьНаСкладеBalance'))
        return {k: q for k, q in reserves.items() if q}

    def _order_line_reserves(self, order):
        row = self.get(payloads.ORDER, order)
        reserves = {}
        if not row.get('Posted') or row.get('Статус') not in (
                'КОбеспечению', 'КОтгрузке'):
            return reserves
        for line in row.get('Товары', []):
            if line.get('Отменено') or line.get('ВариантОбеспечения') not in (
                    'СоСклада', 'Отгрузить'):
                continue
            key = (line['Номенклатура_Key'],
                ref(line.get('Характеристика_Key')),
                ref(line.get('Склад_Key')) or ref(row.get('Склад_Key')))
            reserves[key] = reserves.get(key, ZERO) + odata.number(
                line.get('Количество'))
        return reserves

    def prices(self, price_type, period=None, pricing25=None):
        """SliceLast of the price register for one price type; pricing 2.5
        (ЦеныНоменклатуры25) by default in 11.5"""
        if pricing25 is None:
            pricing25 = self.version == '11.5'
        register, characteristic = PRICES[pricing25]
        path = odata.virtual_table(register, 'SliceLast', period,
            f'ВидЦены_Key eq {odata.guid(price_type)}')
        for row in self.rows(path, ('Period', 'Номенклатура_Key',
                characteristic, 'ВидЦены_Key', 'Цена', 'Упаковка_Key',
                'Валюта_Key'), orderby=f'Номенклатура_Key,{characteristic}'):
            yield parse_price(row, characteristic)

    # -- documents ---------------------------------------------------------
    def document(self, entity_set, key):
        "Number, date, posted state and DataVersion of a document"
        return parse_document(self.get(entity_set, key, DOCUMENT))

    def find_documents(self, entity_set, field, value):
        "Documents not marked for deletion whose field equals value"
        flt = f'{field} eq {odata.string(value)} and DeletionMark eq false'
        return [parse_document(r) for r in self.rows(entity_set, DOCUMENT,
                flt)]

    def find_orders(self, hub_number):
        "Customer orders carrying the hub's order number"
        return self.find_documents(payloads.ORDER, 'НомерПоДаннымКлиента',
            str(hub_number))

    def documents_since(self, entity_set, date):
        "Documents dated from date on, for polling order states"
        return (parse_document(r) for r in self.rows(entity_set, DOCUMENT,
                f'Date ge {odata.datetime(date)}'))

    def post(self, entity_set, key, operational=False):
        self.request('POST', object_path(entity_set, key) + '/Post',
            params={'PostingModeOperational': str(operational).lower()})
        return self.document(entity_set, key)

    def unpost(self, entity_set, key):
        self.request('POST', object_path(entity_set, key) + '/Unpost')
        return self.document(entity_set, key)

    def create(self, entity_set, payload, post=True):
        """Create (idempotent when the payload has a Ref_Key) and post.

        A refused posting raises PermanentError and leaves the document
        written but not posted: a retry with the same Ref_Key posts it."""
        try:
            key = self._send('POST', entity_set, payload)['Ref_Key']
        except PermanentError as exc:
            if getattr(exc, 'odata_code', None) != '15' or not payload.get(
                    'Ref_Key'):
                raise
            key = payload['Ref_Key']
        if post:
            return self.post(entity_set, key)
        return self.document(entity_set, key)

    def update(self, entity_set, key, payload, post=True, data_version=None):
        "PATCH (tabular sections sent replace the old ones), then re-post"
        self._send('PATCH', object_path(entity_set, key), payload,
            data_version)
        if post:
            return self.post(entity_set, key)
        return self.document(entity_set, key)

    def save(self, entity_set, payload, post=True):
        """Create the document under the payload's Ref_Key or, when 1C has
        it already (a retry, a new attempt after a refusal), overwrite it
        with the payload; then post.  The hub's data wins either way.
        Without a Ref_Key, 1C assigns one: a plain create."""
        key = payload.get('Ref_Key')
        if not key:
            return self.create(entity_set, payload, post)
        try:
            self._send('POST', entity_set, payload)
        except PermanentError as exc:
            if getattr(exc, 'odata_code', None) != '15':
                raise
            body = {k: v for k, v in payload.items() if k != 'Ref_Key'}
            self._send('PATCH', object_path(entity_set, key), body)
        if post:
            return self.post(entity_set, key)
        return self.document(entity_set, key)

    def document_status(self, entity_set, key):
        "A document with its Статус (status) too"
        row = self.get(entity_set, key, DOCUMENT + ('Статус',))
        return {**parse_document(row), 'status': row.get('Статус') or None}

    def create_order(self, post=True, **values):
        # the hub's order wins: a document left by a refused attempt is
        # overwritten with the order as it is now, then posted
        return self.save(payloads.ORDER, payloads.order_payload(**values),
            post)

    def update_order(self, key, post=True, data_version=None, **values):
        return self.update(payloads.ORDER, key,
            payloads.order_update_payload(**values), post, data_version)

    def create_transfer_order(self, post=True, **values):
        return self.create(payloads.TRANSFER_ORDER,
            payloads.transfer_order_payload(**values), post)

    def create_transfer(self, post=True, **values):
        return self.create(payloads.TRANSFER,
            payloads.transfer_payload(**values), post)

    def receive_transfer(self, key):
        "Second step of a two-step transfer: Отгружено → Принято"
        return self.update(payloads.TRANSFER, key, {'Статус': 'Принято'})

    def create_sale(self, post=True, **values):
        return self.create(payloads.SALE, payloads.sale_payload(**values),
            post)

    def create_return(self, post=True, **values):
        return self.create(payloads.RETURN, payloads.return_payload(**values),
            post)


# -- inbound rows -----------------------------------------------------------

def _catalog(row):
    return {'key': row['Ref_Key'], 'version': row.get('DataVersion'),
        'deleted': row.get('DeletionMark', False), 'code': row.get('Code'),
        'name': row.get('Description')}


def parse_product(row):
    return {**_catalog(row), 'group': ref(row.get('Parent_Key')),
        'article': row.get('Артикул') or None,
        'full_name': row.get('НаименованиеПолное'),
        'marking': row.get('ОсобенностьУчета') or None,
        'has_characteristics': row.get('ИспользованиеХарактеристик', '')
        not in ('', 'НеИспользовать'),
        'unit': ref(row.get('ЕдиницаИзмерения_Key')),
        'vat_rate': ref(row.get('СтавкаНДС_Key')),
        'kind': ref(row.get('ВидНоменклатуры_Key'))}


def parse_group(row):
    return {**_catalog(row), 'parent': ref(row.get('Parent_Key'))}


def parse_characteristic(row):
    return {**_catalog(row), 'product': ref(row.get('Owner_Key')),
        'full_name': row.get('НаименованиеПолное')}


def parse_warehouse(row):
    contacts = {c.get('Тип'): c for c in row.get('КонтактнаяИнформация', [])}
    address = contacts.get('Адрес', {})
    return {**_catalog(row), 'parent': ref(row.get('Parent_Key')),
        'is_group': row.get('IsFolder', False),
        'type': row.get('ТипСклада') or None,
        'address': address.get('Представление') or None,
        'city': address.get('Город') or None,
        'region': address.get('Регион') or None,
        'phone': contacts.get('Телефон', {}).get('Представление') or None}


def parse_partner(row):
    return {**_catalog(row), 'full_name': row.get('НаименованиеПолное'),
        'is_customer': row.get('Клиент', False),
        'legal_form': row.get('ЮрФизЛицо') or None}


def parse_counterparty(row):
    return {**_catalog(row), 'full_name': row.get('НаименованиеПолное'),
        'inn': (row.get('ИНН') or '').strip() or None,
        'kpp': (row.get('КПП') or '').strip() or None,
        'partner': ref(row.get('Партнер_Key')),
        'legal_form': row.get('ЮридическоеФизическоеЛицо') or None}


def parse_price(row, characteristic='ХарактеристикаЦО_Key'):
    return {'product': row['Номенклатура_Key'],
        'characteristic': ref(row.get(characteristic)),
        'price_type': row.get('ВидЦены_Key'), 'price': odata.number(
            row.get('Цена')), 'package': ref(row.get('Упаковка_Key')),
        'currency': ref(row.get('Валюта_Key')),
        'period': odata.parse_date(row.get('Period'))}


def parse_document(row):
    return {'key': row['Ref_Key'], 'version': row.get('DataVersion'),
        'number': row.get('Number'), 'date': odata.parse_date(
            row.get('Date')), 'posted': row.get('Posted', False),
        'deleted': row.get('DeletionMark', False)}


def _sum_variants(rows, warehouse, plus, minus):
    """Free stock per variant from balance rows ordered by variant.

    11.5 gives a stock row and a row per reserving order for one variant:
    the adjacent rows of a variant are summed, across page boundaries too.
    """
    current, on_hand, reserved = None, ZERO, ZERO
    number = odata.number
    for row in rows:   # millions in a full load: kept plain
        variant = (row['Номенклатура_Key'], row['Характеристика_Key'])
        if variant != current:
            if current is not None:
                yield _stock(current, warehouse, on_hand, reserved)
            current, on_hand, reserved = variant, ZERO, ZERO
        for field in plus:
            on_hand += number(row.get(field))
        for field in minus:
            reserved += number(row.get(field))
    if current is not None:
        yield _stock(current, warehouse, on_hand, reserved)


def _sum_keys(rows, dim, plus, minus):
    """Free stock per variant and warehouse from balance rows in any order
    (a few products' worth: kept in memory)"""
    number = odata.number
    totals = {}
    for row in rows:
        key = (row['Номенклатура_Key'], row['Характеристика_Key'], row[dim])
        on_hand, reserved = totals.get(key, (ZERO, ZERO))
        totals[key] = (on_hand + sum(number(row.get(f)) for f in plus),
            reserved + sum(number(row.get(f)) for f in minus))
    for (product, characteristic, warehouse), (on_hand, reserved) \
            in totals.items():
        yield _stock((product, characteristic), warehouse, on_hand, reserved)


def _stock(variant, warehouse, on_hand, reserved):
    return {'product': variant[0], 'characteristic': ref(variant[1]),
        'warehouse': warehouse, 'on_hand': on_hand, 'reserved': reserved,
        'free': on_hand - reserved}
