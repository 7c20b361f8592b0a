"""Run the whole test suite: what bin/test and CI run.

  1. the simulators and the web-client catalogue (pytest);
  2. every Tryton module's tests, on SQLite and on PostgreSQL, side by side;
  3. the browser test (headless Chromium against a running server).

Tryton's database cache keeps the suites fast.  Its key is only the module
names, so the cache lives under a hash of the modules' sources: a schema
change never reuses a stale cache.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ROOT / 'addons'
PG_URI = os.environ.get(
    'HUB_TEST_POSTGRESQL_URI', 'postgresql://postgres@127.0.0.1:5432/')


def sources_hash():
    digest = hashlib.sha1()
    for path in sorted(ADDONS.rglob('*')):
        if path.is_file() and path.suffix in {'.py', '.xml', '.cfg', '.po'} \
                and '/tests/' not in str(path):
            digest.update(str(path.relative_to(ADDONS)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def module_tests():
    names = []
    for cfg in sorted(ADDONS.glob('*/tryton.cfg')):
        module = cfg.parent.name
        for test in sorted((cfg.parent / 'tests').glob('test_*.py')):
            names.append(f'trytond.modules.{module}.tests.{test.stem}')
    return names


def tryton_env(backend, key):
    env = dict(os.environ, PYTHONWARNINGS='ignore::DeprecationWarning',
        HUB_SOURCES_KEY=key)
    cache = ROOT / 'var' / 'dbcache' / key
    if backend == 'sqlite':
        env.update(TRYTOND_DATABASE_URI='sqlite://', DB_NAME=':memory:',
            DB_CACHE=str(cache))
    else:
        env.update(TRYTOND_DATABASE_URI=PG_URI,
            DB_NAME=f'test_hub_{os.getpid()}', DB_CACHE='postgresql://')
    return env


def prepare_postgresql(key):
    """Drop template caches built from other sources, then remember key.

    A database still in use (another run on the same cluster) is left."""
    marker = ROOT / 'var' / 'dbcache' / 'postgresql.key'
    if marker.exists() and marker.read_text() == key:
        return
    psql = ['psql', PG_URI + 'postgres', '-Atqc']
    names = subprocess.run(psql + [
            "SELECT datname FROM pg_database WHERE datname LIKE 'test-%' "
            "OR datname LIKE 'test_hub_%'"],
        check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        subprocess.run(psql + [f'DROP DATABASE IF EXISTS "{name}"'],
            stderr=subprocess.DEVNULL)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(key)


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
    key = sources_hash()
    logs = ROOT / 'var' / 'test-logs'
    logs.mkdir(parents=True, exist_ok=True)
    backends = (['sqlite', 'postgresql'] if args.backend == 'all'
        else [args.backend])
    if 'postgresql' in backends:
        prepare_postgresql(key)

    started = time.monotonic()
    runs = {}
    for backend in backends:
        cmd = [python, 'tools/unittest_main.py',
            *(args.tests or module_tests())]
        runs[backend] = start(cmd, tryton_env(backend, key),
            logs / f'tryton-{backend}.log')
    if not args.tests:
        cmd = [python, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
            'sandbox/tests', 'web/tests']
        runs['sandbox'] = start(cmd, dict(os.environ),
            logs / 'sandbox.log')
    failed = []
    for name, proc in runs.items():
        proc.wait()
        log = logs / f'{"tryton-" if name != "sandbox" else ""}{name}.log'
        tail = log.read_text().strip().splitlines()[-3:]
        print(f'[{name}] exit {proc.returncode}: ' + ' | '.join(tail),
            flush=True)
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
