"""Read speed of the UT11 OData client: catalogue and free stock.

    .venv/bin/python benchmarks/ut11_read.py [--url URL] [--products N]
        [--warehouses M] [--page-size P] [--stock-warehouses K]

Without --url the UT11 simulator runs in this process (it then shares the
GIL with the client, so the figures are pessimistic); start it apart with
``python -m sandbox --only ut11`` and pass ``--url http://127.0.0.1:8107``.
The simulator is seeded with a generated N × M data set.
"""
import argparse
import resource
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / 'addons')]

from ut11_bridge.client import UT11Client  # noqa: E402


def timed(label, rows):
    "Rows per second of wall time, and the client's own CPU time"
    start, cpu, count = time.perf_counter(), time.process_time(), 0
    for _ in rows:
        count += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    print(f'{label:28} {count:>9} rows {elapsed:7.1f} s '
        f'{count / elapsed:>9.0f} rows/s (client CPU {cpu:.1f} s)',
        flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--url')
    parser.add_argument('--products', type=int, default=100000)
    parser.add_argument('--warehouses', type=int, default=30)
    parser.add_argument('--page-size', type=int, default=5000)
    parser.add_argument('--stock-warehouses', type=int,
        help='read free stock of only the first K warehouses')
    parser.add_argument('--version', default='11.5')
    args = parser.parse_args()
    sim = None
    if not args.url:
        from sandbox.ut11 import UT11Simulator
        sim = UT11Simulator()
        args.url = sim.start()
    requests.post(args.url + '/__sandbox__/configure',
        json={'version': args.version}, timeout=30).raise_for_status()
    seeded = requests.post(args.url + '/__sandbox__/seed', json={
            'products': args.products, 'warehouses': args.warehouses},
        timeout=60).json()
    client = UT11Client(args.url + '/ut/odata/standard.odata', 'odata',
        'odata', timeout=120, version=args.version, page_size=args.page_size)
    timed('products', client.products())
    warehouses = seeded['warehouses'][:args.stock_warehouses]
    timed(f'free stock, {len(warehouses)} warehouses',
        client.free_stock(warehouses))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f'client peak RSS {peak} MB')
    if sim:
        sim.stop()


if __name__ == '__main__':
    main()
