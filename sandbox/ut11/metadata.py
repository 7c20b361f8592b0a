"""What the UT11 base publishes: entity sets with their fields, tabular
sections, kinds (catalog, document, accumulation register, information
register) and the enum values the simulator checks."""
from decimal import Decimal

from .odata import EMPTY_DATE, EMPTY_REF


ZERO = Decimal(0)
UNDEFINED_TYPE = 'StandardODATA.Undefined'


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
