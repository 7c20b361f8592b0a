"""Simulator of 1C:Управление торговлей 11 through its standard OData interface.

Follows /work/shared/docs/external/ut11.md: ``/<publication>/odata/
standard.odata/<EntitySet>`` with Cyrillic entity names, HTTP Basic auth,
``guid'…'`` keys, ``DataVersion``, ``Post``/``Unpost`` bound actions and
``odata.error`` bodies.  Stock is kept in a small ledger so that posting
documents moves it: customer orders reserve, transfers move, sales write
off and release the reserve, returns put stock back.  See notes/ut11.md.
"""
import base64
import collections
import datetime
import itertools
import json
import logging
import random
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Response, request

from .core import Simulator, control, route
from .ut11_odata import (
    EMPTY_DATE, EMPTY_REF, GUID_RE, INTERNAL_ERROR, ODataError, Query,
    alternatives, atom_entry, atom_feed, compile_filter, dumps, equalities,
    error_body, merge_by_key, metadata_document, metadata_level,
    normalize_date,
    parse_function_args, parse_key, service_document, split_segment,
    to_decimal, wants_json)

log = logging.getLogger('sandbox.ut11')
ODATA_ROOT = '/<publication>/odata/standard.odata'
ODATA_METHODS = ('GET', 'POST', 'PATCH', 'PUT', 'MERGE', 'DELETE')
ZERO = Decimal(0)
UNDEFINED_TYPE = 'StandardODATA.Undefined'

# -- metadata ------------------------------------------------------------------

_TYPE_CODES = {'b': 'bool', 'n': 'num', 'd': 'date', 'e': 'enum', 's': 'str',
    'a': 'any', 't': 'type'}
_DEFAULTS = {'guid': EMPTY_REF, 'str': '', 'enum': '', 'bool': False,
    'num': ZERO, 'date': EMPTY_DATE, 'any': '', 'type': UNDEFINED_TYPE}


def spec(*texts):
    """'Code IsFolder:b Цена:n' -> {name: type}; names ending _Key are GUIDs.

    Types: b bool, n number, d date, e enum (value name), a composite value,
    t its ``_Type`` companion; strings otherwise.
    """
    fields = {}
    for item in ' '.join(texts).split():
        name, _, code = item.partition(':')
        fields[name] = _TYPE_CODES[code] if code else (
            'guid' if name.endswith('_Key') else 'str')
    return fields


CATALOG = ('Ref_Key DataVersion DeletionMark:b Code Description Predefined:b '
    'PredefinedDataName')
HIERARCHY = 'Parent_Key IsFolder:b'
DOCUMENT = 'Ref_Key DataVersion DeletionMark:b Number Date:d Posted:b'
ORDER_ROW = ('LineNumber Номенклатура_Key Характеристика_Key Упаковка_Key '
    'КоличествоУпаковок:n Количество:n ВидЦены_Key Цена:n Сумма:n '
    'СтавкаНДС_Key СуммаНДС:n СуммаСНДС:n ПроцентРучнойСкидки:n '
    'СуммаРучнойСкидки:n ПроцентАвтоматическойСкидки:n '
    'СуммаАвтоматическойСкидки:n Склад_Key ВариантОбеспечения:e '
    'ДатаОтгрузки:d Отменено:b ПричинаОтмены_Key КодСтроки:n КлючСвязи:n '
    'Серия_Key Обособленно:b СрокПоставки:n Содержание ИдентификаторСтроки '
    'СуммаБонусныхБалловКСписанию:n СуммаНачисленныхБонусныхБалловВВалюте:n')


class EntitySet:
    """One published object: its fields, tabular sections and behaviour.

    kind is catalog, document, balance (accumulation register virtual table
    Balance), periodic or plain (information registers).
    """

    def __init__(self, name, kind, fields=None, tabular=None, synonym='',
            code_length=None, versions=('11.4', '11.5'), statuses=()):
        self.name = name
        self.kind = kind
        self.fields = fields or {}
        self.tabular = tabular or {}
        self.synonym = synonym
        self.code_length = code_length
        self.versions = versions
        self.statuses = statuses

    @property
    def keyed(self):
        return self.kind in ('catalog', 'document')

    def all_fields(self):
        return {**self.fields, **{t: 'list' for t in self.tabular}}


def _catalog(name, extra='', tabular=None, code_length=9, versions=None):
    return EntitySet(f'Catalog_{name}', 'catalog', spec(CATALOG, extra),
        {k: spec('Ref_Key', v) for k, v in (tabular or {}).items()},
        code_length=code_length, versions=versions or ('11.4', '11.5'))


def _document(name, synonym, extra, tabular, statuses=()):
    return EntitySet(f'Document_{name}', 'document', spec(DOCUMENT, extra),
        {k: spec('Ref_Key', v) for k, v in tabular.items()}, synonym=synonym,
        statuses=statuses)


ORDER_STATUSES = ('НеСогласован', 'КОбеспечению', 'КОтгрузке', 'Закрыт')
SUPPLY_VARIANTS = ('Отгрузить', 'СоСклада', 'РезервироватьПоМереПоступления',
    'КОбеспечению', 'НеТребуется', 'ПереданРанее',
    'УдалитьОтгрузитьОбособленно', 'УдалитьОбособленно')
# order lines with these variants take stock from the warehouse when posted
RESERVING_VARIANTS = ('СоСклада', 'Отгрузить')

