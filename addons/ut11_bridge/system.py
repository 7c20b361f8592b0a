"The 1C UT11 connection: the OData root and the references orders need."
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .client import UT11Client

_ut11 = {'invisible': Eval('code') != 'ut11'}


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    ut11_version = fields.Selection([
            ('11.5', "11.5"),
            ('11.4', "11.4"),
            ], "UT Version", states=_ut11)
    ut11_organization = fields.Char(
        "Organization GUID", states=_ut11,
        help="Организация of the customer orders.")
    ut11_partner = fields.Char(
        "Retail Partner GUID", states=_ut11,
        help="The partner (e.g. «Розничный покупатель») of site orders.")
    ut11_counterparty = fields.Char("Retail Counterparty GUID", states=_ut11)
    ut11_agreement = fields.Char("Agreement GUID", states=_ut11)
    ut11_currency = fields.Char("Currency GUID", states=_ut11)
    ut11_price_type = fields.Char(
        "Price Type GUID", states=_ut11,
        help="Вид цены whose prices are the hub's list prices.")
    ut11_vat_rate = fields.Char("VAT Rate GUID", states=_ut11)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append(('ut11', "1C UT11"))

    @classmethod
    def default_ut11_version(cls):
        return '11.5'

    def ut11_client(self):
        return UT11Client(self.base_url, self.login, self.password,
            timeout=self.timeout, version=self.ut11_version or '11.5')
