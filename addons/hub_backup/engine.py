"""Backup, restore and verification of one hub database and its file store.

No Tryton pool and no Tryton transaction: the command line uses it while
the hub is down, and the admin screen's jobs call it between their own
short transactions.  A set holds the database (``pg_dump -Fc`` taken in
the snapshot its row counts were read in, or SQLite's online backup
copy), the file store's folder as a tar (and the folder of every
binary field with its own ``store_prefix``), each part encrypted
(``crypto``), and ``manifest.json``: sizes, SHA-256 of every part, row
counts and a checksum of the contents per table (computed by the database,
in the dump's snapshot), files of the file store, versions, authenticated
with the key (an HMAC), so a changed manifest is refused too.
"""
import datetime as dt
import errno
import gzip
import hashlib
import hmac
import importlib.metadata
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import crypto
from .errors import (
    BackupError, BadTarget, CorruptArchive, DiskFull, SourceUnsupported,
    TargetExists, ToolFailed, WrongKey)
from .storage import MANIFEST

FORMAT = 1
DB_PART = {'postgresql': 'database.dump.enc', 'sqlite': 'database.sqlite.gz.enc'}
FILES_PART = 'filestore.tar.gz.enc'
STORE_PART = 'store-%d.tar.gz.enc'       # a store_prefix folder
STORE_KIND = 'store:'
# the text form of a row must not depend on the session: the same settings
# when the checksums are taken and when they are compared
PG_SESSION = ("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; "
    "SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; "
    "SET bytea_output = 'hex'")
NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,62}$')


@dataclass
class Source:
    "A hub database: its backend, name, connection and file store root"
    backend: str
    database: str
    uri: str = ''
    path: str = ''
    # the store_prefix of binary fields that keep their files apart from
    # the database's folder (<path>/<prefix>/), shared with other databases
    prefixes: tuple = ()

    @classmethod
    def from_config(cls, database, prefixes=()):
        """The database as the loaded trytond configuration reaches it;
        store prefixes: those given (the Pool's) and [hub_backup]
        store_prefixes (comma-separated, for the command line)"""
        import trytond.config as config
        uri = config.get('database', 'uri')
        backend = uri.split(':', 1)[0].split('+')[0]
        if backend == 'postgres':
            backend = 'postgresql'
        configured = config.get('hub_backup', 'store_prefixes', default='')
        prefixes = (set(prefixes) | {p.strip()
                for p in configured.split(',') if p.strip()}) - {database}
        return cls(backend, database, uri, config.get('database', 'path'),
            tuple(sorted(prefixes)))

    def named(self, database):
        return Source(self.backend, database, self.uri, self.path,
            self.prefixes)

    @property
    def filestore(self):
        return Path(self.path) / self.database

    def store_folder(self, prefix):
        "Where Tryton's filestore keeps the files of a store_prefix"
        folder = (Path(self.path) / prefix).resolve()
        if not folder.is_relative_to(Path(self.path).resolve()):
            raise ValueError(prefix)
        return folder

    @property
    def sqlite_file(self):
        if self.database == ':memory:' or not self.path:
            raise SourceUnsupported(database=self.database)
        return Path(self.path) / f'{self.database}.sqlite'

    def libpq(self, database=None):
        from psycopg.conninfo import conninfo_to_dict
        params = conninfo_to_dict(self.uri)
        params['dbname'] = database or self.database
        return params

    def pg_env(self):
        "pg_dump/pg_restore reach the server through the libpq variables"
        names = {'host': 'PGHOST', 'port': 'PGPORT', 'user': 'PGUSER',
            'password': 'PGPASSWORD', 'sslmode': 'PGSSLMODE'}
        env = dict(os.environ)
        env.update({names[k]: str(v) for k, v in self.libpq().items()
                if k in names})
        return env

    def connect(self, database=None, autocommit=False):
        import psycopg
        return psycopg.connect(**self.libpq(database), autocommit=autocommit)

    def exists(self):
        if self.backend == 'sqlite':
            return self.sqlite_file.exists()
        with self.connect('postgres', autocommit=True) as conn:
            return bool(conn.execute('SELECT 1 FROM pg_database '
                    'WHERE datname = %s', (self.database,)).fetchone())

    def size(self):
        "Bytes of the database and its file store (for the space check)"
        files = sum(p.stat().st_size for p in self.filestore.rglob('*')
            if p.is_file()) if self.filestore.is_dir() else 0
        if self.backend == 'sqlite':
            return self.sqlite_file.stat().st_size + files
        with self.connect() as conn:
            return conn.execute('SELECT pg_database_size(current_database())'
                ).fetchone()[0] + files


