"""Russian Post: poll → status visible, through the real shipment path.

    .venv/bin/python benchmarks/russian_post_shipments.py [--samples 120]

Each sample: one shipment created at Russian Post whose parcel (simulator,
this machine) has 5 operations (Moscow to Moscow) up to «Прибыло в место вручения» (8.2) and
was never polled.  Timed: ``Shipment.carrier_track_russian_post([it])`` in
its own committed transaction — the planner, the quota count on the
tracking connection, getOperationHistory through zeep, the 5 events into
the history (dedupe, status table) and the move to «Доставлено» with its
logs.  The floor in the same run: ``TrackingClient.history`` of the same
parcel alone (the request and its parsing, nothing stored).  Prints
median, p95 and the ratio of medians.  SQLite in memory.
"""
import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path

from common import drop_database, machine, percentile, setup_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def show(title, samples):
    print(f'{title:48} n={len(samples)} '
        f'median={percentile(samples, 50) * 1e3:.1f} ms '
        f'p95={percentile(samples, 95) * 1e3:.1f} ms', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=120)
    args = parser.parse_args()
    print(machine())
    db = setup_database('sqlite', modules=('carrier_russian_post',))
    from sandbox.russian_post import DEFAULT_CREDENTIALS, RussianPostSimulator
    from trytond.modules.order_hub.tests.tools import set_company, setup_company
    from trytond.modules.order_shipments.tests.tools import (
        create_shops, paid_order)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    sim = RussianPostSimulator()
    url = sim.start()
    try:
        with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
            pool = Pool()
            Shipment = pool.get('order_shipments.shipment')
            System = pool.get('hub_sync.system')
            System.russian_post_configure_sandbox(url, DEFAULT_CREDENTIALS)
            tracking, = System.search([
                    ('code', '=', 'russian_post_tracking')])
            # no daily limit: every due parcel is polled in this run
            System.write([tracking], {'russian_post_daily_quota': None,
                    'russian_post_batch': False})
            company = setup_company()
            with set_company(company):
                shops = create_shops()
                ids = []
                for n in range(args.samples):
                    order = paid_order([(shops.scarf, 1)],
                        delivery_service='russian_post')
                    shipment, = [Shipment.request_goods(order,
                            [(order.lines[0], Decimal(1))], shops.nevsky,
                            None, 'courier', carrier='russian_post')]
                    Shipment.goods_released([shipment])
                    barcode = sim.seed_parcel(index_to='101000',
                        operations=5)['barcode']
                    Shipment.carrier_created(shipment, str(n), barcode)
                    ids.append((shipment.id, barcode))
            tx.commit()
            context = {'language': 'ru', 'company': company.id}
            client = tracking.russian_post_tracking_client()
        client.history(ids[0][1])               # the WSDL, loaded once

        applied, floor = [], []
        for shipment_id, barcode in ids:
            start = time.perf_counter()
            events = client.history(barcode)
            floor.append(time.perf_counter() - start)
            assert len(events) == 5

            start = time.perf_counter()
            with Transaction().start(db, 0, context=context) as tx:
                Shipment = Pool().get('order_shipments.shipment')
                Shipment.carrier_track_russian_post([Shipment(shipment_id)])
                tx.commit()
            applied.append(time.perf_counter() - start)

        with Transaction().start(db, 0, context=context):
            Shipment = Pool().get('order_shipments.shipment')
            shipments = Shipment.browse([i for i, _ in ids])
            states = {s.state for s in shipments}
            counts = {len(s.events) for s in shipments}
        assert states == {'delivered'} and counts == {5}, (states, counts)
        show("poll → 5 events in the history, «Доставлено»", applied)
        show("floor: TrackingClient.history alone", floor)
        print(f"ratio of medians: "
            f"{percentile(applied, 50) / percentile(floor, 50):.1f}×")
    finally:
        sim.stop()
        drop_database()


if __name__ == '__main__':
    main()
