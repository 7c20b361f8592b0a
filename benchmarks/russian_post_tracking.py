"""Russian Post tracking: parcels followed a day within the quota (the
planner over a simulated day), and the client's share of poll → status.

    .venv/bin/python benchmarks/russian_post_tracking.py [--samples 150]

1. Capacity.  A day of 96 runs (cron every 15 min) plans polls for N parcels
   in transit, each wanting a poll every 6 hours, with the planner of
   carrier_russian_post; a poll is answered at once (single) or at the next
   run (ticket).  Printed per N: requests spent (never above the quota),
   parcels polled at least once, polls per parcel, the longest gap between
   two polls of a parcel.  Quotas: 100 single requests a day (the figure
   quoted for accounts without a contract), with and without batch access
   (20 tickets a day).
2. Latency.  getOperationHistory of an 8-operation parcel through the zeep
   client into neutral events, against the simulator on this machine, and
   the ticket answer of 500 parcels; floor: the same SOAP request posted
   with requests, the answer not parsed.  The hub's own share (events into
   the shipment's history) comes with the shipments integration.
"""
import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import requests

from common import machine, summary

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'addons'))


def simulate_day(count, quota_args, run_interval=900, interval=6 * 3600):
    from trytond.modules.carrier_russian_post.planner import (
        MOSCOW, Parcel, Quota, plan)
    start = dt.datetime(2026, 3, 2, 0, 0, tzinfo=MOSCOW)
    parcels = [Parcel(f'8008224099{n:04d}', interval=interval)
        for n in range(count)]
    quota = Quota(**quota_args)
    polls = {p.barcode: [] for p in parcels}
    by_code = {p.barcode: p for p in parcels}
    waiting = []
    for run in range(24 * 3600 // run_interval):
        now = start + dt.timedelta(seconds=run * run_interval)
        for barcode in waiting:             # tickets of the last run
            by_code[barcode].in_ticket = False
            by_code[barcode].last_polled = now
            polls[barcode].append(now)
        waiting = []
        result = plan(parcels, quota, now, run_interval=run_interval)
        for barcode in result.singles:
            by_code[barcode].last_polled = now
            polls[barcode].append(now)
        for ticket in result.tickets:
            for barcode in ticket:
                by_code[barcode].in_ticket = True
                waiting.append(barcode)
        quota.single_used += len(result.singles)
        quota.tickets_used += len(result.tickets)
    end = start + dt.timedelta(days=1)
    gaps = []
    for times in polls.values():
        edges = [start] + times + [end]
        gaps.append(max((b - a).total_seconds()
                for a, b in zip(edges, edges[1:])) / 3600)
    polled = sum(1 for t in polls.values() if t)
    return {'requests': quota.single_used + quota.tickets_used,
        'singles': quota.single_used, 'tickets': quota.tickets_used,
        'polled': polled,
        'polls_per_parcel': sum(map(len, polls.values())) / count,
        'max_gap_h': max(gaps)}


def capacity():
    print('1. Parcels followed in a day (96 runs, a poll wanted every 6 h)')
    for label, quota in (
            ('100 singles/day', {'single_limit': 100}),
            ('100 singles + 20 tickets/day', {'single_limit': 100,
                    'batch': True, 'ticket_limit': 20})):
        for count in (25, 50, 100, 200, 1000, 5000):
            if count > 200 and 'tickets' not in label:
                continue
            r = simulate_day(count, quota)
            print(f'  {label:30} N={count:5}: requests {r["requests"]:3} '
                f'({r["singles"]} single, {r["tickets"]} tickets), '
                f'polled {r["polled"]}/{count}, '
                f'{r["polls_per_parcel"]:.2f} polls/parcel, '
                f'longest gap {r["max_gap_h"]:.1f} h', flush=True)


def latency(samples):
    from sandbox.control import SandboxControl
    from sandbox.russian_post import DEFAULT_CREDENTIALS, RussianPostSimulator
    from trytond.modules.carrier_russian_post.tracking import TrackingClient

    sim = RussianPostSimulator()
    url = sim.start()
    try:
        control = SandboxControl(url)
        barcode = control.action('seed_parcel', operations=8)['barcode']
        login = (DEFAULT_CREDENTIALS['tracking_login'],
            DEFAULT_CREDENTIALS['tracking_password'])
        client = TrackingClient(url, *login, timeout=10)
        client.history(barcode)                 # the WSDL, loaded once
        envelope = RAW.format(barcode=barcode, login=login[0],
            password=login[1]).encode()
        session = requests.Session()
        floor, full = [], []
        for _ in range(samples):
            start = time.perf_counter()
            session.post(url + '/rtm34', data=envelope, headers={
                    'Content-Type': 'application/soap+xml; charset=utf-8'},
                timeout=10).content
            floor.append(time.perf_counter() - start)
            start = time.perf_counter()
            events = client.history(barcode)
            full.append(time.perf_counter() - start)
        assert len(events) == 8
        print('2. Poll -> neutral events, single access (8 operations)')
        show('  bare SOAP POST, not parsed (floor)', floor)
        show('  TrackingClient.history (zeep + events)', full)
        ratio = statistics.median(full) / statistics.median(floor)
        print(f'  ratio of medians {ratio:.2f}')
        barcodes = [control.action('seed_parcel', operations=3)['barcode']
            for _ in range(500)]
        ticket = client.request_ticket(barcodes)
        control.action('ready_tickets')
        batch = []
        for _ in range(max(samples // 10, 10)):
            start = time.perf_counter()
            answer = client.ticket_answer(ticket)
            batch.append(time.perf_counter() - start)
        assert len(answer.events) == 500
        show('  ticket answer, 500 parcels x 3 operations', batch)
    finally:
        sim.stop()


def show(title, samples):
    s = summary(samples)
    extra = f" p99={s['p99_ms']:.1f}" if 'p99_ms' in s else ''
    print(f"{title:44} n={s['n']} median={s['median_ms']:.1f} "
        f"p95={s['p95_ms']:.1f}{extra} max={s['max_ms']:.1f} ms", flush=True)


RAW = ('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:oper="http://russianpost.org/operationhistory" '
    'xmlns:data="http://russianpost.org/operationhistory/data"><soap:Body>'
    '<oper:getOperationHistory><data:OperationHistoryRequest>'
    '<data:Barcode>{barcode}</data:Barcode><data:MessageType>0'
    '</data:MessageType></data:OperationHistoryRequest>'
    '<data:AuthorizationHeader><data:login>{login}</data:login>'
    '<data:password>{password}</data:password></data:AuthorizationHeader>'
    '</oper:getOperationHistory></soap:Body></soap:Envelope>')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=150)
    args = parser.parse_args()
    print(machine())
    capacity()
    latency(args.samples)


if __name__ == '__main__':
    main()