@dataclass
class Settings:
    """What the [hub_backup] section of trytond.conf says (or the
    environment: TRYTOND_HUB_BACKUP__FOLDER…)"""
    folder: str = ''
    key_file: str = ''
    min_free_mb: int = 100
    s3_bucket: str = ''
    s3_endpoint: str = ''
    s3_region: str = ''
    s3_prefix: str = ''
    s3_attempts: int = 4
    s3_retry_delay: float = 2.0
    s3_multipart_mb: int = 64
    s3_timeout: int = 30
    jobs: int = 2

    @classmethod
    def from_config(cls):
        import trytond.config as config
        values = {}
        for name, default in cls().__dict__.items():
            value = config.get('hub_backup', name, default=None)
            if value is not None:
                values[name] = type(default)(value)
        settings = cls(**values)
        if not settings.folder:
            settings.folder = os.path.join(
                config.get('database', 'path'), 'backups')
        return settings

    def key(self):
        return crypto.load_key(path=self.key_file or None)

    def local(self):
        from .storage import LocalStorage
        return LocalStorage(self.folder) if self.folder else None

    def cloud(self):
        from .storage import S3Storage
        if not self.s3_bucket:
            return None
        return S3Storage(self.s3_bucket, endpoint=self.s3_endpoint or None,
            region=self.s3_region or None, prefix=self.s3_prefix,
            attempts=self.s3_attempts, retry_delay=self.s3_retry_delay,
            multipart_mb=self.s3_multipart_mb, timeout=self.s3_timeout)

    def storages(self):
        return [s for s in (self.local(), self.cloud()) if s]


@dataclass
class Outcome:
    "What a backup did: the manifest, and per storage the error if any"
    manifest: dict
    stored: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)


@dataclass
class Verification:
    tables: int = 0
    rows: int = 0
    files: int = 0
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems


def new_set_id(database, now=None):
    now = now or dt.datetime.now(dt.UTC)
    return f'{database}-{now:%Y%m%dT%H%M%S.%f}Z-{os.urandom(2).hex()}'


def set_time(set_id):
    "When a set was made, from its id (UTC, naive); None if not ours"
    match = re.search(r'-(\d{8}T\d{6}\.\d{6})Z-[0-9a-f]{4}$', set_id)
    if match:
        return dt.datetime.strptime(match.group(1), '%Y%m%dT%H%M%S.%f')


def sets_of(storage, database):
    return [s for s in storage.list_sets()
        if s.startswith(database + '-') and set_time(s[len(database):])]


# --- backup -----------------------------------------------------------------

def backup(source, storages, key, min_free_mb=100, set_id=None):
    """Make a set of the source and store it in every storage, the first
    one (a local folder, if any) being where it is built.  Returns an
    Outcome; raises if no storage got it."""
    started = time.monotonic()
    set_id = set_id or new_set_id(source.database)
    local = storages[0] if storages[0].kind == 'local' else None
    with _staging(local, set_id) as staging:
        check_space(staging, source, min_free_mb)
        try:
            manifest = _build(source, staging, key, set_id)
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise DiskFull(folder=str(staging), needed='',
                    free=_free_mb(staging)) from error
            raise
        manifest['duration'] = round(time.monotonic() - started, 3)
        write_manifest(staging, manifest, key)
        outcome = Outcome(manifest)
        if local:
            local.commit(set_id, staging)
            outcome.stored.append(local)
            staging = local.folder / set_id
        for storage in storages[1 if local else 0:]:
            try:
                storage.put_set(set_id, staging)
                outcome.stored.append(storage)
            except BackupError as error:
                outcome.failed[storage] = error
    if not outcome.stored:
        raise next(iter(outcome.failed.values()))
    return outcome


