"""The YooKassa connection: shopId as the login, the secret key as the
password, the API URL as the base URL; where notifications may come from."""
import ipaddress

from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .client import API_URL, YooKassaClient

SYSTEM = 'yookassa'
# https://yookassa.ru/developers/using-api/webhooks (IP addresses)
NOTIFICATION_IPS = ['185.71.76.0/27', '185.71.77.0/27', '77.75.153.0/25',
    '77.75.156.11', '77.75.156.35', '77.75.154.128/25', '2a02:5180::/32']


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    yookassa_ips = fields.Text("Notifications from",
        states={'invisible': Eval('code') != SYSTEM},
        help="Addresses and networks YooKassa sends notifications from, one "
        "a line; others are refused.")
    yookassa_return_url = fields.Char("Return URL",
        states={'invisible': Eval('code') != SYSTEM},
        help="Where the customer returns after paying by a link.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append((SYSTEM, "YooKassa"))

    @classmethod
    def default_yookassa_ips(cls):
        return '\n'.join(NOTIFICATION_IPS)

    def yookassa_client(self):
        return YooKassaClient(self.base_url or API_URL, self.login,
            self.password, timeout=self.timeout or 10)

    def yookassa_allows(self, address):
        "Whether a notification may come from this IP address"
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        for network in (self.yookassa_ips or '').split():
            try:
                if ip in ipaddress.ip_network(network, strict=False):
                    return True
            except ValueError:
                continue
        return False


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.source.selection.append((SYSTEM, "YooKassa"))
