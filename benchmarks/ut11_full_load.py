"""Full catalogue + stock load from 1C UT11: time and peak memory, against a
plain bulk insert of the same rows into the same database in the same run.

    .venv/bin/python benchmarks/ut11_full_load.py --products 2000 \\
        --warehouses 30 [--backend postgresql]

The simulator runs in its own process, as 1C runs on its own server, and
generates N products x M warehouses (stock computed on demand).  The loader
reads them over HTTP and writes warehouses, product groups, templates with
their variant and barcode, prices and the stock mirror.  Peak memory is the
loader's process.  Baseline: the same
number of rows inserted with executemany into a scratch table.  Targets
(issue 5): under 3x the bulk insert and under 500 MB peak for 100,000 x 30.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from common import drop_database, setup_database


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
    from sandbox.ut11 import stable_ref
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.order_hub.tests.tools import set_company, setup_company

    sim, base = start_simulator()
    requests.post(base + '/__sandbox__/seed', json={
            'products': args.products, 'warehouses': args.warehouses},
        timeout=60).raise_for_status()
    url = base + '/ut/odata/standard.odata'
    print(f'backend: {args.backend}, {args.products} products x '
        f'{args.warehouses} warehouses')
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        with set_company(setup_company()):
            pool.get('hub_sync.system').create([{'code': 'ut11',
                        'name': "1С УТ11", 'base_url': url, 'login': 'odata',
                        'password': 'odata', 'timeout': 300,
                        'ut11_price_type': stable_ref('retail')}])
            tx.commit()
            before = peak_mb()
            start = time.perf_counter()
            stages = {}

            def progress(stage, count, total=None):
                stages[stage] = time.perf_counter() - start
            counts = pool.get('ut11_bridge.loader').load(progress=progress)
            tx.commit()
            load = time.perf_counter() - start
            rows = counts['products'] + counts['stock']
            baseline = bulk_insert(tx, rows)
    sim.terminate()
    sim.wait()
    print(f'{"full load":30} {load:8.1f} s  {counts}')
    ends = sorted(stages.items(), key=lambda item: item[1])
    print(f'{"stages (s)":30} ' + ', '.join(f'{stage} {end - begin:.1f}'
            for (stage, end), begin in zip(ends, [0] + [e for _, e in ends])))
    print(f'{"baseline: bulk insert":30} {baseline:8.1f} s  {rows} rows')
    print(f'{"ratio":30} {load / baseline:8.1f}x')
    print(f'{"peak memory (process)":30} {peak_mb():8.0f} MB '
        f'(before the load: {before:.0f} MB)')
    drop_database()


def start_simulator():
    "python -m sandbox --only ut11 in its own process; (process, base URL)"
    urls = Path(tempfile.mkdtemp()) / 'urls.json'
    process = subprocess.Popen([sys.executable, '-m', 'sandbox', '--only',
            'ut11', '--free-ports', '--urls-file', str(urls)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if urls.exists() and urls.stat().st_size:
            return process, json.loads(urls.read_text())['ut11']
        time.sleep(0.1)
    process.kill()
    raise RuntimeError('the UT11 simulator did not start')


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
