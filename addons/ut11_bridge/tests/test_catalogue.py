"""The catalogue from 1C UT11 over real HTTP (the sandbox simulator):
products with sizes, groups, barcodes, marking and prices in; later loads
write only what changed in 1C; loads run as records with their progress."""
from decimal import Decimal

import requests

from trytond.pool import Pool

from sandbox.ut11 import stable_ref  # noqa: E402

from trytond.modules.order_hub.tests.tools import committed_step  # noqa: E402

from .tools import UT11SimulatorTestCase  # noqa: E402

SNEAKERS = stable_ref('item', 'КР-1001')


class UT11CatalogueTestCase(UT11SimulatorTestCase):
    "The catalogue from 1C UT11"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.first = cls.load()

    @classmethod
    def load(cls, **kwargs):
        return committed_step(cls.company, lambda: Pool().get(
                'ut11_bridge.loader').load(**kwargs))

    def patch_in_1c(self, entity_set, key, values):
        "What a 1C user's edit does: a new DataVersion"
        response = requests.patch(
            f"{self.url}/{entity_set}(guid'{key}')?$format=json",
            json=values, auth=('odata', 'odata'), timeout=5)
        response.raise_for_status()

    def sneakers(self):
        Template = Pool().get('product.template')
        template, = Template.search([('external_ref', '=', SNEAKERS),
                ('active', 'in', [True, False])])
        return template

    def test_products_with_sizes_groups_barcodes_marking_prices(self):
        def check():
            template = self.sneakers()
            self.assertEqual(template.name, "Кроссовки беговые AirRun")
            self.assertEqual(template.code, 'КР-1001')
            self.assertTrue(template.hub_marked)
            self.assertEqual([c.name for c in template.categories],
                ["Кроссовки"])
            sizes = {p.hub_size: p for p in template.products}
            self.assertIn('42', sizes)
            size42 = sizes['42']
            self.assertEqual(size42.code, 'КР-1001-42')
            self.assertEqual(size42.rec_name, '[КР-1001-42] '
                'Кроссовки беговые AirRun')
            self.assertEqual(size42.list_price_used, Decimal('6990'))
            barcode = self.sim_barcode(SNEAKERS,
                stable_ref('size', 'КР-1001', '42'))
            self.assertEqual([(i.type, i.code) for i in size42.identifiers],
                [('ean', barcode)])
            # a product without sizes has one plain variant
            Template = Pool().get('product.template')
            plain = [t for t in Template.search([('external_ref', '!=', None)])
                if len(t.products) == 1 and not t.products[0].hub_size]
            self.assertTrue(plain)
        self.step(check)
        self.assertGreaterEqual(self.first['groups'], 3)

    def test_counterparties_become_customers(self):
        def check():
            Party = Pool().get('party.party')
            party, = Party.search([
                    ('ut11_ref', '=', stable_ref('cp', 'b2b'))])
            self.assertEqual(party.name, "ООО «Стиль и Ко»")
            self.assertEqual(party.hub_kpp, '771201001')
            self.assertEqual([(i.type, i.code) for i in party.identifiers],
                [('ru_vat', '7712345671')])
            return party.write_date or party.create_date
        before = self.step(check)
        self.assertGreaterEqual(self.first['counterparties'], 2)
        # unchanged in 1C: not written again
        self.assertEqual(self.load()['counterparties'], 0)
        self.assertEqual(self.step(check), before)

    def sim_barcode(self, item, characteristic):
        barcode, = [b['Штрихкод'] for b in self.sim.barcodes
            if b['Номенклатура_Key'] == item
            and b['Характеристика_Key'] == characteristic]
        return barcode

    def test_unchanged_products_are_not_written_again(self):
        before = self.step(lambda: self.sneakers().write_date
            or self.sneakers().create_date)
        counts = self.load()
        self.assertEqual(counts['products'], 0)
        self.assertEqual(self.step(lambda: self.sneakers().write_date
                or self.sneakers().create_date), before)

    def test_change_in_1c_reaches_the_hub_on_next_load(self):
        self.patch_in_1c('Catalog_Номенклатура', SNEAKERS, {
                'Description': "Кроссовки беговые AirRun 2",
                'Артикул': 'КР-1001Н'})
        self.addCleanup(self.patch_in_1c, 'Catalog_Номенклатура', SNEAKERS,
            {'Description': "Кроссовки беговые AirRun",
                'Артикул': 'КР-1001'})
        self.addCleanup(self.load)
        counts = self.load()
        self.assertEqual(counts['products'], 1)

        def check():
            template = self.sneakers()
            self.assertEqual(template.name, "Кроссовки беговые AirRun 2")
            size42, = [p for p in template.products if p.hub_size == '42']
            self.assertEqual(size42.code, 'КР-1001Н-42')
        self.step(check)

    def test_deleted_in_1c_is_deactivated(self):
        self.patch_in_1c('Catalog_Номенклатура', SNEAKERS,
            {'DeletionMark': True})
        self.addCleanup(self.load)
        self.addCleanup(self.patch_in_1c, 'Catalog_Номенклатура', SNEAKERS,
            {'DeletionMark': False})
        self.load()

        def check():
            template = self.sneakers()
            self.assertFalse(template.active)
            Product = Pool().get('product.product')
            self.assertFalse(Product.search([('template', '=', template.id)]))
        self.step(check)

    # -- load runs ---------------------------------------------------------
    def run_load(self, kind):
        def create():
            LoadRun = Pool().get('ut11_bridge.load_run')
            run, = LoadRun.create([{'kind': kind}])
            return run.id

        def execute(run_id):
            LoadRun = Pool().get('ut11_bridge.load_run')
            LoadRun.execute_queued()
            run = LoadRun(run_id)
            return {f: getattr(run, f) for f in ('state', 'progress',
                    'summary', 'error', 'stage', 'started', 'finished')}
        run_id = self.step(create)
        return self.step(lambda: execute(run_id))

    def test_load_run_shows_progress_and_what_it_loaded(self):
        run = self.run_load('full')
        self.assertEqual(run['state'], 'done')
        self.assertEqual(run['progress'], 1)
        self.assertIn("Товары", run['summary'])
        self.assertIn("Свободные остатки", run['summary'])
        self.assertLessEqual(run['started'], run['finished'])

    def test_load_run_with_1c_down_fails_with_a_russian_message(self):
        self.sim.faults.add(kind='error', status=503, endpoint='*',
            method='GET')
        run = self.run_load('stock')
        self.assertEqual(run['state'], 'failed')
        self.assertRegex(run['error'], '[А-Яа-я]')
        # the next run, with 1C back, succeeds
        self.sim.faults.clear()
        self.assertEqual(self.run_load('stock')['state'], 'done')
