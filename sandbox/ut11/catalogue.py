"""The catalogue: reference data every document needs, products with sizes
(characteristics), warehouses, prices (ЦеныНоменклатуры, SliceLast) and
barcodes; the demo data set and generated N x M sets for load tests."""
import itertools
import random
import uuid
from decimal import Decimal

from .metadata import ZERO
from .odata import EMPTY_REF, normalize_date, to_decimal
from .storage import Generated, Table, ean13, stable_ref


class Catalogue:
    "Seeding and reading the catalogue (a part of UT11Simulator)"

    def _seed_reference_data(self):
        "Organisation, currency, units, price types: what every order needs"
        ref = self.refs
        add = self._add
        ref['org'] = add('Catalog_Организации', Ref_Key=stable_ref('org'),
            Description='ООО «Модный дом»',
            НаименованиеПолное='Общество с ограниченной ответственностью '
            '«Модный дом»', ИНН='7701234567', КПП='770101001',
            Префикс='ЦБ')['Ref_Key']
        ref['rub'] = add('Catalog_Валюты', Ref_Key=stable_ref('rub'),
            Code='643', Description='руб.',
            НаименованиеПолное='Российский рубль')['Ref_Key']
        ref['pcs'] = add('Catalog_УпаковкиЕдиницыИзмерения',
            Ref_Key=stable_ref('pcs'), Code='796', Description='шт',
            НаименованиеПолное='Штука')['Ref_Key']
        ref['vat20'] = add('Catalog_СтавкиНДС', Ref_Key=stable_ref('vat20'),
            Description='20%')['Ref_Key']
        add('Catalog_СтавкиНДС', Ref_Key=stable_ref('novat'),
            Description='Без НДС')
        ref['retail'] = add('Catalog_ВидыЦен', Ref_Key=stable_ref('retail'),
            Description='Розничная', ВалютаЦены_Key=ref['rub'],
            ЦенаВключаетНДС=True)['Ref_Key']
        ref['wholesale'] = add('Catalog_ВидыЦен',
            Ref_Key=stable_ref('wholesale'), Description='Оптовая',
            ВалютаЦены_Key=ref['rub'], ЦенаВключаетНДС=True)['Ref_Key']
        ref['agreement'] = add('Catalog_СоглашенияСКлиентами',
            Ref_Key=stable_ref('agreement'), Description='Розничные продажи',
            Организация_Key=ref['org'], ВидЦен_Key=ref['retail'],
            Валюта_Key=ref['rub'], Статус='Действует')['Ref_Key']
        for kind, marking in (('Обувь', 'ОбувнаяПродукция'),
                ('Одежда', 'ЛегкаяПромышленность'),
                ('Одежда без маркировки', ''), ('Аксессуары', '')):
            ref['kind:' + kind] = add('Catalog_ВидыНоменклатуры',
                Ref_Key=stable_ref('kind', kind), Description=kind,
                ТипНоменклатуры='Товар', ОсобенностьУчета=marking,
                ИспользованиеХарактеристик='ИндивидуальныеДляНоменклатуры'
                )['Ref_Key']
        for reason in ('Отказ клиента', 'Нет в наличии'):
            add('Catalog_ПричиныОтменыЗаказовКлиентов',
                Ref_Key=stable_ref('cancel', reason), Description=reason)
        self._seed_partners()

    def _seed_partners(self):
        add, ref = self._add, self.refs
        retail = add('Catalog_Партнеры', Ref_Key=stable_ref('partner', 'retail'),
            Description='Розничный покупатель',
            НаименованиеПолное='Розничный покупатель', Клиент=True,
            ЮрФизЛицо='ЧастноеЛицо')['Ref_Key']
        add('Catalog_Контрагенты', Ref_Key=stable_ref('cp', 'retail'),
            Description='Розничный покупатель',
            НаименованиеПолное='Розничный покупатель',
            ЮридическоеФизическоеЛицо='ФизическоеЛицо', Партнер_Key=retail)
        company = add('Catalog_Партнеры', Ref_Key=stable_ref('partner', 'b2b'),
            Description='Стиль и Ко', НаименованиеПолное='ООО «Стиль и Ко»',
            Клиент=True, ЮрФизЛицо='Компания')['Ref_Key']
        add('Catalog_Контрагенты', Ref_Key=stable_ref('cp', 'b2b'),
            Description='ООО «Стиль и Ко»',
            НаименованиеПолное='Общество с ограниченной ответственностью '
            '«Стиль и Ко»', ИНН='7712345671', КПП='771201001',
            ЮридическоеФизическоеЛицо='ЮридическоеЛицо', Партнер_Key=company)
        ref['partner'] = retail

    def _load_dataset(self, data):
        "Add groups, products with sizes, warehouses, stock and prices"
        groups = {}
        for group in data.get('groups', []):
            groups[group['name']] = self._add('Catalog_Номенклатура',
                Ref_Key=stable_ref('group', group['name']), IsFolder=True,
                Description=group['name'], Parent_Key=groups.get(
                    group.get('parent'), EMPTY_REF))['Ref_Key']
        variants = {}
        for product in data.get('products', []):
            variants.update(self._load_product(product, groups))
        warehouses = {w['name']: self._load_warehouse(w)
            for w in data.get('warehouses', [])}
        for line in data.get('stock', []):
            item, char = variants[(line['article'], line.get('size'))]
            key = (item, char, warehouses[line['warehouse']])
            self.ledger.onhand[key] = to_decimal(line['quantity'])
        for line in data.get('prices', []):
            item, _ = variants[(line['article'], None)]
            self._add_price(item, line['price'], line.get('price_type'),
                line.get('period'))
        return {'products': len(data.get('products', [])),
            'warehouses': warehouses, 'variants': len(variants)}

    def _load_product(self, product, groups):
        kind = product.get('kind') or ('Обувь' if product.get('marking') ==
            'ОбувнаяПродукция' else 'Одежда' if product.get('marking')
            else 'Одежда без маркировки')
        sizes = product.get('sizes') or []
        item = self._add('Catalog_Номенклатура',
            Ref_Key=stable_ref('item', product['article']),
            Description=product['name'], НаименованиеПолное=product['name'],
            Артикул=product['article'],
            Parent_Key=groups.get(product.get('group'), EMPTY_REF),
            ВидНоменклатуры_Key=self.refs.get('kind:' + kind, EMPTY_REF),
            ЕдиницаИзмерения_Key=self.refs['pcs'], ТипНоменклатуры='Товар',
            ИспользованиеХарактеристик='ИндивидуальныеДляНоменклатуры'
            if sizes else 'НеИспользовать',
            ОсобенностьУчета=product.get('marking', ''),
            СтавкаНДС_Key=self.refs['vat20'])['Ref_Key']
        variants = {(product['article'], None): (item, EMPTY_REF)}
        for size in sizes:
            char = self._add('Catalog_ХарактеристикиНоменклатуры',
                Ref_Key=stable_ref('size', product['article'], str(size)),
                Owner_Key=item, Description=str(size),
                НаименованиеПолное=f'{product["name"]}, {size}')['Ref_Key']
            variants[(product['article'], str(size))] = (item, char)
        for _, char in variants.values():
            body = f'46{len(self.barcodes) + 1:010d}'
            self.barcodes.append({'Штрихкод': ean13(body),
                'Номенклатура_Key': item, 'Характеристика_Key': char,
                'Упаковка_Key': EMPTY_REF})
        if product.get('price') is not None:
            self._add_price(item, product['price'])
            self._add_price(item, to_decimal(product['price']) * Decimal('0.6'),
                'Оптовая')
        return variants

    def _load_warehouse(self, wh):
        contact = [{'Тип': 'Адрес', 'Вид_Key': stable_ref('ci', 'wh-address'),
            'Представление': wh['address'], 'Страна': 'РОССИЯ',
            'Регион': wh.get('region', wh['city']), 'Город': wh['city'],
            'ЗначенияПолей': ''}]
        if wh.get('phone'):
            contact.append({'Тип': 'Телефон', 'Вид_Key': stable_ref('ci',
                'wh-phone'), 'Представление': wh['phone'],
                'НомерТелефона': wh['phone']})
        return self._add('Catalog_Склады',
            Ref_Key=stable_ref('wh', wh['name']), Description=wh['name'],
            ТипСклада=wh.get('type', 'РозничныйМагазин'),
            РозничныйВидЦены_Key=self.refs['retail'],
            УчетныйВидЦены_Key=self.refs['retail'],
            КонтролироватьОперативныеОстатки=True,
            КонтактнаяИнформация=contact)['Ref_Key']

    def _add_price(self, item, price, price_type=None, period=None,
            characteristic=EMPTY_REF):
        kind = {'Розничная': 'retail', 'Оптовая': 'wholesale', None: 'retail'}
        pt = self.refs.get(kind.get(price_type, ''), price_type)
        self.prices.append({'Period': normalize_date(period or '2024-01-01'),
            'Номенклатура_Key': item, 'Характеристика_Key': characteristic,
            'ВидЦены_Key': pt, 'Цена': to_decimal(price).quantize(
                Decimal('0.01')), 'Упаковка_Key': EMPTY_REF,
            'Валюта_Key': self.refs['rub'], 'Формула': '',
            'МаркетинговоеМероприятие_Key': EMPTY_REF})

    def _generate(self, products, warehouses):
        """N products x M warehouses, computed on demand.

        Stock and prices are functions of the indexes; only changes are
        stored, so 100k x 30 costs nothing until queried.
        """
        self._reset_data()
        tag = uuid.uuid4().hex[:12]
        generated = Generated(products, None, tag)
        self.tables['Catalog_Номенклатура'] = Table(generated)
        groups = [self._add('Catalog_Номенклатура', IsFolder=True,
                Description=f'Группа {g + 1:02d}')['Ref_Key']
            for g in range(10)]
        refs = self.refs
        kind_key = refs['kind:Одежда без маркировки']

        def build(i, key):
            return {'Ref_Key': key, 'DataVersion': 'AAAAAQAAAAA=',
                'DeletionMark': False, 'Code': f'{self.ib_prefix}-{i + 1:08d}',
                'Description': f'Товар {i + 1:06d}', 'Predefined': False,
                'PredefinedDataName': '', 'Parent_Key': groups[i % 10],
                'IsFolder': False, 'Артикул': f'ART-{i + 1:06d}',
                'НаименованиеПолное': f'Товар {i + 1:06d}',
                'ВидНоменклатуры_Key': kind_key,
                'ЕдиницаИзмерения_Key': refs['pcs'],
                'ТипНоменклатуры': 'Товар',
                'ИспользованиеХарактеристик': 'НеИспользовать',
                'ОсобенностьУчета': '', 'СтавкаНДС_Key': refs['vat20'],
                'Описание': ''}

        generated.builder = build
        cities = ['Москва', 'Санкт-Петербург', 'Казань', 'Екатеринбург',
            'Новосибирск', 'Нижний Новгород']
        wh_keys = [self._load_warehouse({'name': 'Центральный склад'
                if j == 0 else f'Магазин №{j}', 'city': cities[j % 6],
                'address': f'г. {cities[j % 6]}, ул. Торговая, д. {j + 1}',
                'type': 'ОптовыйСклад' if j == 0 else 'РозничныйМагазин'})
            for j in range(warehouses)]
        self.ledger.generated = (generated, {k: j for j, k in
                enumerate(wh_keys)}, _generated_qty)
        self.generated_prices = generated
        self.generated_barcodes = generated
        return {'products': products, 'warehouses': wh_keys}

    def _price_rows(self, entity):
        "All records of a price register (the plain entity set)"
        if not self._price_register_active(entity):
            return iter(())
        explicit = (self._price_view(entity, r) for r in self.prices)
        return itertools.chain(self._generated_price_rows(entity), explicit)

    def _price_register_active(self, entity):
        # 11.5 keeps prices in ЦеныНоменклатуры25 after migration; the old
        # register stays published but empty
        return not (self.version == '11.5'
            and entity.name == 'InformationRegister_ЦеныНоменклатуры')

    def _generated_price_rows(self, entity, item=None):
        products = self.generated_prices
        if not products:
            return
        indexes = range(products.count) if item is None else [
            i for i in [products.index(item)] if i is not None]
        for i in indexes:
            for pt, factor in ((self.refs['retail'], 1),
                    (self.refs['wholesale'], Decimal('0.6'))):
                price = (Decimal(100 + (i * 37) % 9900) * factor).quantize(
                    Decimal('0.01'))
                yield self._price_view(entity, {'Period': '2024-01-01T00:00:00',
                    'Номенклатура_Key': products.key(i),
                    'Характеристика_Key': EMPTY_REF, 'ВидЦены_Key': pt,
                    'Цена': price, 'Упаковка_Key': EMPTY_REF,
                    'Валюта_Key': self.refs['rub'], 'Формула': '',
                    'МаркетинговоеМероприятие_Key': EMPTY_REF})

    @staticmethod
    def _price_view(entity, record):
        "Internal price record in the field names of the given register"
        if entity.name.endswith('25'):
            row = {'Period': record['Period'],
                'Номенклатура_Key': record['Номенклатура_Key'],
                'ХарактеристикаЦО_Key': record['Характеристика_Key'],
                'СерияЦО_Key': EMPTY_REF, 'УпаковкаЦО_Key': EMPTY_REF}
            row.update({k: record[k] for k in ('ВидЦены_Key', 'Цена',
                'Упаковка_Key', 'Валюта_Key', 'МаркетинговоеМероприятие_Key',
                'Формула')})
            return row
        return {k: record[k] for k in entity.fields}

    def _slice_last(self, entity, period, eq):
        "Latest price per item/characteristic/price type on or before period"
        period = period or '9999-12-31T23:59:59'
        char_field = ('ХарактеристикаЦО_Key' if entity.name.endswith('25')
            else 'Характеристика_Key')
        item = eq.get('Номенклатура_Key')
        latest = {}
        if self._price_register_active(entity):
            for record in self.prices:
                view = self._price_view(entity, record)
                if view['Period'] > period or (item and
                        view['Номенклатура_Key'] != item):
                    continue
                dims = (view['Номенклатура_Key'], view[char_field],
                    view['ВидЦены_Key'])
                if dims not in latest or latest[dims]['Period'] <= view[
                        'Period']:
                    latest[dims] = view
            generated = self._generated_price_rows(entity, item)
        else:
            generated = iter(())
        for row in generated:
            dims = (row['Номенклатура_Key'], row[char_field],
                row['ВидЦены_Key'])
            if dims not in latest and row['Period'] <= period:
                yield row
        yield from latest.values()

    def _barcode_rows(self):
        yield from self.barcodes
        products = self.generated_barcodes
        if products:
            for i in range(products.count):
                yield {'Штрихкод': ean13(f'2{i:011d}'),
                    'Номенклатура_Key': products.key(i),
                    'Характеристика_Key': EMPTY_REF,
                    'Упаковка_Key': EMPTY_REF}


