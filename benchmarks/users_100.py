"""100 concurrent users on a real trytond server (gunicorn) on PostgreSQL.

    .venv/bin/pip install gunicorn==27.0.1     # once: production's server
    .venv/bin/python benchmarks/users_100.py [--users 100] [--seconds 120]
        [--workers 4] [--think 5] [--ramp 60] [--orders 2000]

Builds a PostgreSQL database with the hub's modules (``--modules``, default
order_shipments and hub_auth: order_hub, order_payment, hub_sync,
hub_notify come with them), a company with 12 warehouses (8 of them shops)
in 10 cities, 900 product variants stocked over the warehouses, ``--orders``
orders of 1-5 lines (a third left new, a third paid, a third reserved) and
one user per simulated person: managers, shop staff (one shop each, scoped
by the record rules) and warehouse staff.

Then starts gunicorn serving ``trytond.application:app`` with ``--workers``
sync worker processes (as docker/Dockerfile does) and drives it over HTTP
JSON-RPC, as the web client does: ``common.db.login`` and
``model.res.user.get_preferences``, then per role a daily mix:

* manager: the order list (``search_read``, 50 rows), open an order
  (``read`` of the order and its lines), edit a line (``write`` of a line's
  quantity through the order), reserve (the «Зарезервировать» button's RPC
  on a paid order);
* shop staff: the shop's workspace (``search_read`` of the orders that the
  record rule lets them see), open one of those orders;
* warehouse: the list of orders being assembled, open an order.

The users log in spread over ``--ramp`` seconds (a login hashes the
password: about half a second of CPU), then each waits a random think time
(exponential, mean ``--think`` seconds) between calls; the figures of the
calls are those of the ``--seconds`` after the ramp, every user logged in
(the logins' are those of the ramp).  Baseline, in the same run before
the load: the same calls
made one at a time by one user of each role (``--baseline`` samples each).
Printed: p50/p95/p99 per call type, errors, calls/s, the RSS of gunicorn's
master and workers (sampled every second; the peak), of PostgreSQL's
backends, and the load average before, during and after.

The client (100 threads) runs on the same machine as the server and takes
CPU from it: the figures are an upper bound of what the server alone costs.

``--profile-edit N``: no server, no load; the manager's "edit a line" (the
same two JSON-RPC calls, through trytond's WSGI application in this process)
N times under cProfile, after 20 unprofiled warm-up edits: Python function
calls per edit (a figure the machine's load does not change), ms per edit
with and without the profiler, and the functions costing most.
"""
import argparse
import base64
import collections
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

from common import ROOT, drop_database, machine, setup_database, summary

PASSWORD = 'Bench-100-users-2026'
ORDER_LIST_FIELDS = ['number', 'date', 'state', 'customer_name', 'phone',
    'site_number', 'delivery_service', 'delivery_city',
    'delivery_city.rec_name', 'total', 'rec_name']
ORDER_FIELDS = ['number', 'site_number', 'date', 'state', 'customer_name',
    'phone', 'email', 'site_login', 'loyalty_level', 'bonus_balance',
    'delivery_service', 'delivery_terms', 'delivery_cost', 'delivery_city',
    'delivery_city.rec_name', 'delivery_address', 'pickup_shop',
    'pickup_shop.rec_name', 'promo_code', 'promo_note',
    'total_without_discount', 'discount_total', 'total', 'lines',
    'rec_name', '_timestamp']
LINE_FIELDS = ['product', 'product.rec_name', 'size', 'marked', 'quantity',
    'unit_price', 'discount', 'promotion', 'amount', 'reserved_where',
    'missing_quantity', '_timestamp']
ROLES = {
    # role: (share of the users, [(call, weight)])
    'manager': (0.4, [('order list', 3), ('open order', 3),
            ('edit line', 2), ('reserve', 2)]),
    'shop': (0.4, [('shop workspace', 1), ('open order', 1)]),
    'warehouse': (0.2, [('assembling list', 1), ('open order', 1)]),
    }
CALLS = ['login', 'order list', 'open order', 'edit line', 'reserve',
    'shop workspace', 'assembling list']


