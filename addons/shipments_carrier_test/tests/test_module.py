from trytond.tests.test_tryton import ModuleTestCase


class ShipmentsCarrierTestCase(ModuleTestCase):
    "Structure of the test carrier"
    module = 'shipments_carrier_test'


del ModuleTestCase