ENTITY_SETS = {s.name: s for s in [
    _catalog('Номенклатура', HIERARCHY + ' Артикул НаименованиеПолное '
        'ВидНоменклатуры_Key ЕдиницаИзмерения_Key ТипНоменклатуры:e '
        'ИспользованиеХарактеристик:e ОсобенностьУчета:e СтавкаНДС_Key '
        'Описание', code_length=11),
    _catalog('ХарактеристикиНоменклатуры', 'Owner_Key НаименованиеПолное'),
    _catalog('ВидыНоменклатуры', HIERARCHY + ' ТипНоменклатуры:e '
        'ОсобенностьУчета:e ИспользованиеХарактеристик:e'),
    _catalog('УпаковкиЕдиницыИзмерения', 'НаименованиеПолное'),
    _catalog('Контрагенты', HIERARCHY + ' НаименованиеПолное ИНН КПП '
        'ЮридическоеФизическоеЛицо:e Партнер_Key'),
    _catalog('Партнеры', HIERARCHY + ' НаименованиеПолное Клиент:b '
        'Поставщик:b ЮрФизЛицо:e'),
    _catalog('КонтактныеЛицаПартнеров', 'Owner_Key'),
    _catalog('СоглашенияСКлиентами', 'Партнер_Key Организация_Key '
        'ВидЦен_Key Валюта_Key Статус:e'),
    _catalog('ДоговорыКонтрагентов', 'Контрагент_Key Партнер_Key '
        'Организация_Key'),
    _catalog('Склады', HIERARCHY + ' ТипСклада:e РозничныйВидЦены_Key '
        'УчетныйВидЦены_Key Подразделение_Key '
        'КонтролироватьОперативныеОстатки:b '
        'ИспользоватьОрдернуюСхемуПриОтгрузке:b '
        'ИспользоватьОрдернуюСхемуПриПоступлении:b '
        'ИспользоватьАдресноеХранение:b ИспользоватьСкладскиеПомещения:b',
        tabular={'КонтактнаяИнформация': 'LineNumber Тип:e Вид_Key '
            'Представление ЗначенияПолей Страна Регион Город АдресЭП '
            'НомерТелефона'}),
    _catalog('Организации', 'НаименованиеПолное ИНН КПП Префикс'),
    _catalog('ВидыЦен', 'ВалютаЦены_Key ЦенаВключаетНДС:b'),
    _catalog('Валюты', 'НаименованиеПолное', code_length=3),
    _catalog('СтавкиНДС', versions=('11.5',)),
    _catalog('ПричиныОтменыЗаказовКлиентов'),
    _document('ЗаказКлиента', 'Заказ клиента',
        'Организация_Key Партнер_Key Контрагент_Key Соглашение_Key '
        'Договор_Key Сделка_Key Валюта_Key СуммаДокумента:n Склад_Key '
        'ЦенаВключаетНДС:b НалогообложениеНДС:e Менеджер_Key Статус:e '
        'Согласован:b ДатаСогласования:d ХозяйственнаяОперация:e '
        'ФормаОплаты:e ДатаОтгрузки:d НеОтгружатьЧастями:b СпособДоставки:e '
        'АдресДоставки ЗонаДоставки_Key ВремяДоставкиС:d ВремяДоставкиПо:d '
        'КонтактноеЛицо_Key КартаЛояльности_Key НомерПоДаннымКлиента '
        'ДатаПоДаннымКлиента:d Комментарий ДокументОснование:a '
        'ДокументОснование_Type:t Приоритет_Key ПорядокРасчетов:e '
        'ПорядокОплаты:e ГрафикОплаты_Key СуммаАвансаДоОбеспечения:n '
        'СуммаПредоплатыДоОтгрузки:n ЭтоЗаказКакСчет:b Автор_Key '
        'МаксимальныйКодСтроки:n',
        {'Товары': ORDER_ROW,
            'ЭтапыГрафикаОплаты': 'LineNumber ВариантОплаты:e ДатаПлатежа:d '
            'ПроцентПлатежа:n СуммаПлатежа:n ПроцентЗалогаЗаТару:n '
            'СуммаЗалогаЗаТару:n',
            'СкидкиНаценки': 'LineNumber КлючСвязи:n СкидкаНаценка_Key Сумма:n',
            'ДополнительныеРеквизиты': 'LineNumber Свойство_Key Значение:a '
            'Значение_Type:t ТекстоваяСтрока'},
        ORDER_STATUSES),
    _document('ЗаказНаПеремещение', 'Заказ на перемещение',
        'Организация_Key ОрганизацияПолучатель_Key СкладОтправитель_Key '
        'СкладПолучатель_Key Статус:e ХозяйственнаяОперация:e '
        'ЖелаемаяДатаПоступления:d ДокументОснование:a '
        'ДокументОснование_Type:t СпособДоставки:e Комментарий Ответственный_Key',
        {'Товары': 'LineNumber Номенклатура_Key Характеристика_Key '
            'Упаковка_Key КоличествоУпаковок:n Количество:n '
            'ВариантОбеспечения:e НачалоОтгрузки:d ОкончаниеПоступления:d '
            'Отменено:b ПричинаОтмены_Key КодСтроки:n Назначение_Key '
            'Серия_Key Обособленно:b'},
        ('НаСогласовании', 'КВыполнению', 'Закрыт', 'УдалитьКОбеспечению')),
    _document('ПеремещениеТоваров', 'Перемещение товаров',
        'Организация_Key ОрганизацияПолучатель_Key СкладОтправитель_Key '
        'СкладПолучатель_Key ЗаказНаПеремещение_Key ПеремещениеПоЗаказам:b '
        'Статус:e ДатаПоступления:d ХозяйственнаяОперация:e Комментарий '
        'Ответственный_Key',
        {'Товары': 'LineNumber Номенклатура_Key Характеристика_Key '
            'Упаковка_Key КоличествоУпаковок:n Количество:n '
            'ЗаказНаПеремещение_Key Назначение_Key Серия_Key КодСтроки:n'},
        ('Отгружено', 'Принято')),
    _document('РеализацияТоваровУслуг', 'Реализация товаров и услуг',
        'Организация_Key Партнер_Key Контрагент_Key Соглашение_Key '
        'Договор_Key Склад_Key Валюта_Key СуммаДокумента:n ЦенаВключаетНДС:b '
        'НалогообложениеНДС:e ХозяйственнаяОперация:e ЗаказКлиента_Key '
        'РеализацияПоЗаказам:b Статус:e Согласован:b СпособДоставки:e '
        'АдресДоставки КартаЛояльности_Key Менеджер_Key Комментарий',
        {'Товары': ORDER_ROW + ' ЗаказКлиента_Key СуммаВзаиморасчетов:n '
            'АналитикаУчетаНоменклатуры_Key'},
        ('КПредоплате', 'ВПути', 'Отгружено')),
    _document('ВозвратТоваровОтКлиента', 'Возврат товаров от клиента',
        'Организация_Key Партнер_Key Контрагент_Key Соглашение_Key '
        'Договор_Key Склад_Key Валюта_Key СуммаДокумента:n ЦенаВключаетНДС:b '
        'ДокументРеализации:a ДокументРеализации_Type:t '
        'ЗаявкаНаВозвратТоваровОтКлиента_Key ХозяйственнаяОперация:e '
        'СпособКомпенсации:e ВозвратПорчи:b Комментарий',
        {'Товары': 'LineNumber Номенклатура_Key Характеристика_Key '
            'Упаковка_Key КоличествоУпаковок:n Количество:n Цена:n Сумма:n '
            'СтавкаНДС_Key СуммаНДС:n СуммаСНДС:n ДокументРеализации:a '
            'ДокументРеализации_Type:t Порча:b КодСтроки:n'}),
    EntitySet('AccumulationRegister_ТоварыНаСкладах', 'balance', spec(
            'Номенклатура_Key Характеристика_Key Назначение_Key Склад_Key '
            'Помещение_Key Серия_Key ВНаличииBalance:n КОтгрузкеBalance:n')),
    EntitySet('AccumulationRegister_ЗапасыИПотребности', 'balance', spec(
            'Номенклатура_Key Характеристика_Key Склад Склад_Type:t '
            'Назначение_Key Заказ:a Заказ_Type:t ДатаСобытия:d '
            'ВНаличииBalance:n ПоступитBalance:n ЗаказаноBalance:n '
            'РезервироватьНаСкладеBalance:n '
            'РезервироватьПоМереПоступленияBalance:n '
            'ОтложитьРезервированиеBalance:n КОбеспечениюBalance:n '
            'НеОбеспечиватьBalance:n'), versions=('11.5',)),
    EntitySet('AccumulationRegister_СвободныеОстатки', 'balance', spec(
            'Номенклатура_Key Характеристика_Key Склад_Key ВНаличииBalance:n '
            'ВРезервеСоСкладаBalance:n ВРезервеПодЗаказBalance:n'),
        versions=('11.4',)),
    EntitySet('InformationRegister_ЦеныНоменклатуры25', 'periodic', spec(
            'Period:d Номенклатура_Key ХарактеристикаЦО_Key СерияЦО_Key '
            'УпаковкаЦО_Key ВидЦены_Key Цена:n Упаковка_Key Валюта_Key '
            'МаркетинговоеМероприятие_Key Формула'), versions=('11.5',)),
    EntitySet('InformationRegister_ЦеныНоменклатуры', 'periodic', spec(
            'Period:d Номенклатура_Key Характеристика_Key ВидЦены_Key Цена:n '
            'Упаковка_Key Валюта_Key Формула МаркетинговоеМероприятие_Key')),
    EntitySet('InformationRegister_ШтрихкодыНоменклатуры', 'plain', spec(
            'Штрихкод Номенклатура_Key Характеристика_Key Упаковка_Key')),
    ]}

