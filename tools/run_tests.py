"""Run the whole test suite: what bin/test and CI run.

  1. the simulators, the web-client catalogue and the modules' declared
     dependencies (pytest);
  2. every Tryton module's tests, on SQLite and on PostgreSQL, side by side;
  3. the browser test (headless Chromium against a running server).

Tryton's database cache keeps the suites fast.  tools/hubcache.py keys each
cached database by the sources it is built from (the activated modules and
their dependencies, Tryton's version), so a schema change never reuses a
stale cache and a change to one module keeps the others' caches;
PostgreSQL templates carry this checkout's prefix, so runs in other
checkouts on the same cluster never drop or restore ours (nor we theirs).
Caches no full run used any more are removed after it.

Each backend runs in two processes (HUB_TEST_POSTGRESQL_SHARDS,
HUB_TEST_SQLITE_SHARDS): the tests wait on the server, the simulators and
the disk more than they compute, so one process per backend left the
cores idle.  PostgreSQL test sessions commit without waiting for the WAL's
flush (synchronous_commit=off: half the run's time).
Test modules are dealt to the shards by their seconds in
tools/test_weights.json, updated by this checkout's last run (the longest
first, each to the least loaded shard); a cache two shards need is built
by one while the other waits (unittest_main.py).

At the end of each backend's run the slowest tests and the time per test
module are printed (tools/unittest_main.py measures them).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import hubcache

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ROOT / 'addons'
CACHE = ROOT / 'var' / 'dbcache'
LOGS = ROOT / 'var' / 'test-logs'
PG_URI = os.environ.get(
    'HUB_TEST_POSTGRESQL_URI', 'postgresql://postgres@127.0.0.1:5432/')
PREFIX = hubcache.checkout_prefix()
# templates of other checkouts unused for that long are dropped (a removed
# worktree leaves its templates behind); theirs of today are never touched
FOREIGN_TEMPLATE_DAYS = float(os.environ.get('HUB_TEST_CACHE_DAYS', 7))
SLOWEST = 15
SHARDS = {
    'sqlite': int(os.environ.get('HUB_TEST_SQLITE_SHARDS', 2)),
    'postgresql': int(os.environ.get('HUB_TEST_POSTGRESQL_SHARDS', 2)),
    }
# seconds per test module (class set-ups included) of a warm run, for
# dealing the modules to shards on a clean clone: refresh with
# tools/run_tests.py --save-weights after a full run
WEIGHTS = ROOT / 'tools' / 'test_weights.json'


def module_tests():
    names = []
    for cfg in sorted(ADDONS.glob('*/tryton.cfg')):
        module = cfg.parent.name
        for test in sorted((cfg.parent / 'tests').glob('test_*.py')):
            names.append(f'trytond.modules.{module}.tests.{test.stem}')
    return names


def module_weights(backend):
    """Seconds per test module: the committed table, updated by this
    checkout's last run of backend (a partial run updates its modules)"""
    try:
        weights = json.loads(WEIGHTS.read_text()).get(backend, {})
    except (OSError, ValueError):
        weights = {}
    try:
        timings = json.loads((LOGS / f'timings-{backend}.json').read_text())
        weights.update((m, seconds)
            for m, (_, seconds) in timings['modules'].items())
    except (OSError, ValueError, KeyError):
        pass
    return weights


