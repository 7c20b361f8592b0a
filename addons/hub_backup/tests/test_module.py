from trytond.tests.test_tryton import ModuleTestCase


class HubBackupTestCase(ModuleTestCase):
    "Structure of the hub_backup module"
    module = 'hub_backup'
    extras = ['hub_notify']
    language = 'ru'


del ModuleTestCase
