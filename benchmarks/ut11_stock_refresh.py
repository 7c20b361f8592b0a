"""Incremental stock refresh from 1C UT11 (what moved since the last one)
against a full stock refresh, in the same run.

    .venv/bin/python benchmarks/ut11_stock_refresh.py --products 20000 \\
        --warehouses 30 --changed 100 [--rounds 100] [--backend postgresql]

The simulator runs in its own process and generates N products x M
warehouses.  After a full load, each round changes the stock of `changed`
random products in 1C (one warehouse each, through the simulator's control
API, not timed) and times one incremental refresh
(`loader.refresh_changed_stock`, commit included); the full stock refresh
(`loader.load(stock_only=True)`) is timed a few times too.

The refresh window normally starts 5 minutes before the previous refresh
(against clock skew): rounds seconds apart would each re-read every earlier
round's products, so the benchmark sets the overlap to zero and each round
reads exactly its own changes (a refresh waits for the next second after
the changes, as 1C's dates have no fractions).  In production a refresh a minute reads the
changes of about 6 minutes.
"""
import argparse
import datetime as dt
import random
import time

import requests

from common import drop_database, machine, setup_database, show, summary
from ut11_full_load import start_simulator


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='sqlite',
        choices=['sqlite', 'postgresql'])
    parser.add_argument('--products', type=int, default=20000)
    parser.add_argument('--warehouses', type=int, default=30)
    parser.add_argument('--changed', type=int, default=100)
    parser.add_argument('--rounds', type=int, default=100)
    parser.add_argument('--full-rounds', type=int, default=3)
    args = parser.parse_args()
    db = setup_database(args.backend, modules=('ut11_bridge',))
    from sandbox.ut11 import stable_ref
    from trytond.modules.order_hub.tests.tools import set_company, setup_company
    from trytond.modules.ut11_bridge import catalogue
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    catalogue.STOCK_OVERLAP = dt.timedelta(0)

    sim, base = start_simulator()
    requests.post(base + '/__sandbox__/seed', json={
            'products': args.products, 'warehouses': args.warehouses},
        timeout=60).raise_for_status()
    print(f'backend: {args.backend}, {args.products} products x '
        f'{args.warehouses} warehouses, {args.changed} changed per round; '
        f'{machine()}', flush=True)
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        Loader = pool.get('ut11_bridge.loader')
        with set_company(setup_company()):
            pool.get('hub_sync.system').create([{'code': 'ut11',
                        'name': "1С УТ11", 'base_url': base
                        + '/ut/odata/standard.odata', 'login': 'odata',
                        'password': 'odata', 'timeout': 300,
                        'ut11_price_type': stable_ref('retail')}])
            tx.commit()
            start = time.perf_counter()
            counts = Loader.load()
            tx.commit()
            print(f'first full load: {time.perf_counter() - start:.1f} s '
                f'{counts}', flush=True)
            full, incremental, written = [], [], []
            for _ in range(args.full_rounds):
                full.append(timed_commit(tx, Loader.load, stock_only=True))
            rng = random.Random(5)
            for _ in range(args.rounds):
                change_stock(base, rng, args)
                # 1C dates to the second: the refresh starts in a later one,
                # so the next round does not read these changes again
                time.sleep(1.1)
                seconds, result = timed_commit(
                    tx, Loader.refresh_changed_stock, result=True)
                incremental.append(seconds)
                written.append(result)
    sim.terminate()
    sim.wait()
    show('full stock refresh', summary(full))
    show('incremental refresh', summary(incremental))
    print(f'{"written per incremental refresh":48} {written[-1]}')
    ratio = (summary(full)['median_ms'] / summary(incremental)['median_ms'])
    print(f'{"ratio full / incremental (median)":48} {ratio:.0f}x')
    print(f'{"after the run":48} {machine()}')
    drop_database()


def timed_commit(tx, func, result=False, **kwargs):
    start = time.perf_counter()
    value = func(**kwargs)
    tx.commit()
    seconds = time.perf_counter() - start
    return (seconds, value) if result else seconds


def change_stock(base, rng, args):
    "Stock of `changed` random products at one warehouse each, in 1C"
    session = requests.Session()
    for i in rng.sample(range(args.products), args.changed):
        j = rng.randrange(args.warehouses)
        session.post(base + '/__sandbox__/set_stock', json={
                'product': f'ART-{i + 1:06d}', 'quantity': rng.randint(0, 9),
                'warehouse': 'Центральный склад' if j == 0
                else f'Магазин №{j}'}, timeout=30).raise_for_status()


if __name__ == '__main__':
    main()
