"""python -m unittest for the Tryton module tests, as run_tests.py runs them.

On top of ``python -m unittest <test modules>`` it

* keys the database caches by their sources (hubcache.py): Tryton names a
  cached test database after the module list only, so a schema change
  would restore a stale database, and two checkouts on one PostgreSQL
  cluster would restore each other's.  PostgreSQL templates are named
  ``hubtest-<checkout prefix>-<hash>``;
* activates a database missing from the cache in layers, on the cached
  database of its largest dependency among the project's modules;
* reuses the pool built for a cache when the same cache is restored again,
  and memoises Tryton's import_module;
* lets one process build a cache while the others wait for it, then
  restore it (run_tests.py runs PostgreSQL in several processes);
* fails when a named test module yields no test (pytest-style functions in
  a Tryton module would never run under unittest);
* times every test and every class set-up (the time between two tests of
  different classes: setUpClass, tearDownClass, database activation or
  restore) and writes them to HUB_TIMINGS (JSON), then prints the slowest
  tests and the total per test module; HUB_CACHE_USED receives the names
  of the caches used (run_tests.py removes the others after a full run).

Importing it applies the cache patches only (tests/browser/run.py does).
"""
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import sys
import time
import unittest
from pathlib import Path

# as with python -m: the working directory (the repository) on the path
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)
sys.path.insert(1, str(ROOT / 'tools'))

import hubcache  # noqa: E402
from trytond.tests import test_tryton  # noqa: E402
from trytond.tests import tools as tests_tools  # noqa: E402
from trytond import backend  # noqa: E402
from trytond.pool import Pool  # noqa: E402
from trytond.tools import misc  # noqa: E402

PREFIX = hubcache.checkout_prefix()
_cache_file = test_tryton._db_cache_file
_used_caches = set()


def _keyed_cache_file(path, name):
    """Tryton's cache name, keyed by the sources it is built from and, on
    PostgreSQL, prefixed with this checkout's prefix"""
    key = hubcache.cache_key(hubcache.names_of_cache(name))
    cache = _cache_file(path, f'{name}@{key}')
    if cache.startswith('postgresql://'):
        # postgresql:///test-<hash> → postgresql:///hubtest-<prefix>-<hash>:
        # not test-%, which older runners drop on any sources change
        base, _, hashed = cache.rpartition('/test-')
        cache = f'{base}/hubtest-{PREFIX}-{hashed[:32]}'
    _used_caches.add(cache.rpartition('/')[2])
    return cache


test_tryton._db_cache_file = _keyed_cache_file
_restore_db_cache = test_tryton.restore_db_cache
_backup_db_cache = test_tryton.backup_db_cache


def _log(message):
    print(f'[cache] {message}', file=sys.stderr, flush=True)


# cache name → the pool Tryton built for it (model classes, modules) and a
# snapshot of its classes' attributes
_pools = {}
REUSE_POOLS = os.environ.get('HUB_TEST_REUSE_POOLS', '1') != '0'


def _snapshot(pool):
    return {cls: dict(vars(cls))
        for classes in pool.values() for cls in classes.values()}


def _unchanged(snapshot):
    "No test assigned or deleted an attribute of a class of the pool"
    for cls, attributes in snapshot.items():
        current = vars(cls)
        if len(current) != len(attributes) or any(
                current.get(k, attributes) is not v
                for k, v in attributes.items()):
            return False
    return True


def restore_db_cache(name):
    """Tryton's restore_db_cache, without initialising the pool again for a
    database this run restored before: restored from the same cache, it has
    the same modules, so the model classes built the first time serve again
    (Pool.init takes 0.5-2 s; Tryton's drop_db has dropped the pool and the
    caches of the database).  If a test changed a class of that pool (a
    stand-in method assigned to a model, say), the pool is built afresh."""
    started = time.perf_counter()
    saved = _pools.get(name) if REUSE_POOLS else None
    if saved is not None and not _unchanged(saved[2]):
        saved = None
    if saved is None:
        restored = _restore_db_cache(name)
        if restored:
            pool = Pool._pools[test_tryton.DB_NAME]
            _pools[name] = (pool, Pool._pool_modules[test_tryton.DB_NAME],
                _snapshot(pool))
    else:
        cache_file = test_tryton._db_cache_file(test_tryton.DB_CACHE, name)
        if backend.name == 'sqlite':
            restored = test_tryton._sqlite_copy(cache_file, restore=True)
        else:
            restored = test_tryton._pg_restore(cache_file)
        if restored:
            with Pool._lock:
                (Pool._pools[test_tryton.DB_NAME],
                    Pool._pool_modules[test_tryton.DB_NAME]) = saved[:2]
                Pool._pool_instances.clear()
    if restored:
        _log(f'{name}: restored in {time.perf_counter() - started:.1f} s'
            + (' (pool reused)' if saved else ''))
    return restored


