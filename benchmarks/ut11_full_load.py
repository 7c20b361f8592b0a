"""Full catalogue + stock load from 1C UT11: the hub's own part against the
physical floor of writing the same rows, and the load end to end.

    .venv/bin/python benchmarks/ut11_full_load.py --products 100000 \\
        --warehouses 30 [--backend postgresql] [--recording DIR]

1. End to end: the UT11 simulator runs in its own process, as 1C runs on its
   own server, and generates N products x M warehouses; the loader
   (``ut11_bridge.loader.load``, then commit) reads them over HTTP into a
   fresh database.  Every answer is recorded on the way (``replay.py``).
2. The hub's part: a fresh database again, and the same loader against the
   same client, whose session answers from the recording instead of the
   network — the loader, the client's paging, error checks and JSON
   decoding run unchanged; 1C's share (the simulator computing and sending
   the pages) is gone.  Timed per stage; peak memory of this process.
3. The floor, in the same database right after: the very rows the loader
   wrote (every column but the id, from the sequence as the loader takes
   it), per stage, written again with COPY into empty tables made like the
   loader's — same columns, indexes, unique, check and foreign-key
   constraints — then committed; the rows are read before the clock
   starts.  Nothing a loader does can be cheaper than that.  SQLite has no
   COPY: there the floor is the engine copying the rows itself (INSERT …
   SELECT into the same kind of table).

Each step runs in a child process (its own database and its own peak
memory).  ``--recording DIR`` keeps the recording in DIR; when DIR already
holds one, step 1 is skipped and the hub's part replays it.
Target (issue 10): the hub's part of 100,000 x 30 on PostgreSQL within 3x
the floor, under 500 MB.
"""
import argparse
import io
import json
import logging
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from common import drop_database, machine, setup_database
from replay import INDEX, Recorder, Replayer

ROOT = Path(__file__).resolve().parent.parent

# what the loader writes in each stage: models of the tables
STAGES = {
    'products': ['product.template', 'product.product',
        'product.template-product.category'],
    'barcodes': ['product.identifier'],
    'prices': ['product.list_price'],
    'stock': ['order_hub.stock'],
    }
# the loader's progress stages that end each of ours
ENDS = {'other': 'counterparties', 'products': 'characteristics',
    'barcodes': 'barcodes', 'prices': 'prices'}


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='sqlite',
        choices=['sqlite', 'postgresql'])
    parser.add_argument('--products', type=int, default=2000)
    parser.add_argument('--warehouses', type=int, default=30)
    parser.add_argument('--recording', type=Path,
        help="folder of 1C's recorded answers (kept; reused when present)")
    parser.add_argument('--child', choices=['record', 'replay'],
        help=argparse.SUPPRESS)
    parser.add_argument('--url', help=argparse.SUPPRESS)
    parser.add_argument('--profile', type=Path,
        help="cProfile the hub's part into this file")
    args = parser.parse_args()
    if args.child:
        return child(args)

    folder = args.recording or Path(tempfile.mkdtemp(prefix='ut11-rec-'))
    print(f'backend: {args.backend}, {args.products} products x '
        f'{args.warehouses} warehouses; {machine()}', flush=True)
    e2e = None
    if (folder / INDEX).exists():
        url = json.loads((folder / 'meta.json').read_text())['url']
        print(f'replaying the recording in {folder}', flush=True)
    else:
        sim, base = start_simulator()
        try:
            requests.post(base + '/__sandbox__/seed', json={
                    'products': args.products,
                    'warehouses': args.warehouses},
                timeout=600).raise_for_status()
            url = base + '/ut/odata/standard.odata'
            e2e = run_child(args, 'record', folder, url)
        finally:
            sim.terminate()
            sim.wait()
        (folder / 'meta.json').write_text(json.dumps({'url': url}))
    hub = run_child(args, 'replay', folder, url)
    report(e2e, hub, folder)
    print(f'{"after the run":34} {machine()}')
    if not args.recording:
        shutil.rmtree(folder)


def run_child(args, mode, folder, url):
    command = [sys.executable, __file__, '--child', mode, '--backend',
        args.backend, '--recording', str(folder), '--url', url]
    if args.profile and mode == 'replay':
        command += ['--profile', str(args.profile)]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE,
        text=True, cwd=Path(__file__).parent).stdout
    for line in output.splitlines():
        if line.startswith('RESULT '):
            return json.loads(line[len('RESULT '):])
        print(line)
    raise RuntimeError(f'{mode}: no result')


