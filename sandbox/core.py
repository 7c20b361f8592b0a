"""Machinery shared by every simulator.

Each external system is a :class:`Simulator`: a Flask app served on its own
loopback port, with a journal of the requests it received, fault injection
and outgoing webhooks.  Every simulator also answers the control API under
``/__sandbox__/`` (see README.md), so tests and the demo can drive it over
HTTP as well as in-process.
"""
import fnmatch
import itertools
import json
import logging
import socket
import threading
import time
import uuid
from collections import deque

import requests
from flask import Flask, Response, jsonify, redirect, request
from werkzeug.serving import WSGIRequestHandler, make_server

from . import page
from .clock import Clock

log = logging.getLogger('sandbox')

CONTROL_PREFIX = '/__sandbox__'

# kinds a fault rule may have
REQUEST_FAULTS = {'down', 'slow', 'error', 'rate_limit'}
WEBHOOK_FAULTS = {'webhook_drop', 'webhook_duplicate', 'webhook_reorder',
    'webhook_delay'}


class FaultRule:
    """One injected fault: which requests it hits and for how long.

    ``endpoint`` is a glob on the request path (``/v2/orders*``), ``count``
    limits how many requests it hits, ``seconds`` how long it lasts.
    ``retry_after`` (seconds) adds a ``Retry-After`` header to an injected
    ``error`` or ``rate_limit`` answer, as a proxy or a throttling API does.
    """
    _ids = itertools.count(1)

    def __init__(self, kind, endpoint='*', method=None, count=None,
            seconds=None, status=None, delay=None, body=None,
            retry_after=None, clock=None):
        if kind not in REQUEST_FAULTS | WEBHOOK_FAULTS:
            raise ValueError(f'unknown fault kind {kind!r}')
        self.clock = clock or Clock()
        self.id = next(self._ids)
        self.kind = kind
        self.endpoint = endpoint or '*'
        self.method = method.upper() if method else None
        self.remaining = count
        self.until = self.clock.monotonic() + seconds if seconds else None
        self.status = status
        self.delay = delay
        self.body = body
        self.retry_after = retry_after
        self.hits = 0

    def active(self):
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.until is None or self.clock.monotonic() < self.until

    def matches(self, kind, method, path):
        return (self.kind == kind and self.active()
            and (self.method is None or self.method == method)
            and fnmatch.fnmatchcase(path, self.endpoint))

    def consume(self):
        self.hits += 1
        if self.remaining is not None:
            self.remaining -= 1

    def as_dict(self):
        return {
            'id': self.id, 'kind': self.kind, 'endpoint': self.endpoint,
            'method': self.method, 'remaining': self.remaining,
            'active': self.active(), 'hits': self.hits,
            'status': self.status, 'delay': self.delay,
            'retry_after': self.retry_after,
            }


class Faults:
    def __init__(self, clock=None):
        self.clock = clock or Clock()
        self._rules = []
        self._lock = threading.Lock()

    def add(self, **kwargs):
        rule = FaultRule(**kwargs, clock=self.clock)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self):
        with self._lock:
            self._rules.clear()

    def take(self, kind, method='POST', path='*'):
        "Return the first active rule of kind for the request, consuming it"
        with self._lock:
            for rule in self._rules:
                if rule.matches(kind, method, path):
                    rule.consume()
                    return rule

    def list(self):
        with self._lock:
            return [r.as_dict() for r in self._rules]


class _Handler(WSGIRequestHandler):
    "Closes the socket without an answer while a 'down' fault is active"

    def run_wsgi(self):
        simulator = self.server.simulator
        path = self.path.split('?', 1)[0]
        if (not path.startswith(CONTROL_PREFIX)
                and simulator.faults.take('down', self.command, path)):
            simulator.journal.record_dropped(self.command, self.path)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        return super().run_wsgi()

    def log_request(self, *args, **kwargs):
        if log.isEnabledFor(logging.DEBUG):
            super().log_request(*args, **kwargs)


class Journal:
    "Every request a simulator received, newest last"

    def __init__(self, maxlen=5000, clock=None):
        self.clock = clock or Clock()
        self._entries = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def record(self, entry):
        with self._lock:
            self._entries.append(entry)

    def record_dropped(self, method, full_path):
        self.record({'time': self.clock.time(), 'method': method,
                'path': full_path.split('?', 1)[0], 'status': None,
                'fault': 'down'})

    def list(self, path=None, method=None):
        with self._lock:
            entries = list(self._entries)
        return [e for e in entries
            if (path is None or fnmatch.fnmatchcase(e['path'], path))
            and (method is None or e['method'] == method.upper())]

    def clear(self):
        with self._lock:
            self._entries.clear()


