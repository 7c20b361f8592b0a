"""The shared machinery: journal, faults, webhooks and the control API."""
import threading
import unittest

import requests
from flask import jsonify, request

from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.core import Simulator, control, error_page, route


class EchoSimulator(Simulator):
    name = 'echo'

    @route('/v1/echo', methods=['POST'])
    def echo(self):
        return jsonify(request.get_json())

    @route('/v1/notify', methods=['POST'])
    def notify(self):
        body = request.get_json()
        self.webhooks.send(body['url'], {'n': body['n']}, event='test')
        return '', 202

    @route('/v1/greet', defaults={'name': 'мир'})
    @route('/v1/greet/<name>')
    def greet(self, name):
        return jsonify({'hello': name})

    @error_page(404)
    def not_found(self, exc):
        return jsonify({'error': 'no such echo'}), 404

    def init_state(self):
        self.counter = 0

    @control('bump')
    def bump(self, by=1):
        self.counter += by
        return {'counter': self.counter}


class Receiver(Simulator):
    name = 'receiver'

    @route('/hook', methods=['POST'])
    def hook(self):
        self.received.append(request.get_json()['n'])
        return '', 200

    def init_state(self):
        self.received = []


class CoreTest(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.sim = EchoSimulator(clock=self.clock)
        self.url = self.sim.start()
        self.addCleanup(self.sim.stop)
        self.control = SandboxControl(self.url)

    def test_journal_records_requests(self):
        requests.post(self.url + '/v1/echo', json={'a': 1}, timeout=5)
        entries = self.control.requests(path='/v1/echo')
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0]['status'], 200)
        self.assertIn('"a"', entries[0]['body'])

    def test_error_fault_for_a_count(self):
        self.control.fault('error', '/v1/echo', status=502, count=2)
        codes = [requests.post(self.url + '/v1/echo', json={}, timeout=5)
            .status_code for _ in range(3)]
        self.assertEqual(codes, [502, 502, 200])

    def test_down_fault_drops_connection(self):
        self.control.fault('down', '/v1/*', count=1)
        with self.assertRaises(requests.ConnectionError):
            requests.post(self.url + '/v1/echo', json={}, timeout=5)
        self.assertEqual(
            requests.post(self.url + '/v1/echo', json={}, timeout=5)
            .status_code, 200)

    def test_fault_for_a_time(self):
        self.control.fault('rate_limit', '*', seconds=30)
        first = requests.post(self.url + '/v1/echo', json={}, timeout=5)
        self.clock.advance(29)
        second = requests.post(self.url + '/v1/echo', json={}, timeout=5)
        self.clock.advance(1)
        third = requests.post(self.url + '/v1/echo', json={}, timeout=5)
        self.assertEqual([r.status_code for r in (first, second, third)],
            [429, 429, 200])

    def test_rate_limit_with_retry_after(self):
        self.control.fault('rate_limit', '/v1/echo', count=1, retry_after=120)
        first = requests.post(self.url + '/v1/echo', json={}, timeout=5)
        second = requests.post(self.url + '/v1/echo', json={}, timeout=5)
        self.assertEqual(first.status_code, 429)
        self.assertEqual(first.headers['Retry-After'], '120')
        self.assertNotIn('Retry-After', second.headers)

    def test_slow_fault(self):
        self.control.fault('slow', '/v1/echo', delay=20, count=1)
        answers = []
        request = threading.Thread(target=lambda: answers.append(
                requests.post(self.url + '/v1/echo', json={'a': 1},
                    timeout=5)))
        request.start()
        self.assertTrue(self.clock.wait_for_timers())
        self.clock.advance(19)
        self.assertEqual(answers, [])       # still held
        self.clock.advance(1)
        request.join(5)
        self.assertEqual(answers[0].json(), {'a': 1})

    def test_clock_over_http(self):
        before = self.control.clock()
        after = self.control.advance(90)
        self.assertTrue(after['fake'])
        self.assertEqual(before['now'], '2026-03-02T07:00:00+00:00')
        self.assertEqual(after['now'], '2026-03-02T07:01:30+00:00')

    def test_stacked_routes_and_error_page(self):
        greetings = [requests.get(self.url + path, timeout=5).json()
            for path in ('/v1/greet', '/v1/greet/Маша')]
        self.assertEqual(greetings, [{'hello': 'мир'}, {'hello': 'Маша'}])
        missing = requests.get(self.url + '/v1/nothing', timeout=5)
        self.assertEqual((missing.status_code, missing.json()),
            (404, {'error': 'no such echo'}))

    def test_bad_fault_rejected(self):
        with self.assertRaises(requests.HTTPError):
            self.control.fault('explode')

    def test_control_action(self):
        self.assertEqual(self.control.action('bump', by=3), {'counter': 3})

    def test_webhook_faults(self):
        receiver = Receiver()
        hook = receiver.start() + '/hook'
        self.addCleanup(receiver.stop)

        def notify(n):
            requests.post(self.url + '/v1/notify', json={'url': hook, 'n': n},
                timeout=5)

        self.control.fault('webhook_drop', '/hook', count=1)
        notify(1)
        self.control.fault('webhook_duplicate', '/hook', count=1)
        notify(2)
        self.control.fault('webhook_reorder', '/hook', count=2)
        notify(3)
        notify(4)
        self.sim.webhooks.wait_idle()
        self.assertEqual(receiver.received, [2, 2, 4, 3])
        outcomes = [d['outcome'] for d in self.control.webhooks()]
        self.assertEqual(outcomes[0], 'dropped')

    def test_webhook_delay(self):
        receiver = Receiver()
        hook = receiver.start() + '/hook'
        self.addCleanup(receiver.stop)
        self.control.fault('webhook_delay', '/hook', count=1, delay=60)
        for n in (1, 2):
            requests.post(self.url + '/v1/notify', json={'url': hook,
                    'n': n}, timeout=5)
        self.clock.advance(59)
        self.assertFalse(self.sim.webhooks.wait_idle(0.2))
        self.assertEqual(receiver.received, [])
        self.clock.advance(1)
        self.assertTrue(self.sim.webhooks.wait_idle())
        # the held one holds the queue behind it: they arrive in order
        self.assertEqual(receiver.received, [1, 2])


if __name__ == '__main__':
    unittest.main()
