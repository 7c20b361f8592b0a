"""Mirroring order changes to Bitrix24 at the rate limit's ceiling.

    .venv/bin/python benchmarks/b24_mirror.py [--changes 10000] [--backend postgresql]

The hub and the Bitrix24 simulator (real HTTP, real clock — not scaled —,
the portal's leaky bucket on: 2 requests/s, burst 50; the hub's client paces
itself at 2 requests/s sustained, at most 5 at once after a pause).

1. Throughput: 2,000 orders (for 10,000 changes) go through creation,
   payment, reservation, delivery and issue; each step is made for every
   order and committed (the hub's time, printed apart), then the outbox's
   backlog is drained as the queue worker would (every change on another
   order: nothing coalesces).  Figure: batch commands per second while
   draining against the ceiling the rate limit allows with batching,
   2 requests/s × 50 = 100 commands/s (target ≥ 80 %), and order changes
   mirrored per second.
2. Lag at normal load: 100 more orders through the same steps in waves of
   25 changes a second, the worker right after each commit; from the
   commit to the last deal of the wave updated (p95 over 500 changes).
3. Floor, in the same process: one bare ``batch`` of 50 ``crm.deal.get``
   (the network's and the simulator's share, rate limit off).

One process (SQLite in memory): the mirror's CPU work competes with the
other engineers' runs on 2 cores; the load average is printed.
"""
import argparse
import json
import time
from decimal import Decimal

from common import drop_database, machine, setup_database, show, summary

STEPS = ['create', 'pay', 'reserve', 'deliver', 'issue']
WAVE = 50


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='sqlite',
        choices=['sqlite', 'postgresql'])
    parser.add_argument('--changes', type=int, default=10000)
    args = parser.parse_args()
    db = setup_database(args.backend, modules=('b24_bridge',))
    from sandbox.bitrix24 import Bitrix24Simulator
    from trytond.modules.order_hub.tests.tools import (
        create_city, create_product, create_warehouse, set_company,
        set_stock, setup_company)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    sim = Bitrix24Simulator()
    sim.start()
    floor = measure_floor(sim)
    print(f'backend: {args.backend}; {machine()}', flush=True)
    print('simulator: real clock (not scaled); portal bucket 2 req/s, '
        'burst 50; hub client 2 req/s, burst 5', flush=True)
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        company = setup_company()
        with set_company(company):
            city = create_city("Москва", '55.755826', '37.617300')
            shop = create_warehouse("Магазин на Тверской", city, code='TV')
            products = [create_product(f"Товар {i}", str(1000 + i))[0]
                for i in range(20)]
            for product in products:
                set_stock(product, shop, 10 ** 6)
            pool.get('hub_sync.system').create([{'code': 'b24',
                        'name': "Битрикс24", 'timeout': 10,
                        'base_url': sim.webhook()['url'], 'b24_rate': 2.0,
                        'b24_hub_url': 'http://hub.example.ru'}])
            tx.commit()
            stats = run(pool, tx, sim, city, products, args.changes)
    show('lag at 25 changes/s: commit -> deal updated',
        summary(stats['lags']))
    show('floor: one batch of 50 crm.deal.get', summary(floor))
    ceiling = 100.0
    rate = stats['commands'] / stats['mirror_time']
    print(f'{"commands sent":48} {stats["commands"]} in '
        f'{stats["requests"]} requests '
        f'({stats["commands"] / stats["requests"]:.1f} per batch)')
    print(f'{"backlog drained in":48} '
        f'{stats["mirror_time"]:.1f} s (the hub made the changes in '
        f'{stats["hub_time"]:.1f} s before)')
    print(f'{"throughput (commands/s while draining)":48} {rate:.1f} = '
        f'{rate / ceiling:.0%} of the 100/s ceiling')
    print(f'{"order changes mirrored per second":48} '
        f'{stats["changes"] / stats["mirror_time"]:.1f}')
    print(f'{"hub CPU while draining (main thread)":48} '
        f'{stats["hub_cpu"]:.1f} s = '
        f'{stats["hub_cpu"] / stats["commands"] * 1000:.1f} ms per command '
        f'(≤ 10 ms lets one core feed the 100/s ceiling)')
    print(f'{"rate-limit refusals by the portal":48} '
        f'{stats["refused"]}; deals {len(sim.deals)}, orders '
        f'{stats["orders"]}')
    print(f'{"after the run":48} {machine()}')
    sim.stop()
    drop_database()


