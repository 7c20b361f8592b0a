from trytond.tests.test_tryton import ModuleTestCase


class HubNotifyTestCase(ModuleTestCase):
    "Structure of the hub_notify module"
    module = 'hub_notify'
    language = 'ru'


del ModuleTestCase
