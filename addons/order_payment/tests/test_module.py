from trytond.tests.test_tryton import ModuleTestCase


class OrderPaymentTestCase(ModuleTestCase):
    "Structure of the order_payment module"
    module = 'order_payment'
    language = 'ru'


del ModuleTestCase
