from trytond.tests.test_tryton import ModuleTestCase


class OrderReturnsTestCase(ModuleTestCase):
    "Structure of the order_returns module"
    module = 'order_returns'
    extras = ['ut11_bridge']
    language = 'ru'


del ModuleTestCase
