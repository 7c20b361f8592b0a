from trytond.tests.test_tryton import ModuleTestCase


class HubExtensionTestCase(ModuleTestCase):
    "Structure of the test-only extension module"
    module = 'hub_extension_test'
    language = 'ru'


del ModuleTestCase
