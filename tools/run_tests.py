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


def module_tests():
    names = []
    for cfg in sorted(ADDONS.glob('*/tryton.cfg')):
        module = cfg.parent.name
        for test in sorted((cfg.parent / 'tests').glob('test_*.py')):
            names.append(f'trytond.modules.{module}.tests.{test.stem}')
    return names


def tryton_env(backend):
    env = dict(os.environ, PYTHONWARNINGS='ignore::DeprecationWarning',
        HUB_TIMINGS=str(LOGS / f'timings-{backend}.json'),
        HUB_CACHE_USED=str(LOGS / f'caches-{backend}.txt'))
    if backend == 'sqlite':
        env.update(TRYTOND_DATABASE_URI='sqlite://', DB_NAME=':memory:',
            DB_CACHE=str(CACHE / 'sqlite'))
    else:
        env.update(TRYTOND_DATABASE_URI=PG_URI,
            DB_NAME=f'hubtest_{PREFIX}_{os.getpid()}',
            DB_CACHE='postgresql://')
    return env


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
    parser.add_argument('tests', nargs='*',
        help='Tryton test modules to run instead of all of them')
    args = parser.parse_args()
    python = sys.executable
    logs = LOGS
    logs.mkdir(parents=True, exist_ok=True)
    backends = (['sqlite', 'postgresql'] if args.backend == 'all'
        else [args.backend])
    for backend in backends:
        for stale in ['timings', 'caches']:
            (logs / f'{stale}-{backend}.txt').unlink(missing_ok=True)
            (logs / f'{stale}-{backend}.json').unlink(missing_ok=True)
    if 'postgresql' in backends:
        prepare_postgresql()

    started = time.monotonic()
    runs = {}
    for backend in backends:
        cmd = [python, 'tools/unittest_main.py',
            *(args.tests or module_tests())]
        runs[backend] = start(cmd, tryton_env(backend),
            logs / f'tryton-{backend}.log')
    if not args.tests:
        cmd = [python, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
            'sandbox/tests', 'web/tests', 'tools/tests']
        runs['sandbox'] = start(cmd, dict(os.environ),
            logs / 'sandbox.log')
    failed = []
    for name, proc in runs.items():
        proc.wait()
        log = logs / f'{"tryton-" if name != "sandbox" else ""}{name}.log'
        lines = log.read_text().strip().splitlines()
        tail = ([l for l in lines if l.startswith('Ran ')][-1:]
            + [l for l in lines if l.startswith(('OK', 'FAILED'))][-1:]
            if name in backends else []) or lines[-3:]
        print(f'[{name}] exit {proc.returncode}: ' + ' | '.join(tail),
            flush=True)
        if name in backends:
            print_timings(name)
            # a run that went to its end used every cache it needs
            if not args.tests and (logs / f'timings-{name}.json').exists():
                clean_caches(name)
        if proc.returncode:
            failed.append(name)
            print(log.read_text()[-20000:])
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


if __name__ == '__main__':
    sys.exit(main())
