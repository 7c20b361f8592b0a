from trytond.tests.test_tryton import ModuleTestCase


class SiteBridgeModuleTestCase(ModuleTestCase):
    "Structure of the site_bridge module"
    module = 'site_bridge'
    language = 'ru'
    # order_payment: its glue's views are checked too (ut11_bridge stays
    # out: the bridge stands without it)
    extras = ['order_payment']


del ModuleTestCase
