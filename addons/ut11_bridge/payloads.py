"""OData JSON bodies of the UT11 documents the hub writes.

Pure functions of plain values: references are GUID strings (None = empty),
quantities, prices and amounts are Decimal, dates naive local datetimes.
A line is a mapping with ``product``, ``quantity`` and, depending on the
document, ``characteristic``, ``price``, ``amount``, ``discount``,
``vat_rate``, ``vat_amount``, ``price_type``, ``warehouse``, ``supply``
(ВариантОбеспечения), ``cancelled``, ``order``, ``transfer_order``.
UT11 form logic does not run for OData writes, so amounts are sent, never
left for 1C to compute (ut11.md A.6).
"""
from decimal import ROUND_HALF_UP, Decimal

from .odata import format_date, number, ref_out

CENT = Decimal('0.01')
ORDER = 'Document_ЗаказКлиента'
TRANSFER_ORDER = 'Document_ЗаказНаПеремещение'
TRANSFER = 'Document_ПеремещениеТоваров'
SALE = 'Document_РеализацияТоваровУслуг'
RETURN = 'Document_ВозвратТоваровОтКлиента'
# ВариантОбеспечения that reserves at the line's warehouse
RESERVE = 'СоСклада'


def header(ref_key, date, comment, **values):
    payload = {'Date': format_date(date)} if date is not None else {}
    if ref_key:
        payload['Ref_Key'] = ref_out(ref_key)
    if comment is not None:
        payload['Комментарий'] = comment
    payload.update(values)
    return payload


def parties(organization, partner, counterparty, agreement, contract,
        currency):
    return {'Организация_Key': ref_out(organization),
        'Партнер_Key': ref_out(partner),
        'Контрагент_Key': ref_out(counterparty),
        'Соглашение_Key': ref_out(agreement),
        'Договор_Key': ref_out(contract), 'Валюта_Key': ref_out(currency)}


def line_amount(line):
    "Сумма of a line: given, or quantity × price less the manual discount"
    if line.get('amount') is not None:
        return number(line['amount'])
    gross = number(line['quantity']) * number(line['price'])
    return (gross - number(line.get('discount'))).quantize(CENT, ROUND_HALF_UP)


def _goods_row(n, line):
    quantity = number(line['quantity'])
    return {'LineNumber': str(n), 'КодСтроки': n,
        'Номенклатура_Key': ref_out(line['product']),
        'Характеристика_Key': ref_out(line.get('characteristic')),
        'Упаковка_Key': ref_out(line.get('package')),
        'КоличествоУпаковок': quantity, 'Количество': quantity}


def _priced_row(n, line, price_includes_vat):
    row = _goods_row(n, line)
    amount = line_amount(line)
    vat = line.get('vat_amount')
    row.update({'Цена': number(line['price']), 'Сумма': amount,
        'СуммаСНДС': amount if price_includes_vat or vat is None
        else amount + number(vat)})
    for key, name in (('vat_rate', 'СтавкаНДС_Key'),
            ('price_type', 'ВидЦены_Key')):
        if line.get(key):
            row[name] = ref_out(line[key])
    for key, name in (('vat_amount', 'СуммаНДС'),
            ('discount', 'СуммаРучнойСкидки')):
        if line.get(key) is not None:
            row[name] = number(line[key])
    return row


def total(rows):
    return sum((r['СуммаСНДС'] for r in rows if not r.get('Отменено')),
        Decimal(0))


def _composite(name, entity_set, key):
    return {name: ref_out(key), name + '_Type': 'StandardODATA.' + entity_set}


def order_lines(lines, warehouse=None, price_includes_vat=True,
        shipment_date=None):
    "Товары of a ЗаказКлиента: reservation warehouse and variant per line"
    rows = []
    for n, line in enumerate(lines, 1):
        row = _priced_row(n, line, price_includes_vat)
        row.update({'Склад_Key': ref_out(line.get('warehouse') or warehouse),
            'ВариантОбеспечения': line.get('supply', RESERVE),
            'Отменено': bool(line.get('cancelled'))})
        if line.get('cancel_reason'):
            row['ПричинаОтмены_Key'] = ref_out(line['cancel_reason'])
        if shipment_date is not None:
            row['ДатаОтгрузки'] = format_date(shipment_date)
        rows.append(row)
    return rows


def order_payload(*, date, organization, partner, counterparty, agreement,
        currency, lines, warehouse=None, status='КОбеспечению',
        hub_number=None, hub_date=None, comment=None, ref_key=None,
        contract=None, price_includes_vat=True,
        vat_taxation='ПродажаОблагаетсяНДС', shipment_date=None,
        operation='РеализацияКлиенту'):
    """Document_ЗаказКлиента; ``hub_number`` goes to НомерПоДаннымКлиента,
    the field the hub looks the order up by before creating it again."""
    rows = order_lines(lines, warehouse, price_includes_vat, shipment_date)
    payload = header(ref_key, date, comment,
        **parties(organization, partner, counterparty, agreement, contract,
            currency),
        Склад_Key=ref_out(warehouse), ХозяйственнаяОперация=operation,
        Статус=status, Согласован=status != 'НеСогласован',
        ЦенаВключаетНДС=price_includes_vat, НалогообложениеНДС=vat_taxation,
        СуммаДокумента=total(rows), Товары=rows)
    if hub_number is not None:
        payload['НомерПоДаннымКлиента'] = str(hub_number)
    if hub_date is not None:
        payload['ДатаПоДаннымКлиента'] = format_date(hub_date)
    if shipment_date is not None:
        payload['ДатаОтгрузки'] = format_date(shipment_date)
    return payload


