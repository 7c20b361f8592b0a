from trytond.tests.test_tryton import ModuleTestCase


class SiteBridgeModuleTestCase(ModuleTestCase):
    "Structure of the site_bridge module"
    module = 'site_bridge'
    language = 'ru'


del ModuleTestCase
