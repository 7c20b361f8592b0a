"The 1C UT11 connection: the OData root and the references orders need."
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.tools.timezone import UTC, available_timezones, get_tzinfo
from trytond.transaction import without_check_access

from .client import UT11Client

_ut11 = {'invisible': Eval('code') != 'ut11'}
TIMEZONES = [(z, z) for z in sorted(available_timezones())]


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
    ut11_reserve_on_payment = fields.Boolean("Reserve on Payment",
        states=_ut11,
        help="Reserve a paid order nearest the customer at once, which "
        "sends it to 1C; otherwise the manager presses «Reserve».")
    ut11_cancel_reason = fields.Char("Cancel Reason GUID", states=_ut11,
        help="ПричиныОтменыЗаказовКлиентов: the reason on the lines of an "
        "order the hub cancels in 1C.")
    ut11_timezone = fields.Selection(
        TIMEZONES, "1C Server Time Zone", translate=False, states=_ut11,
        help="1C keeps dates in its server's local time, without a zone.")
    ut11_stock_read_at = fields.DateTime(
        "Stock Changes Read At", readonly=True, states=_ut11,
        help="The next stock refresh reads what moved in 1C since then "
        "(a few minutes earlier, for clocks that differ).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append(('ut11', "1C UT11"))

    @classmethod
    def default_ut11_version(cls):
        return '11.5'

    @classmethod
    def default_ut11_reserve_on_payment(cls):
        return True

    @classmethod
    def default_ut11_timezone(cls):
        return 'Europe/Moscow'

    def ut11_local(self, when):
        "The hub's UTC time as 1C's server writes it: local, no zone"
        zone = get_tzinfo(self.ut11_timezone or 'Europe/Moscow')
        return when.replace(tzinfo=UTC).astimezone(zone).replace(
            tzinfo=None)

    def ut11_mark_stock_read(self, when):
        "Free stock is as 1C had it at when (UTC)"
        with without_check_access():
            self.write([self], {'ut11_stock_read_at': when})

    def ut11_client(self):
        return UT11Client(self.base_url, self.login, self.password,
            timeout=self.timeout, version=self.ut11_version or '11.5')


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.source.selection.append(('ut11', "1C UT11"))


class StockLevel(metaclass=PoolMeta):
    __name__ = 'order_hub.stock'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.source.selection.append(('ut11', "1C UT11"))
