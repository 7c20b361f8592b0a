"""Latency from CDEK's ORDER_STATUS webhook to the shipment «Доставлено»,
and webhooks handled per second.

    .venv/bin/python benchmarks/cdek_webhook.py [--samples 120]

Each sample: a CDEK shipment whose order the CDEK simulator has just moved
to ACCEPTED_AT_PICK_UP_POINT; the webhook is posted to the hub's route
(Tryton's WSGI app in this process: token check, stored in the inbox) and —
the queue running inline after the commit, as without a worker — the
handler re-reads the order from the simulator over HTTP (CDEK signs
nothing) and applies its statuses.  The latency ends when a new transaction
sees the shipment «Доставлено».  Target: p95 < 1 s.  Floors in the same
run: the bare inbox receive (store the event, nothing else) and one GET of
the order from the simulator (the verification's network share).
"""
import argparse
import json
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

from common import drop_database, setup_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def p95(samples):
    return statistics.quantiles(samples, n=100)[94]


def show(title, samples):
    print(f'{title:46} n={len(samples)} '
        f'median={statistics.median(samples) * 1e3:.1f} ms '
        f'p95={p95(samples) * 1e3:.1f} ms max={max(samples) * 1e3:.1f} ms',
        flush=True)


def order_payload(number):
    return {'type': 1, 'number': number, 'tariff_code': 136,
        'shipment_point': 'SPB6', 'delivery_point': 'MSK2',
        'recipient': {'name': 'Иванова Мария',
            'phones': [{'number': '+79161234567'}]},
        'packages': [{'number': f'{number}-1', 'weight': 1000,
                'length': 30, 'width': 20, 'height': 10, 'items': [{
                        'name': 'Шарф', 'ware_key': 'SH-1',
                        'payment': {'value': 0}, 'cost': 1990,
                        'weight': 500, 'amount': 2}]}]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=120)
    parser.add_argument('--backend', default='sqlite')
    args = parser.parse_args()
    db = setup_database(args.backend, modules=('carrier_cdek',))
    from werkzeug.test import Client

    from sandbox.cdek import CdekSimulator
    from trytond.modules.order_hub.tests.tools import (
        set_company, setup_company)
    from trytond.modules.order_shipments.tests.tools import (
        create_shops, paid_order)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.wsgi import app

    sim = CdekSimulator()
    sim.start()
    sim.processing(delay=0)
    account = sim.credentials()
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        Shipment = pool.get('order_shipments.shipment')
        System = pool.get('hub_sync.system')
        company = setup_company()
        with set_company(company):
            shops = create_shops()
            System.cdek_configure_sandbox(sim.base_url,
                account['client_id'], account['client_secret'])
            system = System.get('cdek')
            System.write([system], {'secret': 'bench-token'})
            client = system.cdek_client()
            samples = []
            for i in range(args.samples):
                order = paid_order([(shops.scarf, 1)])
                shipment = Shipment.request_goods(order, [(order.lines[0],
                            Decimal(1))], shops.nevsky, None,
                    'pickup_point', carrier='cdek')
                order_uuid = client.create_order(order_payload(f'B-{i}'))
                sim.processing(run_pending=True)
                info = client.get_order(order_uuid)
                Shipment.carrier_created(shipment, order_uuid,
                    info['cdek_number'])
                samples.append((shipment.id, order_uuid,
                        info['cdek_number']))
        tx.commit()

    http = Client(app)
    url = f'/{db}/carrier_cdek/webhook/bench-token'
    latencies = []
    start = time.perf_counter()
    for shipment_id, order_uuid, cdek_number in samples:
        sim.set_order_status('ACCEPTED_AT_PICK_UP_POINT', uuid=order_uuid)
        body = {'type': 'ORDER_STATUS', 'uuid': order_uuid,
            'date_time': '2026-12-07T10:00:00+0000', 'attributes': {
                'code': 'ACCEPTED_AT_PICK_UP_POINT', 'cdek_number':
                cdek_number, 'status_date_time': '2026-12-07T10:00:00+0000',
                'city_name': 'Москва'}}
        t0 = time.perf_counter()
        response = http.post(url, data=json.dumps(body),
            content_type='application/json')
        assert response.status_code == 200, response.status_code
        with Transaction().start(db, 0, readonly=True):
            state = Pool().get('order_shipments.shipment')(shipment_id).state
        latencies.append(time.perf_counter() - t0)
        assert state == 'delivered', state
    elapsed = time.perf_counter() - start

    receive = []
    with Transaction().start(db, 0) as tx:
        Inbox = Pool().get('hub_sync.inbox')
        Inbox.push = classmethod(lambda cls, records: None)
        for _ in samples:
            t0 = time.perf_counter()
            Inbox.receive('cdek', uuid.uuid4().hex, 'ORDER_STATUS',
                json.dumps(body))
            receive.append(time.perf_counter() - t0)
        tx.rollback()
    fetch = []
    for _, order_uuid, _ in samples:
        t0 = time.perf_counter()
        client.get_order(order_uuid)
        fetch.append(time.perf_counter() - t0)

    print(f'backend: {args.backend}')
    show('webhook -> shipment «Доставлено»', latencies)
    show('floor: bare inbox receive (store only)', receive)
    show('floor: GET the order from the simulator', fetch)
    print(f'{"webhooks handled per second":46} '
        f'{len(samples) / elapsed:.1f}')
    print(f'{"ratio to bare receive (median)":46} '
        f'{statistics.median(latencies) / statistics.median(receive):.1f}x')
    sim.stop()
    drop_database()


if __name__ == '__main__':
    main()
