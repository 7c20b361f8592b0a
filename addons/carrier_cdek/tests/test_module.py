from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.pool import Pool


class CarrierCdekTestCase(ModuleTestCase):
    "Structure of the carrier_cdek module"
    module = 'carrier_cdek'
    language = 'ru'

    @with_transaction()
    def test_system_code(self):
        "The connection list offers CDEK, labelled in Russian"
        System = Pool().get('hub_sync.system')
        self.assertIn('cdek', dict(System.fields_get(['code'])['code'][
                    'selection']))


del ModuleTestCase
