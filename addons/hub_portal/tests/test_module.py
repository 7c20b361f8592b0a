from trytond.tests.test_tryton import ModuleTestCase


class HubPortalModuleTestCase(ModuleTestCase):
    "Structure of the portal module"
    module = 'hub_portal'
    language = 'ru'


del ModuleTestCase
