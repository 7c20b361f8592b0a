from trytond.tests.test_tryton import ModuleTestCase


class OrderHubTestCase(ModuleTestCase):
    "Structure of the order_hub module"
    module = 'order_hub'
    language = 'ru'


del ModuleTestCase