class Webhooks:
    """Delivers outgoing notifications from a background thread.

    Faults: ``webhook_drop`` loses a delivery, ``webhook_duplicate`` sends it
    twice, ``webhook_delay`` holds it for ``delay`` seconds and
    ``webhook_reorder`` holds ``count`` deliveries and sends them newest first.
    """

    def __init__(self, faults, timeout=5, clock=None):
        self.faults = faults
        self.clock = clock or faults.clock
        self.timeout = timeout
        self.deliveries = []
        self._held = []
        self._queue = deque()
        self._cond = threading.Condition()
        self._thread = None
        self._stop = False

    def start(self):
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True,
            name='sandbox-webhooks')
        self._thread.start()

    def stop(self):
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def send(self, url, payload, headers=None, form=False, event='event'):
        "Queue a POST of payload (JSON, or form-encoded when form) to url"
        path = '/' + url.split('://', 1)[-1].split('/', 1)[-1].split('?')[0]
        item = {'id': uuid.uuid4().hex, 'url': url, 'payload': payload,
            'headers': headers or {}, 'form': form, 'event': event,
            'not_before': 0}
        if self.faults.take('webhook_drop', 'POST', path):
            self._log(item, None, 'dropped')
            return
        rule = self.faults.take('webhook_delay', 'POST', path)
        if rule:
            item['not_before'] = self.clock.monotonic() + (rule.delay or 1)
        copies = 2 if self.faults.take('webhook_duplicate', 'POST', path) else 1
        rule = self.faults.take('webhook_reorder', 'POST', path)
        with self._cond:
            if rule:
                self._held.append(item)
                if rule.remaining == 0:
                    # the last held one releases all of them, newest first
                    self._queue.extend(reversed(self._held))
                    self._held.clear()
            else:
                self._queue.extend([item] * copies)
            self._cond.notify_all()

    def flush_held(self):
        with self._cond:
            self._queue.extend(reversed(self._held))
            self._held.clear()
            self._cond.notify_all()

    def wait_idle(self, timeout=10):
        """Block until every queued delivery was attempted (timeout in real
        seconds: this waits for the delivering thread, not for the clock)"""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue and time.monotonic() < deadline:
                self._cond.wait(0.05)
        return not self._queue

    def _run(self):
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                item = self._queue[0]
                if not self._due(item):
                    self._cond.wait()
                    continue
            self._deliver(item)
            with self._cond:
                self._queue.popleft()
                self._cond.notify_all()

    def _due(self, item):
        "Whether item may go now; if not, the clock wakes the thread then"
        wait = item['not_before'] - self.clock.monotonic()
        if wait <= 0:
            return True
        if not item.get('alarm'):
            item['alarm'] = self.clock.call_later(wait, self._wake, item)
        return False

    def _wake(self, item):
        with self._cond:
            item['alarm'] = None    # a timer early by a hair sets another
            self._cond.notify_all()

    def _deliver(self, item):
        kwargs = {'headers': item['headers'], 'timeout': self.timeout}
        if item['form']:
            kwargs['data'] = item['payload']
        else:
            kwargs['data'] = json.dumps(item['payload'], ensure_ascii=False
                ).encode('utf-8')
            kwargs['headers'] = {'Content-Type': 'application/json',
                **item['headers']}
        try:
            response = requests.post(item['url'], **kwargs)
            self._log(item, response.status_code, 'sent')
        except requests.RequestException as exc:
            self._log(item, None, f'failed: {exc}')

    def _log(self, item, status, outcome):
        # list.append is atomic under the GIL; readers copy the list
        self.deliveries.append({'time': self.clock.time(), 'url': item['url'],
                'event': item['event'], 'payload': item['payload'],
                'status': status, 'outcome': outcome})


def control(name):
    "Mark a simulator method as a control action: POST /__sandbox__/<name>"
    def decorator(func):
        func._control_name = name
        return func
    return decorator


def route(rule, methods=('GET',), defaults=None):
    """Serve a simulator method at ``rule`` (Flask's rule syntax).

    Stack it for several rules; the rule's variables and ``defaults`` are
    the method's keyword arguments.  The one way simulators add routes."""
    def decorator(func):
        func.__dict__.setdefault('_routes', []).insert(
            0, (rule, tuple(methods), defaults))
        return func
    return decorator


def error_page(*codes):
    "Answer the HTTP errors ``codes`` (404, 405…) with a simulator method"
    def decorator(func):
        func._error_codes = codes
        return func
    return decorator