@contextmanager
def _staging(local, set_id):
    if local:
        local.folder.mkdir(parents=True, exist_ok=True)
        path = local.staging(set_id)
    else:
        path = Path(tempfile.mkdtemp(prefix='hub-backup-'))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _free_mb(folder):
    return shutil.disk_usage(folder).free // (1024 * 1024)


def check_space(folder, source, min_free_mb):
    """Refuse before starting when the set may not fit: the database and
    file store sizes (a dump is smaller) plus the reserve to keep free"""
    free = shutil.disk_usage(folder).free
    needed = source.size() + min_free_mb * 1024 * 1024
    if free < needed:
        raise DiskFull(folder=str(folder),
            needed=needed // (1024 * 1024), free=free // (1024 * 1024))


def _build(source, staging, key, set_id):
    manifest = {'format': FORMAT, 'id': set_id, 'database': source.database,
        'backend': source.backend,
        'created': dt.datetime.now(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'key_id': crypto.key_id(key).hex(),
        'cipher': f'AES-256-GCM, {crypto.CHUNK // 1024} KiB chunks',
        'parts': []}
    database_part, info = getattr(Dumper, source.backend)(
        source, staging, key)
    manifest.update(info)
    manifest['parts'].append(database_part)
    files_part, manifest['filestore'] = dump_filestore(
        source.filestore, staging, key)
    if files_part:
        manifest['parts'].append(files_part)
    manifest['stores'] = {}
    for index, prefix in enumerate(source.prefixes):
        part, manifest['stores'][prefix] = dump_store(
            source.store_folder(prefix), prefix, staging, key, index)
        if part:
            manifest['parts'].append(part)
    manifest['modules'] = module_versions(manifest.pop('activated'))
    return manifest


def _part(name, kind, writer, hashed):
    return {'name': name, 'kind': kind, 'size': hashed.size,
        'sha256': hashed.sha256, 'plain_size': writer.plain_size,
        'plain_sha256': writer.plain_sha256}


class Dumper:
    "One method per backend: (part, facts for the manifest)"

    @staticmethod
    def postgresql(source, staging, key):
        name = DB_PART['postgresql']
        with source.connect() as conn:
            conn.execute('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
            snapshot, = conn.execute('SELECT pg_export_snapshot()').fetchone()
            tables, checksums = table_facts_pg(conn)
            activated = _activated(conn)
            server, = conn.execute('SHOW server_version').fetchone()
            # the dump reads the very snapshot the counts were read in; the
            # transaction holds it (and ACCESS SHARE locks, as pg_dump does)
            with open(staging / name, 'wb') as out:
                hashed = crypto.HashingWriter(out)
                writer = crypto.EncryptingWriter(hashed, key)
                run_tool(['pg_dump', '-Fc', '--no-owner',
                        f'--snapshot={snapshot}', '-d', source.database],
                    source.pg_env(), stdout=writer)
                writer.close()
            conn.rollback()
        return _part(name, 'database', writer, hashed), {
            'tables': tables, 'checksums': checksums, 'activated': activated,
            'server_version': f'PostgreSQL {server}',
            'pg_dump_version': tool_version('pg_dump')}

    @staticmethod
    def sqlite(source, staging, key):
        name = DB_PART['sqlite']
        copy = staging / 'database.sqlite.tmp'
        with _closing(sqlite3.connect(source.sqlite_file)) as src, \
                _closing(sqlite3.connect(copy)) as dst:
            src.backup(dst)
            tables, checksums = table_facts_sqlite(dst)
            activated = _activated(dst)
        with open(staging / name, 'wb') as out, open(copy, 'rb') as data:
            hashed = crypto.HashingWriter(out)
            writer = crypto.EncryptingWriter(hashed, key)
            with gzip.GzipFile(fileobj=writer, mode='wb', compresslevel=6,
                    mtime=0) as packed:
                shutil.copyfileobj(data, packed, crypto.CHUNK)
            writer.close()
        copy.unlink()
        return _part(name, 'database', writer, hashed), {
            'tables': tables, 'checksums': checksums, 'activated': activated,
            'server_version': f'SQLite {sqlite3.sqlite_version}'}


@contextmanager
def _closing(conn):
    try:
        yield conn
    finally:
        conn.close()


def dump_filestore(folder, staging, key):
    """The file store as a tar (files are never rewritten in place by
    Tryton, so reading them after the dump is consistent)"""
    files = {'files': 0, 'bytes': 0}
    if not folder.is_dir():
        return None, files
    with open(staging / FILES_PART, 'wb') as out:
        hashed = crypto.HashingWriter(out)
        writer = crypto.EncryptingWriter(hashed, key)
        with gzip.GzipFile(fileobj=writer, mode='wb', compresslevel=1,
                mtime=0) as packed, \
                tarfile.open(fileobj=packed, mode='w|') as tar:
            for path in sorted(folder.rglob('*')):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(folder)))
                    files['files'] += 1
                    files['bytes'] += path.stat().st_size
        writer.close()
    return _part(FILES_PART, 'filestore', writer, hashed), files


def dump_store(folder, prefix, staging, key, index):
    """The folder of a store_prefix as a tar, and the manifest's list of
    its files (the folder is shared with other databases: a restore adds
    the missing files, the verification looks for the listed ones)"""
    listing = {}
    if prefix == '':
        # the filestore's root: only its <xx>/<yy>/<id> files, not the
        # databases' folders beside them
        paths = [p for p in sorted(folder.glob('??/??/*')) if p.is_file()
            and re.fullmatch(r'[0-9a-f]{2}', p.parent.name)
            and re.fullmatch(r'[0-9a-f]{2}', p.parent.parent.name)]
    elif folder.is_dir():
        paths = [p for p in sorted(folder.rglob('*')) if p.is_file()]
    else:
        paths = []
    info = {'files': 0, 'bytes': 0, 'list': listing}
    if not paths:
        return None, info
    name = STORE_PART % index
    with open(staging / name, 'wb') as out:
        hashed = crypto.HashingWriter(out)
        writer = crypto.EncryptingWriter(hashed, key)
        with gzip.GzipFile(fileobj=writer, mode='wb', compresslevel=1,
                mtime=0) as packed, \
                tarfile.open(fileobj=packed, mode='w|') as tar:
            for path in paths:
                arcname = str(path.relative_to(folder))
                tar.add(path, arcname=arcname)
                listing[arcname] = path.stat().st_size
        writer.close()
    info.update(files=len(listing), bytes=sum(listing.values()))
    part = _part(name, STORE_KIND + prefix, writer, hashed)
    part['prefix'] = prefix
    return part, info


def _pg_tables(conn):
    return [f'{s}.{t}' if s != 'public' else t for s, t in conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2")]


def table_facts_pg(conn):
    """Row count and contents checksum of every table, in one scan each,
    computed by the server: the sum (a multiset's, order-free) of the first
    64 bits of the MD5 of each row's text form, in a session whose
    settings fix that form (PG_SESSION)"""
    conn.execute(PG_SESSION)
    tables = _pg_tables(conn)
    if not tables:
        return {}, {}
    query = ' UNION ALL '.join(
        f"SELECT {i}, count(*), coalesce(sum(('x' || left(md5(t::text), 16))"
        f"::bit(64)::bigint), 0)::text FROM {_quote_pg(table)} t"
        for i, table in enumerate(tables))
    facts = {i: (n, c) for i, n, c in conn.execute(query).fetchall()}
    return ({t: facts[i][0] for i, t in enumerate(tables)},
        {t: facts[i][1] for i, t in enumerate(tables)})


class _Sum64:
    "SQLite aggregate: a sum modulo 2^64 (SQLite's own sum overflows)"

    def __init__(self):
        self.total = 0

    def step(self, value):
        if value is not None:
            self.total = (self.total + value) % 2 ** 64

    def finalize(self):
        return str(self.total)


def _row_hash(*values):
    "The first 64 bits of the MD5 of a row's values (signed, as SQLite's)"
    digest = hashlib.md5(repr(values).encode(), usedforsecurity=False)
    return int.from_bytes(digest.digest()[:8], 'big', signed=True)


def table_facts_sqlite(conn):
    """Row count and contents checksum of every table (SQLite has no MD5:
    two functions registered on the connection, the scan in SQL)"""
    conn.create_function('hub_row_hash', -1, _row_hash, deterministic=True)
    conn.create_aggregate('hub_sum64', 1, _Sum64)
    counts, checksums = {}, {}
    for name in _sqlite_tables(conn):
        quoted = '"%s"' % name.replace('"', '""')
        columns = ', '.join('"%s"' % r[1].replace('"', '""')
            for r in conn.execute(f'PRAGMA table_info({quoted})'))
        counts[name], checksums[name] = conn.execute(
            f'SELECT count(*), hub_sum64(hub_row_hash({columns})) '
            f'FROM {quoted}').fetchone()
    return counts, checksums


def _sqlite_tables(conn):
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master "
            "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")]


