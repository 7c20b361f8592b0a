"""With ut11_bridge: 1C's «ОсобенностьУчета» gives the product group, from
the UT11 simulator over real HTTP; an unknown value is flagged, not
guessed, and mapping it afterwards reaches its products."""
import requests

from trytond.pool import Pool

from sandbox.ut11 import stable_ref

from trytond.modules.order_hub.tests.tools import committed_step
from trytond.modules.ut11_bridge.tests.tools import UT11SimulatorTestCase

SNEAKERS = stable_ref('item', 'КР-1001')
JACKET = stable_ref('item', 'КТ-4001')
JEANS = stable_ref('item', 'ДЖ-6001')


class MarkingUT11TestCase(UT11SimulatorTestCase):
    "Product groups from 1C's accounting feature"
    modules = ['marking', 'ut11_bridge']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.load()

    @classmethod
    def load(cls):
        return cls.step(lambda: Pool().get('ut11_bridge.loader').load())

    def patch_in_1c(self, key, values):
        "A 1C user's edit of a product"
        response = requests.patch(
            f"{self.url}/Catalog_Номенклатура(guid'{key}')?$format=json",
            json=values, auth=('odata', 'odata'), timeout=5)
        response.raise_for_status()

    def template(self, key):
        Template = Pool().get('product.template')
        template, = Template.search([('external_ref', '=', key)])
        return template

    def groups(self):
        return {key: (self.template(key).hub_marked,
                self.template(key).marking_group)
            for key in (SNEAKERS, JACKET, JEANS)}

    def test_feature_gives_the_group(self):
        self.assertEqual(self.step(self.groups), {
                SNEAKERS: (True, 'shoes'), JACKET: (True, 'lp'),
                JEANS: (False, None)})

    def test_unknown_feature_flagged_then_mapped(self):
        self.patch_in_1c(JEANS,
            {'ОсобенностьУчета': 'ИгрушкиДетские'})
        self.addCleanup(self.load)
        self.addCleanup(self.patch_in_1c, JEANS,
            {'ОсобенностьУчета': ''})
        self.load()

        def flagged():
            Journal = Pool().get('hub_sync.journal')
            entries = Journal.search([('system', '=', 'ut11'),
                    ('outcome', '=', 'attention')])
            return self.template(JEANS).hub_marked, \
                self.template(JEANS).marking_group, \
                [e.detail for e in entries]
        marked, group, details = self.step(flagged)
        self.assertTrue(marked)
        self.assertIsNone(group)    # not guessed
        self.assertEqual(details, ['ОсобенностьУчета: «ИгрушкиДетские» (1)'])

        def map_it():
            Feature = Pool().get('marking.ut11_feature')
            Feature.create([{'name': 'ИгрушкиДетские', 'group': 'lp'}])
            return self.template(JEANS).marking_group
        self.assertEqual(committed_step(self.company, map_it), 'lp')
        self.addCleanup(committed_step, self.company, lambda: Pool().get(
                'marking.ut11_feature').delete(Pool().get(
                    'marking.ut11_feature').search(
                    [('name', '=', 'ИгрушкиДетские')])))
