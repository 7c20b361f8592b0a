from trytond.tests.test_tryton import ModuleTestCase


class PaymentYookassaTestCase(ModuleTestCase):
    "Structure of the payment_yookassa module"
    module = 'payment_yookassa'
    language = 'ru'


del ModuleTestCase
