"""The hub with marking and YooKassa against the Chestny Znak, YooKassa
and SMS simulators over real HTTP (see payment_yookassa's tests)."""
import random

from trytond.modules.order_hub.tests.tools import create_product, set_company
from trytond.modules.payment_yookassa.tests.tools import YooKassaScenario
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .samples import code, gtin

SHOES_EAN = gtin('460704889311')
MILK_EAN = gtin('460123456789')


class MarkingScenario(YooKassaScenario):
    modules = ['marking', 'payment_yookassa']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import sandbox
        cls.cz_sandbox = sandbox.start(['chestny_znak'])
        cls.addClassCleanup(cls.cz_sandbox.stop)
        cls.cz = cls.cz_sandbox['chestny_znak']
        cls.cz.configure(processing_delay=0)
        cls.rng = random.Random(11)
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            with set_company(pool.get('company.company')(cls.company)):
                cls.marked, = create_product("Кроссовки", '5000',
                    marked=True)
                cls.milk, = create_product("Молоко", '100', marked=True)
                cls.plain, = create_product("Носки", '300')
                cls.mark(cls.marked, 'shoes', SHOES_EAN)
                cls.mark(cls.milk, 'milk', MILK_EAN)
                cls.marked, cls.milk, cls.plain = (cls.marked.id,
                    cls.milk.id, cls.plain.id)
            pool.get('hub_sync.system').marking_configure_sandbox(
                cls.cz.base_url)
            transaction.commit()

    @staticmethod
    def mark(product, group, ean):
        pool = Pool()
        pool.get('product.template').write([product.template],
            {'marking_group': group})
        pool.get('product.identifier').create([{'product': product.id,
                    'type': 'ean', 'code': ean}])

    def setUp(self):
        super().setUp()
        self.cz.faults.clear()

    def seed(self, group='shoes', count=1, **values):
        "Codes known to the registry (full КМ with GS), for our products"
        ean = {'shoes': SHOES_EAN, 'milk': MILK_EAN}[group]
        codes = [code(group, self.rng, '0' + ean) for _ in range(count)]
        self.cz.seed_codes(codes=codes, pg=group, **values)
        return codes

    def add_codes(self, line_id, texts, first_unit=1):
        def add():
            Code = Pool().get('marking.code')
            return [c.id for c in Code.create([{'line': line_id,
                                'unit': first_unit + i, 'code': text}
                        for i, text in enumerate(texts)])]
        return self.step(add)

    def codes(self, ids):
        "Detached snapshots of codes"
        def read():
            Code = Pool().get('marking.code')
            return [{'state': c.state, 'code': c.code, 'cis': c.cis,
                    'validation': c.validation, 'photo': c.photo,
                    'registry_status': c.registry_status,
                    'photo_decoded': c.photo_decoded, 'unit': c.unit}
                for c in Code.browse(ids)]
        return self.step(read)

    def line_of(self, order_id, index=0):
        def read():
            return Pool().get('order_hub.order')(order_id).lines[index].id
        return self.step(read)

    def outbox(self, operation, record_ids):
        "(state, attempts, last error) of the messages about the records"
        def read():
            Outbox = Pool().get('hub_sync.outbox')
            return [(m.state, m.attempts, m.last_error) for m in
                Outbox.search([('operation', '=', operation)],
                    order=[('id', 'ASC')])
                if m.record and m.record.id in record_ids]
        return self.step(read)