ENUMS = {'ВариантОбеспечения': SUPPLY_VARIANTS}


def tabular_sets():
    "Document_X_Товары style sets: rows of a tabular section, read only"
    sets = {}
    for entity in ENTITY_SETS.values():
        for section, fields in entity.tabular.items():
            name = f'{entity.name}_{section}'
            sets[name] = EntitySet(name, 'tabular', fields,
                versions=entity.versions)
            sets[name].owner, sets[name].section = entity, section
    return sets


TABULAR_SETS = tabular_sets()


# -- identifiers ---------------------------------------------------------------

def new_ref():
    "A fresh reference in 1C's time-based GUID shape"
    return str(uuid.uuid1()).lower()


def stable_ref(*parts):
    "The same GUID for the same demo object on every reset"
    h = uuid.uuid5(uuid.NAMESPACE_URL, 'ut11:' + ':'.join(parts)).hex
    return f'{h[:8]}-{h[8:12]}-11ee-{h[16:20]}-{h[20:32]}'


def ean13(body12):
    digits = [int(c) for c in body12]
    check = (10 - sum(d * (3 if i % 2 else 1)
            for i, d in enumerate(digits)) % 10) % 10
    return body12 + str(check)


def local_now(timezone='Europe/Moscow'):
    "The base's clock: 1C keeps local time, without a time zone (A.3)"
    return datetime.datetime.now(ZoneInfo(timezone)).strftime(
        '%Y-%m-%dT%H:%M:%S')


def presentation_date(date):
    return datetime.datetime.strptime(date, '%Y-%m-%dT%H:%M:%S').strftime(
        '%d.%m.%Y %H:%M:%S')


class PostingRefused(Exception):
    "Posting checks failed; the message goes to the client"


# -- storage -------------------------------------------------------------------

class Generated:
    """A large catalogue built on demand: row i is computed, not stored.

    Keys encode the row index so lookups by key need no index; they sort in
    index order, which makes paging ordered by Ref_Key lazy.
    """

    def __init__(self, count, builder, tag):
        self.count = count
        self.builder = builder
        self.tag = tag

    def key(self, i):
        return f'{i:08x}-0000-11ee-8000-{self.tag}'

    def index(self, key):
        if key[8:] != f'-0000-11ee-8000-{self.tag}':
            return None
        i = int(key[:8], 16)
        return i if i < self.count else None

    def build(self, i):
        return self.builder(i, self.key(i))


class Table:
    "The rows of one catalog or document, optionally over a Generated set"

    def __init__(self, generated=None):
        self.rows = {}
        self.generated = generated
        self.overrides = {}
        self.deleted = set()

    def get(self, key):
        if key in self.rows:
            return self.rows[key]
        if key in self.overrides:
            return self.overrides[key]
        i = self.generated.index(key) if self.generated else None
        if i is None or key in self.deleted:
            return None
        return self.generated.build(i)

    def put(self, row):
        key = row['Ref_Key']
        if self.generated and self.generated.index(key) is not None:
            self.overrides[key] = row
            self.deleted.discard(key)
        else:
            self.rows[key] = row

    def delete(self, key):
        self.rows.pop(key, None)
        self.overrides.pop(key, None)
        if self.generated and self.generated.index(key) is not None:
            self.deleted.add(key)

    def _generated_rows(self):
        if not self.generated:
            return
        for i in range(self.generated.count):
            key = self.generated.key(i)
            if key in self.deleted:
                continue
            yield self.overrides.get(key) or self.generated.build(i)

    def __iter__(self):
        return itertools.chain(self._generated_rows(), list(self.rows.values()))

    def iter_by_key(self):
        explicit = sorted(self.rows.values(), key=lambda r: r['Ref_Key'])
        return merge_by_key(self._generated_rows(), explicit)

    def __len__(self):
        generated = (self.generated.count - len(self.deleted)
            if self.generated else 0)
        return generated + len(self.rows)


class Movement(collections.namedtuple('Movement',
        'time key order onhand reserve')):
    """One change of the ledger: when (the base's local time, to the
    second), which (item, characteristic, warehouse), for which order (a
    reserve) and by how much on hand and reserved"""


class Ledger:
    """Stock on hand and reserves, the simulator's stand-in for registers.

    Keys are (item, characteristic, warehouse).  An order's effective
    reserve is what it reserved minus what was shipped against it, so sales
    release the reserve without touching the order.

    Every change is journalled as a :class:`Movement` at the clock's time:
    the Turnovers virtual tables are computed from that journal.  A real
    base dates register records by their document's date and deletes them
    when the document is unposted; the simulator journals when the change
    happens and an unposting as a movement back (see notes/ut11.md).
    """

    def __init__(self, clock=None):
        self.onhand = {}
        self.reserves = collections.defaultdict(dict)   # order -> key -> qty
        self.shipped = collections.defaultdict(dict)    # order -> key -> qty
        self.orders_by_key = collections.defaultdict(set)
        self.generated = None    # (products Generated, warehouse keys, qty)
        self.clock = clock or local_now
        self.movements = []

    def on_hand(self, key):
        if key in self.onhand:
            return self.onhand[key]
        return self._generated_qty(key)

    def _generated_qty(self, key):
        if not self.generated:
            return ZERO
        products, wh_index, qty = self.generated
        item, char, wh = key
        i = products.index(item)
        j = wh_index.get(wh)
        if char != EMPTY_REF or i is None or j is None:
            return ZERO
        return qty(i, j)

    def order_reserve(self, order, key):
        left = (self.reserves.get(order, {}).get(key, ZERO)
            - self.shipped.get(order, {}).get(key, ZERO))
        return max(left, ZERO)

    def reserved(self, key, exclude=()):
        return sum((self.order_reserve(order, key)
                for order in self.orders_by_key.get(key, ())
                if order not in exclude), ZERO)

    def available(self, key, exclude=()):
        "On hand less the reserves of orders other than exclude"
        return self.on_hand(key) - self.reserved(key, exclude)

    def apply(self, effects, sign=1):
        for kind, order, key, qty in effects:
            qty = qty * sign
            if kind == 'onhand':
                self.set_on_hand(key, self.on_hand(key) + qty)
                continue
            before = self.order_reserve(order, key)
            if kind == 'reserve':
                book = self.reserves[order]
                book[key] = book.get(key, ZERO) + qty
                self.orders_by_key[key].add(order)
            elif kind == 'shipped':
                book = self.shipped[order]
                book[key] = book.get(key, ZERO) + qty
            self._journal(key, order, ZERO, self.order_reserve(order, key)
                - before)

    def set_on_hand(self, key, quantity):
        self._journal(key, None, quantity - self.on_hand(key), ZERO)
        self.onhand[key] = quantity

    def _journal(self, key, order, onhand, reserve):
        if onhand or reserve:
            self.movements.append(Movement(self.clock(), key, order, onhand,
                    reserve))

    def movements_between(self, start=None, end=None):
        "Movements from start to end, both included (None: unbounded)"
        return [m for m in self.movements if (start is None
                or m.time >= start) and (end is None or m.time <= end)]

    def keys(self, item=None, warehouse=None):
        """Every key with stock or reserves, lazily, narrowed when asked
        (item: one item or a set of them)"""
        items = {item} if isinstance(item, str) else item
        if self.generated:
            products, wh_index, _ = self.generated
            wh_keys = list(wh_index)
            indexes = (range(products.count) if items is None else sorted(
                    i for i in map(products.index, items) if i is not None))
            whs = wh_keys if warehouse is None else [
                w for w in wh_keys if w == warehouse]
            for i in indexes:
                for wh in whs:
                    yield (products.key(i), EMPTY_REF, wh)
        for key in set(self.onhand) | set(self.orders_by_key):
            if self.generated and self._generated_covers(key):
                continue
            if (items is None or key[0] in items) and (
                    warehouse is None or key[2] == warehouse):
                yield key

    def _generated_covers(self, key):
        products, wh_index, _ = self.generated
        return (key[1] == EMPTY_REF and products.index(key[0]) is not None
            and key[2] in wh_index)


