"""The two Russian Post connections.

Russian Post gives a shop two separate accounts, so the hub has two
connection codes (one active connection each):

- ``russian_post`` «Почта России»: the Otpravka API (otpravka.pochta.ru).
  Base URL, the application token in «Токен» (``Authorization: AccessToken``),
  the personal account's login and password (``X-User-Authorization:
  Basic``), and the index of the office where parcels are handed in.
- ``russian_post_tracking`` «Почта России: отслеживание»: the tracking SOAP
  services (tracking.pochta.ru → «Настройки доступа»), their own login and
  password, the daily quota of single requests, whether batch access is
  activated and its daily quota of tickets.

A second code rather than more fields on the first: other credentials,
another host, its own outbox/journal entries and its own quota; hub_sync's
"one active connection per code" then holds for both.
"""
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .client import API_URL, OtpravkaClient
from .tracking import TRACKING_URL, TrackingClient

SYSTEM = 'russian_post'
TRACKING = 'russian_post_tracking'
# the quota usually quoted for accounts without a contract (unconfirmed)
DEFAULT_DAILY_QUOTA = 100


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    russian_post_shipping_point = fields.Char("Shipping Office",
        states={'invisible': Eval('code') != SYSTEM},
        help="Index of the post office where the parcels are handed in; "
        "it must be one of the account's shipping points in Otpravka.")
    russian_post_daily_quota = fields.Integer("Requests a Day",
        domain=['OR', ('russian_post_daily_quota', '=', None),
            ('russian_post_daily_quota', '>=', 0)],
        states={'invisible': Eval('code') != TRACKING},
        help="How many single tracking requests the account may make a day "
        "(the day turns at midnight Moscow time).")
    russian_post_batch = fields.Boolean("Batch Access",
        states={'invisible': Eval('code') != TRACKING},
        help="Russian Post activated batch tracking (tickets) for the "
        "account.")
    russian_post_ticket_quota = fields.Integer("Tickets a Day",
        domain=['OR', ('russian_post_ticket_quota', '=', None),
            ('russian_post_ticket_quota', '>=', 0)],
        states={'invisible': (Eval('code') != TRACKING)
            | ~Eval('russian_post_batch')},
        help="How many batch tickets the account may request a day; empty "
        "when Russian Post set no limit.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append((SYSTEM, "Russian Post"))
        cls.code.selection.append((TRACKING, "Russian Post: tracking"))

    @classmethod
    def default_russian_post_daily_quota(cls):
        return DEFAULT_DAILY_QUOTA

    def russian_post_client(self):
        "The Otpravka client of this connection"
        return OtpravkaClient(self.base_url or API_URL, self.token,
            self.login, self.password, timeout=self.timeout or 10)

    def russian_post_tracking_client(self):
        "The tracking client of this connection"
        return TrackingClient(self.base_url or TRACKING_URL, self.login,
            self.password, timeout=self.timeout or 10)
