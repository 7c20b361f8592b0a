"""Full catalogue + stock load from 1C UT11: time and peak memory, against a
plain bulk insert of the same rows into the same database in the same run.

    .venv/bin/python benchmarks/ut11_full_load.py --products 2000 \\
        --warehouses 30 [--backend postgresql]

The simulator generates N products x M warehouses (stock computed on
demand).  The loader reads them over HTTP and writes warehouses, product
templates with their variant, and the stock mirror.  Baseline: the same
number of rows inserted with executemany into a scratch table.  Targets
(issue 5): under 3x the bulk insert and under 500 MB peak for 100,000 x 30.
"""
import argparse
import resource
import sys
import time
from pathlib import Path

from common import drop_database, setup_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='sqlite',
        choices=['sqlite', 'postgresql'])
    parser.add_argument('--products', type=int, default=2000)
    parser.add_argument('--warehouses', type=int, default=30)
    args = parser.parse_args()
    db = setup_database(args.backend, modules=('ut11_bridge',))
    from sandbox.ut11 import UT11Simulator
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.order_hub.tests.tools import set_company, setup_company

    sim = UT11Simulator()
    url = sim.start() + '/ut/odata/standard.odata'
    sim.seed(products=args.products, warehouses=args.warehouses)
    print(f'backend: {args.backend}, {args.products} products x '
        f'{args.warehouses} warehouses')
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        with set_company(setup_company()):
            pool.get('hub_sync.system').create([{'code': 'ut11',
                        'name': "1С УТ11", 'base_url': url, 'login': 'odata',
                        'password': 'odata', 'timeout': 30}])
            tx.commit()
            before = peak_mb()
            start = time.perf_counter()
            counts = pool.get('ut11_bridge.loader').load()
            tx.commit()
            load = time.perf_counter() - start
            rows = counts['products'] + counts['stock']
            baseline = bulk_insert(tx, rows)
    sim.stop()
    print(f'{"full load":30} {load:8.1f} s  {counts}')
    print(f'{"baseline: bulk insert":30} {baseline:8.1f} s  {rows} rows')
    print(f'{"ratio":30} {load / baseline:8.1f}x')
    print(f'{"peak memory (process)":30} {peak_mb():8.0f} MB '
        f'(before the load: {before:.0f} MB)')
    drop_database()


def bulk_insert(tx, rows):
    "The same number of rows, plainly inserted: the floor for the load"
    cursor = tx.connection.cursor()
    cursor.execute('CREATE TABLE bench_rows (a INTEGER, b INTEGER, '
        'c NUMERIC, d VARCHAR)')
    start = time.perf_counter()
    batch = []
    for i in range(rows):
        batch.append((i, i % 30, i % 7, f'row {i}'))
        if len(batch) == 5000:
            cursor.executemany(tx.database.flavor.param.join(
                    ['INSERT INTO bench_rows VALUES (', ', ', ', ', ', ',
                        ')']), batch)
            batch = []
    if batch:
        cursor.executemany(tx.database.flavor.param.join(
                ['INSERT INTO bench_rows VALUES (', ', ', ', ', ', ', ')']),
            batch)
    tx.commit()
    return time.perf_counter() - start


if __name__ == '__main__':
    main()
