"""Reserving an order nearest-warehouse-first over 50 warehouses.

    .venv/bin/python benchmarks/reservation.py [--backend sqlite|postgresql]

Each sample reserves a fresh paid order (20 or 300 lines, products stocked
unevenly over 50 warehouses in 25 cities, some lines split): the whole
transaction, from ``Order.reserve`` to the end of the commit.  Baseline in
the same run: reading the stock levels of the same products with the hub's
reservations summed (``StockLevel.free_by_warehouse``, the data the
reservation cannot avoid reading).  Targets: p95 < 50 ms and within 5x the
baseline for 20 lines (issue 10).

For scale, also in the same run: the floor of the writes — the rows the
reservation just wrote (reservations, movement log, action log, the levels'
reserved quantities) written again with one plain INSERT … SELECT / UPDATE
each, then committed (the copies of reservations inactive, so that they
change no free stock).  ``--profile FILE`` writes a cProfile of the 20-line
reservations.
"""
import argparse
import random

import cProfile
import time

from common import drop_database, machine, setup_database, show, summary

Pool = Transaction = None  # imported in main(), after the configuration


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='sqlite',
        choices=['sqlite', 'postgresql'])
    parser.add_argument('--samples', type=int, default=100)
    parser.add_argument('--large-samples', type=int, default=20,
        help="samples of the 300-line order")
    parser.add_argument('--profile', help="cProfile the 20-line samples")
    args = parser.parse_args()
    db = setup_database(args.backend)
    global Pool, Transaction
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.order_hub.tests.tools import (
        create_city, create_order, create_product, set_company, setup_company)

    print(f'backend: {args.backend}; {machine()}', flush=True)
    rng = random.Random(7)
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        with set_company(setup_company()):
            cities = [create_city(f'Город {i}',
                    round(44 + rng.random() * 14, 6),
                    round(30 + rng.random() * 60, 6)) for i in range(25)]
            warehouses = create_warehouses(cities)
            products = [create_product(f'Товар {i}', 1000 + i)[0]
                for i in range(400)]
            stock(products, warehouses, rng)
            tx.commit()
            for size, samples in ((20, args.samples),
                    (300, args.large_samples)):
                measure(tx, size, samples, products, cities, rng,
                    create_order, args.profile if size == 20 else None)
    print(f'{"after the run":48} {machine()}')
    drop_database()


def create_warehouses(cities):
    Location = Pool().get('stock.location')
    return Location.hub_create_warehouses([{
                'name': f'Склад {i}', 'code': f'S{i:02d}',
                'hub_city': cities[i % len(cities)].id, 'hub_is_shop': True}
            for i in range(50)])


def stock(products, warehouses, rng):
    "Each product in about a third of the warehouses, 0-6 units each"
    StockLevel = Pool().get('order_hub.stock')
    StockLevel.set_levels([(p.id, w.id, rng.randint(0, 6))
            for p in products for w in warehouses if rng.random() < 0.35],
        source='demo')


def measure(tx, size, samples, products, cities, rng, create_order,
        profile=None):
    pool = Pool()
    Order = pool.get('order_hub.order')
    StockLevel = pool.get('order_hub.stock')
    reserve, baseline, floor, splits = [], [], [], 0
    profiler = cProfile.Profile() if profile else None
    for _ in range(samples):
        lines = [(p, rng.randint(1, 3)) for p in rng.sample(products, size)]
        order = create_order(lines, delivery_city=rng.choice(cities).id)
        Order.pay([order])
        tx.commit()
        start = time.perf_counter()
        StockLevel.free_by_warehouse({p.id for p, _ in lines})
        baseline.append(time.perf_counter() - start)
        tx.commit()
        logged = last_log_entry(tx)
        if profiler:
            profiler.enable()
        # the whole transaction: what a manager's click costs
        start = time.perf_counter()
        Order.reserve([Order(order.id)])
        tx.commit()
        reserve.append(time.perf_counter() - start)
        if profiler:
            profiler.disable()
        floor.append(write_again(tx, order.id, logged))
        splits += sum(1 for l in Order(order.id).lines
            if len([r for r in l.reservations if r.active]) > 1)
    if profiler:
        profiler.dump_stats(profile)
    stats = summary(reserve)
    show(f'reserve a {size}-line order + commit', stats)
    show(f'baseline: read stock of {size} products', summary(baseline))
    show('floor: its rows written again in plain SQL', summary(floor))
    ratio = stats['median_ms'] / summary(baseline)['median_ms']
    print(f'{"ratio reserve / baseline (median)":48} {ratio:.1f}x; '
        f'{splits} lines split over several warehouses', flush=True)
    ratio = summary(floor)['median_ms'] / summary(baseline)['median_ms']
    print(f'{"ratio floor of the writes / baseline (median)":48} '
        f'{ratio:.1f}x', flush=True)


def last_log_entry(tx):
    cursor = tx.connection.cursor()
    cursor.execute('SELECT MAX(id) FROM order_hub_action_log')
    return cursor.fetchone()[0] or 0


def write_again(tx, order, logged):
    """Seconds to write the order's reservation rows again in plain SQL
    (action log entries after logged)"""
    cursor = tx.connection.cursor()
    param = tx.database.flavor.param
    start = time.perf_counter()
    cursor.execute('INSERT INTO order_hub_reservation ("order", line, '
        'product, warehouse, quantity, status, distance, reason, in_mirror, '
        'active, create_uid, create_date) SELECT "order", line, product, '
        'warehouse, quantity, status, distance, reason, in_mirror, '
        f'{param}, create_uid, create_date FROM order_hub_reservation '
        f'WHERE "order" = {param}', (False, order))
    cursor.execute('INSERT INTO order_hub_item_movement (reservation, '
        '"order", product, date, location, "user", status, description, '
        'create_uid, create_date) SELECT reservation, "order", product, '
        'date, location, "user", status, description, create_uid, '
        'create_date FROM order_hub_item_movement '
        f'WHERE "order" = {param}', (order,))
    cursor.execute('UPDATE order_hub_stock SET reserved_quantity = '
        'reserved_quantity WHERE id IN (SELECT s.id FROM order_hub_stock s '
        'JOIN order_hub_reservation r ON r.product = s.product '
        f'AND r.warehouse = s.warehouse WHERE r."order" = {param} '
        f'AND r.active = {param})', (order, True))
    cursor.execute('INSERT INTO order_hub_action_log ("order", kind, '
        'description, source, "user", date, create_uid, create_date) '
        'SELECT "order", kind, description, source, "user", date, '
        'create_uid, create_date FROM order_hub_action_log '
        f'WHERE "order" = {param} AND id > {param}', (order, logged))
    tx.commit()
    return time.perf_counter() - start


if __name__ == '__main__':
    main()
