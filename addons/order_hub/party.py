from trytond.model import fields
from trytond.pool import PoolMeta


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    hub_site_login = fields.Char("Site Login")
    hub_bonus_balance = fields.Numeric("Bonus Balance", digits=(16, 2))
    hub_loyalty_level = fields.Char("Loyalty Level")
    hub_kpp = fields.Char(
        "KPP", size=9,
        help="Tax registration reason code of a Russian organization.")
