"The 1C-Bitrix site connection"
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .client import SiteClient, SiteRestClient


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    site_mappings = fields.One2Many('site_bridge.mapping', 'system',
        "Delivery and Payment Mapping",
        states={'invisible': Eval('code') != 'site'},
        help="The website's delivery services and payment systems as the "
        "hub's. An order with a value not listed here comes in flagged "
        "\"Needs Mapping\".")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append(('site', "Website (1C-Bitrix)"))

    def site_client(self):
        "The site's client with the exchange user's login and password"
        return SiteClient(self.base_url, self.login, self.password,
            timeout=self.timeout or 10)

    def site_rest_client(self):
        "The site's sale.* REST; the token is the incoming webhook"
        return SiteRestClient(self.base_url, self.token,
            timeout=self.timeout or 10)


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.source.selection.append(('site', "Website"))
