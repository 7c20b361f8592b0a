"""Backups and restores from the admin screen: queued, run outside the
user's transaction, listed with size, time and place, restored into a new
database and verified; failures alert the administrators in the hub and
by e-mail.

The Tryton test database itself is backed up: on PostgreSQL it is dumped
and restored for real; the SQLite run's database lives in memory, which
cannot be backed up, and the tests check that this is said clearly (the
SQLite file round trip is in test_engine)."""
import os
import shutil
import tempfile
import unittest

import trytond.config as config
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.transaction import Transaction

from .. import crypto, engine
from ..exceptions import RestoreRefused
from .tools import free_port

ON_POSTGRESQL = (os.environ.get('TRYTOND_DATABASE_URI') or '').startswith(
    'postgresql')


class BackupScreenTestCase(unittest.TestCase):
    modules = ['hub_backup', 'hub_notify']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        test_tryton.activate_module(cls.modules, lang='ru')
        cls.addClassCleanup(drop_db)
        cls.folder = tempfile.mkdtemp(prefix='hubbk-screen-')
        cls.addClassCleanup(shutil.rmtree, cls.folder, ignore_errors=True)
        path = config.get('database', 'path')

        def restore_config():
            config.remove_section('hub_backup')
            config.set('database', 'path', path)   # clears config's cache
        cls.addClassCleanup(restore_config)
        config.add_section('hub_backup')
        config.set('database', 'path', os.path.join(cls.folder, 'db'))
        config.set('hub_backup', 'folder', os.path.join(cls.folder, 'sets'))
        config.set('hub_backup', 'min_free_mb', '0')
        os.environ['HUB_BACKUP_KEY'] = crypto.new_key()
        cls.addClassCleanup(os.environ.pop, 'HUB_BACKUP_KEY', None)
        with cls.transaction():
            pool = Pool()
            pool.get('hub_sync.system').create([{'code': 'smtp',
                        'name': "Почта", 'base_url': 'smtp://127.0.0.1:1',
                        'notify_from': 'hub@example.ru'}])
            Configuration = pool.get('hub_backup.configuration')
            Configuration.write([Configuration(1)], {
                    'alert_email': 'admin@example.ru', 'to_cloud': True})

    @staticmethod
    def transaction():
        """A committed step, as an RPC call or a queue task would run (the
        settings' singleton table locked, as Tryton's retry would)"""
        return Transaction().start(DB_NAME, 1, context={'language': 'ru'},
            _lock_tables=['hub_backup_configuration'])

    def tearDown(self):
        shutil.rmtree(engine.Settings.from_config().folder,
            ignore_errors=True)
        with self.transaction():
            pool = Pool()
            for name in ['hub_backup.restore', 'hub_backup.backup',
                    'res.notification', 'hub_notify.message']:
                table = pool.get(name).__table__()
                Transaction().connection.cursor().execute(*table.delete())
            System = pool.get('hub_sync.system')
            System.delete(System.search([('code', '!=', 'smtp')]))

    def backup_now(self):
        with self.transaction():
            return Pool().get('hub_backup.backup').backup_now().id

    def run_queue(self):
        "What the queue task (or the catch-up cron) does after the commit"
        with self.transaction():
            Pool().get('hub_backup.backup').cron_queued()

    def read(self, model, record_id):
        "The record's stored values, read in a transaction of their own"
        from types import SimpleNamespace
        with self.transaction():
            Model = Pool().get(model)
            values, = Model.read([record_id], list(Model._fields))
            return SimpleNamespace(**values)

    def alerts(self):
        with self.transaction():
            pool = Pool()
            notes = [(n.user.login, n.label, n.description)
                for n in pool.get('res.notification').search([])]
            mails = [(m.recipient, m.subject, m.text)
                for m in pool.get('hub_notify.message').search([])]
            return notes, mails

    def drop_later(self, database):
        source = engine.Source.from_config(database)
        self.addCleanup(engine.drop, source)
        return source

    # -- making a backup -----------------------------------------------------
    def test_backup_now_is_queued_then_listed(self):
        backup_id = self.backup_now()
        backup = self.read('hub_backup.backup', backup_id)
        self.assertEqual((backup.state, backup.trigger, backup.database),
            ('queued', 'manual', DB_NAME))
        self.run_queue()
        backup = self.read('hub_backup.backup', backup_id)
        if not ON_POSTGRESQL:
            self.assertEqual(backup.state, 'failed')
            self.assertIn('находится в памяти', backup.error)
            return
        self.assertEqual(backup.state, 'done', backup.error)
        self.assertGreater(backup.size, 0)
        self.assertGreaterEqual(backup.duration, 0)
        self.assertIn(os.path.join(self.folder, 'sets'), backup.location)
        settings = engine.Settings.from_config()
        self.assertEqual(settings.local().list_sets(), [backup.set_id])
        manifest = settings.local().read_manifest(backup.set_id)
        self.assertEqual(manifest['tables']['hub_sync_system'], 1)
        self.assertIn('hub_notify', manifest['modules'])

    def test_failure_alerts_the_administrator(self):
        key = os.environ.pop('HUB_BACKUP_KEY')
        self.addCleanup(os.environ.__setitem__, 'HUB_BACKUP_KEY', key)
        backup_id = self.backup_now()
        self.run_queue()
        backup = self.read('hub_backup.backup', backup_id)
        self.assertEqual(backup.state, 'failed')
        notes, mails = self.alerts()
        label = f'Сбой резервного копирования базы «{DB_NAME}»'
        self.assertEqual([(u, l) for u, l, _ in notes], [('admin', label)])
        (recipient, subject, text), = mails
        self.assertEqual((recipient, subject), ('admin@example.ru', label))
        self.assertEqual(text, backup.error)
        if ON_POSTGRESQL:
            self.assertIn('Нет ключа шифрования', backup.error)

    def test_schedule(self):
        with self.transaction():
            pool = Pool()
            Configuration = pool.get('hub_backup.configuration')
            Backup = pool.get('hub_backup.backup')
            Backup.cron_scheduled()
            self.assertEqual(Backup.search([]), [])
            Configuration.write([Configuration(1)], {'frequency': 'daily'})
        for _ in range(2):
            with self.transaction():
                Pool().get('hub_backup.backup').cron_scheduled()
        with self.transaction():
            Configuration = Pool().get('hub_backup.configuration')
            Configuration.write([Configuration(1)], {'frequency': None})
            backups = Pool().get('hub_backup.backup').search([])
            self.assertEqual([(b.trigger, b.state != 'queued')
                    for b in backups], [('schedule', True)])

    def test_command_line_sets_are_listed(self):
        "a set made by bin/hub-backup (a systemd timer) shows up once"
        settings = engine.Settings.from_config()
        staging = settings.local().folder / 'x'
        staging.mkdir(parents=True)
        set_id = engine.new_set_id(DB_NAME)
        manifest = {'id': set_id, 'duration': 2.5, 'parts': [
                {'size': 3 * 2 ** 20}], 'tables': {'ir_module': 40},
            'filestore': {'files': 2}}
        engine.write_manifest(staging, manifest, settings.key())
        self.addCleanup(settings.local().delete_set, set_id)
        settings.local().put_set(set_id, staging)
        shutil.rmtree(staging)
        for _ in range(2):
            self.run_queue()
        with self.transaction():
            backup, = Pool().get('hub_backup.backup').search([])
            self.assertEqual((backup.set_id, backup.trigger, backup.state,
                    backup.size, backup.summary),
                (set_id, 'command', 'done', 3.0, '1 / 40 / 2'))

    def test_sets_only_in_the_cloud_are_listed(self):
        """a set in the bucket only (another server's, or its local copy
        lost) shows up once, from its manifest; restored from the cloud"""
        from .tools import S3Server
        s3 = S3Server().start()
        self.addCleanup(s3.stop)
        bucket = f'screen{os.getpid()}'
        cloud = s3.storage(bucket=bucket)
        for option, value in [('s3_bucket', bucket),
                ('s3_endpoint', s3.endpoint), ('s3_prefix', 'hub'),
                ('s3_attempts', '1')]:
            config.set('hub_backup', option, value)
        self.addCleanup(config.set, 'hub_backup', 's3_bucket', '')
        settings = engine.Settings.from_config()
        staging = settings.local().folder.parent / 'staging'
        staging.mkdir(parents=True)
        self.addCleanup(shutil.rmtree, staging, ignore_errors=True)
        ids = []
        for duration in (4.0, 5.0):
            set_id = engine.new_set_id(DB_NAME)
            manifest = {'id': set_id, 'duration': duration, 'parts': [
                    {'name': 'database.dump.enc', 'sha256': '0' * 64,
                        'size': 2 ** 20}], 'tables': {'ir_module': 40},
                'filestore': {'files': 3}}
            engine.write_manifest(staging, manifest, settings.key())
            cloud.put_set(set_id, staging)
            ids.append(set_id)
        # the second one is in the local folder too
        settings.local().folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, settings.local().folder / ids[1])
        # another database's set in the same bucket is not ours
        manifest['id'] = other = engine.new_set_id('other')
        engine.write_manifest(staging, manifest, settings.key())
        cloud.put_set(other, staging)
        for _ in range(2):
            self.run_queue()
        with self.transaction():
            backups = Pool().get('hub_backup.backup').search([],
                order=[('set_id', 'ASC')])
            self.assertEqual([(b.set_id, b.trigger, b.state, b.location,
                        b.duration) for b in backups], [
                    (ids[0], 'storage', 'done', str(cloud), 4.0),
                    (ids[1], 'command', 'done',
                        f'{settings.local()}, {cloud}', 5.0)])
            Backup = Pool().get('hub_backup.backup')
            self.assertEqual(dict(Backup.fields_get(['trigger'])['trigger'][
                        'selection'])['storage'], "Найдена в хранилище")
            only_cloud = backups[0].id
            both = backups[1].id
        # its restore is from the cloud; one in both from the local folder
        for backup_id, source in [(only_cloud, 'cloud'), (both, 'local')]:
            with self.transaction():
                pool = Pool()
                Wizard = pool.get('hub_backup.restore_wizard', type='wizard')
                with Transaction().set_context(
                        active_model='hub_backup.backup',
                        active_id=backup_id, active_ids=[backup_id]):
                    session_id, _, _ = Wizard.create()
                    defaults = Wizard(session_id).default_start(None)
                self.assertEqual(defaults['source'], source)

    @unittest.skipUnless(ON_POSTGRESQL, "the SQLite run's database is "
        "in memory")
    def test_retention_marks_removed_sets(self):
        with self.transaction():
            Configuration = Pool().get('hub_backup.configuration')
            Configuration.write([Configuration(1)], {'keep_count': 1})
        self.addCleanup(self.keep_count, 7)
        first = self.backup_now()
        self.run_queue()
        second = self.backup_now()
        self.run_queue()
        self.assertEqual(self.read('hub_backup.backup', first).state,
            'expired')
        self.assertEqual(self.read('hub_backup.backup', second).state, 'done')
        self.assertEqual(engine.Settings.from_config().local().list_sets(),
            [self.read('hub_backup.backup', second).set_id])

    def keep_count(self, count):
        with self.transaction():
            Configuration = Pool().get('hub_backup.configuration')
            Configuration.write([Configuration(1)], {'keep_count': count})

    # -- restore and verification --------------------------------------------
    def restore_wizard(self, backup_id, database, source='local'):
        with self.transaction():
            pool = Pool()
            Wizard = pool.get('hub_backup.restore_wizard', type='wizard')
            with Transaction().set_context(active_model='hub_backup.backup',
                    active_id=backup_id, active_ids=[backup_id]):
                session_id, _, _ = Wizard.create()
                wizard = Wizard(session_id)
                defaults = wizard.default_start(None)
                wizard.start.source = source
                wizard.start.database = database
                wizard.transition_queue()
            return defaults

    @unittest.skipUnless(ON_POSTGRESQL, "the SQLite run's database is "
        "in memory: test_engine covers SQLite files")
    def test_restore_into_a_new_database(self):
        backup_id = self.backup_now()
        self.run_queue()
        with self.transaction():
            # a row written after the backup is not in the copy
            Pool().get('hub_sync.system').create([{'code': 'sms',
                        'name': "СМС"}])
        target = f'{DB_NAME}_restored'
        self.drop_later(target)
        defaults = self.restore_wizard(backup_id, target)
        self.assertTrue(defaults['database'].startswith(
                f'{DB_NAME}_restored_'))
        self.run_queue()
        with self.transaction():
            pool = Pool()
            restore, = pool.get('hub_backup.restore').search([])
            self.assertEqual(restore.state, 'done', restore.result)
            self.assertTrue(restore.passed)
            self.assertIn('Проверка пройдена', restore.result)
            self.assertEqual(restore.backup.verification, 'passed')
        with engine.Source.from_config(target).connect() as conn:
            self.assertEqual(conn.execute('SELECT code FROM hub_sync_system '
                    'ORDER BY id').fetchall(), [('smtp',)])

    def test_restore_refuses_the_running_database(self):
        backup_id = self.backup_now()
        self.run_queue()
        backup = self.read('hub_backup.backup', backup_id)
        if backup.state != 'done':
            with self.assertRaises(RestoreRefused):
                self.restore_wizard(backup_id, 'hub_copy')
            return
        with self.assertRaises(RestoreRefused) as caught:
            self.restore_wizard(backup_id, DB_NAME)
        self.assertIn('не подходит для новой базы', str(caught.exception))

    @unittest.skipUnless(ON_POSTGRESQL, "the SQLite run's database is "
        "in memory")
    def test_verify_button_and_cloud_down(self):
        config.set('hub_backup', 's3_bucket', 'hub-backups')
        config.set('hub_backup', 's3_endpoint', f'http://127.0.0.1:{free_port()}')
        config.set('hub_backup', 's3_attempts', '2')
        config.set('hub_backup', 's3_retry_delay', '0.05')
        self.addCleanup(config.set, 'hub_backup', 's3_bucket', '')
        backup_id = self.backup_now()
        self.run_queue()
        backup = self.read('hub_backup.backup', backup_id)
        self.assertEqual(backup.state, 'partial')
        self.assertIn('Сохранена локально, но не скопирована в облако',
            backup.error)
        notes, mails = self.alerts()
        self.assertEqual(len(notes), 1)
        self.assertEqual(len(mails), 1)
        with self.transaction():
            Backup = Pool().get('hub_backup.backup')
            Backup.verify([Backup(backup_id)])
        self.run_queue()
        with self.transaction():
            restore, = Pool().get('hub_backup.restore').search([])
            self.assertTrue(restore.drill)
            self.assertTrue(restore.passed, restore.result)
            self.assertEqual(restore.backup.verification, 'passed')
            self.assertFalse(engine.Source.from_config(
                    restore.database).exists())
