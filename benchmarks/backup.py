"""Backup and restore of a 100,000-product database: hub_backup against
bare pg_dump / pg_restore of the same database in the same run.

    .venv/bin/python benchmarks/backup.py [--products 100000]
        [--warehouses 30] [--files 200] [--runs 3] [--database NAME]

The database: a PostgreSQL scratch database shaped like the hub's volume
tables after a full load from 1C (product templates, variants, barcodes,
free stock per variant x warehouse, with their unique keys, foreign keys
and indexes), rows generated in SQL, plus a file store of N files of
100 KB (code photos, receipts); or an existing database (--database).

Per run, each timed on its own:
  floor backup   pg_dump -Fc of the database into a file
  hub backup     hub_backup.engine.backup into a local folder: the row
                 counts in the dump's snapshot, pg_dump -Fc streamed through
                 AES-256-GCM with SHA-256 of every part, the file store as
                 an encrypted tar, the manifest
  floor restore  createdb + pg_restore --jobs=2 of that dump file
  hub restore    engine.restore: checksums of every part, decrypt to a
                 file, createdb + pg_restore --jobs=2, the file store, and
                 the verification (row counts of every table)
The floor does not copy the file store: the ratio includes it (print shows
its size).  Target (issue 20): hub ≤ 1.5 x floor.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine

ROOT = Path(__file__).resolve().parent.parent
URI = os.environ.get('HUB_TEST_POSTGRESQL_URI',
    'postgresql://postgres@127.0.0.1:5432/')

SCHEMA = """
CREATE TABLE product_template (id serial PRIMARY KEY, name varchar NOT NULL,
    code varchar, ut11_ref varchar UNIQUE, ut11_version varchar,
    list_price numeric, hub_marked boolean, active boolean DEFAULT true,
    create_date timestamp DEFAULT now(), write_date timestamp);
CREATE TABLE product_product (id serial PRIMARY KEY,
    template integer NOT NULL REFERENCES product_template ON DELETE CASCADE,
    code varchar, suffix_code varchar, hub_size varchar,
    external_variant_ref varchar, list_price numeric,
    active boolean DEFAULT true, create_date timestamp DEFAULT now());
CREATE INDEX product_product_template ON product_product (template);
CREATE INDEX product_product_code ON product_product (code);
CREATE TABLE product_identifier (id serial PRIMARY KEY,
    product integer NOT NULL REFERENCES product_product ON DELETE CASCADE,
    type varchar, code varchar NOT NULL);
CREATE INDEX product_identifier_code ON product_identifier (code);
CREATE TABLE stock_location (id serial PRIMARY KEY, name varchar,
    ut11_ref varchar UNIQUE);
CREATE TABLE order_hub_stock (id serial PRIMARY KEY,
    product integer NOT NULL REFERENCES product_product ON DELETE CASCADE,
    warehouse integer NOT NULL REFERENCES stock_location,
    quantity numeric NOT NULL, reserved_quantity numeric DEFAULT 0,
    updated timestamp DEFAULT now(), adjusted_at timestamp,
    UNIQUE (product, warehouse));
"""

FILL = """
INSERT INTO stock_location (name, ut11_ref)
    SELECT 'Склад ' || w, md5('w' || w) FROM generate_series(1, %(w)s) w;
INSERT INTO product_template (name, code, ut11_ref, ut11_version, list_price,
        hub_marked)
    SELECT 'Кроссовки беговые модель ' || i, 'КР-' || i, md5('t' || i),
        md5('v' || i), (i %% 9000) + 990, i %% 3 = 0
    FROM generate_series(1, %(p)s) i;
INSERT INTO product_product (template, code, suffix_code, hub_size,
        external_variant_ref)
    SELECT id, code || '-42', '-42', '42', md5('c' || id) FROM product_template;
INSERT INTO product_identifier (product, type, code)
    SELECT id, 'ean13', lpad(id::text, 13, '46') FROM product_product;
INSERT INTO order_hub_stock (product, warehouse, quantity)
    SELECT p.id, w.id, (p.id * w.id) %% 17 FROM product_product p
    CROSS JOIN stock_location w;
