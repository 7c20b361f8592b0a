"""Reserving an order nearest-warehouse-first over 50 warehouses.

    .venv/bin/python benchmarks/reservation.py [--backend sqlite|postgresql]

Each sample reserves a fresh paid order (20 or 300 lines, products stocked
unevenly over 50 warehouses in 25 cities, some lines split) and commits.
Baseline in the same run: reading the stock levels of the same products
(the data the reservation cannot avoid reading).  Target: p95 < 50 ms for
20 lines.
"""
import argparse
import random

from common import drop_database, setup_database, show, summary, timed

Pool = Transaction = None  # imported in main(), after the configuration


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='sqlite',
        choices=['sqlite', 'postgresql'])
    parser.add_argument('--samples', type=int, default=30)
    args = parser.parse_args()
    db = setup_database(args.backend)
    global Pool, Transaction
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.order_hub.tests.tools import (
        create_city, create_order, create_product, set_company, setup_company)

    print(f'backend: {args.backend}')
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
                    (300, max(5, args.samples // 5))):
                measure(tx, size, samples, products, cities, rng,
                    create_order)
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


def measure(tx, size, samples, products, cities, rng, create_order):
    pool = Pool()
    Order = pool.get('order_hub.order')
    StockLevel = pool.get('order_hub.stock')
    reserve, baseline, splits = [], [], 0
    for _ in range(samples):
        lines = [(p, rng.randint(1, 3)) for p in rng.sample(products, size)]
        order = create_order(lines, delivery_city=rng.choice(cities).id)
        Order.pay([order])
        tx.commit()
        seconds, _ = timed(StockLevel.free_by_warehouse,
            {p.id for p, _ in lines})
        baseline.append(seconds)
        seconds, _ = timed(Order.reserve, [Order(order.id)])
        tx.commit()
        reserve.append(seconds)
        splits += sum(1 for l in Order(order.id).lines
            if len([r for r in l.reservations if r.active]) > 1)
    stats = summary(reserve)
    show(f'reserve a {size}-line order, 50 warehouses', stats)
    show(f'baseline: read stock of {size} products', summary(baseline))
    ratio = stats['median_ms'] / summary(baseline)['median_ms']
    print(f'{"ratio reserve / baseline (median)":48} {ratio:.1f}x; '
        f'{splits} lines split over several warehouses')


if __name__ == '__main__':
    main()
