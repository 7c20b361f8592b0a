"""The sync journal: every attempt of every exchange, never changed.

Kept for a retention period (``[hub_sync] journal_days`` in trytond.conf,
180 days by default), then purged by a daily cron: an incremental stock
refresh alone may write an entry a minute.  The same cron drops the
messages and events finished before the retention period whose entries
are gone (pending and failed ones stay until a person settles them)."""
import datetime as dt

from trytond.config import config
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from .exceptions import JournalReadOnly
from trytond.modules.hub_common import model_selection, utcnow

from .system import SystemMixin


class Journal(SystemMixin, ModelSQL, ModelView):
    "Sync Journal Entry"
    __name__ = 'hub_sync.journal'
    _rec_name = 'summary'

    date = fields.DateTime("Date", required=True, readonly=True)
    direction = fields.Selection([
            ('out', "Outbound"),
            ('in', "Inbound"),
            ], "Direction", required=True, readonly=True)
    operation = fields.Char("Operation", readonly=True)
    record = fields.Reference("Record", selection='get_models',
        readonly=True)
    outbox = fields.Many2One('hub_sync.outbox', "Outbound Message",
        readonly=True, ondelete='RESTRICT')
    inbox = fields.Many2One('hub_sync.inbox', "Inbound Event",
        readonly=True, ondelete='RESTRICT')
    outcome = fields.Selection([
            ('ok', "Done"),
            ('retry', "Will Retry"),
            ('refused', "Refused"),
            ('error', "Error"),
            ('attention', "Needs Attention"),
            ], "Outcome", required=True, readonly=True, sort=False)
    http_status = fields.Integer("HTTP Status", readonly=True)
    summary = fields.Char("Summary", readonly=True)
    detail = fields.Text("Detail", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def get_models(cls):
        return model_selection()

    @classmethod
    def check_modification(cls, mode, entries, values=None, external=False):
        super().check_modification(
            mode, entries, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise JournalReadOnly(gettext('hub_sync.msg_journal_read_only'))

    @classmethod
    def add(cls, vlist):
        "Append entries (dicts of field values); the date is now"
        with without_check_access():
            return cls.create([{'date': utcnow(), **v} for v in vlist])

    @classmethod
    def purge(cls, days=None):
        """Cron: drop the entries older than the retention period, then the
        finished messages and events they were about"""
        pool = Pool()
        if days is None:
            days = config.getint('hub_sync', 'journal_days', default=180)
        before = utcnow() - dt.timedelta(days=days)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        # the retention is the system's, not a user's change of the log
        cursor.execute(*table.delete(where=table.date < before))
        for name, column in [('hub_sync.outbox', 'outbox'),
                ('hub_sync.inbox', 'inbox')]:
            pool.get(name).purge_finished(before, table, column)
