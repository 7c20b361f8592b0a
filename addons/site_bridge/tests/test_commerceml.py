"""The CommerceML order parser fed what real 1C-Bitrix sites write: every
date form of schema versions 2.03–3.1, windows-1251 and UTF-8 with or
without a byte-order mark, names hidden in the counterparty id, 1C's
padded strings, one broken order in a batch, a 20 MB comment.

No database: the parser is plain Python."""
import datetime as dt
import unittest
from decimal import Decimal
from pathlib import Path

from ..commerceml import BOM, parse_answer, parse_date, read_orders
from ..limits import MAX_COMMENT_CHARS, MAX_ORDER_BYTES

SAMPLES = Path(__file__).parent / 'samples'
HAT = '84e77757-440d-11ee-884f-ccf0d8a122b0'


def requisite(name, value):
    return (f'<ЗначениеРеквизита><Наименование>{name}</Наименование>'
        f'<Значение>{value}</Значение></ЗначениеРеквизита>')


def document(number, date='2021-02-11', time='18:45:21', requisites=(),
        party='<Ид>2#ivanova.m#Иванова Мария</Ид>', comment='',
        row=None, extra=''):
    row = row or (f'<Товар><Ид>{HAT}</Ид><Наименование>Шапка</Наименование>'
        '<ЦенаЗаЕдиницу>890.0000</ЦенаЗаЕдиницу>'
        '<Количество>1.0000</Количество><Сумма>890.00</Сумма></Товар>')
    time_tag = f'<Время>{time}</Время>' if time is not None else ''
    return (f'<Документ><Ид>{number}</Ид><Номер>{number}</Номер>'
        f'<Дата>{date}</Дата><ХозОперация>Заказ товара</ХозОперация>{extra}'
        f'<Контрагенты><Контрагент>{party}</Контрагент></Контрагенты>'
        f'{time_tag}<Комментарий>{comment}</Комментарий>'
        f'<Товары>{row}</Товары><ЗначенияРеквизитов>'
        + ''.join(requisite(n, v) for n, v in requisites)
        + '</ЗначенияРеквизитов></Документ>')


def cml(*documents, version='2.05', encoding='windows-1251', bom=False,
        stamp='2021-02-12T17:03:19', namespace=None):
    xmlns = f' xmlns="{namespace}"' if namespace else ''
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<КоммерческаяИнформация{xmlns} ВерсияСхемы="{version}" '
        f'ДатаФормирования="{stamp}">{"".join(documents)}'
        '</КоммерческаяИнформация>')
    data = text.encode('utf-8' if encoding.lower() == 'utf-8' else 'cp1251')
    return (BOM if bom else b'') + data


def one(body):
    read = read_orders(body)
    assert not read.unreadable, read.unreadable
    order, = read.orders
    return order