def backup_db_cache(name):
    _backup_db_cache(name)
    _log(f'{name}: stored')


for _module in [test_tryton, tests_tools]:
    _module.restore_db_cache = restore_db_cache
    _module.backup_db_cache = backup_db_cache
_activate_module = test_tryton.activate_module


def _base_of(modules):
    """The project module whose database is the best start for activating
    modules: the dependency with the most dependencies of its own.  Of
    several modules, one named may be that start (['hub_auth', 'order_hub']
    starts from order_hub's database, not hub_common's)"""
    wanted = hubcache.closure(modules)
    candidates = wanted - set(modules) if len(modules) == 1 else wanted
    if not candidates or len(wanted) <= 1:
        return None
    return max(candidates,
        key=lambda m: (len(hubcache.closure([m])), m))


def _update_module_list():
    """A base database cached before a module was added to the checkout
    does not list it: Tryton would not find the module to activate"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(test_tryton.DB_NAME, 0) as transaction:
        Pool().get('ir.module').update_list()
        transaction.commit()


def activate_module(modules, lang='en'):
    """Tryton's activate_module, built in layers: a database not in the
    cache starts from the cached database of its largest dependency among
    the project's modules (built and cached first if need be), so that a
    new module or a change to a bridge costs only its own activation"""
    if isinstance(modules, str):
        modules = [modules]
    if not test_tryton.db_exist(test_tryton.DB_NAME):
        name = '-'.join(modules) + (f'--{lang}' if lang != 'en' else '')
        with _building(name):
            if test_tryton.restore_db_cache(name):
                return
            started = time.perf_counter()
            if base := _base_of(modules):
                activate_module([base], lang)
                _update_module_list()
                started = time.perf_counter()
            _activate_module(modules, lang)
        _log(f'{name}: activated in {time.perf_counter() - started:.1f} s'
            + (f' on {base}' if base else ''))
        return
    _activate_module(modules, lang)


@contextlib.contextmanager
def _building(name):
    """Hold the lock of a cache while restoring or building it: of several
    test processes (run_tests.py's PostgreSQL shards) one builds and
    stores it, the others wait and restore it.  A base is locked after the
    database built on it, never before: no two processes wait for each
    other."""
    if not test_tryton.DB_CACHE:
        yield
        return
    cache = test_tryton._db_cache_file(test_tryton.DB_CACHE, name)
    locks = ROOT / 'var' / 'dbcache' / 'locks'
    locks.mkdir(parents=True, exist_ok=True)
    path = locks / hashlib.sha1(cache.encode()).hexdigest()[:20]
    with path.open('w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


test_tryton.activate_module = activate_module

_db_exist = test_tryton.db_exist


def db_exist(name=None):
    """Tryton's db_exist reads Database.list(), which connects to every
    database of the cluster to test it and caches the answer for the
    session timeout: another test process would not see a template just
    stored, and its connection to a template makes CREATE DATABASE …
    TEMPLATE of a concurrent process fail.  On PostgreSQL ask the catalogue
    once instead."""
    name = name or test_tryton.DB_NAME
    if backend.name != 'postgresql':
        return _db_exist(name)
    database = backend.Database().connect()
    connection = database.get_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute('SELECT 1 FROM pg_database WHERE datname = %s',
                (name,))
            return cursor.fetchone() is not None
    finally:
        connection.rollback()
        database.put_connection(connection)


test_tryton.db_exist = db_exist

# Tryton resolves a class registered by a module (isregisteredby, which
# every generic ModuleTestCase check calls for every model) through
# import_module, which scans all entry points of the environment each time:
# about 1 s per check for order_hub.  The entry points do not change during
# a test run: resolve each module once.
misc.import_module = functools.cache(misc.import_module)


def _module_of(test):
    "The test module of a test; a doctest's is its .rst file"
    if getattr(test, '_dt_test', None) is not None:
        return Path(test._dt_test.filename).name
    return type(test).__module__


def _class_of(test):
    if getattr(test, '_dt_test', None) is not None:
        return Path(test._dt_test.filename).name
    return f'{type(test).__module__}.{type(test).__qualname__}'


class TimingResult(unittest.TextTestResult):
    """Records each test's time and the set-up time before each class.

    unittest runs setUpClass (and the previous class' tearDownClass) between
    two tests, outside startTest/stopTest: that gap is charged to the class
    whose first test follows it."""
    timings = []            # (module, class, test id, seconds)
    load = []               # 1-minute load average at the start
    setups = {}             # class → seconds of class set-up/tear-down

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last = time.perf_counter()
        self._started = None

    def startTest(self, test):
        now = time.perf_counter()
        cls = _class_of(test)
        gap = now - self._last
        self.setups[cls] = self.setups.get(cls, 0.0) + gap
        self._started = now
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        now = time.perf_counter()
        if self._started is not None:
            self.timings.append((_module_of(test), _class_of(test),
                    test.id(), now - self._started))
        self._started = None
        self._last = now


def _report(result, total, stream, slowest=15):
    timings = sorted(TimingResult.timings, key=lambda t: -t[3])
    print(f'\nSlowest {min(slowest, len(timings))} tests:', file=stream)
    for _, _, test_id, seconds in timings[:slowest]:
        print(f'  {seconds:7.2f} s  {test_id}', file=stream)
    setups = sorted(TimingResult.setups.items(), key=lambda s: -s[1])
    print('Slowest class set-ups (setUpClass, database, simulators):',
        file=stream)
    for cls, seconds in setups[:10]:
        print(f'  {seconds:7.2f} s  {cls}', file=stream)
    modules = {}
    for module, cls, _, seconds in TimingResult.timings:
        count, spent = modules.get(module, (0, 0.0))
        modules[module] = (count + 1, spent + seconds)
    charged = set()
    for module, cls, _, _ in TimingResult.timings:
        if cls not in charged:
            charged.add(cls)
            count, spent = modules[module]
            modules[module] = (count, spent + TimingResult.setups.get(cls, 0))
    print('Per test module (tests, seconds with class set-ups):',
        file=stream)
    for module, (count, seconds) in sorted(
            modules.items(), key=lambda m: -m[1][1]):
        print(f'  {seconds:7.2f} s  {count:4d}  {module}', file=stream)
    load = TimingResult.load + [os.getloadavg()[0]]
    print(f'Total {total:.1f} s; load average {load[0]:.1f} at the start, '
        f'{load[-1]:.1f} at the end', file=stream, flush=True)
    if path := os.environ.get('HUB_TIMINGS'):
        Path(path).write_text(json.dumps({'total': total, 'load': load,
                    'tests': TimingResult.timings,
                    'setups': TimingResult.setups,
                    'modules': modules}, indent=1))


class HubTestProgram(unittest.TestProgram):

    def runTests(self):
        # loadTestsFromNames gives one suite per name, in their order
        empty = [name for name, suite in zip(
                self.testNames or (), self.test)
            if not suite.countTestCases()] if not self.testNamePatterns else []
        if empty:
            for name in empty:
                print(f'ERROR: {name} yields no unittest test: a Tryton '
                    "module's tests must be unittest.TestCase methods (or "
                    'doctests through load_tests); pytest-style functions '
                    'never run here', file=sys.stderr)
            sys.exit(2)
        self.testRunner = unittest.TextTestRunner(
            resultclass=TimingResult, verbosity=self.verbosity,
            failfast=self.failfast, buffer=self.buffer)
        started = time.perf_counter()
        TimingResult.load = [os.getloadavg()[0]]
        exit, self.exit = self.exit, False
        super().runTests()
        self.exit = exit
        if path := os.environ.get('HUB_CACHE_USED'):
            with open(path, 'a') as used:
                used.writelines(f'{name}\n' for name in sorted(_used_caches))
        _report(self.result, time.perf_counter() - started, sys.stderr)
        if self.exit:
            sys.exit(not self.result.wasSuccessful())


if __name__ == '__main__':
    sys.argv[0] = 'python -m unittest'
    HubTestProgram(module=None)
