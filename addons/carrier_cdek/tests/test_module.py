from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class CarrierCdekTestCase(ModuleTestCase):
    "Structure of the carrier_cdek module, its connection"
    module = 'carrier_cdek'
    language = 'ru'

    @with_transaction()
    def test_system_code(self):
        "The connection list offers CDEK"
        System = Pool().get('hub_sync.system')
        self.assertIn('cdek', dict(System.fields_get(['code'])['code'][
                    'selection']))

    @with_transaction()
    def test_sandbox_connection(self):
        "The demo's connection reaches the simulator through its client"
        import sandbox
        with sandbox.start(['cdek']) as sb:
            account = sb['cdek'].credentials()
            System = Pool().get('hub_sync.system')
            System.cdek_configure_sandbox(sb.urls['cdek'],
                account['client_id'], account['client_secret'])
            System.cdek_configure_sandbox(sb.urls['cdek'],
                account['client_id'], account['client_secret'])
            system = System.get('cdek')
            self.assertEqual(System.search([('code', '=', 'cdek')],
                    count=True), 1)
            city, = system.cdek_client().cities(code=44)
            self.assertEqual(city['city'], 'Москва')


del ModuleTestCase
