from trytond.tests.test_tryton import ModuleTestCase


class MarkingTestCase(ModuleTestCase):
    "Structure of the marking module"
    module = 'marking'
    language = 'ru'
    # ut11_bridge: its glue's views are checked too
    extras = ['ut11_bridge']


del ModuleTestCase