class DatesTestCase(unittest.TestCase):
    "Defect 4: every date form, in every field that holds a date"

    FORMS = {
        '2007-10-30 15:19:27': dt.datetime(2007, 10, 30, 15, 19, 27),
        '2007-10-30T15:19:27': dt.datetime(2007, 10, 30, 15, 19, 27),
        '30.10.2007 15:19:27': dt.datetime(2007, 10, 30, 15, 19, 27),
        '30.10.2007 9:05:00': dt.datetime(2007, 10, 30, 9, 5),
        '2007-10-30T9:05:00': dt.datetime(2007, 10, 30, 9, 5),
        '2007-10-30': dt.datetime(2007, 10, 30),
        '30.10.2007': dt.datetime(2007, 10, 30),
        '2007-10-30T15:19:27.250': dt.datetime(2007, 10, 30, 15, 19, 27,
            250000),
        '2007-10-30T15:19:27+03:00': dt.datetime(2007, 10, 30, 15, 19, 27,
            tzinfo=dt.timezone(dt.timedelta(hours=3))),
        '2007-10-30T12:19:27Z': dt.datetime(2007, 10, 30, 12, 19, 27,
            tzinfo=dt.UTC),
        '30.10.2007 15:19:27 +0300': dt.datetime(2007, 10, 30, 15, 19, 27,
            tzinfo=dt.timezone(dt.timedelta(hours=3))),
        }

    def test_one_parser_reads_every_form(self):
        for value, expected in self.FORMS.items():
            with self.subTest(value=value):
                self.assertEqual(parse_date(value), expected)
        self.assertIsNone(parse_date('0001-01-01T00:00:00'))  # 1C: empty
        self.assertIsNone(parse_date('  '))
        self.assertEqual(parse_date('2021-02-11', '18:45:21'),
            dt.datetime(2021, 2, 11, 18, 45, 21))

    def test_order_date_in_every_form(self):
        for value, expected in self.FORMS.items():
            with self.subTest(value=value):
                order = one(cml(document('101', date=value, time=None)))
                self.assertEqual(order['date'], expected)
        order = one(cml(document('101', date='30.10.2007', time='9:05:07')))
        self.assertEqual(order['date'], dt.datetime(2007, 10, 30, 9, 5, 7))

    def test_requisite_dates_in_every_form(self):
        fields = {
            'Дата оплаты': lambda o: o['payment']['paid_at'],
            'Дата изменения статуса': lambda o: o['status']['changed_at'],
            'Дата отмены заказа': lambda o: o['status']['canceled_at'],
            'Дата изменения': lambda o: o['changed_at'],
            'Дата разрешения доставки': lambda o: o['delivery_allowed_at'],
            'Дата последнего разрешения по доставке':
                lambda o: o['delivery_allowed_at'],
            }
        for name, read in fields.items():
            for value, expected in self.FORMS.items():
                with self.subTest(requisite=name, value=value):
                    order = one(cml(document('101',
                                requisites=[(name, value)])))
                    self.assertEqual(read(order), expected)

    def test_export_date_of_every_version(self):
        for version, stamp in (('2.05', '2021-02-12T9:03:19'),
                ('2.10', '2021-02-12T09:03:19'),
                ('3.1', '2021-02-12T09:03:19+03:00')):
            with self.subTest(version=version):
                read = read_orders(cml(document('101'), version=version,
                        stamp=stamp))
                self.assertEqual(read.exported_at.replace(tzinfo=None),
                    dt.datetime(2021, 2, 12, 9, 3, 19))
                self.assertEqual(read.schema, version)


class QuarantineTestCase(unittest.TestCase):
    "Defect 4: one order that cannot be read does not take the batch"

    def test_unreadable_order_is_set_apart(self):
        read = read_orders(cml(document('101'),
                document('102', requisites=[
                        ('Дата изменения статуса', '31.02.2021 10:00:00')]),
                document('103', date='вчера'),
                document('104')))
        self.assertEqual([o['number'] for o in read.orders], ['101', '104'])
        bad = {u['number']: u for u in read.unreadable}
        self.assertEqual(set(bad), {'102', '103'})
        self.assertIn('Дата изменения статуса', bad['102']['reason'])
        self.assertIn('«31.02.2021 10:00:00» не существует',
            bad['102']['reason'])
        self.assertIn('Дата заказа: дата «вчера» не распознана',
            bad['103']['reason'])
        self.assertTrue(bad['102']['document'].startswith('<Документ>'))
        self.assertEqual(bad['102']['site_order_id'], '102')

    def test_broken_xml_keeps_the_other_orders(self):
        broken = document('102').replace('Шапка', 'Шапка "Зима & Лето"')
        read = read_orders(cml(document('101'), broken, document('103')))
        self.assertEqual([o['number'] for o in read.orders], ['101', '103'])
        (bad,) = read.unreadable
        self.assertEqual(bad['number'], '102')
        self.assertIn('ошибка XML', bad['reason'])

    def test_bad_numbers_are_unreadable_not_zero(self):
        row = (f'<Товар><Ид>{HAT}</Ид><Наименование>Шапка</Наименование>'
            '<ЦенаЗаЕдиницу>89O.00</ЦенаЗаЕдиницу><Количество>1</Количество>'
            '<Сумма>890.00</Сумма></Товар>')
        read = read_orders(cml(document('101', row=row)))
        self.assertEqual(read.orders, [])
        self.assertIn('Шапка: цена: «89O.00» — не число',
            read.unreadable[0]['reason'])

    def test_control_characters_are_read_past(self):
        order = one(cml(document('101', comment='Код двери 45\x0bК')))
        self.assertEqual(order['comment'], 'Код двери 45К')


