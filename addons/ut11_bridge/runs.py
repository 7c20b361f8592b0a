"""Loads from 1C UT11 as records: started from the client or a schedule,
run by the queue, with their progress visible while they run.

A full load of 100,000 products takes minutes: the run commits what it
loaded every few seconds together with its progress, so other users see
it advance and a failure keeps what was loaded (the next run continues:
everything is keyed by 1C GUIDs and unchanged products are skipped).
"""
import logging
import time

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.hub_sync.errors import TransientError
from trytond.modules.hub_sync.processing import detail, summary
from trytond.modules.hub_common import utcnow
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .catalogue import STAGES

logger = logging.getLogger(__name__)

# share of a full load's time each stage ends at (measured: stock is half)
FULL_PROGRESS = {'warehouses': (0, .01), 'counterparties': (.01, .02),
    'products': (.02, .4), 'characteristics': (.4, .42),
    'barcodes': (.42, .46),
    'prices': (.46, .5), 'stock': (.5, 1)}
COMMIT_EVERY = 3   # seconds
# a run still "running" after this long died with its process
STALE_AFTER = 3 * 3600


class LoadRun(ModelSQL, ModelView):
    "Load from 1C UT11"
    __name__ = 'ut11_bridge.load_run'

    kind = fields.Selection([
            ('full', "Catalogue, Prices and Stock"),
            ('stock', "Free Stock Only"),
            ], "What", required=True,
        states={'readonly': Eval('id', -1) >= 0})
    state = fields.Selection([
            ('queued', "Queued"),
            ('running', "Running"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True, sort=False)
    stage = fields.Char("Stage", readonly=True)
    progress = fields.Float("Progress", digits=(1, 2), readonly=True)
    started = fields.DateTime("Started", readonly=True)
    finished = fields.DateTime("Finished", readonly=True)
    summary = fields.Text("Loaded", readonly=True)
    error = fields.Text("Error", readonly=True)
    error_detail = fields.Text("Technical Detail", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        cls._buttons.update({
                'retry': {
                    'invisible': Eval('state') != 'failed',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_kind(cls):
        return 'full'

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_progress(cls):
        return 0.0

    @classmethod
    def create(cls, vlist):
        runs = super().create(vlist)
        with Transaction().set_context(queue_name='ut11_load'):
            cls.__queue__.execute(runs)
        return runs

    @classmethod
    @ModelView.button
    def retry(cls, runs):
        cls.create([{'kind': r.kind} for r in runs])

    # -- running -----------------------------------------------------------
    @classmethod
    def execute(cls, runs):
        "Run the queued ones, one at a time (the queue and the cron call it)"
        for run in runs:
            run = cls(run.id)
            if run.state == 'queued' and not cls._busy():
                run._execute()

    @classmethod
    def execute_queued(cls):
        "Cron: runs nobody executed (no queue worker, a crash)"
        cls.execute(cls.search([('state', '=', 'queued')], order=[
                    ('id', 'ASC')]))

    @classmethod
    def cron_load_catalogue(cls):
        cls.execute(cls.create([{'kind': 'full'}]))

    @classmethod
    def cron_refresh_stock(cls):
        cls.execute(cls.create([{'kind': 'stock'}]))

    @classmethod
    def cron_refresh_changed_stock(cls):
        """Cron: free stock of what moved in 1C since the previous refresh.

        No run record: one a minute would bury the loads people look for.
        What it wrote, or why it failed, goes to the sync journal; after a
        failure the next refresh reads from the same point.  It waits while
        a load runs (the load moves the same mark)."""
        pool = Pool()
        System = pool.get('hub_sync.system')
        Loader = pool.get('ut11_bridge.loader')
        if cls._busy() or not System.search([('code', '=', 'ut11')]):
            return
        try:
            counts = Loader.refresh_changed_stock()
        except Exception as error:
            Transaction().rollback()
            logger.exception("1C UT11 stock refresh failed")
            cls._journal_refresh('retry' if isinstance(error, TransientError)
                else 'error', summary(error), detail(error))
        else:
            if counts and counts['products']:
                cls._journal_refresh('ok', gettext(
                        'ut11_bridge.msg_stock_refreshed', **counts))

    @classmethod
    def _journal_refresh(cls, outcome, summary, detail=None):
        Pool().get('hub_sync.journal').add([{'system': 'ut11',
                    'direction': 'in', 'operation': 'ut11_stock_changes',
                    'outcome': outcome, 'summary': summary,
                    'detail': detail}])

    @classmethod
    def _busy(cls):
        running = cls.search([('state', '=', 'running')])
        now = utcnow()
        return any((now - r.started).total_seconds() < STALE_AFTER
            for r in running if r.started)

    def _execute(self):
        Loader = Pool().get('ut11_bridge.loader')
        transaction = Transaction()
        self._save_state(state='running', started=utcnow(), progress=0,
            stage=None, error=None, error_detail=None)
        transaction.commit()
        last = time.monotonic()

        def progress(stage, count, total=None):
            nonlocal last
            values = {'stage': self.stage_text(stage, count, total),
                'progress': self.fraction(stage, count, total)}
            self._save_state(**values)
            if time.monotonic() - last >= COMMIT_EVERY:
                transaction.commit()
                last = time.monotonic()
        try:
            counts = Loader.load(stock_only=self.kind == 'stock',
                progress=progress)
        except Exception as error:
            transaction.rollback()
            logger.exception("1C UT11 load %s failed", self.id)
            self._save_state(state='failed', finished=utcnow(),
                error=gettext('ut11_bridge.msg_load_failed',
                    error=summary(error)),
                error_detail=detail(error))
            Pool().get('hub_sync.journal').add([{
                        'system': 'ut11', 'direction': 'in',
                        'operation': 'ut11_load', 'outcome': 'error',
                        'summary': summary(error),
                        'detail': detail(error)}])
        else:
            self._save_state(state='done', finished=utcnow(), progress=1,
                stage=None, summary=Loader.describe(counts))
        transaction.commit()

    def _save_state(self, **values):
        # runs are the loader's own records: no access check, no rules
        table = self.__table__()
        columns = [getattr(table, name) for name in values]
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(columns, list(values.values()),
                where=table.id == self.id))
        for name, value in values.items():
            setattr(self, name, value)

    @staticmethod
    def stage_text(stage, count, total=None):
        name = gettext(STAGES[stage]) if stage in STAGES else stage
        if total:
            return gettext('ut11_bridge.msg_stage_of', stage=name,
                count=count, total=total)
        return gettext('ut11_bridge.msg_stage_count', stage=name,
            count=count)

    def fraction(self, stage, count, total=None):
        if self.kind == 'stock':
            start, end = 0, 1
        else:
            start, end = FULL_PROGRESS.get(stage, (0, 0))
        done = min(count / total, 1) if total else 1
        return round(start + (end - start) * done, 2)