# -- the simulator -------------------------------------------------------------

class UT11Simulator(Simulator):
    name = 'ut11'
    default_port = 8107

    # -- state -------------------------------------------------------------
    def init_state(self):
        self.user, self.password = 'odata', 'odata'
        self.publication = 'ut'
        self.version = '11.5'
        self.ib_prefix = '00'
        self.timezone = 'Europe/Moscow'
        self.unpublished = set()
        self.refusals = collections.defaultdict(list)
        self._version_counter = itertools.count(1)
        self._reset_data()
        self._load_dataset(demo_dataset())

    def _reset_data(self):
        self.generation = getattr(self, 'generation', 0) + 1
        self.paging = None
        self.tables = {name: Table() for name, s in ENTITY_SETS.items()
            if s.keyed}
        self.ledger = Ledger(clock=self.now)
        self.effects = {}
        self.counters = collections.Counter()
        self.prices = []
        self.generated_prices = None
        self.barcodes = []
        self.generated_barcodes = None
        self.refs = {}
        self.order_types = {}   # order key -> entity set, for Заказ_Type
        self._seed_reference_data()

    def now(self):
        "The base's local time, to the second, as 1C writes dates"
        return local_now(getattr(self, 'timezone', 'Europe/Moscow'))

    def _data_version(self):
        n = next(self._version_counter)
        return base64.b64encode(n.to_bytes(4, 'big') + bytes(4)).decode()

    def _new_row(self, entity):
        row = {name: _DEFAULTS[t] for name, t in entity.fields.items()}
        row.update({section: [] for section in entity.tabular})
        row['Ref_Key'] = new_ref()
        return row

    def _assign_code(self, entity, row):
        "Codes/numbers like 1C's autonumbering: prefix + zero padding"
        self.counters[entity.name] += 1
        n = self.counters[entity.name]
        if entity.kind == 'document':
            org = self.tables['Catalog_Организации'].get(
                row.get('Организация_Key', EMPTY_REF))
            prefix = (org['Префикс'] if org else '') + self.ib_prefix + '-'
            row['Number'] = prefix + str(n).zfill(11 - len(prefix))
        elif entity.code_length == 11:
            prefix = self.ib_prefix + '-'
            row['Code'] = prefix + str(n).zfill(11 - len(prefix))
        else:
            row['Code'] = str(n).zfill(entity.code_length or 9)

    def _add(self, entity_name, **values):
        "Create a catalog item or document from Python values (seeding)"
        entity = ENTITY_SETS[entity_name]
        row = self._new_row(entity)
        tabular = {k: values.pop(k) for k in list(values) if k in entity.tabular}
        row.update(values)
        for section, lines in tabular.items():
            row[section] = [self._complete_line(entity, section, row, i, line)
                for i, line in enumerate(lines, 1)]
        if entity.kind == 'catalog' and not row['Code']:
            self._assign_code(entity, row)
        row['DataVersion'] = self._data_version()
        self.tables[entity_name].put(row)
        return row

    def _complete_line(self, entity, section, owner, n, line):
        fields = entity.tabular[section]
        full = {name: _DEFAULTS[t] for name, t in fields.items()}
        full.update(line)
        full['Ref_Key'], full['LineNumber'] = owner['Ref_Key'], str(n)
        return full

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

    # -- datasets ----------------------------------------------------------
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

    # -- HTTP --------------------------------------------------------------
    @route(ODATA_ROOT, methods=ODATA_METHODS)
    @route(ODATA_ROOT + '/', methods=ODATA_METHODS)
    @route(ODATA_ROOT + '/<path:rest>', methods=ODATA_METHODS)
    def _handle(self, publication, rest=''):
        if publication != self.publication:
            # the web server, not 1C, answers for an unknown publication
            return Response('Not Found', 404, content_type='text/html')
        as_json = wants_json(request)
        try:
            self._authenticate()
            return self._route(rest, as_json)
        except ODataError as exc:
            return self._error(exc, as_json)
        except Exception:   # a simulator bug still answers like 1C does
            log.exception('ut11: unhandled error')
            return self._error(ODataError(500, -1, INTERNAL_ERROR), as_json)

    def _error(self, exc, as_json):
        body, ctype = error_body(exc.code, exc.message, as_json)
        response = Response(body, exc.status, content_type=ctype)
        if exc.status == 401:
            response.headers['WWW-Authenticate'] = 'Basic realm="1C:Enterprise"'
        return response

    def fault_response(self, kind, status, rule):
        as_json = wants_json(request)
        if kind == 'rate_limit':
            message = ('Превышено допустимое количество одновременных '
                'запросов. Повторите попытку позже.')
            body, ctype = error_body(-1, message, as_json)
            return Response(body, status or 429, content_type=ctype)
        body, ctype = error_body(-1, INTERNAL_ERROR, as_json)
        return Response(body, status or 500, content_type=ctype)

    def _authenticate(self):
        auth = request.headers.get('Authorization', '')
        scheme, _, value = auth.partition(' ')
        if scheme.lower() == 'basic':
            try:
                raw = base64.b64decode(value, validate=True)
                try:
                    text = raw.decode('utf-8')
                except UnicodeDecodeError:
                    text = raw.decode('latin-1')
                user, _, password = text.partition(':')
            except ValueError:
                user = password = None
            if (user, password) == (self.user, self.password):
                return
        raise ODataError(401, 20, 'Ошибка аутентификации: неверное имя '
            'пользователя или пароль')

    def _base(self):
        return request.host_url.rstrip('/') + (
            f'/{self.publication}/odata/standard.odata')

    def _route(self, rest, as_json):
        segments = _split_path(rest)
        method = request.method
        if not segments:
            self._only(method, 'GET')
            return self._xml(service_document(self._base() + '/',
                    sorted(self._published())))
        if segments == ['$metadata']:
            self._only(method, 'GET')
            return self._xml(self._metadata())
        name, args = split_segment(segments[0])
        entity = self._entity(name)
        tail = segments[1:]
        if entity.kind in ('catalog', 'document'):
            return self._object_request(entity, args, tail, as_json)
        if entity.kind == 'tabular':
            return self._tabular_request(entity, args, tail, as_json)
        return self._register_request(entity, args, tail, as_json)

    def _published(self):
        names = {**ENTITY_SETS, **TABULAR_SETS}
        return {n for n, e in names.items() if self.version in e.versions
            and n not in self.unpublished}

    def _entity(self, name):
        entity = ENTITY_SETS.get(name) or TABULAR_SETS.get(name)
        if entity is None or name not in self._published():
            raise ODataError(404, 6, f'Неверный URL: сущность "{name}" не '
                'найдена')
        return entity

    @staticmethod
    def _only(method, *allowed):
        if method not in allowed:
            raise ODataError(405, 19, f'Метод HTTP {method} запрещен для '
                'данного ресурса')

    def _xml(self, text, status=200):
        return Response(text, status, content_type='application/xml;'
            'charset=utf-8')

    def _metadata(self):
        types = {}
        for name in sorted(self._published()):
            entity = ENTITY_SETS.get(name) or TABULAR_SETS[name]
            types[name] = (entity.fields, entity.tabular, entity.keyed)
        return metadata_document(types)

    # -- catalogs and documents ----------------------------------------
    def _object_request(self, entity, args, tail, as_json):
        method = request.method
        if args is None:
            if tail == ['$count']:
                self._only(method, 'GET')
                with self.lock:
                    count = len(self.tables[entity.name])
                return Response(str(count), 200, content_type='text/plain')
            if tail:
                raise ODataError(400, 6, 'Неверный URL: лишние сегменты')
            self._only(method, 'GET', 'POST')
            if method == 'GET':
                return self._list(entity, self.tables[entity.name], as_json)
            return self._create(entity, as_json)
        key = parse_key(args)
        if tail:
            return self._action(entity, key, tail, as_json)
        self._only(method, 'GET', 'PATCH', 'MERGE', 'PUT', 'DELETE')
        if method == 'GET':
            with self.lock:
                row = self._get(entity, key)
                return self._entity_response(entity, row, as_json)
        if method == 'DELETE':
            self._delete(entity, key)
            return Response(status=204)
        return self._update(entity, key, replace=method == 'PUT',
            as_json=as_json)

    def _get(self, entity, key):
        row = self.tables[entity.name].get(key)
        if row is None:
            raise ODataError(404, 9, 'Экземпляр сущности не найден')
        return row

    def _list(self, entity, source, as_json):
        query = Query(request.args, entity.all_fields())
        with self.lock:
            rows, count = self._run(query, source)
            return self._collection_response(entity.name, rows, count,
                as_json, query)

    def _run(self, query, source):
        """query.run(source), continuing a paged read where its previous
        page stopped, as a database walks a sorted index: ordering and
        skipping everything again for each $skip page would make reading
        100,000 products quadratic.  Any write starts over."""
        key = (request.path, tuple(sorted(
                    (k, v) for k, v in request.args.items(multi=True)
                    if k not in ('$top', '$skip'))), self.generation)
        resume = None
        if self.paging and self.paging[:2] == (key, query.skip):
            resume = self.paging[2]
        page, count, rest = query.run(source, resume)
        self.paging = ((key, query.skip + len(page), rest)
            if query.top and len(page) == query.top else None)
        return page, count

    def _before(self):
        if request.method != 'GET':
            self.generation += 1
        return super()._before()

    def _collection_response(self, name, rows, count, as_json, query=None):
        if not as_json:
            return self._xml(atom_feed(self._base(), name, rows, count))
        level = metadata_level(request)
        body = {}
        if level != 'nometadata':
            select = f'&$select={",".join(query.select)}' if (
                query and query.select) else ''
            body['odata.metadata'] = f'{self._base()}/$metadata#{name}{select}'
        if count is not None:
            body['odata.count'] = str(count)
        body['value'] = [self._decorate(name, r, level) for r in rows]
        return Response(dumps(body), 200,
            content_type='application/json;charset=utf-8')

    def _entity_response(self, entity, row, as_json, status=200):
        if not as_json:
            return self._xml(atom_entry(self._base(), entity.name, row), status)
        level = metadata_level(request)
        body = {}
        if level != 'nometadata':
            body['odata.metadata'] = (f'{self._base()}/$metadata#'
                f'{entity.name}/@Element')
        body.update(self._decorate(entity.name, row, level))
        response = Response(dumps(body), status,
            content_type='application/json;charset=utf-8')
        if status == 201:
            response.headers['Location'] = (f"{self._base()}/{entity.name}"
                f"(guid'{row['Ref_Key']}')")
        return response

    @staticmethod
    def _decorate(name, row, level):
        "fullmetadata adds navigation links next to every reference"
        if level != 'fullmetadata' or 'Ref_Key' not in row:
            return row
        out = {}
        link = f"{name}(guid'{row['Ref_Key']}')"
        for field, value in row.items():
            out[field] = value
            if field.endswith('_Key') and field != 'Ref_Key':
                out[f'{field[:-4]}@navigationLinkUrl'] = f'{link}/{field[:-4]}'
        return out

    def _body(self):
        try:
            body = json.loads(request.get_data(as_text=True) or 'null',
                parse_float=Decimal)
        except ValueError:
            raise ODataError(400, 1, 'Ошибка разбора тела запроса: '
                'неверный формат JSON')
        if not isinstance(body, dict):
            raise ODataError(400, 2, 'Неверный формат запроса: ожидается '
                'объект JSON')
        return body

    def _create(self, entity, as_json):
        body = self._body()
        with self.lock:
            row = self._new_row(entity)
            key = body.get('Ref_Key')
            if key is not None:
                row['Ref_Key'] = self._convert(entity.name, 'Ref_Key', 'guid',
                    key)
                if self.tables[entity.name].get(row['Ref_Key']):
                    raise ODataError(409, 15, 'Объект с таким ключом уже '
                        'существует')
            self._assign(entity, row, body)
            self._write(entity, row)
            return self._entity_response(entity, row, as_json, 201)

    def _update(self, entity, key, replace, as_json):
        body = self._body()
        with self.lock:
            current = self._get(entity, key)
            self._check_version(current)
            if replace:
                row = self._new_row(entity)
                row['Ref_Key'] = key
            else:
                row = {k: (list(v) if isinstance(v, list) else v)
                    for k, v in current.items()}
            row['Posted'] = current.get('Posted', False)
            self._assign(entity, row, body)
            if (entity.kind == 'document' and row['DeletionMark']
                    and row['Posted']):
                # marking a posted document for deletion unposts it
                self._unpost(entity, row)
            self._write(entity, row)
            return self._entity_response(entity, row, as_json)

    def _write(self, entity, row):
        if entity.kind == 'document':
            if not row['Number']:
                self._assign_code(entity, row)
            if row['Date'] == EMPTY_DATE:
                row['Date'] = datetime.datetime.now().strftime(
                    '%Y-%m-%dT%H:%M:%S')
        elif not row['Code'] and entity.code_length:
            self._assign_code(entity, row)
        row['DataVersion'] = self._data_version()
        self.tables[entity.name].put(row)

    def _check_version(self, row):
        expected = request.headers.get('If-Match')
        if expected and expected != '*':
            expected = expected.removeprefix('W/').strip('"')
            if expected != row['DataVersion']:
                raise ODataError(412, -1, 'Версия объекта не совпадает с '
                    'версией в информационной базе (объект изменен другим '
                    'пользователем)')

    def _delete(self, entity, key):
        with self.lock:
            row = self._get(entity, key)
            self._check_version(row)
            if entity.kind == 'document' and row['Posted']:
                self.ledger.apply(self.effects.pop(key, []), -1)
            self.tables[entity.name].delete(key)

    def _assign(self, entity, row, body):
        for name, value in body.items():
            if name in ('Ref_Key', 'DataVersion', 'Posted') or '@' in name \
                    or name.startswith('odata.') or name.endswith(
                        '____Presentation'):
                continue    # read-only or annotations
            if name in entity.tabular:
                row[name] = self._convert_lines(entity, name, row, value)
            elif name in entity.fields:
                row[name] = self._convert(entity.name, name,
                    entity.fields[name], value, entity.statuses)
            else:
                raise ODataError(400, 10, f'Не найдено свойство "{name}" '
                    f'у сущности "{entity.name}"')

    def _convert_lines(self, entity, section, row, lines):
        if not isinstance(lines, list):
            raise ODataError(400, 4, f'Неверное значение свойства "{section}"')
        fields = entity.tabular[section]
        result = []
        for n, line in enumerate(lines, 1):
            if not isinstance(line, dict):
                raise ODataError(400, 4, f'Неверное значение свойства '
                    f'"{section}"')
            full = {name: _DEFAULTS[t] for name, t in fields.items()}
            for name, value in line.items():
                if name in ('Ref_Key', 'LineNumber') or '@' in name:
                    continue
                if name not in fields:
                    raise ODataError(400, 10, f'Не найдено свойство "{name}" '
                        f'у строки табличной части "{section}"')
                full[name] = self._convert(section, name, fields[name], value)
            full['Ref_Key'], full['LineNumber'] = row['Ref_Key'], str(n)
            result.append(full)
        return result

    @staticmethod
    def _convert(owner, name, kind, value, statuses=()):
        "Client JSON value -> stored value, or 1C's invalid-value error"
        try:
            if kind == 'guid':
                if not isinstance(value, str) or not GUID_RE.match(value):
                    raise ValueError
                return value.lower()
            if kind == 'num':
                return to_decimal(value)
            if kind == 'bool':
                if not isinstance(value, bool):
                    raise ValueError
                return value
            if kind == 'date':
                return normalize_date(value)
            if not isinstance(value, str):
                raise ValueError
            allowed = statuses if name == 'Статус' else ENUMS.get(name)
            if kind == 'enum' and allowed and value and value not in allowed:
                raise ValueError
            return value
        except ValueError:
            raise ODataError(400, 4, f'Неверное значение свойства "{name}": '
                f'{value!r}')

    # -- posting ---------------------------------------------------------
    def _action(self, entity, key, tail, as_json):
        if len(tail) != 1 or entity.kind != 'document' or tail[0] not in (
                'Post', 'Unpost'):
            raise ODataError(400, 11, f'Метод "{"/".join(tail)}" не найден')
        self._only(request.method, 'POST')
        with self.lock:
            row = self._get(entity, key)
            if tail[0] == 'Post':
                self._post(entity, row)
            else:
                self._unpost(entity, row)
                row['DataVersion'] = self._data_version()
        return Response(status=200)

    def _post(self, entity, row):
        key = row['Ref_Key']
        try:
            refusal = self._take_refusal(entity.name)
            if refusal:
                raise PostingRefused(refusal)
            if row['DeletionMark']:
                raise PostingRefused('Документ помечен на удаление и не может '
                    'быть проведен')
            old = self.effects.pop(key, [])
            self.ledger.apply(old, -1)
            try:
                effects = POSTING_RULES[entity.name](self, row)
            except PostingRefused:
                self.ledger.apply(old, 1)
                if old:
                    self.effects[key] = old
                raise
        except PostingRefused as exc:
            title = (f'Не удалось провести "{entity.synonym} {row["Number"]} '
                f'от {presentation_date(row["Date"])}"!')
            raise ODataError(500, -1, f'{title}\n{exc}')
        self.ledger.apply(effects, 1)
        self.effects[key] = effects
        row['Posted'] = True
        row['DataVersion'] = self._data_version()

    def _unpost(self, entity, row):
        self.ledger.apply(self.effects.pop(row['Ref_Key'], []), -1)
        row['Posted'] = False

    def _take_refusal(self, name):
        queue = self.refusals.get(name)
        if not queue:
            return None
        message, remaining = queue[0]
        if remaining is not None:
            remaining -= 1
            if remaining <= 0:
                queue.pop(0)
            else:
                queue[0] = (message, remaining)
        return message

    # -- posting rules: each returns ledger effects or raises PostingRefused
    def _require(self, row, *fields):
        errors = [f'Поле "{f.removesuffix("_Key")}" не заполнено'
            for f in fields if row[f] in (EMPTY_REF, '', EMPTY_DATE)]
        if not row['Товары']:
            errors.append('Не заполнен список "Товары"')
        for line in row['Товары']:
            n = line['LineNumber']
            item = self.tables['Catalog_Номенклатура'].get(
                line['Номенклатура_Key'])
            if item is None or item['IsFolder']:
                errors.append(f'Не заполнена колонка "Номенклатура" в строке '
                    f'{n} списка "Товары"')
            if line['Количество'] <= 0:
                errors.append(f'Не заполнена колонка "Количество" в строке {n} '
                    'списка "Товары"')
        if errors:
            raise PostingRefused('\n'.join(errors))

    def _check_stock(self, needs, exclude=()):
        "needs: {key: qty}; refuse like UT11 when free stock is short"
        errors = []
        for key, qty in needs.items():
            free = self.ledger.available(key, exclude)
            if qty > free:
                errors.append(f'Недостаточно свободного остатка товара '
                    f'"{self._variant_name(key)}" на складе '
                    f'"{self._name("Catalog_Склады", key[2])}": свободно '
                    f'{_num(max(free, ZERO))} шт, требуется {_num(qty)} шт')
        if errors:
            raise PostingRefused('\n'.join(errors))

    def _name(self, table, key):
        row = self.tables[table].get(key)
        return row['Description'] if row else '<Объект не найден>'

    def _variant_name(self, key):
        name = self._name('Catalog_Номенклатура', key[0])
        if key[1] != EMPTY_REF:
            name += ', ' + self._name('Catalog_ХарактеристикиНоменклатуры',
                key[1])
        return name

    def _reserve_effects(self, row, statuses, warehouse_of):
        "Reserve lines of an order (customer or transfer) when it is active"
        if row['Статус'] not in statuses:
            return []
        needs = collections.Counter()
        for line in row['Товары']:
            if line['Отменено'] or line['ВариантОбеспечения'] not in \
                    RESERVING_VARIANTS:
                continue
            warehouse = warehouse_of(line)
            if warehouse == EMPTY_REF:
                raise PostingRefused(f'Не заполнена колонка "Склад" в строке '
                    f'{line["LineNumber"]} списка "Товары"')
            key = (line['Номенклатура_Key'], line['Характеристика_Key'],
                warehouse)
            needs[key] += line['Количество']
        exclude = {row['Ref_Key']}
        self._check_stock({k: q for k, q in needs.items()
                if self._controls_stock(k[2])}, exclude=exclude)
        for key, qty in needs.items():
            if not self._controls_stock(key[2]):
                # simplification: an unchecked warehouse reserves what is
                # free and leaves the rest to be supplied (КОбеспечению)
                needs[key] = min(qty, max(self.ledger.available(
                            key, exclude), ZERO))
        return [('reserve', row['Ref_Key'], k, q) for k, q in needs.items()
            if q > 0]

    def _controls_stock(self, warehouse):
        "КонтролироватьОперативныеОстатки: posting refuses a shortage"
        row = self.tables['Catalog_Склады'].get(warehouse)
        return row is None or row['КонтролироватьОперативныеОстатки']

    def _post_customer_order(self, row):
        self._require(row, 'Организация_Key', 'Партнер_Key', 'Контрагент_Key',
            'Статус')
        self.order_types[row['Ref_Key']] = 'Document_ЗаказКлиента'
        return self._reserve_effects(row, ('КОбеспечению', 'КОтгрузке'),
            lambda line: line['Склад_Key'] if line['Склад_Key'] != EMPTY_REF
            else row['Склад_Key'])

    def _post_transfer_order(self, row):
        self._require(row, 'Организация_Key', 'СкладОтправитель_Key',
            'СкладПолучатель_Key', 'Статус')
        self._same_warehouses(row)
        self.order_types[row['Ref_Key']] = 'Document_ЗаказНаПеремещение'
        return self._reserve_effects(row, ('КВыполнению',),
            lambda line: row['СкладОтправитель_Key'])

    def _same_warehouses(self, row):
        if row['СкладОтправитель_Key'] == row['СкладПолучатель_Key']:
            raise PostingRefused('Склад-отправитель и склад-получатель '
                'совпадают')

    def _shipment_effects(self, lines):
        """Write stock off; lines are (key, qty, order or None).

        The orders' own reserves are available to the shipment.
        """
        needs, effects = collections.Counter(), []
        orders = set()
        for key, qty, order in lines:
            needs[key] += qty
            effects.append(('onhand', None, key, -qty))
            if order:
                orders.add(order)
                effects.append(('shipped', order, key, qty))
        self._check_stock(needs, exclude=orders)
        return effects

    def _post_transfer(self, row):
        self._require(row, 'Организация_Key', 'СкладОтправитель_Key',
            'СкладПолучатель_Key')
        self._same_warehouses(row)
        lines = []
        for line in row['Товары']:
            order = _ref(line['ЗаказНаПеремещение_Key']) or _ref(
                row['ЗаказНаПеремещение_Key'])
            lines.append(((line['Номенклатура_Key'],
                line['Характеристика_Key'], row['СкладОтправитель_Key']),
                line['Количество'], order))
        effects = self._shipment_effects(lines)
        if row['Статус'] != 'Отгружено':
            # one-step transfer, or the receiving half of a two-step one
            effects += [('onhand', None, (k[0], k[1],
                    row['СкладПолучатель_Key']), q) for k, q, _ in lines]
        return effects

    def _post_sale(self, row):
        self._require(row, 'Организация_Key', 'Партнер_Key', 'Контрагент_Key')
        if row['Статус'] == 'КПредоплате':
            return []   # nothing leaves the warehouse before prepayment
        lines = []
        for line in row['Товары']:
            warehouse = _ref(line['Склад_Key']) or row['Склад_Key']
            if warehouse == EMPTY_REF:
                raise PostingRefused('Поле "Склад" не заполнено')
            order = _ref(line['ЗаказКлиента_Key']) or _ref(
                row['ЗаказКлиента_Key'])
            lines.append(((line['Номенклатура_Key'],
                line['Характеристика_Key'], warehouse), line['Количество'],
                order))
        return self._shipment_effects(lines)

    def _post_return(self, row):
        self._require(row, 'Организация_Key', 'Партнер_Key', 'Контрагент_Key',
            'Склад_Key')
        return [('onhand', None, (line['Номенклатура_Key'],
                line['Характеристика_Key'], row['Склад_Key']),
                line['Количество']) for line in row['Товары']]

    # -- registers and tabular sections ----------------------------------
    def _tabular_request(self, entity, args, tail, as_json):
        if request.method == 'POST':
            raise ODataError(400, 13, 'Создание строк табличной части '
                'напрямую не поддерживается')
        self._only(request.method, 'GET')
        if args is not None or tail:
            raise ODataError(400, 0, 'Обращение к строке табличной части по '
                'ключу не поддерживается симулятором')
        table = self.tables[entity.owner.name]
        rows = (line for doc in table for line in doc[entity.section])
        return self._list(entity, rows, as_json)

    def _register_request(self, entity, args, tail, as_json):
        self._only(request.method, 'GET')
        if args is not None:
            raise ODataError(400, 6, 'Неверный URL: лишние сегменты')
        if not tail:
            if entity.kind == 'balance':
                raise ODataError(400, 0, 'Чтение записей регистра накопления '
                    'не поддерживается симулятором: используйте Balance(...)')
            rows = self._price_rows(entity) if entity.kind == 'periodic' \
                else self._barcode_rows()
            return self._list(entity, rows, as_json)
        function, fargs = split_segment(tail[0])
        if len(tail) != 1 or fargs is None:
            raise ODataError(400, 6, 'Неверный URL: лишние сегменты')
        params = parse_function_args(fargs)
        expected = {'balance': ('Balance', 'Turnovers'),
            'periodic': ('SliceLast',)}.get(entity.kind, ())
        if function not in expected:
            raise ODataError(400, 6, f'Неверный URL: лишние сегменты '
                f'("{function}")')
        fields = (turnover_fields(entity.fields) if function == 'Turnovers'
            else entity.fields)
        condition = params.get('Condition')
        predicate, ast = compile_filter(condition, fields) if \
            condition else (None, None)
        with self.lock:
            if function == 'Turnovers':
                rows = self._turnover_rows(entity, params.get('StartPeriod'),
                    params.get('EndPeriod'))
            elif entity.kind == 'balance':
                rows = self._balance_rows(entity, ast)
            else:
                rows = self._slice_last(entity, params.get('Period'),
                    equalities(ast))
            if predicate:
                rows = (r for r in rows if predicate(r))
            if params.get('Dimensions'):
                rows = _group(rows, params['Dimensions'], fields)
            query = Query(request.args, fields)
            page, count = self._run(query, rows)
            return self._collection_response(entity.name, page, count,
                as_json, query)

    def _balance_rows(self, entity, ast):
        """Rows of the Balance virtual table: current balances, zero rows
        left out; only the items the condition names are looked at"""
        eq = equalities(ast)
        warehouse = eq.get('Склад_Key') or eq.get('Склад')
        items = alternatives(ast, 'Номенклатура_Key')
        for key in self.ledger.keys(items, warehouse):
            for row in BALANCE_ROWS[entity.name](self, key):
                yield row

    def _turnover_rows(self, entity, start, end):
        """Rows of the Turnovers virtual table: per register key that
        moved from start to end, <resource>Receipt, …Expense, …Turnover"""
        resources = [f[:-len('Balance')] for f in entity.fields
            if f.endswith('Balance')]
        totals = {}
        for movement in self.ledger.movements_between(start, end):
            for dims, deltas in TURNOVER_ROWS[entity.name](self, movement):
                row = totals.setdefault(tuple(dims.items()), {**dims, **{
                            r + suffix: ZERO for r in resources
                            for suffix in ('Receipt', 'Expense',
                                'Turnover')}})
                for resource, delta in deltas.items():
                    row[resource + ('Receipt' if delta > 0 else 'Expense')
                        ] += abs(delta)
                    row[resource + 'Turnover'] += delta
        return (row for row in totals.values() if any(
                    row[r + 'Receipt'] or row[r + 'Expense']
                    for r in resources))

    def _goods_movement(self, movement):
        item, char, warehouse = movement.key
        if movement.onhand:
            yield ({'Номенклатура_Key': item, 'Характеристика_Key': char,
                    'Назначение_Key': EMPTY_REF, 'Склад_Key': warehouse,
                    'Помещение_Key': EMPTY_REF, 'Серия_Key': EMPTY_REF},
                {'ВНаличии': movement.onhand})

    def _free_movement(self, movement):
        item, char, warehouse = movement.key
        yield ({'Номенклатура_Key': item, 'Характеристика_Key': char,
                'Склад_Key': warehouse}, {'ВНаличии': movement.onhand,
                'ВРезервеСоСклада': movement.reserve})

    def _needs_movement(self, movement):
        item, char, warehouse = movement.key
        order = movement.order
        yield ({'Номенклатура_Key': item, 'Характеристика_Key': char,
                'Склад': warehouse,
                'Склад_Type': 'StandardODATA.Catalog_Склады',
                'Назначение_Key': EMPTY_REF, 'Заказ': order or '',
                'Заказ_Type': 'StandardODATA.' + self.order_types.get(order,
                    'Document_ЗаказКлиента') if order else UNDEFINED_TYPE,
                'ДатаСобытия': EMPTY_DATE},
            {'ВНаличии': movement.onhand,
                'РезервироватьНаСкладе': movement.reserve})

    def _goods_row(self, key):
        onhand = self.ledger.on_hand(key)
        if onhand:
            yield {'Номенклатура_Key': key[0], 'Характеристика_Key': key[1],
                'Назначение_Key': EMPTY_REF, 'Склад_Key': key[2],
                'Помещение_Key': EMPTY_REF, 'Серия_Key': EMPTY_REF,
                'ВНаличииBalance': onhand, 'КОтгрузкеBalance': ZERO}

    def _free_row(self, key):
        onhand, reserved = self.ledger.on_hand(key), self.ledger.reserved(key)
        if onhand or reserved:
            yield {'Номенклатура_Key': key[0], 'Характеристика_Key': key[1],
                'Склад_Key': key[2], 'ВНаличииBalance': onhand,
                'ВРезервеСоСкладаBalance': reserved,
                'ВРезервеПодЗаказBalance': ZERO}

    def _needs_rows(self, key):
        "ЗапасыИПотребности: stock without an order, one row per reserving order"
        onhand = self.ledger.on_hand(key)
        base = {'Номенклатура_Key': key[0], 'Характеристика_Key': key[1],
            'Склад': key[2], 'Склад_Type': 'StandardODATA.Catalog_Склады',
            'Назначение_Key': EMPTY_REF, 'Заказ': '',
            'Заказ_Type': UNDEFINED_TYPE, 'ДатаСобытия': EMPTY_DATE,
            'ВНаличииBalance': ZERO, 'ПоступитBalance': ZERO,
            'ЗаказаноBalance': ZERO, 'РезервироватьНаСкладеBalance': ZERO,
            'РезервироватьПоМереПоступленияBalance': ZERO,
            'ОтложитьРезервированиеBalance': ZERO,
            'КОбеспечениюBalance': ZERO, 'НеОбеспечиватьBalance': ZERO}
        if onhand:
            yield {**base, 'ВНаличииBalance': onhand}
        for order in sorted(self.ledger.orders_by_key.get(key, ())):
            qty = self.ledger.order_reserve(order, key)
            if qty:
                yield {**base, 'Заказ': order, 'Заказ_Type':
                    'StandardODATA.' + self.order_types.get(order,
                        'Document_ЗаказКлиента'),
                    'РезервироватьНаСкладеBalance': qty}

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

    # -- control actions -------------------------------------------------
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
                period or datetime.datetime.now().strftime('%Y-%m-%dT%H:%M:%S'))
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

    # -- lookups for control actions -------------------------------------
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


