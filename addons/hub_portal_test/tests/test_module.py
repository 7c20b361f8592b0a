from trytond.tests.test_tryton import ModuleTestCase


class HubPortalTestModuleTestCase(ModuleTestCase):
    "Structure of the test-only portal module"
    module = 'hub_portal_test'
    language = 'ru'


del ModuleTestCase