SHOE_SIZES = ['39', '40', '41', '42', '43', '44']


LETTER_SIZES = ['S', 'M', 'L', 'XL']


def demo_dataset():
    """Clothing and shoes, a central warehouse in Moscow and seven shops.

    Stock is spread unevenly with a fixed seed: plenty in the centre, a few
    pieces or none in shops.
    """
    groups = [{'name': 'Одежда'}, {'name': 'Обувь'},
        {'name': 'Аксессуары'}] + [{'name': n, 'parent': p} for n, p in (
            ('Куртки', 'Одежда'), ('Футболки и поло', 'Одежда'),
            ('Джинсы и брюки', 'Одежда'), ('Платья', 'Одежда'),
            ('Толстовки', 'Одежда'), ('Кроссовки', 'Обувь'),
            ('Ботинки', 'Обувь'), ('Туфли', 'Обувь'))]
    shoes, light = 'ОбувнаяПродукция', 'ЛегкаяПромышленность'
    products = [
        ('КР-1001', 'Кроссовки беговые AirRun', 'Кроссовки', SHOE_SIZES, shoes, 6990),
        ('КР-1002', 'Кроссовки кожаные City белые', 'Кроссовки', SHOE_SIZES, shoes, 8490),
        ('КР-1003', 'Кеды текстильные Classic', 'Кроссовки', SHOE_SIZES, shoes, 3490),
        ('БТ-2001', 'Ботинки зимние мужские Nord', 'Ботинки', ['41', '42', '43', '44', '45'], shoes, 11990),
        ('БТ-2002', 'Челси женские замшевые', 'Ботинки', ['36', '37', '38', '39'], shoes, 9490),
        ('ТФ-3001', 'Туфли лодочки кожаные', 'Туфли', ['36', '37', '38', '39', '40'], shoes, 7990),
        ('КТ-4001', 'Куртка пуховая мужская Alaska', 'Куртки', ['48', '50', '52', '54'], light, 18990),
        ('КТ-4002', 'Парка женская утеплённая', 'Куртки', ['42', '44', '46', '48'], light, 15490),
        ('КТ-4003', 'Ветровка унисекс Breeze', 'Куртки', LETTER_SIZES, light, 4990),
        ('ФТ-5001', 'Футболка хлопковая базовая белая', 'Футболки и поло', LETTER_SIZES + ['XXL'], light, 990),
        ('ФТ-5002', 'Футболка оверсайз с принтом', 'Футболки и поло', LETTER_SIZES, '', 1490),
        ('ФТ-5003', 'Поло мужское пике', 'Футболки и поло', LETTER_SIZES + ['XXL'], light, 2490),
        ('ДЖ-6001', 'Джинсы slim fit синие', 'Джинсы и брюки', ['30', '32', '34', '36'], '', 3990),
        ('ДЖ-6002', 'Брюки чинос бежевые', 'Джинсы и брюки', ['46', '48', '50', '52'], '', 3490),
        ('ДЖ-6003', 'Джинсы mom fit женские', 'Джинсы и брюки', ['26', '27', '28', '29'], '', 4290),
        ('ПЛ-7001', 'Платье трикотажное миди', 'Платья', ['XS', 'S', 'M', 'L'], '', 3290),
        ('ПЛ-7002', 'Платье льняное летнее', 'Платья', ['42', '44', '46', '48'], '', 4590),
        ('ТЛ-8001', 'Худи с капюшоном серое', 'Толстовки', LETTER_SIZES, light, 2990),
        ('ТЛ-8002', 'Свитшот флисовый', 'Толстовки', LETTER_SIZES, '', 2590),
        ('АК-9001', 'Шапка вязаная', 'Аксессуары', [], '', 890),
        ('АК-9002', 'Носки спортивные, 3 пары', 'Аксессуары', [], '', 490),
        ]
    warehouses = [
        ('Центральный склад', 'Москва', 'Москва', 'г. Москва, ул. Складочная, д. 1, стр. 3', 'ОптовыйСклад'),
        ('Магазин «Авиапарк»', 'Москва', 'Москва', 'г. Москва, Ходынский б-р, д. 4, ТРЦ «Авиапарк»', 'РозничныйМагазин'),
        ('Магазин на Тверской', 'Москва', 'Москва', 'г. Москва, ул. Тверская, д. 15', 'РозничныйМагазин'),
        ('Магазин «Галерея»', 'Санкт-Петербург', 'Санкт-Петербург', 'г. Санкт-Петербург, Лиговский пр-кт, д. 30А, ТРЦ «Галерея»', 'РозничныйМагазин'),
        ('Магазин на Невском', 'Санкт-Петербург', 'Санкт-Петербург', 'г. Санкт-Петербург, Невский пр-кт, д. 71', 'РозничныйМагазин'),
        ('Магазин на Баумана', 'Казань', 'Татарстан Респ', 'Республика Татарстан, г. Казань, ул. Баумана, д. 44', 'РозничныйМагазин'),
        ('Магазин «Гринвич»', 'Екатеринбург', 'Свердловская обл', 'Свердловская обл., г. Екатеринбург, ул. 8 Марта, д. 46, ТЦ «Гринвич»', 'РозничныйМагазин'),
        ('Магазин на Красном проспекте', 'Новосибирск', 'Новосибирская обл', 'Новосибирская обл., г. Новосибирск, Красный пр-кт, д. 101', 'РозничныйМагазин'),
        ]
    rng = random.Random(20240601)
    stock = []
    for article, _, _, sizes, _, _ in products:
        for size in sizes or [None]:
            for n, wh in enumerate(warehouses):
                qty = rng.randint(5, 40) if n == 0 else rng.choice(
                    [0, 0, 0, 1, 1, 2, 3, 5])
                if qty:
                    stock.append({'article': article, 'size': size,
                        'warehouse': wh[0], 'quantity': qty})
    prices = [  # summer sale: newer prices for SliceLast to pick
        {'article': 'КТ-4003', 'price': 3990, 'period': '2024-06-01'},
        {'article': 'ФТ-5002', 'price': 990, 'period': '2024-06-01'}]
    return {'groups': groups,
        'products': [{'article': a, 'name': n, 'group': g, 'sizes': s,
                'marking': m, 'price': p} for a, n, g, s, m, p in products],
        'warehouses': [{'name': n, 'city': c, 'region': r, 'address': a,
                'type': t, 'phone': '+7 495 000-00-00' if c == 'Москва'
                else None} for n, c, r, a, t in warehouses],
        'stock': stock, 'prices': prices}


def _generated_qty(i, j):
    "Uneven deterministic stock: a third of the pairs are empty"
    h = (i * 2654435761 + j * 40503 + 12345) % 1000003
    if h % 3 == 0:
        return ZERO
    return Decimal(h % 60 if j == 0 else h % 8)
