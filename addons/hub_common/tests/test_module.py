import datetime as dt
from decimal import Decimal

from trytond.modules.hub_common import is_whole_positive, utcnow
from trytond.tests.test_tryton import ModuleTestCase


class HubCommonTestCase(ModuleTestCase):
    "The shared helpers"
    module = 'hub_common'

    def test_utcnow_naive_utc(self):
        now = utcnow()
        self.assertIsNone(now.tzinfo)
        aware = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.assertLess(abs((aware - now).total_seconds()), 5)

    def test_whole_positive(self):
        for good in (1, Decimal('2'), Decimal('3.000')):
            self.assertTrue(is_whole_positive(good), good)
        for bad in (None, 0, -1, Decimal('1.5'), Decimal('-2')):
            self.assertFalse(is_whole_positive(bad), bad)




del ModuleTestCase
