from trytond.tests.test_tryton import ModuleTestCase


class OrderShipmentsTestCase(ModuleTestCase):
    "Structure of the order_shipments module"
    module = 'order_shipments'
    extras = ['ut11_bridge', 'site_bridge']
    language = 'ru'


del ModuleTestCase
