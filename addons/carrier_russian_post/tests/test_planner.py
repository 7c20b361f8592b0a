"""The tracking planner: what to poll now within the daily quota (pure)."""
import datetime as dt
import unittest

from ..planner import (
    MOSCOW, Parcel, Quota, daily_capacity, plan, run_budget,
    seconds_left_today)

MORNING = dt.datetime(2026, 3, 2, 10, 0, tzinfo=MOSCOW)   # 14 h left


def parcels(count, prefix='RA', **values):
    return [Parcel(f'{prefix}{n:09d}RU', **values) for n in range(count)]


class PlannerTest(unittest.TestCase):
    def test_spread_over_the_day(self):
        "100 a day from 10:00 with a run every 15 min: 56 runs, 2 a run"
        self.assertEqual(seconds_left_today(MORNING), 14 * 3600)
        result = plan(parcels(5), Quota(single_limit=100), MORNING)
        self.assertEqual(result.single_budget, 2)
        self.assertEqual(len(result.singles), 2)
        self.assertEqual(len(result.deferred), 3)
        self.assertEqual(result.tickets, [])
        # late in the day what is left may all be spent
        late = dt.datetime(2026, 3, 2, 23, 50, tzinfo=MOSCOW)
        self.assertEqual(run_budget(50, late, 900), 50)
        # a new quota day starts after midnight Moscow time (21:00 UTC)
        self.assertEqual(seconds_left_today(dt.datetime(2026, 3, 2, 21, 0,
                    tzinfo=dt.UTC)), 24 * 3600)

    def test_most_urgent_and_longest_unpolled_first(self):
        hours = dt.timedelta(hours=1)
        items = [Parcel('A', urgency=0, last_polled=MORNING - 30 * hours),
            Parcel('B', urgency=2, last_polled=MORNING - 7 * hours),
            Parcel('C', urgency=0, last_polled=None),
            Parcel('D', urgency=2, last_polled=MORNING - 20 * hours),
            Parcel('E', urgency=5, last_polled=MORNING - hours),   # not due
            Parcel('F', urgency=9, in_ticket=True)]                # waiting
        result = plan(items, Quota(single_limit=None), MORNING)
        self.assertEqual(result.singles, ['D', 'B', 'C', 'A'])
        result = plan(items, Quota(single_limit=100), MORNING)
        self.assertEqual((result.singles, result.deferred),
            (['D', 'B'], ['C', 'A']))

    def test_batch_tickets_when_many(self):
        result = plan(parcels(1200), Quota(single_limit=100, batch=True),
            MORNING)
        self.assertEqual([len(t) for t in result.tickets], [500, 500, 200])
        self.assertEqual(result.singles, [])
        self.assertEqual(result.requests, 3)

    def test_ticket_quota_spread_too(self):
        result = plan(parcels(1200), Quota(single_limit=100, batch=True,
                ticket_limit=10), MORNING)
        self.assertEqual([len(t) for t in result.tickets], [500])
        self.assertEqual(len(result.singles), 2)
        self.assertEqual(len(result.deferred), 698)

    def test_few_parcels_go_single_unless_singles_run_out(self):
        few = parcels(2)
        result = plan(few, Quota(single_limit=100, batch=True), MORNING)
        self.assertEqual((len(result.singles), result.tickets), (2, []))
        result = plan(parcels(5), Quota(single_limit=100, batch=True),
            MORNING)
        self.assertEqual((result.singles, [len(t) for t in result.tickets]),
            ([], [5]))

    def test_urgent_go_single_even_with_batch(self):
        items = parcels(20) + [Parcel('URGENT', urgency=9)]
        result = plan(items, Quota(single_limit=100, batch=True), MORNING,
            urgent=5)
        self.assertEqual(result.singles, ['URGENT'])
        self.assertEqual([len(t) for t in result.tickets], [20])

    def test_quota_used_up_defers_everything(self):
        result = plan(parcels(3), Quota(single_limit=100, single_used=100),
            MORNING)
        self.assertEqual((result.singles, len(result.deferred)), ([], 3))

    def test_daily_capacity(self):
        self.assertEqual(daily_capacity(Quota(single_limit=100), 2), 50)
        self.assertEqual(daily_capacity(Quota(single_limit=100, batch=True,
                    ticket_limit=4), 2), 1050)
        self.assertIsNone(daily_capacity(Quota(single_limit=None), 2))