def measure_floor(sim, samples=100):
    "One bare batch of 50 commands, rate limit off (the network's share)"
    import requests
    sim.set_rate_limit(enabled=False)
    deal = sim.seed_deals(1)['ids'][0]
    url = sim.webhook()['url'] + 'batch.json'
    cmd = {str(i): f'crm.deal.get?id={deal}' for i in range(50)}
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        requests.post(url, json={'cmd': cmd}, timeout=10).raise_for_status()
        times.append(time.perf_counter() - start)
    sim.reset()
    sim.set_rate_limit(enabled=True)
    return times


def run(pool, tx, sim, city, products, changes):
    Order = pool.get('order_hub.order')
    Outbox = pool.get('hub_sync.outbox')
    counts = {'requests': 0, 'commands': 0, 'refused': 0}

    def count_requests():
        "What reached the portal (its request journal), then forget it"
        for entry in sim.journal.list('/rest/*'):
            counts['requests'] += 1
            if entry['status'] == 503:
                counts['refused'] += 1
            elif entry['path'].endswith('/batch.json'):
                counts['commands'] += len(json.loads(entry['body'])['cmd'])
            else:
                counts['commands'] += 1
        sim.journal.clear()

    def change(step, order_ids, first):
        "One step for the orders; returns the ids (new ones for create)"
        if step == 'create':
            return [o.id for o in Order.create([{
                            'customer_name': f"Покупатель{i % 300} Тестовый",
                            'phone': f'+7 900 {i % 300:03d}-00-00',
                            'email': f'buyer{i % 300}@example.ru',
                            'delivery_city': city.id,
                            'delivery_service': 'cdek_courier',
                            'delivery_cost': Decimal(300),
                            'lines': [('create', [{
                                            'product': products[i % 20].id,
                                            'quantity': Decimal(1 + i % 3)}])],
                            } for i in range(first, first + len(order_ids))])]
        getattr(Order, step)(Order.browse(order_ids))
        return order_ids

    def pending_orders():
        return {m.record.id for m in Outbox.search([
                    ('system', '=', 'b24'), ('state', '=', 'pending')])}

    # the pipeline is created once, before the measure
    Outbox.process_due()
    tx.commit()
    sim.journal.clear()

    # 1. throughput: each step of every order committed, then the backlog
    # drained (the mirror saturated: every change on another order)
    orders_count = max(changes // len(STEPS), 1)
    ids = [None] * orders_count
    hub_time = drain_time = hub_cpu = 0.0
    for step in STEPS:
        started = time.perf_counter()
        for first in range(0, orders_count, 200):
            part = ids[first:first + 200]
            ids[first:first + 200] = change(step, part, first)
            tx.commit()
        hub_time += time.perf_counter() - started
        started, cpu = time.perf_counter(), time.thread_time()
        while pending_orders():
            Outbox.process_due()
            tx.commit()
        drain_time += time.perf_counter() - started
        hub_cpu += time.thread_time() - cpu
    count_requests()
    drained = dict(counts)

    # 2. lag at normal load: waves of 25 changes every second (25 changes/s,
    # a quarter of the ceiling), the worker right after each commit
    lags = []
    wave, lag_orders = 25, [None] * 100
    for step in STEPS:
        for first in range(0, len(lag_orders), wave):
            began = time.perf_counter()
            part = lag_orders[first:first + wave]
            lag_orders[first:first + wave] = change(step, part,
                orders_count + first)
            tx.commit()
            committed = time.perf_counter()
            while set(lag_orders[first:first + wave]) & pending_orders():
                Outbox.process_due()
                tx.commit()
            lags += [time.perf_counter() - committed] * wave
            time.sleep(max(0, 1 - (time.perf_counter() - began)))
    count_requests()
    return {'lags': lags, 'changes': orders_count * len(STEPS),
        'orders': orders_count + len(lag_orders), 'hub_time': hub_time,
        'mirror_time': drain_time, 'hub_cpu': hub_cpu,
        'requests': drained['requests'],
        'commands': drained['commands'], 'refused': counts['refused']}


if __name__ == '__main__':
    main()
