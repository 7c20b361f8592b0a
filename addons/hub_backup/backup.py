"""Backups and restores as records: made by a schedule, by hand or from
the command line; run by the queue outside the user's request, with no
Tryton transaction held open while the database is dumped or restored."""
import datetime as dt
import json
import logging

from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.hub_common import utcnow
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateAction, StateTransition, StateView, \
    Wizard

from . import crypto, engine
from .errors import BackupError
from .exceptions import RestoreRefused
from .messages import error_text, verification_text

logger = logging.getLogger(__name__)

INTERVALS = {'hourly': dt.timedelta(hours=1), 'daily': dt.timedelta(days=1)}
# a job still "running" after this long died with its process
STALE_AFTER = dt.timedelta(hours=6)
QUEUE = 'hub_backup'


def translate(msg_id, **params):
    return gettext(f'hub_backup.{msg_id}', **params)


def describe(error):
    if isinstance(error, BackupError):
        return error_text(error, translate)
    return translate('msg_unexpected', error=str(error) or repr(error))


class Job:
    "What backups and restores share: state kept by the job itself"
    __slots__ = ()

    def _save_state(self, **values):
        # the job's own bookkeeping: no access check, no rules, no log
        table = self.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [getattr(table, n) for n in values], list(values.values()),
                where=table.id == self.id))
        for name, value in values.items():
            setattr(self, name, value)

    def _claim(self):
        "Queued → running, by one job only (the queue and the cron race)"
        table = self.__table__()
        cursor = Transaction().connection.cursor()
        now = utcnow()
        cursor.execute(*table.update([table.state, table.started],
                ['running', now],
                where=(table.id == self.id) & (table.state == 'queued')))
        if cursor.rowcount != 1:
            return False
        self.state, self.started = 'running', now
        Transaction().commit()
        return True


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Backup Settings"
    __name__ = 'hub_backup.configuration'

    frequency = fields.Selection([
            (None, "Off"),
            ('hourly', "Every Hour"),
            ('daily', "Every Day"),
            ], "Schedule")
    keep_count = fields.Integer("Keep Last",
        help="How many of the newest backups to keep in each storage "
        "(0: no limit by count).")
    keep_days = fields.Integer("Keep Days",
        help="Backups older than this are removed from each storage "
        "(0: no limit by age). The newest backup is always kept.")
    to_cloud = fields.Boolean("Copy to Cloud Storage")
    alert_email = fields.Char("Alert E-mail",
        help="Where failures of backups and restores are sent.")
    local_folder = fields.Function(fields.Char("Local Folder"),
        'get_settings')
    cloud_storage = fields.Function(fields.Char("Cloud Storage"),
        'get_settings')
    key_status = fields.Function(fields.Char("Encryption Key"),
        'get_settings')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({'backup_now': {}})

    @classmethod
    def default_keep_count(cls):
        return 7

    @classmethod
    def default_keep_days(cls):
        return 30

    @classmethod
    def default_to_cloud(cls):
        return True

    @classmethod
    def get_settings(cls, configurations, names):
        settings = engine.Settings.from_config()
        try:
            key = translate('msg_key_set',
                key_id=crypto.key_id(settings.key()).hex())
        except BackupError as error:
            key = describe(error)
        cloud = settings.cloud()
        values = {'local_folder': settings.folder,
            'cloud_storage': str(cloud) if cloud else translate('msg_no_cloud'),
            'key_status': key}
        return {n: {c.id: values[n] for c in configurations} for n in names}

    @classmethod
    @ModelView.button_action('hub_backup.act_backup_form')
    def backup_now(cls, configurations):
        Pool().get('hub_backup.backup').backup_now()