def _quote_pg(table):
    return '.'.join('"%s"' % p.replace('"', '""') for p in table.split('.'))


def _activated(conn):
    "The activated modules (none in a database that is not Tryton's)"
    if isinstance(conn, sqlite3.Connection):
        present = conn.execute("SELECT 1 FROM sqlite_master "
            "WHERE name = 'ir_module'").fetchone()
    else:
        present = conn.execute("SELECT to_regclass('ir_module')").fetchone()[0]
    if not present:
        return []
    return [r[0] for r in conn.execute("SELECT name FROM ir_module "
            "WHERE state = 'activated' ORDER BY name").fetchall()]


def module_versions(names):
    "The version of each activated module, as installed here"
    import trytond.modules
    versions = {'trytond': importlib.metadata.version('trytond')}
    for name in names:
        try:
            info = trytond.modules.get_module_info(name)
        except Exception:
            info = {}
        versions[name] = info.get('version') or versions['trytond']
    return versions


def tool_version(tool):
    try:
        return subprocess.run([tool, '--version'], capture_output=True,
            text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ''


def run_tool(args, env, stdout=None):
    "Run pg_dump/pg_restore, streaming its output into ``stdout``"
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(args, env=env, stderr=errors,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL)
        except OSError as error:
            raise ToolFailed(tool=args[0], output=str(error)) from error
        try:
            if stdout:
                while block := process.stdout.read(crypto.CHUNK):
                    stdout.write(block)
        finally:
            if stdout:
                process.stdout.close()
            code = process.wait()
        if code:
            errors.seek(0)
            output = errors.read().decode(errors='replace').strip()
            raise ToolFailed(tool=args[0], output=output[-2000:])


# --- the manifest -----------------------------------------------------------

def _mac(manifest, key):
    body = json.dumps({k: v for k, v in manifest.items() if k != 'mac'},
        sort_keys=True, ensure_ascii=False).encode()
    return hmac.new(hashlib.sha256(b'hub-backup-manifest\0' + key).digest(),
        body, hashlib.sha256).hexdigest()


def write_manifest(folder, manifest, key):
    manifest['mac'] = _mac(manifest, key)
    (Path(folder) / MANIFEST).write_text(
        json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False),
        encoding='utf-8')


