from trytond.tests.test_tryton import ModuleTestCase


class UT11BridgeModuleTestCase(ModuleTestCase):
    "Structure of the ut11_bridge module"
    module = 'ut11_bridge'
    language = 'ru'


del ModuleTestCase
