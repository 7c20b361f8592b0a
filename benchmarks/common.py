"""Shared set-up of the benchmarks: a database with the hub's modules.

Benchmarks use the same database cache as the tests (under var/dbcache), so
only the first run pays for activating the modules.  They print figures;
they are not part of the test run.
"""
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))


def setup_database(backend='sqlite', modules=('order_hub',)):
    """Point trytond at a fresh database with modules activated; returns
    its name.  The caches are the tests' own, keyed by their sources
    (tools/unittest_main.py, hubcache.py)"""
    if backend == 'sqlite':
        os.environ.update(TRYTOND_DATABASE_URI='sqlite://',
            DB_NAME=':memory:', DB_CACHE=str(ROOT / 'var' / 'dbcache'
                / 'sqlite'))
    else:
        os.environ.update(
            TRYTOND_DATABASE_URI=os.environ.get('HUB_TEST_POSTGRESQL_URI',
                'postgresql://postgres@127.0.0.1:5432/'),
            DB_NAME=f'bench_hub_{os.getpid()}', DB_CACHE='postgresql://')
    path = list(sys.path)
    import unittest_main  # noqa: F401 -- applies the keyed cache names
    sys.path[:] = path + [p for p in sys.path if p not in path]
    from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
    drop_db()
    activate_module(list(modules), lang='ru')
    # importing the test helpers switched the pool to test mode, which also
    # validates Function fields on every create/write; the server does not
    from trytond.pool import Pool
    Pool.test = False
    return DB_NAME


def drop_database():
    from trytond.tests.test_tryton import drop_db
    drop_db()


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


def percentile(samples, p):
    """The p-th percentile (0 < p < 100) of samples, interpolated between
    the two nearest ranks (statistics.quantiles, 'inclusive': numpy's
    default), not the sample at a rounded index"""
    samples = sorted(samples)
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method='inclusive')[p - 1]


def summary(samples):
    "n, median, p95 (p99 from 100 samples on) and max, in milliseconds"
    samples = sorted(samples)
    stats = {'n': len(samples), 'median_ms': statistics.median(samples) * 1e3,
        'p95_ms': percentile(samples, 95) * 1e3}
    if len(samples) >= 100:
        stats['p99_ms'] = percentile(samples, 99) * 1e3
    stats['max_ms'] = samples[-1] * 1e3
    return stats


def machine():
    "Cores and load average, printed with every set of figures"
    load = ', '.join(f'{x:.2f}' for x in os.getloadavg())
    return f'{os.cpu_count()} cores, load average {load}'


def show(title, stats):
    figures = ', '.join(f'{k}={v:.1f}' if isinstance(v, float) else f'{k}={v}'
        for k, v in stats.items())
    print(f'{title:48} {figures}', flush=True)
