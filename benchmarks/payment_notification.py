"""Latency from YooKassa's payment.succeeded notification to the order
«Оплачен», and notifications handled per second.

    .venv/bin/python benchmarks/payment_notification.py [--samples 120]

Each sample: an order awaiting payment whose payment the YooKassa simulator
has already marked succeeded; the notification is posted to the hub's route
(Tryton's WSGI app in this process), which stores it in the inbox and — the
queue running inline after the commit, as without a worker — re-reads the
payment from the simulator over HTTP, moves the order to «Оплачен» and
queues the advance receipt.  The latency ends when a new transaction sees
the order paid.  Target: p95 < 1 s.  Baselines in the same run: the bare
inbox receive (store the event, nothing else) and one GET of the payment
from the simulator (the verification's network share).
"""
import argparse
import json
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import requests

from common import drop_database, setup_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def p95(samples):
    return statistics.quantiles(samples, n=100)[94]


def show(title, samples):
    print(f'{title:46} n={len(samples)} '
        f'median={statistics.median(samples) * 1e3:.1f} ms '
        f'p95={p95(samples) * 1e3:.1f} ms max={max(samples) * 1e3:.1f} ms',
        flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=120)
    args = parser.parse_args()
    db = setup_database('sqlite', modules=('payment_yookassa',))
    from werkzeug.test import Client

    from sandbox.yookassa import YooKassaSimulator
    from trytond.modules.order_hub.tests.tools import (
        create_order, create_product, set_company, setup_company)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.wsgi import app

    sim = YooKassaSimulator()
    sim.start()
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        company = setup_company()
        with set_company(company):
            product, = create_product("Кеды", '3000')
            System = pool.get('hub_sync.system')
            System.yookassa_configure_sandbox(sim.base_url)
            System.write(System.search([('code', '=', 'yookassa')]),
                {'yookassa_ips': '127.0.0.1/32'})
            orders = [create_order([(product, 1)], site_number=f'B-{i}')
                for i in range(args.samples)]
            numbers = [(o.id, o.site_number, o.total) for o in orders]
        tx.commit()
    payments = [(order_id, paid(sim, number, total))
        for order_id, number, total in numbers]

    client = Client(app)
    latencies = []
    start = time.perf_counter()
    for order_id, payment in payments:
        t0 = time.perf_counter()
        response = client.post(f'/{db}/payment_yookassa/notifications',
            json={'type': 'notification', 'event': 'payment.succeeded',
                'object': payment}, environ_base={'REMOTE_ADDR': '127.0.0.1'})
        assert response.status_code == 200, response.status_code
        with Transaction().start(db, 0, readonly=True):
            state = Pool().get('order_hub.order')(order_id).state
        latencies.append(time.perf_counter() - t0)
        assert state == 'paid', state
    elapsed = time.perf_counter() - start

    receive = []
    with Transaction().start(db, 0) as tx:
        Inbox = Pool().get('hub_sync.inbox')
        Inbox.push = classmethod(lambda cls, records: None)
        for order_id, payment in payments:
            t0 = time.perf_counter()
            Inbox.receive('yookassa', uuid.uuid4().hex, 'payment.succeeded',
                json.dumps({'object': payment}))
            receive.append(time.perf_counter() - t0)
        tx.rollback()
    fetch = []
    for _, payment in payments:
        t0 = time.perf_counter()
        requests.get(f"{sim.base_url}/v3/payments/{payment['id']}",
            auth=(sim.shop_id, sim.secret_key), timeout=5).raise_for_status()
        fetch.append(time.perf_counter() - t0)

    print('backend: sqlite')
    show('notification -> order «Оплачен»', latencies)
    show('baseline: bare inbox receive (store only)', receive)
    show('baseline: GET the payment from the simulator', fetch)
    print(f'{"notifications handled per second":46} '
        f'{len(payments) / elapsed:.1f}')
    print(f'{"ratio to bare receive (median)":46} '
        f'{statistics.median(latencies) / statistics.median(receive):.1f}x')
    sim.stop()
    drop_database()


def paid(sim, number, total):
    "A payment the website made, paid by the buyer: the simulator's object"
    response = requests.post(sim.base_url + '/v3/payments', json={
            'amount': {'value': f'{Decimal(total):.2f}', 'currency': 'RUB'},
            'capture': True, 'description': f'Заказ №{number}',
            'metadata': {'BX_PAYMENT_NUMBER': f'{number}/1'}},
        auth=(sim.shop_id, sim.secret_key),
        headers={'Idempotence-Key': uuid.uuid4().hex}, timeout=5)
    response.raise_for_status()
    return sim.succeed_payment(response.json()['id'])


if __name__ == '__main__':
    main()
