"""The UT11 simulator's control page: customer orders with their lines,
warehouses and status, transfers, sales and returns, stock per warehouse
and the demo's latest movements."""
import collections
import itertools

from .. import page
from .metadata import ZERO
from .odata import EMPTY_REF

# how many documents of a kind and ledger keys the page looks at
LAST_DOCUMENTS = 30
STOCK_KEYS = 20000


class ControlPage:
    "Sections of /__sandbox__/ (a part of UT11Simulator)"
    title = '1С:Управление торговлей 11 (симулятор OData)'
    page_buttons = (('move_random_stock', 'Изменить остатки'),)

    def page_summary(self):
        return [('Версия', self.version),
            ('Публикация', f'/{self.publication}/odata/standard.odata'),
            ('Пользователь OData', f'{self.user} / {self.password}'),
            ('Время базы', self.now()),
            ('Товаров', len(self.tables['Catalog_Номенклатура'])),
            ('Складов', len(self.tables['Catalog_Склады']))]

    def page_sections(self):
        sections = super().page_sections()
        return sections[:1] + [
            ('Заказы клиентов (ЗаказКлиента)', self._page_documents(
                    'Document_ЗаказКлиента', ('Склад', 'Вариант'),
                    self._order_line_extra)),
            ('Перемещения (ЗаказНаПеремещение, ПеремещениеТоваров)',
                self._page_transfers()),
            ('Реализации (РеализацияТоваровУслуг)', self._page_documents(
                    'Document_РеализацияТоваровУслуг', ('Склад',),
                    lambda doc, line: (self._wh(line['Склад_Key']
                            if line['Склад_Key'] != EMPTY_REF
                            else doc['Склад_Key']),))),
            ('Возвраты (ВозвратТоваровОтКлиента)', self._page_documents(
                    'Document_ВозвратТоваровОтКлиента', ('Склад',),
                    lambda doc, line: (self._wh(doc['Склад_Key']),))),
            ('Остатки по складам', self._page_stock()),
            ('Последние движения демо', page.table(('Время', 'Что'),
                    list(self.activity))),
            ] + sections[1:]

    def _wh(self, key):
        return self._name('Catalog_Склады', key) if key != EMPTY_REF else ''

    def _order_line_extra(self, doc, line):
        warehouse = line['Склад_Key'] if line['Склад_Key'] != EMPTY_REF \
            else doc['Склад_Key']
        return (self._wh(warehouse), line['ВариантОбеспечения']
            + (' (отменена)' if line['Отменено'] else ''))

    def _line_name(self, line):
        return self._variant_name((line['Номенклатура_Key'],
                line['Характеристика_Key'], None))

    def _latest(self, entity_name):
        rows = sorted(self.tables[entity_name], key=lambda r: (r['Date'],
                r['Number']), reverse=True)
        return rows[:LAST_DOCUMENTS]

    def _page_documents(self, entity_name, extra_headers, extra):
        "One row per document line: number, date, status, posted, line"
        rows = []
        for doc in self._latest(entity_name):
            lines = doc['Товары'] or [None]
            for line in lines:
                head = (doc['Number'], doc['Date'].replace('T', ' '),
                    doc.get('Статус', ''), 'да' if doc['Posted'] else 'нет')
                if line is None:
                    rows.append(head + ('', '') + ('',) * len(extra_headers))
                    continue
                rows.append(head + (self._line_name(line),
                        float(line['Количество'])) + extra(doc, line))
        return page.table(('Номер', 'Дата', 'Статус', 'Проведён', 'Товар',
                'Кол-во') + extra_headers, rows)

    def _page_transfers(self):
        rows = []
        for name in ('Document_ЗаказНаПеремещение',
                'Document_ПеремещениеТоваров'):
            for doc in self._latest(name):
                rows.append((name.removeprefix('Document_'), doc['Number'],
                    doc['Date'].replace('T', ' '),
                    self._wh(doc['СкладОтправитель_Key']),
                    self._wh(doc['СкладПолучатель_Key']), doc['Статус'],
                    'да' if doc['Posted'] else 'нет', '; '.join(
                        f"{self._line_name(l)} × {float(l['Количество']):g}"
                        for l in doc['Товары'])))
        return page.table(('Документ', 'Номер', 'Дата', 'Откуда', 'Куда',
                'Статус', 'Проведён', 'Товары'), rows)

    def _page_stock(self):
        "On hand, reserved and free per warehouse (units)"
        totals = collections.defaultdict(lambda: [ZERO, ZERO])
        for key in itertools.islice(self.ledger.keys(), STOCK_KEYS):
            totals[key[2]][0] += self.ledger.on_hand(key)
            totals[key[2]][1] += self.ledger.reserved(key)
        rows = sorted((self._wh(wh), float(onhand), float(reserved),
                float(onhand - reserved))
            for wh, (onhand, reserved) in totals.items())
        return page.table(('Склад', 'В наличии', 'В резерве', 'Свободно'),
            rows)