def report(e2e, hub, folder):
    print(f'{"counts":34} {hub["counts"]}')
    if e2e:
        print(f'{"end to end, simulator over HTTP":34} {e2e["total"]:7.1f} s'
            f'  ({stages_text(e2e)}); peak {e2e["peak"]:.0f} MB')
        print(f'{"  recorded":34} {e2e["requests"]} answers, '
            f'{sum(f.stat().st_size for f in folder.iterdir()) / 2**20:.0f}'
            ' MB')
    print(f'{"hub part, answers replayed":34} {hub["total"]:7.1f} s'
        f'  ({stages_text(hub)})')
    print(f'{"":12} {"hub (s)":>9} {"floor (s)":>10} {"ratio":>7} '
        f'{"rows":>10}')
    floor = hub['floor']
    for stage in [*STAGES, 'commit']:
        rows = floor['rows'].get(stage, '')
        ratio = hub['stages'][stage] / floor['stages'][stage] if (
            floor['stages'][stage]) else float('nan')
        print(f'{stage:12} {hub["stages"][stage]:9.2f} '
            f'{floor["stages"][stage]:10.2f} {ratio:6.1f}x {rows:>10}')
    others = hub['total'] - sum(hub['stages'][s] for s in [*STAGES,
            'commit'])
    print(f'{"other":12} {others:9.2f} {"":>10} {"":>7} '
        '  (warehouses, counterparties, groups)')
    print(f'{"total":12} {hub["total"]:9.2f} {floor["total"]:10.2f}')
    print(f'floor ratio: {hub["total"] / floor["total"]:.1f}×')
    print(f'{"peak memory (hub part, process)":34} {hub["peak"]:7.0f} MB '
        f'(before the load: {hub["before"]:.0f} MB)')


def stages_text(result):
    return ', '.join(f'{stage} {seconds:.1f}'
        for stage, seconds in result['stages'].items())


# -- in a child process --------------------------------------------------
def child(args):
    db = setup_database(args.backend, modules=('ut11_bridge',))
    # the generated warehouses' cities are not in the hub: one warning each
    logging.getLogger('trytond.modules.ut11_bridge').setLevel(logging.ERROR)
    from sandbox.ut11 import stable_ref
    from trytond.modules.order_hub.tests.tools import set_company, setup_company
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    if args.child == 'record':
        adapter = Recorder(args.recording)
    else:
        adapter = Replayer(args.recording)
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        pool = Pool()
        System = pool.get('hub_sync.system')
        with set_company(setup_company()):
            System.create([{'code': 'ut11', 'name': "1С УТ11",
                        'base_url': args.url, 'login': 'odata',
                        'password': 'odata', 'timeout': 300,
                        'ut11_price_type': stable_ref('retail')}])
            tx.commit()
            mount(System, adapter)
            marks = {name: max_id(tx, pool.get(name))
                for names in STAGES.values() for name in names}
            result = timed_load(tx, pool, args.profile)
            if args.child == 'record':
                result['requests'] = adapter.save()
            else:
                result['floor'] = floor(tx, pool, marks)
    drop_database()
    print('RESULT ' + json.dumps(result), flush=True)


def mount(System, adapter):
    "Every UT11 client the loader makes gets adapter as its transport"
    make = System.ut11_client

    def ut11_client(self):
        client = make(self)
        client.session.mount(client.base_url, adapter)
        return client
    System.ut11_client = ut11_client


def max_id(tx, Model):
    cursor = tx.connection.cursor()
    cursor.execute(f'SELECT MAX(id) FROM "{Model._table}"')
    return cursor.fetchone()[0] or 0


def timed_load(tx, pool, profile=None):
    before = peak_mb()
    ends = {}
    start = time.perf_counter()

    def progress(stage, count, total=None):
        ends[stage] = time.perf_counter() - start
    Loader = pool.get('ut11_bridge.loader')
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        counts = profiler.runcall(Loader.load, progress=progress)
        profiler.dump_stats(profile)
    else:
        counts = Loader.load(progress=progress)
    loaded = time.perf_counter() - start
    tx.commit()
    total = time.perf_counter() - start
    stages, previous = {}, ends[ENDS['other']]
    for stage in STAGES:
        end = ends[ENDS[stage]] if stage in ENDS else loaded
        stages[stage], previous = end - previous, end
    stages['commit'] = total - loaded
    return {'total': total, 'stages': stages, 'counts': counts,
        'peak': peak_mb(), 'before': before}