class EncodingTestCase(unittest.TestCase):
    "Defect 5: a byte-order mark and windows-1251, in XML and text answers"

    def test_utf8_with_bom(self):
        order = one(cml(document('101', comment='Позвонить'),
                encoding='UTF-8', bom=True))
        self.assertEqual(order['comment'], 'Позвонить')

    def test_windows_1251_behind_a_bom(self):
        "A PHP file saved with a BOM prints it before the cp1251 export"
        order = one(cml(document('101', comment='Позвонить'), bom=True))
        self.assertEqual(order['comment'], 'Позвонить')

    def test_utf8_saved_by_an_editor_keeps_the_old_declaration(self):
        "A captured cp1251 file edited and saved as UTF-8 with a BOM"
        body = BOM + cml(document('101', comment='Позвонить')).decode(
            'cp1251').encode('utf-8')
        self.assertEqual(one(body)['comment'], 'Позвонить')

    def test_no_declaration_encoding_from_the_content_type(self):
        text = ('<КоммерческаяИнформация ВерсияСхемы="2.05">'
            + document('101', comment='Позвонить')
            + '</КоммерческаяИнформация>')
        read = read_orders(text.encode('cp1251'), 'windows-1251')
        self.assertEqual(read.orders[0]['comment'], 'Позвонить')

    def test_text_answers(self):
        self.assertEqual(parse_answer(BOM + b'success\nPHPSESSID\nabc'),
            ('success', ['PHPSESSID', 'abc']))
        self.assertEqual(parse_answer(BOM + 'failure\nНет прав'.encode(
                    'cp1251'), 'windows-1251'), ('failure', ['Нет прав']))
        self.assertEqual(parse_answer(BOM + BOM + b'progress\r\n'),
            ('progress', []))