# -- the database -------------------------------------------------------------
def build_data(db, args, rng):
    """Company, warehouses, products, stock, users and orders; returns
    {role: [login]} and {'paid': [order id], 'editable': [...]}"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.order_hub.tests.tools import (
        create_city, set_company, setup_company)
    started = time.perf_counter()
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()  # noqa
        Location = pool.get('stock.location')
        StockLevel = pool.get('order_hub.stock')
        Order = pool.get('order_hub.order')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        with set_company(setup_company()):
            company = Transaction().context['company']
            cities = [create_city(f'Город {i}',
                    round(44 + rng.random() * 14, 6),
                    round(30 + rng.random() * 60, 6)) for i in range(10)]
            warehouses = Location.hub_create_warehouses([{
                        'name': (f'Магазин {i}' if i < 8 else f'Склад {i}'),
                        'code': f'W{i:02d}', 'hub_city': cities[i % 10].id,
                        'hub_street': 'ул. Тестовая, 1', 'hub_is_shop': i < 8}
                    for i in range(12)])
            shops = warehouses[:8]
            variants = create_products(300)
            StockLevel.set_levels([(v.id, w.id, rng.randint(0, 8))
                    for v in variants for w in warehouses
                    if rng.random() < 0.4], source='demo')
            tx.commit()

            print(f'data: products and stock in '
                f'{time.perf_counter() - started:.0f} s', flush=True)
            logins = {role: [] for role in ROLES}
            values = []
            # one hash for all: hashing is what a login pays, not the set-up
            password_hash = User.hash_password(PASSWORD)
            for n in range(args.users):
                role = role_of(n, args.users)
                login = f'{role}{n:03d}'
                logins[role].append(login)
                group = {'manager': 'group_manager', 'shop': 'group_shop',
                    'warehouse': 'group_warehouse'}[role]
                shop = (shops[n % len(shops)] if role == 'shop'
                    else warehouses[8 + n % 4] if role == 'warehouse'
                    else None)
                values.append({'login': login, 'name': f'Сотрудник {n}',
                        'password_hash': password_hash,
                        'companies': [('add', [company])],
                        'company': company,
                        'groups': [('add', [
                                    ModelData.get_id('order_hub', group)])],
                        'hub_shops': [('add', [shop.id] if shop else [])]})
            User.create(values)
            tx.commit()

            orders = {'paid': [], 'editable': []}
            for start in range(0, args.orders, 100):
                batch = Order.create([{
                            'customer_name': f'Покупатель {start + k}',
                            'phone': '+7 916 123-45-67',
                            'email': 'buyer@example.ru',
                            'delivery_city': rng.choice(cities).id,
                            'pickup_shop': (rng.choice(shops).id
                                if rng.random() < 0.3 else None),
                            'lines': [('create', [{
                                            'product': v.id,
                                            'quantity': Decimal(
                                                rng.randint(1, 2))}
                                        for v in rng.sample(variants,
                                            rng.randint(1, 5))])],
                            } for k in range(min(100, args.orders - start))])
                to_pay = batch[len(batch) // 3:]
                Order.pay(to_pay)
                to_reserve = to_pay[len(to_pay) // 2:]
                Order.reserve(to_reserve)
                tx.commit()
                orders['paid'] += [o.id for o in to_pay
                    if o not in to_reserve]
                orders['editable'] += [o.id for o in to_pay]
            print(f'data: {args.orders} orders, {len(variants)} variants, '
                f'{len(warehouses)} warehouses, {args.users} users, built in '
                f'{time.perf_counter() - started:.0f} s', flush=True)
    rng.shuffle(orders['paid'])
    return logins, orders


def create_products(count):
    "count templates of 3 sizes each, in one create; returns the variants"
    from trytond.pool import Pool
    pool = Pool()
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    unit, = Uom.search([('name', '=', 'Unit')])
    templates = Template.create([{
                'name': f'Товар {i}', 'code': f'B{i:05d}', 'type': 'goods',
                'default_uom': unit.id,
                'list_price': Decimal(1000 + 10 * i),
                'products': [('create', [{'hub_size': size,
                                'suffix_code': f'-{size}'}
                            for size in ('S', 'M', 'L')])],
                } for i in range(count)])
    return [v for t in templates for v in t.products]


def role_of(n, users):
    "Role of the n-th of users: the shares of ROLES, interleaved"
    position = (n * 0.618034) % 1
    for role, (share, _) in ROLES.items():
        if position < share:
            return role
        position -= share
    return role


# -- the server ---------------------------------------------------------------
def start_server(db, workers):
    gunicorn = Path(sys.executable).parent / 'gunicorn'
    if not gunicorn.exists():
        gunicorn = shutil.which('gunicorn')
    if not gunicorn:
        sys.exit(f'gunicorn is missing: {Path(sys.executable).parent}/pip '
            'install gunicorn==27.0.1 (the version of docker/Dockerfile)')
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, TRYTOND_DATABASE_NAMES=db,
        TRYTOND_DATABASE__URI=os.environ['TRYTOND_DATABASE_URI'],
        TRYTOND_DATABASE__LANGUAGE='ru', TRYTOND_LOGGING_LEVEL='30')
    env.pop('TRYTOND_CONFIG', None)
    log = open(ROOT / 'var' / 'log' / 'users_100_gunicorn.log', 'w')
    server = subprocess.Popen([str(gunicorn), '--bind', f'127.0.0.1:{port}',
            '--workers', str(workers), '--timeout', '120',
            '--backlog', '2048', 'trytond.application:app'],
        env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f'http://127.0.0.1:{port}/{db}/rpc/'
    return server, url


def wait_ready(server, url, workers, timeout=300):
    """Until every worker has booted (loaded the database's modules: its CPU
    time stops growing) and the server answers"""
    import requests
    root = url.rsplit('/', 3)[0] + '/rpc/'
    deadline = time.monotonic() + timeout
    before = None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit('gunicorn stopped: see var/log/users_100_gunicorn.log')
        time.sleep(1)
        pids = children(server.pid)
        now = {pid: cpu_time(pid) for pid in pids}
        if len(pids) >= workers and now == before:
            try:
                response = requests.post(root, json={'id': 0,
                        'method': 'common.server.version', 'params': []},
                    timeout=30)
                if response.ok:
                    return
            except requests.RequestException:
                pass
        before = now
    sys.exit('gunicorn did not answer in time')


def cpu_time(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return sum(map(int, f.read().rsplit(')', 1)[1].split()[11:13]))
    except (OSError, ValueError):
        return None


def children(pid):
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def rss_mb(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def postgres_backends(db):
    "Pids of PostgreSQL's backends connected to db (same machine only)"
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/cmdline', 'rb') as f:
                    cmdline = f.read().decode(errors='replace')
            except OSError:
                continue
            if cmdline.startswith('postgres:') and f' {db} ' in cmdline:
                found.append(int(entry))
    return found


class Memory(threading.Thread):
    "Samples every second the RSS of gunicorn and of PostgreSQL's backends"

    def __init__(self, server, db):
        super().__init__(daemon=True)
        self.server, self.db = server, db
        self.stop = threading.Event()
        self.master = self.worker_peak = self.total_peak = 0.0
        self.workers = {}
        self.pg_peak, self.pg_count = 0.0, 0
        self.load_peak = 0.0

    def run(self):
        while not self.stop.wait(1):
            self.sample()

    def sample(self):
        self.master = max(self.master, rss_mb(self.server.pid))
        total = self.master
        for pid in children(self.server.pid):
            rss = rss_mb(pid)
            self.workers[pid] = max(self.workers.get(pid, 0), rss)
            total += rss
        self.total_peak = max(self.total_peak, total)
        backends = postgres_backends(self.db)
        self.pg_count = max(self.pg_count, len(backends))
        self.pg_peak = max(self.pg_peak, sum(map(rss_mb, backends)))
        self.load_peak = max(self.load_peak, os.getloadavg()[0])


# -- the users ----------------------------------------------------------------
class RPCError(Exception):
    pass


class User:
    "One person in the web client: a requests session and a Tryton session"

    def __init__(self, url, login, role, orders, rng):
        import requests
        self.http = requests.Session()
        self.url, self.login, self.role = url, login, role
        self.orders, self.rng = orders, rng
        self.context = {}
        self.seen = []      # ids of orders the user's last list showed
        self.id = 0

    def call(self, method, *params, context=True):
        if context:
            params = (*params, self.context)
        self.id += 1
        response = self.http.post(self.url, data=json.dumps({
                    'id': self.id, 'method': method, 'params': params},
                default=encode), headers={
                'Content-Type': 'application/json'}, timeout=120)
        if response.status_code != 200:
            raise RPCError(f'HTTP {response.status_code}')
        body = response.json()
        if body.get('error'):
            error = body['error']
            raise RPCError(str(error[0] if isinstance(error, list)
                    else error)[:200] + ': ' + str(error)[:300])
        return body['result']

    # the calls, each timed as one "click"
    def do_login(self):
        user_id, session, _ = self.call('common.db.login', self.login,
            {'password': PASSWORD}, 'ru', context=False)
        token = base64.b64encode(
            f'{self.login}:{user_id}:{session}'.encode()).decode()
        self.http.headers['Authorization'] = f'Session {token}'
        self.context = self.call('model.res.user.get_preferences', True)

    def order_list(self, domain=()):
        rows = self.call('model.order_hub.order.search_read', list(domain),
            0, 50, [['date', 'DESC'], ['id', 'DESC']], ORDER_LIST_FIELDS)
        if rows:
            self.seen = [r['id'] for r in rows]

    def open_order(self):
        if self.seen:
            order_id = self.rng.choice(self.seen)
        else:
            order_id = self.rng.choice(self.orders['editable'])
        order, = self.call('model.order_hub.order.read', [order_id],
            ORDER_FIELDS)
        self.call('model.order_hub.order.line.read', order['lines'],
            LINE_FIELDS)

    def edit_line(self):
        order_id = self.rng.choice(self.orders['editable'])
        order, = self.call('model.order_hub.order.read', [order_id],
            ['lines', 'state'])
        line = self.rng.choice(order['lines'])
        self.call('model.order_hub.order.write', [order_id], {
                'lines': [['write', [line], {
                            'quantity': Decimal(self.rng.randint(1, 3))}]]})

    def reserve(self):
        try:
            order_id = self.orders['paid'].pop()
        except IndexError:  # all reserved: reserve again (assembling)
            order_id = self.rng.choice(self.orders['editable'])
        self.call('model.order_hub.order.reserve', [order_id])

    def run_call(self, name):
        if name == 'login':
            self.do_login()
        elif name == 'order list':
            self.order_list()
        elif name == 'open order':
            self.open_order()
        elif name == 'edit line':
            self.edit_line()
        elif name == 'reserve':
            self.reserve()
        elif name == 'shop workspace':
            # what the record rule lets a shop employee see: the orders with
            # their shop's items reserved or to be picked up there
            self.order_list([('state', 'in',
                        ['paid', 'assembling', 'delivering'])])
        elif name == 'assembling list':
            self.order_list([('state', '=', 'assembling')])


def encode(value):
    "Tryton's JSON-RPC encoding of what json does not know"
    if isinstance(value, Decimal):
        return {'__class__': 'Decimal', 'decimal': str(value)}
    raise TypeError(repr(value))


class Results:

    def __init__(self):
        self.lock = threading.Lock()
        self.samples = collections.defaultdict(list)
        self.errors = collections.Counter()
        self.messages = collections.Counter()

    def timed(self, user, name):
        start = time.perf_counter()
        try:
            user.run_call(name)
        except Exception as error:
            with self.lock:
                self.errors[name] += 1
                self.messages[f'{name}: {str(error)[:160]}'] += 1
            return False
        seconds = time.perf_counter() - start
        with self.lock:
            self.samples[name].append(seconds)
        return True


def pick(role, rng):
    calls = ROLES[role][1]
    return rng.choices([c for c, _ in calls], [w for _, w in calls])[0]


def baseline(url, logins, orders, samples, logins_samples, rng):
    """The same calls one at a time by one user of each role: the fastest
    honest way the server does the same work"""
    results = Results()
    users = {role: User(url, names[0], role, orders, rng)
        for role, names in logins.items() if names}
    for _ in range(logins_samples):
        results.timed(users['manager'], 'login')
    for user in users.values():
        if not user.context:
            user.do_login()
    for role, user in users.items():
        for name, _ in ROLES[role][1]:
            if name == 'open order' and role != 'manager':
                continue    # the same call as the manager's
            if name == 'open order':
                user.order_list()
            for _ in range(samples):
                results.timed(user, name)
    return results


class InProcess:
    "requests.Session's post, served by trytond's WSGI app in this process"

    def __init__(self):
        from werkzeug.test import Client
        from trytond.wsgi import app
        self.client = Client(app)
        self.headers = {}

    def post(self, url, data, headers, timeout):
        response = self.client.post(urlsplit(url).path, data=data,
            headers={**self.headers, **headers})
        body = response.get_data()
        return SimpleNamespace(status_code=response.status_code,
            json=lambda: json.loads(body))


def profile_edit(db, logins, orders, samples, rng):
    "The manager's line edit under cProfile; see --profile-edit"
    user = User(f'http://localhost/{db}/rpc/', logins['manager'][0],
        'manager', orders, rng)
    user.http = InProcess()
    user.do_login()
    for _ in range(20):
        user.edit_line()
    plain = []
    for _ in range(samples):
        start = time.perf_counter()
        user.edit_line()
        plain.append(time.perf_counter() - start)
    profiler = cProfile.Profile()
    profiled = []
    for _ in range(samples):
        start = time.perf_counter()
        profiler.enable()
        user.edit_line()
        profiler.disable()
        profiled.append(time.perf_counter() - start)
    stats, plain = pstats.Stats(profiler), summary(plain)
    print(f'edit a line, {samples} edits in this process: '
        f'{stats.total_calls / samples:,.0f} Python calls per edit '
        f'({stats.prim_calls / samples:,.0f} primitive); without the '
        f'profiler median {plain["median_ms"]:.1f} / p95 '
        f'{plain["p95_ms"]:.1f} ms, with it median '
        f'{summary(profiled)["median_ms"]:.1f} ms; {machine()}', flush=True)
    for key in ['tottime', 'cumulative']:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(30)
        print(out.getvalue())


def cpu_seconds(server, db):
    "CPU seconds so far of gunicorn's workers, PostgreSQL's backends, us"
    tick = os.sysconf('SC_CLK_TCK')
    usage = os.times()
    return (sum(cpu_time(p) or 0 for p in children(server.pid)) / tick,
        sum(cpu_time(p) or 0 for p in postgres_backends(db)) / tick,
        usage.user + usage.system)


def load(url, logins, orders, args, server, db):
    "Every user in a thread: log in, then calls and think times"
    results, ramp = Results(), Results()
    stop, steady = threading.Event(), threading.Event()
    everyone = [(login, role) for role, names in logins.items()
        for login in names]

    def person(login, role, seed):
        rng = random.Random(seed)
        user = User(url, login, role, orders, rng)
        # people arrive over the ramp, not all in one second: the login
        # hashes the password (CPU-bound, about half a second)
        if stop.wait(rng.uniform(0, args.ramp)):
            return
        while not results.timed(user, 'login'):
            if stop.wait(args.think):
                return
        while not stop.wait(rng.expovariate(1 / args.think)
                if args.think else 0):
            name = pick(role, rng)
            if name == 'open order' and not user.seen and role != 'manager':
                name = ROLES[role][1][0][0]
            (results if steady.is_set() else ramp).timed(user, name)

    threads = [threading.Thread(target=person, args=(login, role, k),
            daemon=True) for k, (login, role) in enumerate(everyone)]
    for thread in threads:
        thread.start()
    time.sleep(args.ramp)
    # the steady state: everybody logged in (or trying); the logins of the
    # ramp go with the steady figures, the other calls of the ramp not
    steady.set()
    start = time.perf_counter()
    cpu_start = cpu_seconds(server, db)
    time.sleep(args.seconds)
    load_during = os.getloadavg()
    cpu = [b - a for a, b in zip(cpu_start, cpu_seconds(server, db))]
    stop.set()
    for thread in threads:
        thread.join(timeout=150)
    elapsed = time.perf_counter() - start
    with results.lock, ramp.lock:
        results.samples['login'] += ramp.samples.pop('login', [])
        results.errors['login'] += ramp.errors.pop('login', 0)
    return results, elapsed, load_during, cpu


def report(base, results, elapsed, memory, args, load_during, cpu):
    print()
    print(f'{"call":18} {"n":>5} {"err":>4} {"p50 ms":>8} {"p95 ms":>8} '
        f'{"p99 ms":>8} {"max ms":>8} | {"1 user p50":>10} {"p95":>6} '
        f'| {"ratio p50":>9} {"p95":>6}')
    total = sum(len(s) for n, s in results.samples.items() if n != 'login')
    worst = 0
    for name in CALLS:
        samples = results.samples.get(name, [])
        if not samples and not results.errors[name]:
            continue
        stats = summary(samples) if samples else {}
        one = summary(base.samples[name]) if base.samples.get(name) else {}
        p99 = stats.get('p99_ms', float('nan'))
        line = (f'{name:18} {len(samples):5d} {results.errors[name]:4d} '
            f'{stats.get("median_ms", float("nan")):8.1f} '
            f'{stats.get("p95_ms", float("nan")):8.1f} {p99:8.1f} '
            f'{stats.get("max_ms", float("nan")):8.1f} | ')
        if one:
            line += (f'{one["median_ms"]:10.1f} {one["p95_ms"]:6.1f} | '
                f'{stats["median_ms"] / one["median_ms"]:8.1f}x '
                f'{stats["p95_ms"] / one["p95_ms"]:5.1f}x')
        print(line)
        worst = max(worst, stats.get('p95_ms', 0))
    errors = sum(results.errors.values())
    print(f'\n{total} calls in {elapsed:.0f} s: '
        f'{total / elapsed:.1f} calls/s; '
        f'{errors} errors; slowest p95 {worst:.0f} ms '
        f'(target: p95 < 500 ms, no error)')
    server, database, client = cpu
    calls = max(total, 1)
    print(f'CPU of the steady {args.seconds:.0f} s: gunicorn workers '
        f'{server:.0f} s ({server / args.seconds:.2f} cores, '
        f'{server / calls * 1e3:.0f} ms a call), PostgreSQL '
        f'{database:.0f} s ({database / args.seconds:.2f} cores, '
        f'{database / calls * 1e3:.0f} ms a call), this client '
        f'{client:.0f} s; the machine has {os.cpu_count()} cores')
    print(f'baseline errors: {sum(base.errors.values())}')
    for message, count in (results.messages + base.messages).most_common(8):
        print(f'  {count} x {message}')
    print(f'\nserver: gunicorn {args.workers} sync workers '
        f'(trytond.application:app), {args.users} users, think time '
        f'{args.think} s (exponential), modules {args.modules}')
    workers = sorted(memory.workers.values())
    if workers:
        print(f'RSS peak: master {memory.master:.0f} MB; workers '
            f'{min(workers):.0f}-{max(workers):.0f} MB each; gunicorn total '
            f'{memory.total_peak:.0f} MB; PostgreSQL: {memory.pg_count} '
            f'backends, {memory.pg_peak:.0f} MB (RSS counts shared buffers '
            'touched)')
    print(f'load average during the load: '
        f'{", ".join(f"{x:.2f}" for x in load_during)} '
        f'(peak 1-min {memory.load_peak:.2f}); {machine()}', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--users', type=int, default=100)
    parser.add_argument('--seconds', type=float, default=120,
        help="duration of the load")
    parser.add_argument('--workers', type=int, default=4,
        help="gunicorn worker processes (WEB_CONCURRENCY)")
    parser.add_argument('--think', type=float, default=5,
        help="mean think time between a user's calls, seconds")
    parser.add_argument('--ramp', type=float, default=60,
        help="seconds over which the users log in (not in the figures "
        "of the other calls)")
    parser.add_argument('--orders', type=int, default=2000)
    parser.add_argument('--baseline', type=int, default=100,
        help="samples of each call by one user, before the load")
    parser.add_argument('--baseline-logins', type=int, default=30,
        help="samples of the login by one user (half a second each)")
    parser.add_argument('--modules', default='order_shipments,hub_auth')
    parser.add_argument('--profile-edit', type=int, metavar='N',
        help="only profile N line edits in this process (no server)")
    args = parser.parse_args()
    print(f'before: {machine()}', flush=True)
    rng = random.Random(19)
    db = setup_database('postgresql', modules=args.modules.split(','))
    server = None
    try:
        logins, orders = build_data(db, args, rng)
        if args.profile_edit:
            profile_edit(db, logins, orders, args.profile_edit, rng)
            return
        # the test pool's connections stay open; the server has its own
        server, url = start_server(db, args.workers)
        wait_ready(server, url, args.workers)
        memory = Memory(server, db)
        memory.start()
        base = baseline(url, logins, orders, args.baseline,
            args.baseline_logins, rng)
        print(f'baseline done ({machine()}); {args.users} users for '
            f'{args.seconds:.0f} s…', flush=True)
        results, elapsed, load_during, cpu = load(url, logins, orders, args,
            server, db)
        memory.sample()
        memory.stop.set()
        report(base, results, elapsed, memory, args, load_during, cpu)
    finally:
        if server:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        drop_database()
    print(f'{"after the run":18} {machine()}')


if __name__ == '__main__':
    main()
