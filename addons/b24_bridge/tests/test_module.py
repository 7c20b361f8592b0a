from trytond.tests.test_tryton import ModuleTestCase


class B24BridgeModuleTestCase(ModuleTestCase):
    "Structure of the b24_bridge module"
    module = 'b24_bridge'
    extras = ['order_payment']
    language = 'ru'


del ModuleTestCase