POSTING_RULES = {
    'Document_ЗаказКлиента': UT11Simulator._post_customer_order,
    'Document_ЗаказНаПеремещение': UT11Simulator._post_transfer_order,
    'Document_ПеремещениеТоваров': UT11Simulator._post_transfer,
    'Document_РеализацияТоваровУслуг': UT11Simulator._post_sale,
    'Document_ВозвратТоваровОтКлиента': UT11Simulator._post_return,
    }

BALANCE_ROWS = {
    'AccumulationRegister_ТоварыНаСкладах': UT11Simulator._goods_row,
    'AccumulationRegister_СвободныеОстатки': UT11Simulator._free_row,
    'AccumulationRegister_ЗапасыИПотребности': UT11Simulator._needs_rows,
    }
# a ledger movement as (register dimensions, {resource: change}) pairs
TURNOVER_ROWS = {
    'AccumulationRegister_ТоварыНаСкладах': UT11Simulator._goods_movement,
    'AccumulationRegister_СвободныеОстатки': UT11Simulator._free_movement,
    'AccumulationRegister_ЗапасыИПотребности': UT11Simulator._needs_movement,
    }


def turnover_fields(fields):
    "Fields of Turnovers(...): each XBalance as XReceipt, XExpense, XTurnover"
    result = {}
    for name, kind in fields.items():
        if name.endswith('Balance'):
            base = name[:-len('Balance')]
            result.update({base + s: kind
                    for s in ('Receipt', 'Expense', 'Turnover')})
        else:
            result[name] = kind
    return result


