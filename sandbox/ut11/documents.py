"""Documents and their posting: ЗаказКлиента and ЗаказНаПеремещение
reserve, ПеремещениеТоваров moves, РеализацияТоваровУслуг writes off and
releases the reserve, ВозвратТоваровОтКлиента puts stock back; the bound
actions Post and Unpost."""
import collections
import datetime

from flask import Response, request

from .metadata import RESERVING_VARIANTS, ZERO
from .odata import EMPTY_DATE, EMPTY_REF, ODataError

# document -> the Documents method computing its ledger effects
POSTING_RULES = {
    'Document_ЗаказКлиента': '_post_customer_order',
    'Document_ЗаказНаПеремещение': '_post_transfer_order',
    'Document_ПеремещениеТоваров': '_post_transfer',
    'Document_РеализацияТоваровУслуг': '_post_sale',
    'Document_ВозвратТоваровОтКлиента': '_post_return',
    }


class PostingRefused(Exception):
    "Posting checks failed; the message goes to the client"


def presentation_date(date):
    return datetime.datetime.strptime(date, '%Y-%m-%dT%H:%M:%S').strftime(
        '%d.%m.%Y %H:%M:%S')


def _ref(value):
    "A reference or None when empty"
    return None if value in (EMPTY_REF, '', None) else value


def _num(value):
    return str(value.normalize()) if value == value.to_integral_value() \
        else str(value)


class Documents:
    "Posting (a part of UT11Simulator)"

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
                effects = getattr(self, POSTING_RULES[entity.name])(row)
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