def check_manifest(manifest, key, set_id=''):
    "Refuse another key's set and a manifest changed since it was written"
    if manifest.get('key_id') != crypto.key_id(key).hex():
        raise WrongKey(part=f'{set_id}/{MANIFEST}')
    if not hmac.compare_digest(manifest.get('mac', ''), _mac(manifest, key)):
        raise CorruptArchive(part=f'{set_id}/{MANIFEST}',
            reason='manifest changed')
    return manifest


def check_part(path, part, set_id=''):
    if path.stat().st_size != part['size']:
        raise CorruptArchive(part=f"{set_id}/{part['name']}",
            reason=f"size {path.stat().st_size} instead of {part['size']}")
    if crypto.file_sha256(path) != part['sha256']:
        raise CorruptArchive(part=f"{set_id}/{part['name']}",
            reason='SHA-256 differs')


# --- restore and verification -----------------------------------------------

def check_target(target, forbidden=()):
    "A new database's name: valid, not the running one, not existing"
    if not NAME.match(target.database) or target.database in forbidden:
        raise BadTarget(database=target.database)
    if target.exists() or target.filestore.exists():
        raise TargetExists(database=target.database)


def fetch(storage, set_id, key, scratch):
    """The manifest and local paths of the parts, every checksum checked
    before anything is restored"""
    manifest = check_manifest(storage.read_manifest(set_id), key, set_id)
    paths = {}
    for part in manifest['parts']:
        path = storage.open_part(set_id, part['name'], scratch)
        check_part(path, part, set_id)
        paths[part['kind']] = path
    return manifest, paths