class FieldsTestCase(unittest.TestCase):
    "Defect 6: what the site writes and the hub used to drop"

    def test_customer_comment_and_order_comment(self):
        order = one(cml(document('101', comment='Для менеджера', requisites=[
                        ('Комментарии покупателя', 'Позвонить за час')])))
        self.assertEqual(order['comment'],
            'Позвонить за час\n\nКомментарий на сайте: Для менеджера')
        order = one(cml(document('101', requisites=[
                        ('Комментарии покупателя', 'Позвонить за час')])))
        self.assertEqual(order['comment'], 'Позвонить за час')

    def test_email_and_phone_contact_types_of_every_version(self):
        for email_type, phone_type in (('Почта', 'ТелефонРабочий'),
                ('Электронная почта', 'Телефон рабочий'),
                ('Электронная почта', 'Телефон мобильный')):
            party = ('<Ид>2#ivanova.m#Иванова Мария</Ид><Контакты>'
                f'<Контакт><Тип>{phone_type}</Тип><Значение>+79161234567'
                f'</Значение></Контакт><Контакт><Тип>{email_type}</Тип>'
                '<Значение>ivanova.m@example.ru</Значение></Контакт>'
                '</Контакты>')
            with self.subTest(email=email_type, phone=phone_type):
                customer = one(cml(document('101', party=party)))['customer']
                self.assertEqual((customer['email'], customer['phone']),
                    ('ivanova.m@example.ru', '+79161234567'))

    def test_line_price_of_cml_3(self):
        row = (f'<Товар><Ид>{HAT}</Ид><Наименование>Шапка</Наименование>'
            '<Количество>2</Количество><Цена>890</Цена><Сумма>1780</Сумма>'
            '</Товар>')
        order = one(cml(document('101', row=row), version='3.1',
                encoding='UTF-8', namespace='urn:1C.ru:commerceml_3'))
        line, = order['lines']
        self.assertEqual((line['price'], line['amount'], line['quantity']),
            (Decimal(890), Decimal(1780), Decimal(2)))

    def test_row_discount_is_per_unit(self):
        "The sale module writes a row's discount per unit (DISCOUNT_PRICE)"
        row = (f'<Товар><Ид>{HAT}</Ид><Наименование>Шапка</Наименование>'
            '<Скидки><Скидка><Наименование>Скидка на товар</Наименование>'
            '<Сумма>89.00</Сумма><УчтеноВСумме>true</УчтеноВСумме></Скидка>'
            '</Скидки><ЦенаЗаЕдиницу>801.0000</ЦенаЗаЕдиницу>'
            '<Количество>3.0000</Количество><Сумма>2403.00</Сумма></Товар>')
        order = one(cml(document('102', row=row)))
        line, = order['lines']
        self.assertEqual((line['price'], line['discount'], line['amount']),
            (Decimal(801), Decimal(267), Decimal(2403)))
        self.assertEqual(order['totals']['discount'], Decimal(267))

    def test_name_only_in_the_counterparty_id(self):
        party = ('<Ид>970#Eremeeva-Ukka055#Еремеева Юлия </Ид>'
            '<Наименование/><ПолноеНаименование/>')
        customer = one(cml(document('101', party=party)))['customer']
        self.assertEqual((customer['full_name'], customer['login'],
                customer['site_user_id']),
            ('Еремеева Юлия', 'Eremeeva-Ukka055', '970'))

    def test_padded_strings_are_trimmed(self):
        party = ('<Ид> 5#content-manager# Контент менеджер </Ид>'
            '<Контакты><Контакт><Тип>Телефон рабочий  </Тип><Значение>'
            '+79161234567     </Значение></Контакт></Контакты>')
        row = (f'<Товар><Ид>{HAT}   </Ид><Штрихкод>4601234567893    '
            '</Штрихкод><Наименование>Шапка   </Наименование>'
            '<ЦенаЗаЕдиницу>890</ЦенаЗаЕдиницу><Количество>1</Количество>'
            '<Сумма>890</Сумма></Товар>')
        order = one(cml(document('101   ', party=party, row=row,
                    requisites=[('Метод доставки ИД  ', '2   ')])))
        line, = order['lines']
        self.assertEqual((line['xml_id'], line['barcode'], line['name']),
            (HAT, '4601234567893', 'Шапка'))
        self.assertEqual(order['site_order_id'], '101')
        self.assertEqual(order['customer']['phone'], '+79161234567')
        self.assertEqual(order['customer']['full_name'], 'Контент менеджер')
        self.assertEqual(order['delivery']['service_id'], '2')

    def test_site_version(self):
        order = one(cml(document('101', extra='<НомерВерсии>12</НомерВерсии>'),
                version='2.08'))
        self.assertEqual(order['version'], 12)
        order = one(cml(document('101',
                    extra='<НомерВерсии>AAAC+wAAAAA=</НомерВерсии>'),
                version='3.1'))
        self.assertIsNone(order['version'])     # 1C's: does not order


