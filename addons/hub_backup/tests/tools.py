"""Building blocks of the backup tests and benchmark: a PostgreSQL scratch
database with rows in several modules' tables, a file store, a SQLite
file, and a real S3 server (moto) on a free loopback port."""
import os
import socket
import sqlite3
import uuid
from pathlib import Path

from ..engine import Source

PG_URI = 'postgresql://postgres@127.0.0.1:5432/'

SCHEMA = """
CREATE TABLE ir_module (id serial PRIMARY KEY, name varchar, state varchar);
CREATE TABLE product_product (id serial PRIMARY KEY, code varchar UNIQUE,
    name varchar, list_price numeric(16, 2));
CREATE TABLE order_hub_order (id serial PRIMARY KEY, number varchar,
    customer varchar, state varchar, total numeric(16, 2),
    created timestamp DEFAULT now());
CREATE TABLE order_hub_order_line (id serial PRIMARY KEY,
    "order" integer REFERENCES order_hub_order ON DELETE CASCADE,
    product integer REFERENCES product_product, quantity numeric);
CREATE INDEX order_hub_order_line_order ON order_hub_order_line ("order");
CREATE TABLE hub_sync_outbox (id serial PRIMARY KEY, payload jsonb,
    state varchar);
CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar,
    file_id varchar, data bytea);
"""


def pg_uri():
    uri = os.environ.get('TRYTOND_DATABASE_URI', '')
    return uri if uri.startswith('postgresql') else PG_URI


def pg_available():
    try:
        with Source('postgresql', 'postgres', pg_uri()).connect():
            return True
    except Exception:
        return False


def scratch_name(tag):
    return f'hubbk_{tag}_{os.getpid()}_{uuid.uuid4().hex[:6]}'


def create_pg(name, path, orders=20, products=50):
    "A database like the hub's, with a file store under path"
    source = Source('postgresql', name, pg_uri(), str(path))
    with source.connect('postgres', autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with source.connect() as conn:
        conn.execute(SCHEMA)
        fill(conn, orders, products)
    write_files(source.filestore)
    return source


def fill(conn, orders, products, start=0):
    conn.execute("INSERT INTO ir_module (name, state) VALUES "
        "('ir', 'activated'), ('res', 'activated'), "
        "('hub_backup', 'activated'), ('order_hub', 'not activated')")
    conn.execute("INSERT INTO product_product (code, name, list_price) "
        "SELECT 'P' || i, 'Товар №' || i, i * 10.5 "
        "FROM generate_series(1, %s) i", (products,))
    conn.execute("INSERT INTO order_hub_order (number, customer, state, total) "
        "SELECT 'З-' || i, 'Иванова Мария Петровна', 'paid', i * 100 "
        "FROM generate_series(1, %s) i", (orders,))
    conn.execute("INSERT INTO order_hub_order_line (\"order\", product, quantity) "
        "SELECT o.id, p.id, 1 FROM order_hub_order o "
        "JOIN product_product p ON p.id <= 3")
    conn.execute("""INSERT INTO hub_sync_outbox (payload, state)
        SELECT jsonb_build_object('order', id, 'note', 'ёлка'), 'done'
        FROM order_hub_order""")
    conn.execute("INSERT INTO ir_attachment (name, file_id, data) VALUES "
        "('Фото кода.png', 'ab/cd/1', decode('89504e47', 'hex'))")


def write_files(folder, big=0):
    "Code photos, receipts, claims: uuid-named files in sub-folders"
    files = {}
    for index in range(5):
        name = uuid.uuid4().hex
        path = Path(folder) / name[:2] / name[2:4] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(1000 + index) + 'чек'.encode()
        path.write_bytes(data)
        files[str(path.relative_to(folder))] = data
    if big:
        path = Path(folder) / 'ff' / 'ff' / 'label-big.pdf'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(big))
        files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def read_files(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob('*') if p.is_file()}


def rows(source, query):
    with source.connect() as conn:
        return conn.execute(query).fetchall()


def drop_pg(source):
    with source.connect('postgres', autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{source.database}" '
            'WITH (FORCE)')


def create_sqlite(name, path):
    source = Source('sqlite', name, 'sqlite://', str(path))
    Path(path).mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source.sqlite_file) as conn:
        conn.executescript("""
            CREATE TABLE ir_module (id INTEGER PRIMARY KEY, name, state);
            INSERT INTO ir_module (name, state) VALUES ('ir', 'activated');
            CREATE TABLE order_hub_order (id INTEGER PRIMARY KEY, number,
                customer);
            CREATE TABLE ir_attachment (id INTEGER PRIMARY KEY, name, data);
            """)
        conn.executemany('INSERT INTO order_hub_order (number, customer) '
            'VALUES (?, ?)', [(f'З-{i}', 'Смирнов') for i in range(300)])
        conn.execute('INSERT INTO ir_attachment (name, data) VALUES (?, ?)',
            ('заявление.pdf', os.urandom(5000)))
    conn.close()
    write_files(source.filestore)
    return source


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class S3Server:
    "moto's S3 server over real HTTP on loopback"

    def __init__(self, port=None):
        self.port = port or free_port()
        self.endpoint = f'http://127.0.0.1:{self.port}'
        self._server = None

    def start(self):
        from moto.server import ThreadedMotoServer
        os.environ.setdefault('AWS_ACCESS_KEY_ID', 'testing')
        os.environ.setdefault('AWS_SECRET_ACCESS_KEY', 'testing')
        self._server = ThreadedMotoServer(ip_address='127.0.0.1',
            port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self):
        if self._server:
            self._server.stop()
            self._server = None

    def storage(self, bucket='hub-backups', create=True, **options):
        from ..storage import S3Storage
        options.setdefault('retry_delay', 0.05)
        options.setdefault('attempts', 2)
        options.setdefault('timeout', 5)
        storage = S3Storage(bucket, endpoint=self.endpoint,
            region='ru-central1', prefix='hub', access_key='testing',
            secret_key='testing', **options)
        if create:
            try:
                storage.client.create_bucket(Bucket=bucket,
                    CreateBucketConfiguration={
                        'LocationConstraint': 'ru-central1'})
            except storage.client.exceptions.BucketAlreadyOwnedByYou:
                pass
        return storage
