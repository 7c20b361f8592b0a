"""Latency from a line edit in the hub to the change arriving in 1C.

    .venv/bin/python benchmarks/ut11_edit_latency.py [--backend postgresql]

A reserved order already in 1C (the UT11 simulator, over HTTP); each sample
changes a line's quantity (the manager's save), commits, and runs the queued
outbox task as the worker would right after the commit; the latency ends
when the simulator has the updated ЗаказКлиента.  Target: p95 < 2 s.
Baseline in the same run: one bare OData GET of the order (the network and
1C's own share).
"""
import argparse
import time
from decimal import Decimal

from common import drop_database, machine, setup_database, show, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='sqlite',
        choices=['sqlite', 'postgresql'])
    parser.add_argument('--samples', type=int, default=100)
    args = parser.parse_args()
    db = setup_database(args.backend, modules=('ut11_bridge',))
    from sandbox.ut11 import UT11Simulator
    from trytond.modules.ut11_bridge.tests.tools import (
        create_cities, ut11_system_values)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.order_hub.tests.tools import set_company, setup_company

    sim = UT11Simulator()
    url = sim.start() + '/ut/odata/standard.odata'
    print(f'backend: {args.backend}; {machine()}', flush=True)
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        with set_company(setup_company()):
            create_cities(["Москва"])
            pool.get('hub_sync.system').create(
                [ut11_system_values(sim, url, timeout=5)])
            pool.get('ut11_bridge.loader').load()
            sim.set_stock('КР-1001', 'Магазин на Тверской', 500, '42')
            pool.get('ut11_bridge.loader').load(stock_only=True)
            tx.commit()
            order = reserved_order(pool, tx)
            latencies, baseline = measure(pool, tx, sim, url, order,
                args.samples)
    show('edit a line -> order updated in 1C', summary(latencies))
    show('baseline: one OData GET of the order', summary(baseline))
    ratio = (summary(latencies)['median_ms'] / summary(baseline)['median_ms'])
    print(f'{"ratio (median)":48} {ratio:.1f}x')
    print(f'{"after the run":48} {machine()}')
    sim.stop()
    drop_database()


def reserved_order(pool, tx):
    Order = pool.get('order_hub.order')
    Product = pool.get('product.product')
    City = pool.get('order_hub.city')
    product, = Product.search([('template.code', '=', 'КР-1001'),
            ('hub_size', '=', '42')])
    moscow, = City.search([])
    order, = Order.create([{'customer_name': "Покупатель",
                'delivery_city': moscow.id, 'lines': [('create', [{
                                'product': product.id,
                                'quantity': Decimal(1)}])]}])
    Order.pay([order])
    Order.reserve([order])
    tx.commit()
    run_queue(pool, tx)
    return order.id


def run_queue(pool, tx):
    "What the worker does right after the commit"
    Outbox = pool.get('hub_sync.outbox')
    Outbox.process(Outbox.search([('state', '=', 'pending')]))
    tx.commit()


def measure(pool, tx, sim, url, order_id, samples):
    import requests
    Order = pool.get('order_hub.order')
    Line = pool.get('order_hub.order.line')
    latencies, baseline = [], []
    for n in range(samples):
        order = Order(order_id)
        key = order.ut11_ref
        patches = len(sim.journal.list('*', 'PATCH'))
        start = time.perf_counter()
        line, = order.lines
        Line.write([line], {'quantity': Decimal(2 + n % 3)})
        tx.commit()
        run_queue(pool, tx)
        latencies.append(time.perf_counter() - start)
        assert len(sim.journal.list('*', 'PATCH')) > patches, (
            "the change did not reach 1C")
        start = time.perf_counter()
        requests.get(f"{url}/Document_ЗаказКлиента(guid'{key}')",
            params={'$format': 'json'}, auth=('odata', 'odata'), timeout=5)
        baseline.append(time.perf_counter() - start)
    return latencies, baseline


if __name__ == '__main__':
    main()
