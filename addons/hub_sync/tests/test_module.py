from trytond.tests.test_tryton import ModuleTestCase


class HubSyncTestCase(ModuleTestCase):
    "Structure of the hub_sync module"
    module = 'hub_sync'
    language = 'ru'


del ModuleTestCase
