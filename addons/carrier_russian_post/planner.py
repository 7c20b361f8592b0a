"""What to ask the tracking service now, within the daily quota.

Pure Python (no Tryton, no network): the cron of the integration step
gives the parcels still travelling and the quota used today, and does what
the plan says.  See README.md, "Quota arithmetic".

Rules:
- a parcel is *due* when it was never polled or its ``interval`` passed
  since the last poll; a parcel waiting in a ticket is not due;
- most urgent first (``urgency`` descending), then the longest unpolled;
- the remaining quota of the day is spread over the runs left until the
  quota day ends (midnight Moscow time): a run spends at most
  ceil(remaining / runs left), so a busy morning cannot starve the evening;
- parcels at least as urgent as ``urgent`` go single (fresh status now);
- with batch access, when at least ``batch_min`` parcels are due (or the
  singles of this run are spent), the rest go into tickets of at most
  ``ticket_size`` barcodes (one request each, answered 15 minutes later);
- without batch access, or for the few left, single requests;
- what does not fit is *deferred* to a later run, never dropped.
"""
import datetime as dt
import math
from dataclasses import dataclass, field

MOSCOW = dt.timezone(dt.timedelta(hours=3))
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Parcel:
    barcode: str
    urgency: int = 0                  # higher is more urgent
    last_polled: dt.datetime = None   # aware; None: never
    interval: int = 6 * 3600          # seconds between two polls at least
    in_ticket: bool = False           # waiting in a requested ticket

    def due(self, now):
        return not self.in_ticket and (self.last_polled is None
            or (now - self.last_polled).total_seconds() >= self.interval)


@dataclass
class Quota:
    single_limit: int = 100           # None: no limit
    single_used: int = 0
    batch: bool = False               # batch access activated
    ticket_limit: int = None          # None: no limit
    tickets_used: int = 0

    @property
    def single_left(self):
        return None if self.single_limit is None else max(
            self.single_limit - self.single_used, 0)

    @property
    def tickets_left(self):
        if not self.batch:
            return 0
        return None if self.ticket_limit is None else max(
            self.ticket_limit - self.tickets_used, 0)


@dataclass
class Plan:
    singles: list = field(default_factory=list)     # barcodes
    tickets: list = field(default_factory=list)     # lists of barcodes
    deferred: list = field(default_factory=list)    # due, no budget now
    single_budget: int = 0
    ticket_budget: int = 0

    @property
    def requests(self):
        "Requests this plan spends (singles + getTicket calls)"
        return len(self.singles) + len(self.tickets)


def seconds_left_today(now):
    "Seconds until the quota day ends (midnight Moscow time)"
    local = now.astimezone(MOSCOW)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1),
        dt.time(), MOSCOW)
    return (midnight - local).total_seconds()


def run_budget(left, now, run_interval):
    "This run's share of what is left of a daily quota (None: no limit)"
    if left is None:
        return None
    runs_left = max(1, math.ceil(seconds_left_today(now) / run_interval))
    return min(left, math.ceil(left / runs_left))


def plan(parcels, quota, now, run_interval=900, ticket_size=500,
        batch_min=10, urgent=None):
    """The Plan of this run for parcels (Parcel) under quota (Quota)."""
    due = sorted((p for p in parcels if p.due(now)), key=lambda p: (
            -p.urgency, p.last_polled or EPOCH, p.barcode))
    singles_left = run_budget(quota.single_left, now, run_interval)
    tickets_left = run_budget(quota.tickets_left, now, run_interval)
    result = Plan(single_budget=singles_left, ticket_budget=tickets_left)

    def take_single(parcel):
        nonlocal singles_left
        if singles_left is not None and singles_left <= 0:
            return False
        result.singles.append(parcel.barcode)
        if singles_left is not None:
            singles_left -= 1
        return True

    rest = []
    for parcel in due:
        if urgent is not None and parcel.urgency >= urgent and take_single(
                parcel):
            continue
        rest.append(parcel)
    batching = tickets_left != 0 and (len(rest) >= batch_min
        or (singles_left is not None and singles_left < len(rest)))
    if batching:
        count = math.ceil(len(rest) / ticket_size)
        if tickets_left is not None:
            count = min(count, tickets_left)
        batched, rest = rest[:count * ticket_size], rest[count * ticket_size:]
        result.tickets = [[p.barcode for p in batched[i:i + ticket_size]]
            for i in range(0, len(batched), ticket_size)]
    for parcel in rest:
        if not take_single(parcel):
            result.deferred.append(parcel.barcode)
    return result


def daily_capacity(quota, polls_per_parcel, ticket_size=500):
    """How many parcels can be followed a day when each is polled
    polls_per_parcel times a day (None: no limit)"""
    if quota.single_limit is None or (quota.batch
            and quota.ticket_limit is None):
        return None
    singles = quota.single_limit
    batched = quota.ticket_limit * ticket_size if quota.batch else 0
    return (singles + batched) // polls_per_parcel