def floor(tx, pool, marks):
    """Seconds per stage to write the loaded rows again into empty tables
    made like the loader's, and rows per stage"""
    from trytond import backend
    copy = copy_postgresql if backend.name == 'postgresql' else copy_sqlite
    stages, rows = {}, {}
    for stage, names in STAGES.items():
        stages[stage], rows[stage] = 0, 0
        for name in names:
            Model = pool.get(name)
            seconds, count = copy(tx, Model._table, marks[name])
            stages[stage] += seconds
            rows[stage] += count
    start = time.perf_counter()
    tx.commit()
    stages['commit'] = time.perf_counter() - start
    return {'stages': stages, 'rows': rows, 'total': sum(stages.values())}


def columns_of(tx, table):
    "Every column but id, in the table's order"
    cursor = tx.connection.cursor()
    if tx.database.flavor.param == '?':   # SQLite
        cursor.execute(f'PRAGMA table_info("{table}")')
        names = [row[1] for row in cursor]
    else:
        cursor.execute('SELECT column_name FROM information_schema.columns '
            'WHERE table_name = %s ORDER BY ordinal_position', (table,))
        names = [row[0] for row in cursor]
    return [n for n in names if n != 'id']


def copy_postgresql(tx, table, mark):
    cursor = tx.connection.cursor()
    scratch = f'floor_{table}'
    cursor.execute(f'CREATE TABLE "{scratch}" '
        f'(LIKE "{table}" INCLUDING ALL)')
    # LIKE leaves foreign keys out: the same ones, to the same tables
    cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'", (f'"{table}"',))
    for definition, in cursor.fetchall():
        cursor.execute(f'ALTER TABLE "{scratch}" ADD {definition}')
    check_shape(cursor, table, scratch)
    names = ', '.join(f'"{c}"' for c in columns_of(tx, table))
    data = io.BytesIO()
    with cursor.copy(f'COPY (SELECT {names} FROM "{table}" WHERE id > '
            f'{int(mark)} ORDER BY id) TO STDOUT') as out:
        for block in out:
            data.write(block)
    count = data.getvalue().count(b'\n')
    tx.commit()
    start = time.perf_counter()
    with cursor.copy(f'COPY "{scratch}" ({names}) FROM STDIN') as into:
        view = data.getbuffer()
        for offset in range(0, len(view), 1 << 20):
            into.write(view[offset:offset + (1 << 20)])
        del view
    return time.perf_counter() - start, count


def check_shape(cursor, table, scratch):
    "The scratch table has the indexes and constraints of table"
    shapes = []
    for name in (table, scratch):
        cursor.execute("SELECT (SELECT COUNT(*) FROM pg_index "
            "WHERE indrelid = %s::regclass), "
            "(SELECT COUNT(*) FROM pg_constraint "
            "WHERE conrelid = %s::regclass)", (f'"{name}"', f'"{name}"'))
        shapes.append(cursor.fetchone())
    assert shapes[0] == shapes[1], (table, shapes)


def copy_sqlite(tx, table, mark):
    cursor = tx.connection.cursor()
    scratch = f'floor_{table}'
    cursor.execute("SELECT type, name, sql FROM sqlite_master "
        "WHERE tbl_name = ? AND sql IS NOT NULL", (table,))
    for kind, name, sql in cursor.fetchall():
        sql = sql.replace(f'"{table}"', f'"{scratch}"', 1 if kind == 'table'
            else -1)
        if kind == 'index':
            sql = re.sub(r'^CREATE (UNIQUE )?INDEX (IF NOT EXISTS )?"?'
                + re.escape(name) + '"?',
                lambda m: (f'CREATE {m.group(1) or ""}INDEX '
                    f'"floor_{name}"'), sql)
        cursor.execute(sql)
    names = ', '.join(f'"{c}"' for c in columns_of(tx, table))
    cursor.execute(f'SELECT COUNT(*) FROM "{table}" WHERE id > ?', (mark,))
    count, = cursor.fetchone()
    tx.commit()
    # SQLite has no COPY: the engine copying the rows itself is the floor
    # (rows through Python would measure Python, not the database)
    start = time.perf_counter()
    cursor.execute(f'INSERT INTO "{scratch}" ({names}) SELECT {names} '
        f'FROM "{table}" WHERE id > ? ORDER BY id', (mark,))
    return time.perf_counter() - start, count


def start_simulator():
    "python -m sandbox --only ut11 in its own process; (process, base URL)"
    urls = Path(tempfile.mkdtemp()) / 'urls.json'
    process = subprocess.Popen([sys.executable, '-m', 'sandbox', '--only',
            'ut11', '--free-ports', '--urls-file', str(urls)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if urls.exists() and urls.stat().st_size:
            return process, json.loads(urls.read_text())['ut11']
        time.sleep(0.1)
    process.kill()
    raise RuntimeError('the UT11 simulator did not start')


if __name__ == '__main__':
    main()
