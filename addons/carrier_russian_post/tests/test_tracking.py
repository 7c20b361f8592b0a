"""Tracking client (zeep) against the Russian Post simulator over real HTTP,
the WSDLs served from sandbox/wsdl/, the simulator on a fake clock."""
import datetime as dt
import unittest

from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.russian_post import DEFAULT_CREDENTIALS, RussianPostSimulator
from trytond.modules.hub_sync.errors import PermanentError, TransientError

from ..tracking import MOSCOW, QuotaExceeded, TrackingClient

LOGIN = (DEFAULT_CREDENTIALS['tracking_login'],
    DEFAULT_CREDENTIALS['tracking_password'])


def to_midnight():
    "Seconds from the fake clock's now to the next Moscow midnight + 60"
    now = CLOCK.now(MOSCOW)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1),
        dt.time(), MOSCOW)
    return int((midnight - now).total_seconds()) + 60


def setUpModule():
    global SIM, URL, CONTROL, CLOCK
    CLOCK = FakeClock()         # 2026-03-02 10:00 Moscow time
    SIM = RussianPostSimulator(clock=CLOCK)
    URL = SIM.start()
    CONTROL = SandboxControl(URL)


def tearDownModule():
    SIM.stop()


class TrackingTestCase(unittest.TestCase):
    def setUp(self):
        SIM.reset()
        self.client = self.make_client()

    def make_client(self, login=LOGIN, timeout=5, base_url=None):
        return TrackingClient(base_url or URL, *login, timeout=timeout,
            clock=lambda: CLOCK.now())

    def seed(self, steps, index_to='630099', **kwargs):
        return CONTROL.action('seed_parcel', index_from='109012',
            index_to=index_to, operations=steps, **kwargs)['barcode']

    def step(self):
        CLOCK.advance(3600)


class SingleAccessTest(TrackingTestCase):
    def test_history_as_neutral_events(self):
        barcode = self.seed(0)
        for _ in range(3):
            self.step()
            CONTROL.action('advance_parcel', barcode=barcode)
        events = self.client.history(barcode)
        self.assertEqual([e['code'] for e in events], ['1.1', '8.1', '8.3'])
        first = events[0]
        self.assertEqual(first['date'].utcoffset(), dt.timedelta(0))
        self.assertEqual(first['date'], CLOCK.now() - dt.timedelta(hours=2))
        self.assertEqual(first['description'], 'Прием: Единичный')
        self.assertEqual(first['index'], '109012')
        self.assertIn('109012', first['location'])
        self.assertIn('"OperType"', first['raw'])
        self.assertEqual(self.client.history('RA644000001RU'), [])

    def test_delivered_and_returned(self):
        barcode = self.seed(3)
        CONTROL.action('add_operation', barcode=barcode, oper_type=3,
            oper_attr=4)
        self.assertEqual(self.client.history(barcode)[-1]['code'], '3.4')
        delivered = self.seed(8)
        self.assertEqual(self.client.history(delivered)[-1]['code'], '2.1')

    def test_bad_login_is_permanent(self):
        client = self.make_client(login=('who', 'wrong'))
        with self.assertRaises(PermanentError) as caught:
            client.history('RA644000001RU')
        self.assertNotIsInstance(caught.exception, TransientError)
        self.assertIn('не принял логин', caught.exception.message)

    def test_daily_limit_waits_for_the_next_day(self):
        CONTROL.action('settings', tracking_daily_limit=1)
        self.client.history('RA644000001RU')
        with self.assertRaises(QuotaExceeded) as caught:
            self.client.history('RA644000001RU')
        self.assertIsInstance(caught.exception, TransientError)
        self.assertIn('лимит', caught.exception.message)
        # until midnight Moscow time, plus a minute
        self.assertEqual(caught.exception.retry_after, to_midnight())
        CLOCK.advance(caught.exception.retry_after)
        self.assertEqual(self.client.history('RA644000001RU'), [])

    def test_malformed_barcode_spends_no_request(self):
        CONTROL.clear_requests()
        with self.assertRaises(PermanentError):
            self.client.history('12345')
        self.assertEqual(CONTROL.requests(path='/rtm34', method='POST'), [])

    def test_outage_and_errors_are_transient(self):
        barcode = self.seed(1)
        self.client.history(barcode)            # the WSDL is loaded
        for kind, extra in (('down', {}), ('error', {'status': 500}),
                ('rate_limit', {})):
            CONTROL.fault(kind, '/rtm34', method='POST', count=1, **extra)
            with self.assertRaises(TransientError, msg=kind):
                self.client.history(barcode)
        self.assertEqual(len(self.client.history(barcode)), 1)

    def test_unreachable_service_is_transient(self):
        client = self.make_client(base_url='http://127.0.0.1:9')
        with self.assertRaises(TransientError) as caught:
            client.history('RA644000001RU')
        self.assertIn('недоступен', caught.exception.message)


class BatchAccessTest(TrackingTestCase):
    def test_ticket_not_ready_then_ready(self):
        barcode = self.seed(2)
        ticket = self.client.request_ticket([barcode, 'RA123456789RU'])
        answer = self.client.ticket_answer(ticket)
        self.assertEqual((answer.state, answer.retry_after),
            ('not_ready', 900))
        CLOCK.advance(900)
        answer = self.client.ticket_answer(ticket)
        self.assertTrue(answer.ready)
        self.assertEqual([e['code'] for e in answer.events[barcode]],
            ['1.1', '8.1'])
        self.assertEqual(answer.unknown, ['RA123456789RU'])
        CONTROL.action('hold_tickets', seconds=300)
        self.assertEqual(self.client.ticket_answer(ticket).state,
            'not_ready')

    def test_same_events_as_single_access(self):
        "Local times without offset placed by the office's index"
        barcode = self.seed(0)
        for _ in range(7):
            self.step()
            CONTROL.action('advance_parcel', barcode=barcode)
        single = self.client.history(barcode)
        ticket = self.client.request_ticket([barcode])
        CLOCK.advance(900)
        batch = self.client.ticket_answer(ticket).events[barcode]
        # milliseconds are not in the batch answer
        self.assertEqual([(e['code'], e['date'].replace(microsecond=0))
                for e in single], [(e['code'], e['date']) for e in batch])
        # Novosibirsk: UTC+7
        self.assertEqual(batch[-1]['index'], '630099')

    def test_expired_ticket(self):
        self.assertEqual(self.client.ticket_answer(
                '20260302100000000SANDBOX-TRACKING').state, 'expired')

    def test_limit_reached_in_band(self):
        CONTROL.action('settings', batch_daily_limit=1)
        self.client.request_ticket(['RA123456789RU'])
        with self.assertRaises(QuotaExceeded) as caught:
            self.client.request_ticket(['RA123456789RU'])
        self.assertEqual(caught.exception.retry_after, to_midnight())

    def test_bad_login(self):
        client = self.make_client(login=('who', 'wrong'))
        with self.assertRaises(PermanentError) as caught:
            client.request_ticket(['RA123456789RU'])
        self.assertNotIsInstance(caught.exception, TransientError)

    def test_outage(self):
        self.client.request_ticket(['RA123456789RU'])
        CONTROL.fault('down', '/fc', method='POST', count=1)
        with self.assertRaises(TransientError):
            self.client.request_ticket(['RA123456789RU'])