def store_parts(manifest, paths):
    "(prefix, path) of the set's store_prefix parts"
    return [(p['prefix'], paths[p['kind']]) for p in manifest['parts']
        if p['kind'].startswith(STORE_KIND)]


def restore(storage, set_id, target, key, forbidden=(), jobs=2):
    """Restore a set into the new database ``target`` (a Source), then
    verify it against the manifest.  Returns (manifest, Verification)."""
    check_target(target, forbidden)
    with tempfile.TemporaryDirectory(prefix='hub-restore-') as scratch:
        scratch = Path(scratch)
        manifest, paths = fetch(storage, set_id, key, scratch)
        if manifest['backend'] != target.backend:
            raise BadTarget(database=target.database)
        restorer = getattr(Restorer, target.backend)
        try:
            restorer(target, paths['database'], key, scratch, jobs)
            if 'filestore' in paths:
                restore_filestore(paths['filestore'], target.filestore, key)
            for prefix, path in store_parts(manifest, paths):
                restore_store(path, target.store_folder(prefix), key)
        except BaseException:
            drop(target)
            raise
    return manifest, verify(target, manifest)


def _decrypt_to(path, key, out, name):
    with open(path, 'rb') as source:
        shutil.copyfileobj(crypto.DecryptingReader(source, key, name), out,
            crypto.CHUNK)


class Restorer:

    @staticmethod
    def postgresql(target, part, key, scratch, jobs):
        # pg_restore -j cannot read a pipe: decrypt to a file first
        dump = scratch / 'database.dump'
        with open(dump, 'wb') as out:
            _decrypt_to(part, key, out, part.name)
        with target.connect('postgres', autocommit=True) as conn:
            conn.execute('CREATE DATABASE "%s" TEMPLATE template0 '
                "ENCODING 'UTF8'" % target.database)
        run_tool(['pg_restore', '--no-owner', '--exit-on-error',
                f'--jobs={jobs}', '-d', target.database, str(dump)],
            target.pg_env())

    @staticmethod
    def sqlite(target, part, key, scratch, jobs):
        partial = target.sqlite_file.with_suffix('.sqlite.partial')
        try:
            with open(partial, 'wb') as out, open(part, 'rb') as source:
                reader = crypto.DecryptingReader(source, key, part.name)
                with gzip.GzipFile(fileobj=reader, mode='rb') as packed:
                    shutil.copyfileobj(packed, out, crypto.CHUNK)
            os.replace(partial, target.sqlite_file)
        finally:
            partial.unlink(missing_ok=True)


