from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.pool import Pool


class CarrierRussianPostTestCase(ModuleTestCase):
    "Structure of the carrier_russian_post module"
    module = 'carrier_russian_post'
    language = 'ru'

    @with_transaction()
    def test_connections(self):
        "Both connection codes, their clients built from the connection"
        System = Pool().get('hub_sync.system')
        codes = dict(System.codes())
        self.assertIn('russian_post', codes)
        self.assertIn('russian_post_tracking', codes)
        otpravka, tracking = System.create([{'code': 'russian_post',
                    'name': "Отправка", 'base_url': 'http://127.0.0.1:9',
                    'token': 't', 'login': 'l', 'password': 'p',
                    'russian_post_shipping_point': '109012'},
                {'code': 'russian_post_tracking', 'name': "Трекинг",
                    'login': 'l', 'password': 'p'}])
        self.assertEqual(tracking.russian_post_daily_quota, 100)
        client = otpravka.russian_post_client()
        self.assertEqual(client.headers['Authorization'], 'AccessToken t')
        self.assertEqual(tracking.russian_post_tracking_client().base_url,
            'https://tracking.russianpost.ru')

    @with_transaction()
    def test_configure_sandbox(self):
        "The demo's connections, configured twice: one each, updated"
        System = Pool().get('hub_sync.system')
        credentials = {'access_token': 't', 'login': 'l', 'password': 'p',
            'tracking_login': 'tl', 'tracking_password': 'tp'}
        System.russian_post_configure_sandbox('http://sim/', credentials)
        System.russian_post_configure_sandbox('http://sim2/', credentials)
        otpravka, = System.search([('code', '=', 'russian_post')])
        tracking, = System.search([('code', '=', 'russian_post_tracking')])
        self.assertEqual((otpravka.base_url, otpravka.token,
                otpravka.russian_post_shipping_point),
            ('http://sim2', 't', '109012'))
        self.assertEqual((tracking.login, tracking.russian_post_batch),
            ('tl', True))


del ModuleTestCase
