from trytond.tests.test_tryton import ModuleTestCase


class HubAuthTestCase(ModuleTestCase):
    "Structure of the hub_auth module"
    module = 'hub_auth'
    extras = ['order_hub']
    language = 'ru'


del ModuleTestCase
