from trytond.tests.test_tryton import ModuleTestCase


class OrderSyncTestCase(ModuleTestCase):
    "Structure of the order_sync module"
    module = 'order_sync'
    language = 'ru'


del ModuleTestCase