class Backup(Job, ModelSQL, ModelView):
    "Backup"
    __name__ = 'hub_backup.backup'
    _rec_name = 'set_id'

    set_id = fields.Char("Backup Set", readonly=True)
    database = fields.Char("Database", readonly=True)
    trigger = fields.Selection([
            ('manual', "By Hand"),
            ('schedule', "Schedule"),
            ('command', "Command Line"),
            ('storage', "Found in Storage"),
            ], "Made By", readonly=True,
        help="Found in Storage: a set only in the cloud storage (made by "
        "another server, or its local copy is gone).")
    state = fields.Selection([
            ('queued', "Queued"),
            ('running', "Running"),
            ('done', "Done"),
            ('partial', "Saved Locally Only"),
            ('failed', "Failed"),
            ('expired', "Removed by Retention"),
            ], "State", required=True, readonly=True, sort=False)
    started = fields.DateTime("Started", readonly=True)
    finished = fields.DateTime("Finished", readonly=True)
    duration = fields.Float("Time Taken, s", digits=(16, 1), readonly=True)
    size = fields.Float("Size, MB", digits=(16, 2), readonly=True)
    location = fields.Char("Stored In", readonly=True)
    error = fields.Text("Error", readonly=True)
    summary = fields.Char("Contents", readonly=True)
    manifest = fields.Text("Manifest", readonly=True)
    verification = fields.Selection([
            (None, "Not Verified"),
            ('passed', "Passed"),
            ('failed', "Failed"),
            ], "Last Verification", readonly=True, sort=False)
    verified = fields.DateTime("Verified", readonly=True)
    verification_text = fields.Text("Verification Result", readonly=True)
    restores = fields.One2Many('hub_backup.restore', 'backup', "Restores",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        done = ~Eval('state').in_(['done', 'partial'])
        cls._buttons.update({
                'restore': {'invisible': done, 'depends': ['state']},
                'verify': {'invisible': done, 'depends': ['state']},
                })

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_trigger(cls):
        return 'manual'

    # -- starting ----------------------------------------------------------
    @classmethod
    def backup_now(cls, trigger='manual'):
        "Queue a backup of this database (run after the commit, or by cron)"
        with without_check_access():
            backup, = cls.create([{'trigger': trigger,
                        'database': Transaction().database.name}])
        with Transaction().set_context(queue_name=QUEUE):
            cls.__queue__.execute([backup])
        return backup

    @classmethod
    @ModelView.button_action('hub_backup.wizard_restore')
    def restore(cls, backups):
        pass

    @classmethod
    @ModelView.button
    def verify(cls, backups):
        "Restore into a scratch database, compare, drop it"
        Restore = Pool().get('hub_backup.restore')
        Restore.queue([{'backup': b.id, 'drill': True,
                    'database': f'{b.database}_verify_{b.id}'}
                for b in backups])

    @classmethod
    def cron_scheduled(cls):
        Configuration = Pool().get('hub_backup.configuration')
        interval = INTERVALS.get(Configuration(1).frequency)
        if not interval:
            return
        last = cls.search([('trigger', '=', 'schedule')],
            order=[('id', 'DESC')], limit=1)
        # a few minutes early rather than a whole cron period late
        if last and last[0].create_date > utcnow() - interval + (
                dt.timedelta(minutes=5)):
            return
        cls.execute([cls.backup_now('schedule')])

    @classmethod
    def cron_queued(cls):
        """Catch up: jobs nobody ran (no queue worker, a crash); list the
        command line's sets"""
        Restore = Pool().get('hub_backup.restore')
        cls.import_sets()
        cls.execute(cls.search([('state', '=', 'queued')],
                order=[('id', 'ASC')]))
        Restore.execute(Restore.search([('state', '=', 'queued')],
                order=[('id', 'ASC')]))

    # -- running -----------------------------------------------------------
    @classmethod
    def execute(cls, backups):
        for backup in backups:
            backup = cls(backup.id)
            if backup.state == 'queued' and not cls._busy():
                backup._execute()

    @classmethod
    def _busy(cls):
        return bool(cls.search([('state', '=', 'running'),
                    ('started', '>', utcnow() - STALE_AFTER)]))

    def _execute(self):
        transaction = Transaction()
        if not self._claim():
            return
        try:
            settings = engine.Settings.from_config()
            outcome = engine.backup(self.source(), self.storages(settings),
                settings.key(), min_free_mb=settings.min_free_mb)
        except Exception as error:
            transaction.rollback()
            if not isinstance(error, BackupError):
                logger.exception("backup %s failed", self.id)
            self._save_state(state='failed', finished=utcnow(),
                error=describe(error))
            self.alert([self], describe(error))
        else:
            self._save_state(**self.outcome_values(outcome))
            self._save_state(**self.apply_retention(settings, outcome))
            if self.state == 'partial':
                self.alert([self], self.error)
        transaction.commit()

    def source(self):
        return engine.Source.from_config(self.database,
            self.store_prefixes())

    @classmethod
    def store_prefixes(cls):
        """The store_prefix of every binary field kept in the file store
        apart from the database's folder (the activated modules')"""
        prefixes = set()
        for _, Model in Pool().iterobject():
            for field in getattr(Model, '_fields', {}).values():
                prefix = getattr(field, 'store_prefix', None)
                if prefix is not None and getattr(field, 'file_id', None):
                    prefixes.add(prefix)
        return prefixes

    def stored_locally(self):
        "Whether the set is in the local folder (else restored from the cloud)"
        local = engine.Settings.from_config().local()
        return bool(local and self.set_id
            and self.set_id in local.list_sets())

    @classmethod
    def storages(cls, settings):
        Configuration = Pool().get('hub_backup.configuration')
        if Configuration(1).to_cloud:
            return settings.storages()
        return [settings.local()]

    @classmethod
    def manifest_values(cls, manifest):
        return {
            'set_id': manifest['id'], 'duration': manifest['duration'],
            'size': round(sum(p['size'] for p in manifest['parts'])
                / 2 ** 20, 2),
            'summary': f"{len(manifest['tables'])} / "
            f"{sum(manifest['tables'].values())} / "
            f"{manifest['filestore']['files']}",
            'manifest': json.dumps(manifest, indent=1, ensure_ascii=False),
            }

    def outcome_values(self, outcome):
        reason = '; '.join(describe(e) for e in outcome.failed.values())
        return {**self.manifest_values(outcome.manifest),
            'state': 'partial' if outcome.failed else 'done',
            'finished': utcnow(),
            'location': ', '.join(str(s) for s in outcome.stored),
            'error': translate('msg_cloud_failed', reason=reason)
            if outcome.failed else None,
            }

    @classmethod
    def import_sets(cls):
        """List the sets of this database nobody recorded here, once each:
        those the command line made in the local folder (a systemd timer's
        backups, say) and those only in the cloud storage (another
        server's, or a local copy lost with its disk), from their
        manifests"""
        settings = engine.Settings.from_config()
        database = Transaction().database.name
        if cls._busy():     # a job's set before its record
            return
        known = {b.set_id for b in cls.search([('set_id', '!=', None)])}
        local, cloud = settings.local(), settings.cloud()
        in_local = set(engine.sets_of(local, database)) if local else set()
        in_cloud = set()
        if cloud:
            # the cron asks every minute: once, no back-off while it is down
            cloud.attempts = 1
            try:
                in_cloud = set(engine.sets_of(cloud, database))
            except BackupError as error:
                logger.info("cloud sets not listed: %s", describe(error))
        vlist = []
        for set_id in sorted((in_local | in_cloud) - known):
            storage = local if set_id in in_local else cloud
            try:
                manifest = storage.read_manifest(set_id)
                values = cls.manifest_values(manifest)
            except (BackupError, ValueError, KeyError):
                continue
            where = [s for s, sets in ((local, in_local), (cloud, in_cloud))
                if set_id in sets]
            made = engine.set_time(set_id[len(database):])
            vlist.append({**values, 'database': database,
                    'trigger': 'command' if set_id in in_local else 'storage',
                    'state': 'done', 'started': made,
                    'finished': made + dt.timedelta(
                        seconds=manifest['duration']),
                    'location': ', '.join(str(s) for s in where)})
        if vlist:
            with without_check_access():
                cls.create(vlist)

    def apply_retention(self, settings, outcome):
        Configuration = Pool().get('hub_backup.configuration')
        config = Configuration(1)
        problems = [self.error] if self.error else []
        deleted = set()
        for storage in outcome.stored:
            try:
                deleted.update(engine.apply_retention(storage, self.database,
                        keep=config.keep_count,
                        max_age_days=config.keep_days))
            except BackupError as error:
                problems.append(translate('msg_retention_failed',
                        storage=str(storage), reason=describe(error)))
        # the same rules apply everywhere: gone from one storage, gone
        for expired in self.search([('set_id', 'in', list(deleted))]):
            expired._save_state(state='expired')
        return {'error': '\n'.join(problems) or None}

    @classmethod
    def alert(cls, records, text):
        """Tell the backup administrators in the hub (hub_notify adds an
        e-mail); called with the failure committed or about to be"""
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        group = ModelData.get_id('hub_backup', 'group_backup_admin')
        with without_check_access():
            users = User.search([('groups', '=', group)])
        for record in records:
            label = record.alert_label()
            for user in users:
                record.notify_user(
                    'tryton-warning', label, text[:250], user=user.id)
        logger.warning("%s", text)

    def alert_label(self):
        return translate('msg_alert_backup', database=self.database)

    def storage(self, where):
        settings = engine.Settings.from_config()
        storage = settings.cloud() if where == 'cloud' else settings.local()
        if storage is None:
            raise RestoreRefused(translate('msg_no_cloud'))
        return storage, settings


class Restore(Job, ModelSQL, ModelView):
    "Restore"
    __name__ = 'hub_backup.restore'

    backup = fields.Many2One('hub_backup.backup', "Backup", required=True,
        readonly=True, ondelete='CASCADE')
    source = fields.Selection([
            ('local', "Local Folder"),
            ('cloud', "Cloud Storage"),
            ], "From", required=True, readonly=True)
    database = fields.Char("New Database", required=True, readonly=True)
    drill = fields.Boolean("Verification Only", readonly=True,
        help="The database is restored, compared with the manifest "
        "and removed.")
    state = fields.Selection([
            ('queued', "Queued"),
            ('running', "Running"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True, sort=False)
    passed = fields.Boolean("Verification Passed", readonly=True)
    started = fields.DateTime("Started", readonly=True)
    finished = fields.DateTime("Finished", readonly=True)
    result = fields.Text("Result", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_source(cls):
        return 'local'

    @classmethod
    def queue(cls, values):
        for value in values:
            cls.check_database(value['database'])
        with without_check_access():
            restores = cls.create(values)
        with Transaction().set_context(queue_name=QUEUE):
            cls.__queue__.execute(restores)
        return restores

    @classmethod
    def check_database(cls, name):
        "Refuse at once what the job would refuse (the name, the running one)"
        if not engine.NAME.match(name or '') or (
                name == Transaction().database.name):
            raise RestoreRefused(translate('msg_bad_target', database=name))

    @classmethod
    def execute(cls, restores):
        Backup = Pool().get('hub_backup.backup')
        for restore in restores:
            restore = cls(restore.id)
            if restore.state == 'queued' and not Backup._busy():
                restore._execute()

    def _execute(self):
        transaction = Transaction()
        if not self._claim():
            return
        backup = self.backup
        try:
            storage, settings = backup.storage(self.source)
            target = backup.source().named(self.database)
            manifest, result = engine.restore(storage, backup.set_id, target,
                settings.key(), forbidden={transaction.database.name},
                jobs=settings.jobs)
            if self.drill:
                engine.drop(target)
        except Exception as error:
            transaction.rollback()
            if not isinstance(error, BackupError):
                logger.exception("restore %s failed", self.id)
            self._save_state(state='failed', finished=utcnow(),
                passed=False, result=describe(error))
            self.record_verification(backup, 'failed', self.result)
            backup.alert([self], self.result)
        else:
            text = verification_text(result, backup.set_id, translate)
            self._save_state(state='done', finished=utcnow(),
                passed=result.ok, result=text)
            self.record_verification(backup,
                'passed' if result.ok else 'failed', text)
            if not result.ok:
                backup.alert([self], text)
        transaction.commit()

    @staticmethod
    def record_verification(backup, outcome, text):
        backup._save_state(verification=outcome, verified=utcnow(),
            verification_text=text)

    def alert_label(self):
        return translate('msg_alert_restore', set=self.backup.set_id,
            database=self.database)



class RestoreStart(ModelView):
    "Restore into a New Database"
    __name__ = 'hub_backup.restore.start'

    backup = fields.Many2One('hub_backup.backup', "Backup", readonly=True)
    source = fields.Selection([
            ('local', "Local Folder"),
            ('cloud', "Cloud Storage"),
            ], "From", required=True)
    database = fields.Char("New Database", required=True,
        help="A database that does not exist yet; the running one is "
        "never overwritten.")


class RestoreWizard(Wizard):
    "Restore into a New Database"
    __name__ = 'hub_backup.restore_wizard'

    start = StateView('hub_backup.restore.start',
        'hub_backup.restore_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Restore", 'queue', 'tryton-ok', default=True),
            ])
    queue = StateTransition()

    def default_start(self, fields):
        backup = self.record
        if backup.state not in {'done', 'partial'}:
            raise RestoreRefused(translate('msg_not_done'))
        stamp = (backup.started or utcnow()).strftime('%Y%m%d_%H%M')
        return {'backup': backup.id,
            'source': 'local' if backup.stored_locally() else 'cloud',
            'database': f'{backup.database}_restored_{stamp}'}

    def transition_queue(self):
        Pool().get('hub_backup.restore').queue([{
                    'backup': self.record.id, 'source': self.start.source,
                    'database': self.start.database}])
        return 'end'


class CreateNow(Wizard):
    "Make a Backup Now"
    __name__ = 'hub_backup.create_now'

    start = StateTransition()
    open_ = StateAction('hub_backup.act_backup_form')

    def transition_start(self):
        Pool().get('hub_backup.backup').backup_now()
        return 'open_'

    def do_open_(self, action):
        return action, {}
