"""A carrier's status events applied to shipments, as a tracking poll does.

    .venv/bin/python benchmarks/shipment_events.py [--samples 120]

Each sample: one shipment (created at the test carrier) receives a poll of
six events, four of them already known (a carrier answers with the whole
history): dedupe, mapping through the status table, the move to
«Доставлено», logs; commit included.  The floor in the same run: reading
the shipment's events and the status rows the mapping needs (what any
implementation reads), committed.  Prints median, p95 and the ratio.
"""
import argparse
import datetime
import sys
import time
from decimal import Decimal
from pathlib import Path

from common import drop_database, percentile, setup_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

T0 = datetime.datetime(2026, 7, 1, 9, 0)
HISTORY = [('ACCEPTED', 0), ('IN_TRANSIT', 5), ('IN_TRANSIT', 20),
    ('ARRIVED', 30)]


def show(title, samples):
    print(f'{title:44} n={len(samples)} '
        f'median={percentile(samples, 50) * 1e3:.1f} ms '
        f'p95={percentile(samples, 95) * 1e3:.1f} ms', flush=True)


def events(upto):
    return [{'code': c, 'date': T0 + datetime.timedelta(hours=h),
            'location': "Сортировочный центр"} for c, h in HISTORY[:upto]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=120)
    args = parser.parse_args()
    db = setup_database('sqlite', modules=('shipments_carrier_test',))
    from trytond.modules.order_hub.tests.tools import set_company, setup_company
    from trytond.modules.order_shipments.tests.tools import (
        create_shops, paid_order)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        Shipment = pool.get('order_shipments.shipment')
        company = setup_company()
        with set_company(company):
            shops = create_shops()
            ids = []
            for _ in range(args.samples):
                order = paid_order([(shops.scarf, 1)],
                    delivery_service='cdek_courier')
                shipment = Shipment.request_goods(order, [(order.lines[0],
                            Decimal(1))], shops.nevsky, None, 'courier',
                    carrier='test')
                Shipment.goods_released([shipment])
                Shipment.carrier_created(shipment, f'R-{shipment.id}', None)
                Shipment.carrier_events(shipment, events(2))
                ids.append(shipment.id)
        tx.commit()
        company_id = company.id
    context = {'language': 'ru', 'company': company_id}

    applied, floor = [], []
    for shipment_id in ids:
        start = time.perf_counter()
        with Transaction().start(db, 0, context=context) as tx:
            pool = Pool()
            Status = pool.get('order_shipments.carrier.status')
            shipment = pool.get('order_shipments.shipment')(shipment_id)
            [(e.source, e.code, e.date) for e in shipment.events]
            Status.search([('carrier', '=', 'test')])
            tx.commit()
        floor.append(time.perf_counter() - start)

        start = time.perf_counter()
        with Transaction().start(db, 0, context=context) as tx:
            Shipment = Pool().get('order_shipments.shipment')
            poll = events(4) + [{'code': 'ARRIVED',
                    'date': T0 + datetime.timedelta(hours=30)},
                {'code': 'IN_TRANSIT', 'date': T0}]
            Shipment.carrier_events(Shipment(shipment_id), poll)
            tx.commit()
        applied.append(time.perf_counter() - start)

    with Transaction().start(db, 0, context=context):
        Shipment = Pool().get('order_shipments.shipment')
        states = {s.state for s in Shipment.browse(ids)}
    assert states == {'delivered'}, states
    show("poll of 6 events (4 known) → «Доставлено»", applied)
    show("floor: read events + status table", floor)
    print(f"ratio to the floor: "
        f"{percentile(applied, 50) / percentile(floor, 50):.1f}×")
    drop_database()


if __name__ == '__main__':
    main()