class LimitsTestCase(unittest.TestCase):
    "Defect 8: a 20 MB comment is cut, the order kept"

    def test_huge_comment_is_cut_with_a_note(self):
        huge = 'Очень длинный комментарий. ' * (20 * 2**20 // 27)
        order = one(cml(document('101', requisites=[
                        ('Комментарии покупателя', huge)])))
        self.assertLess(len(order['comment']), MAX_COMMENT_CHARS + 200)
        self.assertTrue(order['comment'].startswith(huge[:1000]))
        self.assertIn('[Обрезано:', order['comment'])
        cut, = order['truncated']
        self.assertEqual((cut['field'], cut['length'], cut['kept']),
            ('Комментарий', len(huge.strip()), MAX_COMMENT_CHARS))
        self.assertEqual(order['lines'][0]['xml_id'], HAT)

    def test_other_long_texts_are_cut(self):
        order = one(cml(document('101', requisites=[
                        ('Адрес доставки', 'д' * 5000)])))
        self.assertEqual(len(order['delivery']['address']), 1000)
        self.assertEqual(order['truncated'][0]['field'], 'Адрес доставки')

    def test_order_too_big_even_cut_is_quarantined(self):
        rows = ''.join(f'<Товар><Ид>{HAT}#{i:06d}</Ид><Наименование>'
            f'{"Шапка " * 120}</Наименование><ЦенаЗаЕдиницу>1'
            '</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>1</Сумма>'
            '</Товар>' for i in range(MAX_ORDER_BYTES // 1000))
        read = read_orders(cml(document('101', row=rows), document('102')))
        self.assertEqual([o['number'] for o in read.orders], ['102'])
        self.assertIn('заказ слишком велик', read.unreadable[0]['reason'])


class SamplesTestCase(unittest.TestCase):
    "Every sample captured from a site reads as expected"

    EXPECTED = {
        'orders-2.03-cp1251.xml': (['5101'], []),
        'orders-2.05-quarantine-cp1251.xml': (['5501', '5503'], ['5502']),
        'orders-2.05-broken-xml-cp1251.xml': (['5511', '5513'], ['5512']),
        'orders-2.08-utf8-bom.xml': (['5201', '5202'], []),
        'orders-2.10-cp1251-bom.xml': (['5301'], []),
        'orders-3.1-utf8.xml': (['5401'], []),
        'order-5601-v1.xml': (['5601'], []),
        'order-5601-v2.xml': (['5601'], []),
        }

    def test_every_sample(self):
        files = sorted(p.name for p in SAMPLES.glob('*.xml'))
        self.assertEqual(files, sorted(self.EXPECTED))
        for name, (good, bad) in self.EXPECTED.items():
            with self.subTest(sample=name):
                read = read_orders((SAMPLES / name).read_bytes())
                self.assertEqual([o['number'] for o in read.orders], good)
                self.assertEqual([u['number'] for u in read.unreadable], bad)
                self.assertIsNotNone(read.exported_at)
                for order in read.orders:
                    self.assertTrue(order['customer']['full_name'])
                    self.assertTrue(all(l['price'] > 0 for l in order['lines']))

    def test_what_the_samples_hold(self):
        def read(name):
            return {o['number']: o for o in read_orders(
                    (SAMPLES / name).read_bytes()).orders}
        old = read('orders-2.03-cp1251.xml')['5101']
        self.assertEqual(old['customer']['full_name'], 'Петров Алексей')
        self.assertEqual(old['customer']['phone'], '+7 (812) 555-01-02')
        self.assertEqual(old['customer']['email'], 'petrov.a@example.ru')
        self.assertEqual(old['delivery']['city'], 'Санкт-Петербург')
        paid = read('orders-2.08-utf8-bom.xml')['5201']
        self.assertEqual(paid['payment']['paid_at'],
            dt.datetime(2019, 6, 3, 11, 25, 40))
        self.assertIn('Нужна подарочная упаковка', paid['comment'])
        self.assertIn('Постоянный клиент', paid['comment'])
        cml3 = read('orders-3.1-utf8.xml')['5401']
        self.assertEqual(cml3['lines'][0]['price'], Decimal(6990))
        self.assertEqual(cml3['customer']['full_name'], 'Сидорова Елена')
        self.assertEqual(cml3['totals']['delivery'], Decimal(350))
        cancelled = read('orders-2.10-cp1251-bom.xml')['5301']
        self.assertEqual(cancelled['status']['canceled_at'],
            dt.datetime(2021, 2, 12, 10, 3))
        self.assertEqual(cancelled['version'], 12)