class Simulator:
    """Base of every simulator.

    Subclasses set ``name``, serve their API with methods marked
    :func:`route` (and :func:`error_page`), offer control actions marked
    :func:`control`, build their initial state in ``init_state()`` and may
    override ``before_route`` (authentication in front of every route) and
    ``fault_response`` (injected errors in the system's own error body).
    """
    name = None
    default_port = None
    title = None            # of the control page; the name if not set
    # (action, label) of control actions without arguments that the
    # control page offers as buttons
    page_buttons = ()

    def __init__(self, clock=None):
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.faults = Faults(self.clock)
        self.journal = Journal(clock=self.clock)
        self.webhooks = Webhooks(self.faults)
        self._repeats = []
        self.base_url = None
        self._server = None
        self._thread = None
        self.app = Flask(f'sandbox.{self.name}')
        self.app.json.ensure_ascii = False
        self.app.json.sort_keys = False
        self.app.before_request(self._before)
        self.app.after_request(self._after)
        self._register_routes()
        self.register(self.app)
        self.init_state()

    # -- to override -------------------------------------------------------
    def register(self, app):
        "Flask-level set-up for ad-hoc test simulators; routes use @route"

    def init_state(self):
        pass

    def before_route(self):
        """Runs before every route but the control API, after the injected
        faults; a response returned here is the answer"""

    def start_demo(self):
        """Demo activity (``python -m sandbox --demo``): timers on the
        clock, through :meth:`repeat`, that stop with the simulator"""

    def after_route(self, response):
        """Every answer but the control API's passes here last (a system's
        quirks of serialisation); returns the response to send"""
        return response

    def fault_response(self, kind, status, rule):
        "Response for an injected 'error' or 'rate_limit' fault"
        if kind == 'rate_limit':
            return jsonify({'error': 'Too Many Requests'}), status or 429
        return jsonify({'error': 'Internal Server Error'}), status or 500

    # -- life cycle --------------------------------------------------------
    def start(self, host='127.0.0.1', port=0):
        self._server = make_server(host, port, self.app, threaded=True,
            request_handler=_Handler)
        self._server.simulator = self
        self.base_url = f'http://{host}:{self._server.server_port}'
        self._thread = threading.Thread(target=self._server.serve_forever,
            kwargs={'poll_interval': 0.05}, daemon=True,
            name=f'sandbox-{self.name}')
        self._thread.start()
        self.webhooks.start()
        return self.base_url

    def repeat(self, interval, func):
        "Call func every interval seconds of the clock until stop()"
        handle = self.clock.repeat(interval, func)
        self._repeats.append(handle)
        return handle

    def stop(self):
        for handle in self._repeats:
            handle.cancel()
        self._repeats.clear()
        self.webhooks.stop()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self):
        with self.lock:
            self.faults.clear()
            self.journal.clear()
            self.webhooks.deliveries.clear()
            self.init_state()

    # -- request hooks -----------------------------------------------------
    def _before(self):
        if request.path.startswith(CONTROL_PREFIX):
            return
        request.get_data(cache=True)
        method, path = request.method, request.path
        rule = self.faults.take('slow', method, path)
        if rule:
            self.clock.sleep(rule.delay or 5)
        for kind in ('rate_limit', 'error'):
            rule = self.faults.take(kind, method, path)
            if rule:
                request.environ['sandbox.fault'] = kind
                if rule.body is not None:
                    response = Response(json.dumps(rule.body,
                            ensure_ascii=False), status=rule.status or 500,
                        content_type='application/json')
                else:
                    response = self.app.make_response(
                        self.fault_response(kind, rule.status, rule))
                if rule.retry_after is not None:
                    response.headers['Retry-After'] = str(rule.retry_after)
                return response
        return self.before_route()

    def _after(self, response):
        if not request.path.startswith(CONTROL_PREFIX):
            response = self.after_route(response)
            body = request.get_data(cache=True, as_text=True)
            self.journal.record({
                    'time': self.clock.time(), 'method': request.method,
                    'path': request.path, 'query': request.args.to_dict(flat=False),
                    'headers': dict(request.headers), 'body': body,
                    'status': response.status_code,
                    'fault': request.environ.get('sandbox.fault'),
                    })
        return response

    # -- routes ------------------------------------------------------------
    def _marked(self, mark):
        "(attribute, mark) of every method of the class carrying mark"
        cls = type(self)
        for attr in dir(cls):
            value = getattr(getattr(cls, attr, None), mark, None)
            if value:
                yield attr, value

    def _register_routes(self):
        for attr, rules in self._marked('_routes'):
            view = getattr(self, attr)
            for n, (rule, methods, defaults) in enumerate(rules):
                self.app.add_url_rule(rule, f'{attr}#{n}', view,
                    methods=list(methods), defaults=defaults)
        for attr, codes in self._marked('_error_codes'):
            for code in codes:
                self.app.register_error_handler(code, getattr(self, attr))

    # -- control API (named _control_*: a subclass's own names hide them) --
    @route(CONTROL_PREFIX + '/')
    def _control_page(self):
        done = dict(self.page_buttons).get(request.args.get('done'))
        return self._page_response(done and f'Выполнено: {done}')

    def _page_response(self, note=None, status=200):
        with self.lock:
            sections = self.page_sections()
        html = page.render(self.title or self.name, sections, done=note)
        return Response(html, status,
            content_type='text/html; charset=utf-8')

    @route(CONTROL_PREFIX + '/', methods=['POST'])
    def _control_page_button(self):
        "A button of the control page: its action, then the page again"
        action = request.form.get('action')
        if action not in dict(self.page_buttons):
            return jsonify({'error': f'no button {action}'}), 404
        try:
            self.control_actions()[action]()
        except (TypeError, ValueError, KeyError) as exc:
            return self._page_response(f'Не выполнено: {exc}', 400)
        return redirect(f'{CONTROL_PREFIX}/?done={action}', 303)

    def page_sections(self):
        """(title, html) of the control page: what the simulator holds,
        then what every simulator shows (recent requests, faults, actions)"""
        return [('Состояние', page.pairs(self.page_summary())),
            *self._common_sections()]

    def page_summary(self):
        "(label, value) pairs of the simulator's state, for its page"
        return []

    def _common_sections(self):
        recent = self.journal.list()[-15:][::-1]
        buttons = [('Кнопки', page.buttons(self.page_buttons))
            ] if self.page_buttons else []
        return buttons + [
            ('Последние запросы', page.table(('Время', 'Метод', 'Путь',
                        'Ответ', 'Сбой'), [(page.moment(e['time']),
                            e['method'], e['path'], e['status'], e['fault'])
                        for e in recent])),
            ('Включённые сбои', page.table(('Вид', 'Путь', 'Осталось',
                        'Срабатываний'), [(f['kind'], f['endpoint'],
                            f['remaining'], f['hits'])
                        for f in self.faults.list() if f['active']])),
            ('Управляющие действия', page.actions_list(
                    self.control_actions())),
            ]

    @route(CONTROL_PREFIX + '/requests')
    def _control_requests(self):
        return jsonify(self.journal.list(request.args.get('path'),
                request.args.get('method')))

    @route(CONTROL_PREFIX + '/requests', methods=['DELETE'])
    def _control_clear_requests(self):
        self.journal.clear()
        return '', 204

    @route(CONTROL_PREFIX + '/faults')
    def _control_faults(self):
        return jsonify(self.faults.list())

    @route(CONTROL_PREFIX + '/faults', methods=['POST'])
    def _control_add_fault(self):
        try:
            rule = self.faults.add(**(request.get_json() or {}))
        except (TypeError, ValueError) as exc:
            return jsonify({'error': str(exc)}), 400
        return jsonify(rule.as_dict()), 201

    @route(CONTROL_PREFIX + '/faults', methods=['DELETE'])
    def _control_clear_faults(self):
        self.faults.clear()
        return '', 204

    @route(CONTROL_PREFIX + '/reset', methods=['POST'])
    def _control_reset(self):
        self.reset()
        return '', 204

    @route(CONTROL_PREFIX + '/webhooks')
    def _control_webhooks(self):
        self.webhooks.wait_idle(float(request.args.get('wait', 0)))
        return jsonify(self.webhooks.deliveries)

    @route(CONTROL_PREFIX + '/webhooks/flush', methods=['POST'])
    def _control_flush(self):
        self.webhooks.flush_held()
        return '', 204

    @route(CONTROL_PREFIX + '/clock')
    def _control_clock(self):
        return jsonify(self._clock_state())

    @route(CONTROL_PREFIX + '/clock', methods=['POST'])
    def _control_advance(self):
        'Move a fake clock on by {"advance": seconds}'
        if not self.clock.fake:
            return jsonify({'error': 'the simulator runs on real time'}), 400
        try:
            seconds = float((request.get_json(silent=True) or {})['advance'])
        except (KeyError, TypeError, ValueError):
            return jsonify({'error': 'give {"advance": seconds}'}), 400
        self.clock.advance(seconds)
        return jsonify(self._clock_state())

    def _clock_state(self):
        return {'now': self.clock.now().isoformat(), 'fake': self.clock.fake}

    @route(CONTROL_PREFIX + '/<action>', methods=['POST'])
    def _control_action(self, action):
        method = self.control_actions().get(action)
        if method is None:
            return jsonify({'error': f'unknown action {action}'}), 404
        try:
            result = method(**(request.get_json(silent=True) or {}))
        except (TypeError, ValueError, KeyError) as exc:
            return jsonify({'error': str(exc)}), 400
        return jsonify(result if result is not None else {})

    def control_actions(self):
        return {name: getattr(self, attr)
            for attr, name in self._marked('_control_name')}
