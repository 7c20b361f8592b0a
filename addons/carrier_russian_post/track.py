"""Tracking Russian Post shipments by polling, within the daily quota.

order_shipments' cron «Отслеживать отправления служб доставки» calls
``Shipment.carrier_track_russian_post(shipments)`` with the shipments
created at Russian Post and still on their way.  Each run:

1. asks for the answers of the tickets issued at least 15 minutes ago
   (not ready: asked again next run; expired: the parcels are planned
   again);
2. plans with ``planner.plan`` (most urgent first, singles or tickets,
   this run's share of what is left of the day's quota);
3. spends the plan: singles → ``history``, tickets → ``request_ticket``.

Events go to ``Shipment.carrier_events`` (the history and the status
table).  The day's use of the quota is counted on the tracking connection
(Moscow day).  In-band errors: the limit reached → polling waits for the
next quota day (``russian_post_paused_until``); bad login or a refused
request → a journal entry «Требует внимания» and the run stops; Russian
Post down or slow → a journal entry «Будет повторено», the next run tries
again.  Nothing is lost: a parcel not polled stays due."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from trytond.modules.hub_common import utcnow
from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, SyncError)

from .planner import MOSCOW, Parcel, Quota, plan
from .system import TRACKING
from .tracking import TICKET_DELAY, TICKET_SIZE, QuotaExceeded, valid_barcode

OPERATION = 'russian_post_track'
RUN_INTERVAL = 30 * 60          # the cron's interval (order_shipments)
URGENT_INTERVAL = 2 * 3600
NORMAL_INTERVAL = 6 * 3600


def aware(value):
    "A naive UTC datetime of Tryton as an aware one"
    return value.replace(tzinfo=dt.UTC) if value else None


def naive(value):
    "An aware datetime as Tryton stores it (naive UTC)"
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value else None


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    russian_post_quota_day = fields.Date("Quota Day", readonly=True,
        states={'invisible': Eval('code') != TRACKING})
    russian_post_single_used = fields.Integer("Requests Used Today",
        readonly=True, states={'invisible': Eval('code') != TRACKING})
    russian_post_tickets_used = fields.Integer("Tickets Used Today",
        readonly=True, states={'invisible': Eval('code') != TRACKING})
    russian_post_paused_until = fields.DateTime("Paused Until",
        readonly=True, states={'invisible': Eval('code') != TRACKING},
        help="Russian Post answered that the daily limit is reached: "
        "tracking waits until then.")

    def russian_post_quota(self, now):
        "Today's Quota (a new Moscow day starts from zero)"
        today = now.astimezone(MOSCOW).date()
        same_day = self.russian_post_quota_day == today
        return Quota(single_limit=self.russian_post_daily_quota,
            single_used=(self.russian_post_single_used or 0)
            if same_day else 0,
            batch=bool(self.russian_post_batch),
            ticket_limit=self.russian_post_ticket_quota,
            tickets_used=(self.russian_post_tickets_used or 0)
            if same_day else 0)

    def russian_post_spend(self, now, singles=0, tickets=0):
        "Count requests against today's quota, committed with the run"
        quota = self.russian_post_quota(now)
        self.russian_post_quota_day = now.astimezone(MOSCOW).date()
        self.russian_post_single_used = quota.single_used + singles
        self.russian_post_tickets_used = quota.tickets_used + tickets
        self.save()


class Shipment(metaclass=PoolMeta):
    __name__ = 'order_shipments.shipment'

    @classmethod
    def carrier_track_russian_post(cls, shipments):
        System = Pool().get('hub_sync.system')
        systems = System.search([('code', '=', TRACKING),
                ('active', '=', True)], limit=1)
        if not systems:
            return
        system, = systems
        now = dt.datetime.now(dt.UTC)
        paused = aware(system.russian_post_paused_until)
        if paused and now < paused:
            return
        shipments = [s for s in shipments
            if s.track_number and valid_barcode(s.track_number)]
        tracker = Tracker(system, now)
        try:
            tracker.answers(cls, [s for s in shipments
                    if s.russian_post_ticket])
            tracker.run(cls, [s for s in shipments
                    if not s.russian_post_ticket])
        except QuotaExceeded as error:
            system.russian_post_paused_until = naive(
                now + dt.timedelta(seconds=error.retry_after or 3600))
            system.save()
            tracker.journal('retry', error)
        except (PermanentError, ConfigurationError) as error:
            tracker.journal('attention', error)
        except SyncError as error:
            tracker.journal('retry', error)

    def russian_post_parcel(self):
        "The planner's view of this shipment"
        urgency = 0
        if self.state == 'delivered':
            urgency = 2                 # waiting at the post office
        elif (self.order.payment_due or 0) > 0:
            urgency = 1                 # cash on delivery to follow
        return Parcel(self.track_number, urgency=urgency,
            last_polled=aware(self.russian_post_polled),
            interval=URGENT_INTERVAL if urgency else NORMAL_INTERVAL,
            in_ticket=bool(self.russian_post_ticket))

    @classmethod
    def russian_post_tracked(cls, shipment, events, now):
        "Events of one parcel into its history; polled now"
        cls.write([shipment], {'russian_post_polled': naive(now),
                'russian_post_ticket': None,
                'russian_post_ticket_date': None})
        return cls.carrier_events(cls(shipment.id), [
                {**e, 'date': naive(e['date'])} for e in events])


class Tracker:
    "One tracking run of the cron on one tracking connection"

    def __init__(self, system, now):
        self.system = system
        self.now = now
        self.client = system.russian_post_tracking_client()

    def answers(self, Shipment, shipments):
        "Answers of the tickets issued long enough ago"
        tickets = {}
        for shipment in shipments:
            issued = aware(shipment.russian_post_ticket_date)
            if issued and (self.now - issued).total_seconds() < TICKET_DELAY:
                continue
            tickets.setdefault(shipment.russian_post_ticket, []).append(
                shipment)
        for ticket, group in tickets.items():
            answer = self.client.ticket_answer(ticket)
            if answer.state == 'not_ready':
                continue
            if answer.state == 'expired':
                Shipment.write(group, {'russian_post_ticket': None,
                        'russian_post_ticket_date': None})
                continue
            for shipment in group:
                Shipment.russian_post_tracked(shipment,
                    answer.events.get(shipment.track_number, []), self.now)

    def run(self, Shipment, shipments):
        "Plan within the quota, then spend the plan"
        by_barcode = {}
        for shipment in shipments:
            by_barcode.setdefault(shipment.track_number, []).append(shipment)
        result = plan([by_barcode[b][0].russian_post_parcel()
                for b in by_barcode],
            self.system.russian_post_quota(self.now), self.now,
            run_interval=RUN_INTERVAL, ticket_size=TICKET_SIZE)
        for barcode in result.singles:
            self.system.russian_post_spend(self.now, singles=1)
            events = self.client.history(barcode)
            for shipment in by_barcode[barcode]:
                Shipment.russian_post_tracked(shipment, events, self.now)
        for barcodes in result.tickets:
            self.system.russian_post_spend(self.now, tickets=1)
            ticket = self.client.request_ticket(barcodes)
            Shipment.write([s for b in barcodes for s in by_barcode[b]], {
                    'russian_post_ticket': ticket,
                    'russian_post_ticket_date': naive(self.now)})

    def journal(self, outcome, error):
        "What went wrong, in the sync journal (administrators read it)"
        Journal = Pool().get('hub_sync.journal')
        Journal.add([{'system': TRACKING, 'direction': 'out',
                    'operation': OPERATION, 'outcome': outcome,
                    'summary': gettext('carrier_russian_post.msg_tracking',
                        reason=getattr(error, 'message', None)
                        or str(error))[:250],
                    'http_status': getattr(error, 'status', None),
                    'detail': str(error)}])