def order_update_payload(*, lines=None, status=None, warehouse=None,
        comment=None, price_includes_vat=True, shipment_date=None):
    "PATCH body of a ЗаказКлиента: only what is given; lines replace all"
    payload = header(None, None, comment)
    if status is not None:
        payload.update(Статус=status, Согласован=status != 'НеСогласован')
    if warehouse is not None:
        payload['Склад_Key'] = ref_out(warehouse)
    if lines is not None:
        rows = order_lines(lines, warehouse, price_includes_vat,
            shipment_date)
        payload.update(Товары=rows, СуммаДокумента=total(rows))
    return payload


def transfer_order_payload(*, date, organization, sender, receiver, lines,
        status='КВыполнению', receiver_organization=None, desired_date=None,
        basis_order=None, comment=None, ref_key=None,
        operation='ПеремещениеТоваров'):
    "Document_ЗаказНаПеремещение: reserves at the sender when КВыполнению"
    rows = []
    for n, line in enumerate(lines, 1):
        row = _goods_row(n, line)
        row.update(ВариантОбеспечения=line.get('supply', RESERVE),
            Отменено=bool(line.get('cancelled')))
        rows.append(row)
    payload = header(ref_key, date, comment,
        Организация_Key=ref_out(organization),
        ОрганизацияПолучатель_Key=ref_out(receiver_organization
            or organization),
        СкладОтправитель_Key=ref_out(sender),
        СкладПолучатель_Key=ref_out(receiver), Статус=status,
        ХозяйственнаяОперация=operation, Товары=rows)
    if desired_date is not None:
        payload['ЖелаемаяДатаПоступления'] = format_date(desired_date)
    if basis_order:
        payload.update(_composite('ДокументОснование', ORDER, basis_order))
    return payload


def transfer_payload(*, date, organization, sender, receiver, lines,
        transfer_order=None, status='', receiver_organization=None,
        comment=None, ref_key=None, operation='ПеремещениеТоваров'):
    """Document_ПеремещениеТоваров; status '' is a one-step transfer,
    'Отгружено' then 'Принято' the two steps"""
    rows = []
    for n, line in enumerate(lines, 1):
        row = _goods_row(n, line)
        row['ЗаказНаПеремещение_Key'] = ref_out(
            line.get('transfer_order') or transfer_order)
        rows.append(row)
    return header(ref_key, date, comment,
        Организация_Key=ref_out(organization),
        ОрганизацияПолучатель_Key=ref_out(receiver_organization
            or organization),
        СкладОтправитель_Key=ref_out(sender),
        СкладПолучатель_Key=ref_out(receiver),
        ЗаказНаПеремещение_Key=ref_out(transfer_order),
        ПеремещениеПоЗаказам=transfer_order is None and any(
            line.get('transfer_order') for line in lines),
        Статус=status, ХозяйственнаяОперация=operation, Товары=rows)


def sale_payload(*, date, organization, partner, counterparty, agreement,
        currency, order, lines, warehouse=None, status='Отгружено',
        comment=None, ref_key=None, contract=None, price_includes_vat=True,
        vat_taxation='ПродажаОблагаетсяНДС', operation='РеализацияКлиенту'):
    """Document_РеализацияТоваровУслуг "на основании" a ЗаказКлиента: OData
    does not run 1C's fill-on-basis, so the order goes on the header and
    on every row"""
    rows = []
    for n, line in enumerate(lines, 1):
        row = _priced_row(n, line, price_includes_vat)
        row.update(Склад_Key=ref_out(line.get('warehouse') or warehouse),
            ЗаказКлиента_Key=ref_out(line.get('order') or order))
        rows.append(row)
    return header(ref_key, date, comment,
        **parties(organization, partner, counterparty, agreement, contract,
            currency),
        Склад_Key=ref_out(warehouse), ЗаказКлиента_Key=ref_out(order),
        ХозяйственнаяОперация=operation, Статус=status, Согласован=True,
        ЦенаВключаетНДС=price_includes_vat, НалогообложениеНДС=vat_taxation,
        СуммаДокумента=total(rows), Товары=rows)


def return_payload(*, date, organization, partner, counterparty, agreement,
        currency, warehouse, lines, sale=None, comment=None, ref_key=None,
        contract=None, price_includes_vat=True,
        compensation='ВернутьДенежныеСредства',
        operation='ВозвратТоваровОтКлиента'):
    "Document_ВозвратТоваровОтКлиента, stock comes back to ``warehouse``"
    rows = []
    for n, line in enumerate(lines, 1):
        row = _priced_row(n, line, price_includes_vat)
        if line.get('sale') or sale:
            row.update(_composite('ДокументРеализации', SALE,
                line.get('sale') or sale))
        rows.append(row)
    payload = header(ref_key, date, comment,
        **parties(organization, partner, counterparty, agreement, contract,
            currency),
        Склад_Key=ref_out(warehouse), ХозяйственнаяОперация=operation,
        СпособКомпенсации=compensation, ЦенаВключаетНДС=price_includes_vat,
        СуммаДокумента=total(rows), Товары=rows)
    if sale:
        payload.update(_composite('ДокументРеализации', SALE, sale))
    return payload