"""


def connect(database, autocommit=True):
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
    return psycopg.connect(**{**conninfo_to_dict(URI), 'dbname': database},
        autocommit=autocommit)


def build(name, products, warehouses, folder, files):
    with connect('postgres') as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with connect(name, autocommit=False) as conn:
        conn.execute(SCHEMA)
        for statement in filter(str.strip, FILL.split(';\n')):
            conn.execute(statement, {'p': products, 'w': warehouses})
        conn.commit()
    with connect(name) as conn:
        conn.execute('VACUUM ANALYZE')
    store = folder / name
    for index in range(files):
        path = store / f'{index:04x}'[:2] / f'{index:032x}'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(100 * 1024))


def drop(name):
    with connect('postgres') as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--products', type=int, default=100000)
    parser.add_argument('--warehouses', type=int, default=30)
    parser.add_argument('--files', type=int, default=200)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--database')
    args = parser.parse_args()

    from trytond.modules.hub_backup import crypto, engine
    from trytond.modules.hub_backup.storage import LocalStorage

    work = Path(tempfile.mkdtemp(prefix='hub-bench-backup-'))
    filestore = work / 'db'
    name = args.database or f'bench_backup_{os.getpid()}'
    try:
        if not args.database:
            print(f'building {args.products} products x {args.warehouses} '
                f'warehouses, {args.files} files …', flush=True)
            seconds, _ = timed(lambda: build(name, args.products,
                    args.warehouses, filestore, args.files))
            print(f'built in {seconds:.1f} s')
        source = engine.Source('postgresql', name, URI, str(filestore))
        env = source.pg_env()
        key = crypto.load_key(crypto.new_key())
        figures = {k: [] for k in ('floor_backup', 'hub_backup',
                'floor_restore', 'hub_restore')}
        sizes = {}
        print(machine())
        for run in range(args.runs):
            dump = work / 'floor.dump'

            def floor_backup():
                subprocess.run(['pg_dump', '-Fc', '--no-owner', '-f',
                        str(dump), '-d', name], env=env, check=True)

            local = LocalStorage(work / f'sets{run}')

            def hub_backup():
                return engine.backup(source, [local], key, min_free_mb=0)

            floor_target = f'{name}_floor{run}'

            def floor_restore():
                with connect('postgres') as conn:
                    conn.execute(f'CREATE DATABASE "{floor_target}" '
                        'TEMPLATE template0')
                subprocess.run(['pg_restore', '--no-owner',
                        '--exit-on-error', '--jobs=2', '-d', floor_target,
                        str(dump)], env=env, check=True)

            target = source.named(f'{name}_hub{run}')

            def hub_restore():
                return engine.restore(local, outcome.manifest['id'], target,
                    key, jobs=2)

            figures['floor_backup'].append(timed(floor_backup)[0])
            seconds, outcome = timed(hub_backup)
            figures['hub_backup'].append(seconds)
            figures['floor_restore'].append(timed(floor_restore)[0])
            drop(floor_target)
            seconds, (_, verification) = timed(hub_restore)
            figures['hub_restore'].append(seconds)
            assert verification.ok, verification.problems
            engine.drop(target)
            sizes = {'dump': dump.stat().st_size,
                'set': sum(p['size'] for p in outcome.manifest['parts']),
                'files': outcome.manifest['filestore']['bytes'],
                'rows': sum(outcome.manifest['tables'].values())}
            print(f"run {run + 1}: " + ', '.join(
                    f'{k} {v[-1]:.2f} s' for k, v in figures.items()),
                flush=True)
            shutil.rmtree(local.folder)
        med = {k: statistics.median(v) for k, v in figures.items()}
        mb = 2 ** 20
        print(f"\n{sizes['rows']:,} rows; dump {sizes['dump'] / mb:.1f} MB, "
            f"set {sizes['set'] / mb:.1f} MB (file store "
            f"{sizes['files'] / mb:.1f} MB included)")
        print(f"median of {args.runs} runs:")
        print(f"  backup:  hub {med['hub_backup']:.2f} s, pg_dump "
            f"{med['floor_backup']:.2f} s -> "
            f"{med['hub_backup'] / med['floor_backup']:.2f}x")
        print(f"  restore: hub {med['hub_restore']:.2f} s (verification "
            f"included), pg_restore {med['floor_restore']:.2f} s -> "
            f"{med['hub_restore'] / med['floor_restore']:.2f}x")
    finally:
        if not args.database:
            drop(name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
