from trytond.tests.test_tryton import ModuleTestCase


class MarkingTestCase(ModuleTestCase):
    "Structure of the marking module"
    module = 'marking'
    language = 'ru'


del ModuleTestCase
