"""CommerceML order files captured from sites, imported by an administrator
from the web client («Импорт заказов из файла CommerceML») and from the
command line, through the exchange's own code: every sample of
tests/samples, two versions of an order in the wrong order, a file
imported twice, an unknown delivery mapped afterwards.

Each step is committed, as the web client and the command line would."""
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .. import import_orders
from .tools import SiteScenario

SAMPLES = Path(__file__).parent / 'samples'
MOSCOW = ZoneInfo('Europe/Moscow')
# the versions of order 5601 come in the wrong order
FILES = ['orders-2.03-cp1251.xml', 'orders-2.05-quarantine-cp1251.xml',
    'orders-2.05-broken-xml-cp1251.xml', 'orders-2.08-utf8-bom.xml',
    'orders-2.10-cp1251-bom.xml', 'orders-3.1-utf8.xml',
    'order-5601-v2.xml', 'order-5601-v1.xml']
FIRST_IMPORT = {
    '5101': 'created', '5501': 'created', '5502': 'quarantined',
    '5503': 'created', '5511': 'created', '5512': 'quarantined',
    '5513': 'created', '5201': 'created', '5202': 'created',
    '5301': 'created', '5401': 'created', '5601': 'skipped',
    }


class CapturedFilesTestCase(SiteScenario):
    "Captured order files through the exchange's code"

    def import_file(self, name, data=None):
        def run():
            Importer = Pool().get('site_bridge.importer')
            return Importer.import_file(
                data if data is not None else (SAMPLES / name).read_bytes(),
                name)
        return self.step(run)

    def order(self, site_number, *names):
        def read():
            Order = Pool().get('order_hub.order')
            order, = Order.search([('site_number', '=', site_number)])
            return tuple([(l.unit_price, l.quantity) for l in order.lines]
                if n == 'lines' else [(l.unit_price, l.quantity, l.discount)
                    for l in order.lines] if n == 'lines_discounts'
                else getattr(order, n) for n in names)
        return self.step(read)

    def test_every_sample(self):
        """Every sample from the command line, then the same files again
        through the client's import: nothing twice, nothing older wins"""
        self.assertEqual(sorted(FILES),
            sorted(p.name for p in SAMPLES.glob('*.xml')))
        out = io.StringIO()
        status = import_orders.run(DB_NAME, [SAMPLES / name
                for name in FILES], out=out)
        text = out.getvalue()
        self.assertEqual(status, 1)     # two orders quarantined
        labels = {'created': 'Создан', 'skipped': 'Устаревшая выгрузка '
            'пропущена', 'quarantined': 'Не читается, на карантине'}
        for number, outcome in FIRST_IMPORT.items():
            self.assertIn(f'  {number}: {labels[outcome]} — ', text)
        self.assertIn('  5601: Создан — ', text)    # v2, before v1
        self.assertIn('31.02.2024', text)
        self.assertIn('ошибка XML', text)
        self.assertIn('старше той, что уже в хабе', text)
        self.assertIn('Требует сопоставления', text)
        self.assertIn('orders-3.1-utf8.xml:', text)
        self.check_orders()

        again = [row for name in FILES for row in self.import_file(name)]
        self.assertEqual({r['outcome'] for r in again},
            {'unchanged', 'quarantined', 'skipped'})
        for number in FIRST_IMPORT:
            if FIRST_IMPORT[number] != 'quarantined':
                self.assertEqual(len(self.hub_order(number)), 1, number)
        self.assertEqual(self.order('5601', 'phone'), ('+79165550899',))

        # the administrator maps the unknown delivery and payment, the
        # manager applies them
        self.map_unknown()
        self.assertEqual(self.order('5202', 'delivery_service',
                'payment_method', 'site_unmapped'),
            ('cdek_courier', 'on_delivery', None))

    def check_orders(self):
        "What the samples hold, where the manager sees it"
        def utc(*args):
            "Moscow time (UTC+4 before 2014) as Tryton stores it"
            return dt.datetime(*args, tzinfo=MOSCOW).astimezone(
                dt.UTC).replace(tzinfo=None)
        # 2.03: the name only in the counterparty id, padded contacts
        self.assertEqual(self.order('5101', 'customer_name', 'phone', 'email',
                'delivery_service', 'payment_method', 'comment', 'date',
                'total'),
            ('Петров Алексей', '+7 (812) 555-01-02', 'petrov.a@example.ru',
                'pickup', 'on_delivery', 'Позвоните за час до приезда',
                utc(2012, 3, 15, 18, 1, 40), Decimal('7880')))
        # 2.08: two units at 10 % off, the row's discount written per unit
        self.assertEqual(self.order('5201', 'lines_discounts'),
            ([(Decimal('6990'), Decimal(2), Decimal('1398'))],))
        # 2.08: the customer's and the site's comment, paid, a version
        comment, state, version, date = self.order('5201', 'comment', 'state',
            'site_version', 'date')
        self.assertEqual(comment, 'Нужна подарочная упаковка\n\n'
            'Комментарий на сайте: Постоянный клиент, упаковать аккуратно')
        self.assertEqual((state, version, date),
            ('paid', 3, utc(2019, 6, 3, 11, 20, 5)))
        # … and one with a delivery and a payment the hub cannot map
        self.assertEqual(self.order('5202', 'delivery_service',
                'payment_method', 'site_unmapped', 'date'),
            (None, None, 'доставка «Курьер DPD» (ИД 17); '
                'оплата «Оплата при получении» (ИД 9)',
                utc(2019, 6, 3, 12, 0)))
        # 2.10 behind a BOM: cancelled on the site
        self.assertEqual(self.order('5301', 'state', 'delivery_service',
                'payment_method', 'email'),
            ('cancelled', 'russian_post', 'sbp', 'orlova@example.ru'))
        # 3.1: the price as <Цена>, the name only in the id
        lines, name, email, phone = self.order('5401', 'lines',
            'customer_name', 'email', 'phone')
        self.assertEqual(lines, [(Decimal('6990'), Decimal(1))])
        self.assertEqual((name, email, phone), ('Сидорова Елена',
                'sidorova.e@example.ru', '+79165550606'))
        # a control character pasted into a comment is read past
        self.assertEqual(self.order('5503', 'comment'), ('Код двери 45К',))
        # v2 was applied first: v1 changed nothing
        self.assertEqual(self.order('5601', 'phone', 'site_version'),
            ('+79165550899', 8))

    def map_unknown(self):
        def add():
            pool = Pool()
            Mapping = pool.get('site_bridge.mapping')
            System = pool.get('hub_sync.system')
            Mapping.create([{'system': System.get('site').id,
                        'kind': 'delivery', 'site_id': '17',
                        'delivery_service': 'cdek_courier'},
                    {'system': System.get('site').id, 'kind': 'payment',
                        'site_name': 'оплата при получении',
                        'payment_method': 'on_delivery'}])
        self.step(add)

        def apply():
            Order = Pool().get('order_hub.order')
            order, = Order.search([('site_number', '=', '5202')])
            Order.site_apply_mapping([order])
        self.step(apply)

    def test_file_not_commerceml_is_refused(self):
        with self.assertRaises(UserError) as cm:
            self.import_file('notes.txt', 'это не XML'.encode('utf-8'))
        self.assertIn('Файл notes.txt не является файлом заказов CommerceML',
            cm.exception.message)

    def test_command_line_arguments(self):
        with mock.patch.object(import_orders, 'setup') as setup, \
                mock.patch.object(import_orders, 'run',
                    return_value=1) as run:
            with self.assertRaises(SystemExit) as cm:
                import_orders.main(['-c', 'trytond.conf', '-d', 'hub',
                        'a.xml', 'b.xml'])
        self.assertEqual(cm.exception.code, 1)
        setup.assert_called_once_with('trytond.conf', 'hub')
        run.assert_called_once_with('hub', ['a.xml', 'b.xml'], 'ru')

    def test_wizard(self):
        data = (SAMPLES / 'orders-2.08-utf8-bom.xml').read_bytes().decode(
            'utf-8')
        for old, new in (('5201', '5901'), ('5202', '5902'),
                ('Курьер DPD', 'Курьер Boxberry'),
                ('<Значение>17</Значение>', '<Значение>18</Значение>')):
            data = data.replace(old, new)
        data = data.encode('utf-8')

        def create():
            Wizard = Pool().get('site_bridge.import_file', type='wizard')
            with Transaction().set_user(1):     # the administrator
                session_id, _, _ = Wizard.create()
            return session_id
        session_id = self.step(create)

        def run():
            Wizard = Pool().get('site_bridge.import_file', type='wizard')
            with Transaction().set_user(1), Transaction().set_context(
                    _check_access=True):
                return Wizard.execute(session_id, {'start': {
                            'file': data, 'filename': 'captured.xml'}},
                    'import_')
        result = self.step(run)
        report = result['view']['defaults']['report']
        self.assertIn('5901: Создан — Заказ сайта 5901 создан как', report)
        self.assertIn('5902: Создан', report)
        self.assertIn('Требует сопоставления: доставка «Курьер Boxberry» '
            '(ИД 18)', report)

        def journal():
            Journal = Pool().get('hub_sync.journal')
            entry, = Journal.search([('operation', '=', 'import_file')],
                order=[('id', 'DESC')], limit=1)
            return entry.summary
        self.assertIn('Файл captured.xml загружен', self.step(journal))