def restore_filestore(part, folder, key):
    folder.mkdir(parents=True)
    with open(part, 'rb') as source:
        reader = crypto.DecryptingReader(source, key, part.name)
        with gzip.GzipFile(fileobj=reader, mode='rb') as packed, \
                tarfile.open(fileobj=packed, mode='r|') as tar:
            tar.extractall(folder, filter='data')


def restore_store(part, folder, key):
    """A store_prefix folder: the files missing are added, those there are
    kept (the folder is shared; Tryton never rewrites a file: same name,
    same content)"""
    folder.mkdir(parents=True, exist_ok=True)

    def missing(member, path):
        member = tarfile.data_filter(member, path)
        if member.isfile() and (Path(path) / member.name).exists():
            return None
        return member
    with open(part, 'rb') as source:
        reader = crypto.DecryptingReader(source, key, part.name)
        with gzip.GzipFile(fileobj=reader, mode='rb') as packed, \
                tarfile.open(fileobj=packed, mode='r|') as tar:
            tar.extractall(folder, filter=missing)


def drop(target):
    "Remove a restored copy (a failed restore, a finished drill)"
    shutil.rmtree(target.filestore, ignore_errors=True)
    if target.backend == 'sqlite':
        target.sqlite_file.unlink(missing_ok=True)
        return
    with target.connect('postgres', autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)'
            % target.database)


def verify(target, manifest):
    """Compare a restored database and file store with the manifest: the
    row count and the contents' checksum of every table (a set made before
    the checksums: counts only), the files"""
    if target.backend == 'sqlite':
        with _closing(sqlite3.connect(target.sqlite_file)) as conn:
            found, sums = table_facts_sqlite(conn)
    else:
        with target.connect() as conn:
            found, sums = table_facts_pg(conn)
    expected = manifest['tables']
    checksums = manifest.get('checksums') or {}
    result = Verification(tables=len(expected), rows=sum(expected.values()))
    for table in sorted(set(expected) | set(found)):
        if expected.get(table) != found.get(table):
            result.problems.append((table, expected.get(table),
                    found.get(table)))
        elif table in checksums and checksums[table] != sums.get(table):
            # as many rows, other contents
            result.problems.append((table, expected[table], found[table],
                    'content'))
    files = [p for p in target.filestore.rglob('*') if p.is_file()] if (
        target.filestore.is_dir()) else []
    stored = manifest['filestore']
    result.files = stored['files']
    found_files = (len(files), sum(p.stat().st_size for p in files))
    if found_files != (stored['files'], stored['bytes']):
        result.problems.append(('filestore', stored['files'], len(files)))
    for prefix, listed in sorted((manifest.get('stores') or {}).items()):
        folder = target.store_folder(prefix)
        present = sum(1 for name, size in listed['list'].items()
            if (folder / name).is_file()
            and (folder / name).stat().st_size == size)
        result.files += listed['files']
        if present != listed['files']:
            result.problems.append((f'filestore:{prefix}', listed['files'],
                    present))
    return result


# --- retention --------------------------------------------------------------

def apply_retention(storage, database, keep=7, max_age_days=30, now=None):
    """Delete the sets of the database beyond the newest ``keep`` that are
    older than ``max_age_days``; the newest set always stays.  Returns the
    deleted ids."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    sets = sorted(sets_of(storage, database),
        key=lambda s: set_time(s[len(database):]), reverse=True)
    limit = now - dt.timedelta(days=max_age_days) if max_age_days else None
    deleted = []
    for index, set_id in enumerate(sets):
        if index == 0:
            continue
        too_many = keep and index >= keep
        too_old = limit and set_time(set_id[len(database):]) < limit
        if too_many or too_old:
            storage.delete_set(set_id)
            deleted.append(set_id)
    return deleted
