"Connections for the demo: YooKassa, SMS and SMTP against the sandbox"
from trytond.pool import PoolMeta
from trytond.transaction import without_check_access

SANDBOX_SHOP_ID = '100500'
SANDBOX_SECRET_KEY = 'test_sandbox_secret_key'
SANDBOX_SMS_TOKEN = 'test_sms_token'
LOCAL_SENDERS = '127.0.0.1/32\n::1/128'


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    @classmethod
    def yookassa_configure_sandbox(cls, yookassa_url, sms_url=None,
            smtp_url=None, return_url=None):
        """Point the yookassa connection (and the sms and smtp ones when
        given) at the sandbox's simulators and accept notifications from
        this machine (YooKassa is the provider of payment links while it is
        the only provider).

        yookassa_url is the simulator's base URL (http://127.0.0.1:8103);
        the simulator must then be told to notify
        <hub>/<database>/payment_yookassa/notifications."""
        with without_check_access():
            cls._sandbox_connection('yookassa', "ЮKassa (песочница)",
                base_url=yookassa_url.rstrip('/') + '/v3',
                login=SANDBOX_SHOP_ID, password=SANDBOX_SECRET_KEY,
                yookassa_ips=cls.default_yookassa_ips() + '\n'
                + LOCAL_SENDERS,
                yookassa_return_url=return_url or yookassa_url)
            if sms_url:
                cls._sandbox_connection('sms', "SMS-шлюз (песочница)",
                    base_url=sms_url, token=SANDBOX_SMS_TOKEN,
                    notify_from='Shop')
            if smtp_url:
                cls._sandbox_connection('smtp', "Почта (песочница)",
                    base_url=smtp_url, notify_from='shop@example.ru')

    @classmethod
    def _sandbox_connection(cls, code, name, **values):
        systems = cls.search([('code', '=', code)], limit=1)
        if systems:
            cls.write(systems, values)
        else:
            cls.create([{'code': code, 'name': name, 'environment': 'test',
                        **values}])
