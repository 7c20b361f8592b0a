"""Backup → copy → restore → verify against a real PostgreSQL and a real S3
server (moto over HTTP on loopback), and each failure a backup meets.

The engine works without the Tryton pool (the command line uses it while
the hub is down), so these tests run the same on the SQLite and the
PostgreSQL test runs: they always dump a PostgreSQL scratch database they
create, and a SQLite file they create."""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

from .. import crypto, engine
from ..errors import (
    BadTarget, CorruptArchive, DiskFull, StorageUnavailable, TargetExists,
    WrongKey)
from ..messages import Catalog, error_text, verification_text
from ..storage import LocalStorage
from .tools import (
    S3Server, create_pg, create_sqlite, drop_pg, free_port, pg_available,
    read_files, rows, scratch_name, write_files)

ORDERS = 'SELECT number, customer, total FROM order_hub_order ORDER BY id'


class EngineTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not pg_available():
            raise unittest.SkipTest("no PostgreSQL on 127.0.0.1:5432")
        cls.s3 = S3Server().start()
        cls.addClassCleanup(cls.s3.stop)
        cls.tr = Catalog()

    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix='hubbk-test-'))
        self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)
        self.key = crypto.load_key(crypto.new_key())
        self.local = LocalStorage(self.folder / 'backups')
        self.source = self.pg('src')

    def pg(self, tag, **kwargs):
        source = create_pg(scratch_name(tag), self.folder / 'db', **kwargs)
        self.addCleanup(drop_pg, source)
        return source

    def target(self, tag='copy', source=None):
        target = (source or self.source).named(scratch_name(tag))
        self.addCleanup(engine.drop, target)
        return target

    def s3_storage(self, **options):
        return self.s3.storage(bucket=f'b{os.getpid()}-{id(self)}'[:40],
            **options)

    # -- the round trip ------------------------------------------------------
    def test_round_trip_through_s3(self):
        files = read_files(self.source.filestore)
        cloud = self.s3_storage()
        outcome = engine.backup(self.source, [self.local, cloud], self.key)
        set_id = outcome.manifest['id']
        self.assertEqual(outcome.stored, [self.local, cloud])
        self.assertEqual(self.local.list_sets(), [set_id])
        self.assertEqual(cloud.list_sets(), [set_id])
        manifest = outcome.manifest
        self.assertEqual(manifest['tables']['order_hub_order'], 20)
        self.assertEqual(manifest['tables']['order_hub_order_line'], 60)
        self.assertEqual(manifest['filestore'], {'files': 5,
                'bytes': sum(len(d) for d in files.values())})
        self.assertEqual(sorted(manifest['modules']),
            ['hub_backup', 'ir', 'res', 'trytond'])
        self.assertTrue(manifest['server_version'].startswith('PostgreSQL'))
        head = cloud.client.head_object(Bucket=cloud.bucket,
            Key=f'hub/{set_id}/database.dump.enc')
        self.assertEqual(head['Metadata']['sha256'],
            manifest['parts'][0]['sha256'])
        # nothing readable leaves the machine
        dump = (self.local.folder / set_id / 'database.dump.enc').read_bytes()
        self.assertNotIn('Иванова'.encode(), dump)
        self.assertNotIn(b'PGDMP', dump)

        target = self.target()
        manifest, result = engine.restore(cloud, set_id, target, self.key,
            forbidden={self.source.database})
        self.assertTrue(result.ok, result.problems)
        self.assertEqual(rows(target, ORDERS), rows(self.source, ORDERS))
        self.assertEqual(rows(target, 'SELECT payload FROM hub_sync_outbox'),
            rows(self.source, 'SELECT payload FROM hub_sync_outbox'))
        self.assertEqual(read_files(target.filestore), files)
        self.assertIn('Проверка пройдена',
            verification_text(result, set_id, self.tr))
        # the sequences follow: the restored hub creates its next order
        with target.connect() as conn:
            new_id, = conn.execute("INSERT INTO order_hub_order (number) "
                "VALUES ('З-21') RETURNING id").fetchone()
        self.assertEqual(new_id, 21)

    def test_restore_from_local_copy(self):
        set_id = engine.backup(self.source, [self.local],
            self.key).manifest['id']
        target = self.target()
        _, result = engine.restore(self.local, set_id, target, self.key)
        self.assertTrue(result.ok, result.problems)
        self.assertEqual(rows(target, ORDERS), rows(self.source, ORDERS))

    def test_multipart_upload_of_a_large_set(self):
        write_files(self.source.filestore, big=12 * 1024 * 1024)
        cloud = self.s3_storage(multipart_mb=5)
        set_id = engine.backup(self.source, [self.local, cloud],
            self.key).manifest['id']
        head = cloud.client.head_object(Bucket=cloud.bucket,
            Key=f'hub/{set_id}/{engine.FILES_PART}')
        self.assertRegex(head['ETag'], r'-3"$')
        target = self.target()
        _, result = engine.restore(cloud, set_id, target, self.key)
        self.assertTrue(result.ok, result.problems)
        self.assertEqual(read_files(target.filestore),
            read_files(self.source.filestore))

    def test_verification_names_what_differs(self):
        set_id = engine.backup(self.source, [self.local],
            self.key).manifest['id']
        target = self.target()
        manifest, _ = engine.restore(self.local, set_id, target, self.key)
        with target.connect() as conn:
            conn.execute("DELETE FROM order_hub_order WHERE id = 1")
        next(p for p in target.filestore.rglob('*') if p.is_file()).unlink()
        result = engine.verify(target, manifest)
        self.assertFalse(result.ok)
        self.assertEqual(result.problems, [
                ('order_hub_order', 20, 19),
                ('order_hub_order_line', 60, 57),
                ('filestore', 5, 4)])
        text = verification_text(result, set_id, self.tr)
        self.assertIn('НЕ пройдена', text)
        self.assertIn('order_hub_order: в описи 20, найдено 19', text)

    def test_verification_compares_contents(self):
        "as many rows but other values: the tables' checksums differ"
        outcome = engine.backup(self.source, [self.local], self.key)
        manifest, set_id = outcome.manifest, outcome.manifest['id']
        self.assertEqual(set(manifest['checksums']), set(manifest['tables']))
        target = self.target()
        _, result = engine.restore(self.local, set_id, target, self.key)
        self.assertTrue(result.ok, result.problems)
        with target.connect() as conn:
            conn.execute("UPDATE order_hub_order SET total = total + 1 "
                "WHERE id = 7")
            # the same rows in another order (a new physical layout)
            conn.execute("UPDATE product_product SET name = name")
            conn.execute("UPDATE hub_sync_outbox SET payload = "
                "jsonb_set(payload, '{note}', '\"елка\"') WHERE id = 3")
        result = engine.verify(target, manifest)
        self.assertEqual(result.problems, [
                ('hub_sync_outbox', 20, 20, 'content'),
                ('order_hub_order', 20, 20, 'content')])
        text = verification_text(result, set_id, self.tr)
        self.assertIn('order_hub_order: столько же строк (20), но другое '
            'содержимое', text)
        # a session with other settings computes the same checksums
        with target.connect() as conn:
            conn.execute("SET TIME ZONE 'Asia/Vladivostok'")
            conn.execute("UPDATE order_hub_order SET total = total - 1 "
                "WHERE id = 7")
            conn.execute("UPDATE hub_sync_outbox SET payload = "
                "jsonb_set(payload, '{note}', '\"ёлка\"') WHERE id = 3")
        self.assertTrue(engine.verify(target, manifest).ok)

    def test_manifest_without_checksums_compares_counts(self):
        "a set made before the checksums is still verified by its counts"
        manifest = engine.backup(self.source, [self.local],
            self.key).manifest
        target = self.target()
        engine.restore(self.local, manifest['id'], target, self.key)
        with target.connect() as conn:
            conn.execute("UPDATE order_hub_order SET total = 0")
        del manifest['checksums']
        self.assertTrue(engine.verify(target, manifest).ok)

    def test_store_prefix_folders(self):
        """a binary field with its own store_prefix keeps its files in
        <path>/<prefix>/, shared with other databases: saved, restored
        (missing files added, others kept) and verified"""
        source = self.source.named(self.source.database)
        source.prefixes = ('shared/photos',)
        shared = source.store_folder('shared/photos')
        files = write_files(shared)
        manifest = engine.backup(source, [self.local, self.s3_storage()],
            self.key).manifest
        store, = [p for p in manifest['parts']
            if p['kind'].startswith(engine.STORE_KIND)]
        self.assertEqual(store['prefix'], 'shared/photos')
        self.assertEqual(manifest['stores']['shared/photos']['files'], 5)
        # a new machine: the shared folder lost but for one file and one
        # file of another database
        kept = sorted(files)[0]
        for name in sorted(files)[1:]:
            (shared / name).unlink()
        other = write_files(shared)
        target = self.target(source=source)
        _, result = engine.restore(self.local, manifest['id'], target,
            self.key)
        self.assertTrue(result.ok, result.problems)
        self.assertEqual(read_files(shared), {**files, **other})
        self.assertIn(kept, files)
        (shared / sorted(files)[2]).unlink()
        result = engine.verify(target, manifest)
        self.assertEqual(result.problems, [('filestore:shared/photos', 5, 4)])

    def test_users_keep_writing_during_a_backup(self):
        "pg_dump takes no lock a writer waits for; counts match the dump"
        with self.source.connect() as conn:
            conn.execute("INSERT INTO hub_sync_outbox (payload, state) "
                "SELECT jsonb_build_object('n', i, 'pad', repeat('x', 200)), "
                "'done' FROM generate_series(1, 300000) i")
        done = threading.Event()
        thread = threading.Thread(target=lambda: (engine.backup(
                    self.source, [self.local], self.key), done.set()))
        writes = 0
        with self.source.connect(autocommit=True) as conn:
            conn.execute("SET lock_timeout = '2s'")
            thread.start()
            while not done.is_set() and thread.is_alive():
                conn.execute("UPDATE order_hub_order SET total = total + 1 "
                    "WHERE id = 1")
                conn.execute("INSERT INTO order_hub_order (number) "
                    "VALUES ('новый')")
                writes += 1
            thread.join()
        self.assertGreater(writes, 10)
        set_id, = self.local.list_sets()
        target = self.target()
        _, result = engine.restore(self.local, set_id, target, self.key)
        self.assertTrue(result.ok, result.problems)

    # -- failures ------------------------------------------------------------
    def test_cloud_down_keeps_the_local_copy(self):
        cloud = S3Server(free_port()).storage(create=False, attempts=3)
        started = time.monotonic()
        outcome = engine.backup(self.source, [self.local, cloud], self.key)
        self.assertGreaterEqual(time.monotonic() - started, 0.05 + 0.1)
        self.assertEqual(outcome.stored, [self.local])
        error, = outcome.failed.values()
        self.assertIsInstance(error, StorageUnavailable)
        self.assertIn('недоступно', error_text(error, self.tr))
        self.assertEqual(len(self.local.list_sets()), 1)

    def test_cloud_only_and_down_fails_and_leaves_nothing(self):
        cloud = S3Server(free_port()).storage(create=False)
        scratch = self.folder / 'tmp'
        scratch.mkdir()
        self.addCleanup(setattr, tempfile, 'tempdir', tempfile.tempdir)
        tempfile.tempdir = str(scratch)
        with self.assertRaises(StorageUnavailable):
            engine.backup(self.source, [cloud], self.key)
        self.assertEqual(list(scratch.iterdir()), [])

    def test_cloud_back_within_the_retries(self):
        server = S3Server(free_port())
        cloud = server.storage(create=False, attempts=6, retry_delay=0.2)
        # moto keeps its buckets per process: made through the running one
        cloud.bucket = self.s3_storage().bucket

        def start_late():
            time.sleep(0.5)
            server.start()
        self.addCleanup(server.stop)
        threading.Thread(target=start_late).start()
        outcome = engine.backup(self.source, [self.local, cloud], self.key)
        self.assertEqual(outcome.failed, {})
        self.assertEqual(cloud.list_sets(), [outcome.manifest['id']])

    def test_corrupted_archive_is_refused(self):
        set_id = engine.backup(self.source, [self.local],
            self.key).manifest['id']
        part = self.local.folder / set_id / 'database.dump.enc'
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0x01
        part.write_bytes(data)
        target = self.target()
        with self.assertRaises(CorruptArchive) as caught:
            engine.restore(self.local, set_id, target, self.key)
        self.assertIn('повреждена', error_text(caught.exception, self.tr))
        self.assertFalse(target.exists())

    def test_truncated_archive_is_refused(self):
        set_id = engine.backup(self.source, [self.local],
            self.key).manifest['id']
        part = self.local.folder / set_id / engine.FILES_PART
        part.write_bytes(part.read_bytes()[:-100])
        target = self.target()
        with self.assertRaises(CorruptArchive):
            engine.restore(self.local, set_id, target, self.key)
        self.assertFalse(target.exists())
        self.assertFalse(target.filestore.exists())

    def test_changed_manifest_is_refused(self):
        "a part and its checksum replaced together: the manifest's MAC"
        set_id = engine.backup(self.source, [self.local],
            self.key).manifest['id']
        path = self.local.folder / set_id / 'manifest.json'
        path.write_text(path.read_text().replace(
                '"order_hub_order": 20', '"order_hub_order": 21'))
        with self.assertRaises(CorruptArchive):
            engine.restore(self.local, set_id, self.target(), self.key)

    def test_truncated_at_a_chunk_boundary(self):
        import io
        out = io.BytesIO()
        writer = crypto.EncryptingWriter(out, self.key)
        writer.write(os.urandom(crypto.CHUNK * 2 + 10))
        writer.close()
        whole = out.getvalue()
        first_chunk = crypto.HEADER + 5 + crypto.CHUNK + 16
        reader = crypto.DecryptingReader(io.BytesIO(whole[:first_chunk]),
            self.key)
        with self.assertRaises(CorruptArchive):
            reader.read()
        self.assertEqual(len(crypto.DecryptingReader(io.BytesIO(whole),
                    self.key).read()), crypto.CHUNK * 2 + 10)

    def test_wrong_key_is_refused(self):
        set_id = engine.backup(self.source, [self.local],
            self.key).manifest['id']
        other = crypto.load_key(crypto.new_key())
        target = self.target()
        with self.assertRaises(WrongKey) as caught:
            engine.restore(self.local, set_id, target, other)
        self.assertIn('другим ключом', error_text(caught.exception, self.tr))
        self.assertFalse(target.exists())

    def test_not_enough_space_is_refused_before_starting(self):
        with self.assertRaises(DiskFull) as caught:
            engine.backup(self.source, [self.local], self.key,
                min_free_mb=10 ** 9)
        self.assertIn('Недостаточно места', error_text(caught.exception,
                self.tr))
        self.assertEqual(list(self.local.folder.iterdir()), [])

    def test_disk_full_while_writing(self):
        "a real full disk: a 64 KiB tmpfs (needs root, as on CI)"
        mount = self.folder / 'tiny'
        mount.mkdir()
        if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs',
                    str(mount)], capture_output=True).returncode:
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(subprocess.run, ['umount', str(mount)])
        write_files(self.source.filestore, big=256 * 1024)
        local = LocalStorage(mount)
        with self.assertRaises(DiskFull):
            engine.backup(self.source, [local], self.key, min_free_mb=0)
        self.assertEqual(list(mount.iterdir()), [])

    def test_restore_never_overwrites(self):
        set_id = engine.backup(self.source, [self.local],
            self.key).manifest['id']
        existing = self.pg('existing')
        with self.assertRaises(TargetExists):
            engine.restore(self.local, set_id, existing, self.key)
        self.assertEqual(len(rows(existing, ORDERS)), 20)
        running = self.target()
        with self.assertRaises(BadTarget):
            engine.restore(self.local, set_id, running, self.key,
                forbidden={running.database})
        with self.assertRaises(BadTarget):
            engine.restore(self.local, set_id,
                self.source.named('bad-name; drop'), self.key)

    # -- retention -----------------------------------------------------------
    def test_retention_by_count_and_age(self):
        import datetime as dt
        now = dt.datetime(2026, 12, 7, 12, 0)
        cloud = self.s3_storage()
        staging = self.folder / 'tiny-set'
        staging.mkdir()
        (staging / 'manifest.json').write_text('{"parts": []}')
        ages = [0, 1, 2, 3, 40, 50]
        ids = [engine.new_set_id('hub', now - dt.timedelta(days=d))
            for d in ages]
        for storage in (self.local, cloud):
            for set_id in ids:
                storage.put_set(set_id, staging)
            storage.put_set(engine.new_set_id('other', now - dt.timedelta(
                        days=90)), staging)
            deleted = engine.apply_retention(storage, 'hub', keep=3,
                max_age_days=30, now=now)
            self.assertEqual(sorted(deleted), sorted(ids[3:]))
            self.assertEqual(engine.sets_of(storage, 'hub'), sorted(ids[:3]))
            self.assertEqual(len(engine.sets_of(storage, 'other')), 1)
            # the newest stays however old it is
            engine.apply_retention(storage, 'other', keep=1, max_age_days=1,
                now=now)
            self.assertEqual(len(engine.sets_of(storage, 'other')), 1)

    # -- SQLite (the demo) ---------------------------------------------------
    def test_sqlite_round_trip(self):
        source = create_sqlite('hub_demo', self.folder / 'sqlite')
        outcome = engine.backup(source, [self.local, self.s3_storage()],
            self.key)
        manifest = outcome.manifest
        self.assertEqual(manifest['tables']['order_hub_order'], 300)
        self.assertTrue(manifest['server_version'].startswith('SQLite'))
        target = source.named('hub_demo_copy')
        _, result = engine.restore(outcome.stored[1], manifest['id'], target,
            self.key, forbidden={'hub_demo'})
        self.assertTrue(result.ok, result.problems)
        self.assertEqual(target.sqlite_file.read_bytes()[:16],
            b'SQLite format 3\0')
        self.assertEqual(read_files(target.filestore),
            read_files(source.filestore))

    def test_sqlite_verification_compares_contents(self):
        source = create_sqlite('hub_demo', self.folder / 'sqlite')
        manifest = engine.backup(source, [self.local], self.key).manifest
        self.assertEqual(set(manifest['checksums']), set(manifest['tables']))
        target = source.named('hub_demo_copy')
        self.addCleanup(engine.drop, target)
        _, result = engine.restore(self.local, manifest['id'], target,
            self.key)
        self.assertTrue(result.ok, result.problems)
        import sqlite3
        conn = sqlite3.connect(target.sqlite_file)
        with conn:
            conn.execute("UPDATE order_hub_order SET customer = 'Смирнова' "
                "WHERE id = 10")
        conn.close()
        self.assertEqual(engine.verify(target, manifest).problems,
            [('order_hub_order', 300, 300, 'content')])

    # -- the command line ----------------------------------------------------
    def test_command_line_drill(self):
        config = self.folder / 'trytond.conf'
        config.write_text(f"[database]\nuri = {self.source.uri}\n"
            f"path = {self.source.path}\n[hub_backup]\n"
            f"folder = {self.local.folder}\n")
        env = dict(os.environ, HUB_BACKUP_KEY=crypto.new_key())
        command = [sys.executable, '-m', 'trytond.modules.hub_backup',
            '-c', str(config)]
        done = subprocess.run(command + ['drill', '-d', self.source.database],
            env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn('Проверка пройдена', done.stdout)
        set_id, = self.local.list_sets()
        # the drill's database is gone; a restore by hand stays
        target = self.target('cli')
        done = subprocess.run(command + ['restore', set_id, '--to',
                target.database], env=env, capture_output=True, text=True,
            timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(rows(target, ORDERS), rows(self.source, ORDERS))
        env['HUB_BACKUP_KEY'] = crypto.new_key()
        done = subprocess.run(command + ['restore', set_id, '--to',
                target.database + '_2'], env=env, capture_output=True,
            text=True, timeout=120)
        self.assertEqual(done.returncode, 1)
        self.assertIn('другим ключом', done.stderr)