def deal(names, count, weights):
    """names in count shards of about equal weight (the heaviest first, each
    to the lightest shard); a module of unknown weight counts as the
    median.  Each shard keeps the names' order."""
    known = sorted(weights.get(n, 0) for n in names if n in weights)
    default = known[len(known) // 2] if known else 1.0
    load = [0.0] * count
    shard_of = {}
    for name in sorted(names, key=lambda n: -weights.get(n, default)):
        shard = load.index(min(load))
        shard_of[name] = shard
        load[shard] += weights.get(name, default)
    return [[n for n in names if shard_of[n] == i] for i in range(count)
        if any(shard_of[n] == i for n in names)]


def tryton_env(backend, shard=''):
    env = dict(os.environ, PYTHONWARNINGS='ignore::DeprecationWarning',
        HUB_TIMINGS=str(LOGS / f'timings-{backend}{shard}.json'),
        HUB_CACHE_USED=str(LOGS / f'caches-{backend}{shard}.txt'))
    if backend == 'sqlite':
        env.update(TRYTOND_DATABASE_URI='sqlite://', DB_NAME=':memory:',
            DB_CACHE=str(CACHE / 'sqlite'))
    else:
        # hubtest_<prefix>_[<shard>_]<pid>: prepare_postgresql reads the pid
        # after the last underscore
        number = f'{shard[1:]}_' if shard else ''
        env.update(TRYTOND_DATABASE_URI=PG_URI,
            DB_NAME=f'hubtest_{PREFIX}_{number}{os.getpid()}',
            DB_CACHE='postgresql://',
            # throw-away databases: a commit need not wait for the WAL's
            # flush (visibility and locking are the same; only a crash of
            # the server could lose the last commits) — half the run's time
            PGOPTIONS=' '.join(filter(None, [os.environ.get('PGOPTIONS'),
                        '-c synchronous_commit=off'])))
    return env


def merge_shards(backend, shards):
    """One timings file and one list of used caches for backend out of its
    shards'; False if a shard did not go to its end"""
    timings = {'total': 0.0, 'load': [], 'tests': [], 'setups': {},
        'modules': {}}
    used = set()
    complete = True
    for shard in shards:
        path = LOGS / f'timings-{backend}{shard}.json'
        if not path.exists():
            complete = False
            continue
        part = json.loads(path.read_text())
        timings['total'] = max(timings['total'], part['total'])
        timings['load'] += part['load']
        timings['tests'] += part['tests']
        timings['setups'].update(part['setups'])
        timings['modules'].update(part['modules'])
        caches = LOGS / f'caches-{backend}{shard}.txt'
        if caches.exists():
            used.update(caches.read_text().split())
    if timings['tests']:
        (LOGS / f'timings-{backend}.json').write_text(
            json.dumps(timings, indent=1))
        (LOGS / f'caches-{backend}.txt').write_text(
            ''.join(f'{name}\n' for name in sorted(used)))
    return complete and bool(timings['tests'])


def psql(query):
    return subprocess.run(['psql', PG_URI + 'postgres', '-Atqc', query],
        check=True, capture_output=True, text=True).stdout.split()


def drop_database(name):
    "Drop a database unless someone is connected to it"
    return not subprocess.run(['psql', PG_URI + 'postgres', '-Atqc',
            f'DROP DATABASE IF EXISTS "{name}"'],
        stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode


def prepare_postgresql():
    """Drop what runs of this checkout left behind, and templates of other
    checkouts unused for FOREIGN_TEMPLATE_DAYS (a removed worktree leaves
    its templates behind).

    Templates are named hubtest-<prefix>-<hash> (unittest_main.py), working
    databases hubtest_<prefix>_<pid>: only this checkout's working databases
    whose run is over are dropped; a database in use is never dropped."""
    for name in psql("SELECT datname FROM pg_database "
            f"WHERE datname LIKE 'hubtest\\_{PREFIX}\\_%'"):
        pid = name.rpartition('_')[2]
        if not (pid.isdigit() and Path(f'/proc/{pid}').exists()):
            drop_database(name)
    try:
        # the age of a template: its folder's PG_VERSION file (superuser);
        # test-<hash>: Tryton's own name, used by this runner before
        old = psql("SELECT datname FROM pg_database "
            "WHERE (datname LIKE 'hubtest-%' OR datname LIKE 'test-%') "
            f"AND datname NOT LIKE 'hubtest-{PREFIX}-%' "
            "AND (pg_stat_file('base/' || oid || '/PG_VERSION'))"
            f".modification < now() - interval '{FOREIGN_TEMPLATE_DAYS} days'")
    except subprocess.CalledProcessError:
        old = []
    for name in old:
        drop_database(name)


def clean_caches(backend):
    """After a full run: remove this checkout's caches of backend that the
    run did not use (built from older sources)"""
    used = LOGS / f'caches-{backend}.txt'
    if not used.exists():
        return
    keep = set(used.read_text().split())
    if backend == 'sqlite':
        for path in (CACHE / 'sqlite').glob('*.dump'):
            if path.name not in keep:
                path.unlink()
        for path in CACHE.iterdir():     # caches of the former layout
            if path.is_dir() and path.name != 'sqlite':
                shutil.rmtree(path, ignore_errors=True)
            elif path.name == 'postgresql.key':
                path.unlink()
    else:
        for name in psql("SELECT datname FROM pg_database "
                f"WHERE datname LIKE 'hubtest-{PREFIX}-%' "
                f"OR datname LIKE 'test-{PREFIX}-%'"):
            if name not in keep:
                drop_database(name)


def _f(value):
    return f'{value:.1f}' if isinstance(value, float) else str(value)


def print_timings(backend):
    "The slowest tests and the time per test module of backend's run"
    path = LOGS / f'timings-{backend}.json'
    if not path.exists():
        return
    timings = json.loads(path.read_text())
    tests = sorted(timings['tests'], key=lambda t: -t[3])[:SLOWEST]
    print(f'[{backend}] slowest {len(tests)} tests (seconds):')
    for _, _, test_id, seconds in tests:
        print(f'  {seconds:6.1f}  {test_id}')
    setups = sorted(timings['setups'].items(), key=lambda s: -s[1])[:5]
    print(f'[{backend}] slowest class set-ups (database, simulators, '
        'setUpClass):')
    for name, seconds in setups:
        print(f'  {seconds:6.1f}  {name}')
    print(f'[{backend}] per test module (seconds, class set-ups '
        'included; tests):')
    for module, (count, seconds) in sorted(timings['modules'].items(),
            key=lambda m: -m[1][1]):
        print(f'  {seconds:6.1f}  {module} ({count})')
    load = timings.get('load') or ['?']
    print(f'[{backend}] {len(timings["tests"])} tests in '
        f'{timings["total"]:.0f} s; 1-minute load average {_f(load[0])} at the '
        f'start, {_f(load[-1])} at the end (2 cores: above 2, the figures '
        'are inflated)')


def start(cmd, env, log):
    print('$', ' '.join(cmd), f'> {log.relative_to(ROOT)}', flush=True)
    return subprocess.Popen(cmd, cwd=ROOT, env=env,
        stdout=log.open('w'), stderr=subprocess.STDOUT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', choices=['sqlite', 'postgresql', 'all'],
        default='all')
    parser.add_argument('--no-browser', action='store_true')
    parser.add_argument('--save-weights', action='store_true',
        help='write the last full run\'s seconds per test module to '
        'tools/test_weights.json and stop')
    parser.add_argument('tests', nargs='*',
        help='Tryton test modules to run instead of all of them')
    args = parser.parse_args()
    if args.save_weights:
        return save_weights()
    python = sys.executable
    logs = LOGS
    logs.mkdir(parents=True, exist_ok=True)
    backends = (['sqlite', 'postgresql'] if args.backend == 'all'
        else [args.backend])
    names = args.tests or module_tests()
    plan = {}
    for backend in backends:
        parts = deal(names, max(1, SHARDS[backend]),
            module_weights(backend))
        plan[backend] = [('' if len(parts) == 1 else f'-{i + 1}', part)
            for i, part in enumerate(parts)]
    for backend in backends:
        for stale in logs.glob(f'timings-{backend}*.json'):
            stale.unlink()
        for stale in logs.glob(f'caches-{backend}*.txt'):
            stale.unlink()
    if 'postgresql' in backends:
        prepare_postgresql()

    started = time.monotonic()
    runs = {}           # name → (process, log, backend or None)
    for backend in backends:
        for shard, part in plan[backend]:
            log = logs / f'tryton-{backend}{shard}.log'
            runs[backend + shard] = (start(
                    [python, 'tools/unittest_main.py', *part],
                    tryton_env(backend, shard), log), log, backend)
    if not args.tests:
        cmd = [python, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
            'sandbox/tests', 'web/tests', 'tools/tests']
        log = logs / 'sandbox.log'
        runs['sandbox'] = (start(cmd, dict(os.environ), log), log, None)
    failed = []
    for name, (proc, log, backend) in runs.items():
        proc.wait()
        lines = log.read_text().strip().splitlines()
        tail = ([l for l in lines if l.startswith('Ran ')][-1:]
            + [l for l in lines if l.startswith(('OK', 'FAILED'))][-1:]
            if backend else []) or lines[-3:]
        print(f'[{name}] exit {proc.returncode}: ' + ' | '.join(tail),
            flush=True)
        if proc.returncode:
            failed.append(name)
            print(log.read_text()[-20000:])
    for backend in backends:
        complete = merge_shards(backend, [s for s, _ in plan[backend]])
        print_timings(backend)
        # a run that went to its end used every cache it needs
        if complete and not args.tests:
            clean_caches(backend)
    if not failed and not args.no_browser and not args.tests:
        proc = start([python, 'tests/browser/run.py'], dict(os.environ),
            logs / 'browser.log')
        proc.wait()
        print(f'[browser] exit {proc.returncode}', flush=True)
        if proc.returncode:
            failed.append('browser')
            print((logs / 'browser.log').read_text()[-20000:])
    minutes = (time.monotonic() - started) / 60
    print(f'{"FAILED: " + ", ".join(failed) if failed else "All passed"} '
        f'in {minutes:.1f} min')
    return 1 if failed else 0


def save_weights():
    "tools/test_weights.json from the last full run's timings"
    weights = {}
    for backend in SHARDS:
        path = LOGS / f'timings-{backend}.json'
        if path.exists():
            modules = json.loads(path.read_text())['modules']
            weights[backend] = {m: round(seconds, 1)
                for m, (_, seconds) in sorted(modules.items())}
    WEIGHTS.write_text(json.dumps(weights, indent=1) + '\n')
    print(f'{WEIGHTS.relative_to(ROOT)}: '
        + ', '.join(f'{b} {len(w)} modules' for b, w in weights.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