# -- helpers -----------------------------------------------------------------

def _ref(value):
    "A reference or None when empty"
    return None if value in (EMPTY_REF, '', None) else value


def _num(value):
    return str(value.normalize()) if value == value.to_integral_value() \
        else str(value)


def _generated_qty(i, j):
    "Uneven deterministic stock: a third of the pairs are empty"
    h = (i * 2654435761 + j * 40503 + 12345) % 1000003
    if h % 3 == 0:
        return ZERO
    return Decimal(h % 60 if j == 0 else h % 8)


def _split_path(path):
    "Split on '/' outside quotes and parentheses (Condition may contain '/')"
    segments, current, depth, quoted = [], '', 0, False
    for char in path:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == '(':
            depth += 1
        elif not quoted and char == ')':
            depth -= 1
        if char == '/' and depth == 0 and not quoted:
            segments.append(current)
            current = ''
        else:
            current += char
    if current:
        segments.append(current)
    return [s for s in segments if s]


def _group(rows, dimensions, fields):
    "The Dimensions argument: keep only those dimensions, summing resources"
    wanted = [d.strip() for d in dimensions.split(',') if d.strip()]
    keep = [f for f in fields if any(f in (d, d + '_Key', d + '_Type')
            for d in wanted)]
    resources = [f for f, t in fields.items() if t == 'num']
    groups = {}
    for row in rows:
        dims = tuple(row[f] for f in keep)
        total = groups.setdefault(dims, {**{f: row[f] for f in keep},
                **{r: ZERO for r in resources}})
        for r in resources:
            total[r] += row[r]
    return iter(groups.values())


# -- demo data -------------------------------------------------------------------

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
