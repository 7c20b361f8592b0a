"""What the outbox and the inbox share: states, attempts, the retry policy,
one transaction per message, the queue, the cron catch-up and the buttons.

A message is attempted in its own transaction, which starts by locking its
row: a failing message neither rolls back the others nor commits anything of
the caller's (the queue task, the cron).  What a handler wrote is committed
with the outcome, or rolled back with the error.
"""
import datetime
import logging
import traceback

from sql import Literal
from sql.conditionals import Coalesce
from sql.operators import Exists

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model.exceptions import SQLConstraintError
from trytond.model import Index, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from trytond.modules.hub_common import utcnow

from .errors import PermanentError, SyncError, TransientError
from .exceptions import ConfigurationProblem
from .http import excerpt
from .retry import backoff
from .system import SystemMixin

logger = logging.getLogger(__name__)

STATES = [
    ('pending', "Pending"),
    ('done', "Done"),
    ('failed', "Refused"),
    ('cancelled', "Cancelled"),
    ]


def classify(error):
    """The journal outcome of an exception raised by a handler:

    * 'refused': the remote refused the content (PermanentError) or one of
      our own business rules refused the result (a UserError raised while
      applying it) — retrying cannot help, a person must fix and re-run;
    * 'retry': network, timeout, 5xx, rate limit, a lock conflict, a
      unique constraint another worker's insert won (the retry finds it);
    * 'error': our configuration or a bug — retried (an administrator may
      fix it meanwhile), logged with the traceback.
    Whatever the class, a message gives up after the connection's attempts.
    """
    if isinstance(error, ConfigurationProblem):
        return 'error'
    if isinstance(error, SQLConstraintError):
        return 'retry'
    if isinstance(error, (PermanentError, UserError)):
        return 'refused'
    if isinstance(error, (TransientError, backend.DatabaseOperationalError)):
        return 'retry'
    return 'error'


def summary(error):
    "One line for Char fields (remote texts may span several lines)"
    if isinstance(error, (SyncError, UserError)):
        text = error.message
    else:
        text = f'{type(error).__name__}: {error}'
    return excerpt(' '.join(str(text).split()), 250)


def detail(error):
    if isinstance(error, SyncError) and error.detail:
        return excerpt(error.detail, 8000)
    return excerpt(''.join(traceback.format_exception(error)), 8000)


class SyncQueueMixin(SystemMixin):
    __slots__ = ()
    _replay_states = ['pending', 'failed', 'cancelled']

    state = fields.Selection(STATES, "State", required=True, readonly=True,
        sort=False)
    state_string = state.translated('state')
    attempts = fields.Integer("Attempts", required=True, readonly=True)
    next_try = fields.DateTime("Next Try", readonly=True)
    attention = fields.Boolean("Needs Attention", readonly=True,
        help="Failed as many times as the connection allows and given up: "
        "check the connection or the data, then replay it.")
    last_error = fields.Text("Last Error", readonly=True)
    result = fields.Char("Result", readonly=True)
    done_date = fields.DateTime("Done", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_indexes.add(Index(table,
                (table.next_try, Index.Range(nulls_first=True)),
                where=table.state == 'pending'))
        cls._order = [('id', 'DESC')]
        cls._buttons.update({
                'replay': {
                    'invisible': ~Eval('state').in_(cls._replay_states),
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['pending', 'failed']),
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_state():
        return 'pending'

    @staticmethod
    def default_attempts():
        return 0

    @staticmethod
    def default_attention():
        return False

    @staticmethod
    def default_next_try():
        return utcnow()

    # -- processing ----------------------------------------------------------
    @classmethod
    def push(cls, records):
        """Have records processed after the commit, in the queue of their
        connection (queue_name)"""
        by_queue = {}
        for record in records:
            by_queue.setdefault(cls.queue_name(record.system), []).append(
                record)
        for name, queued in by_queue.items():
            with Transaction().set_context(queue_name=name):
                cls.__queue__.process(queued)

    @classmethod
    def queue_name(cls, system):
        """One queue per connection, 'hub_sync.<code>': a worker started
        without --name serves them all, one started with --name
        hub_sync.b24 that connection's only (a connection paced by its
        remote can have workers of its own)"""
        return f'hub_sync.{system}'

    @classmethod
    def process(cls, records):
        """Attempt each due record (the queue task and the cron call this).

        The caller must hold nothing uncommitted: on SQLite every transaction
        shares one connection."""
        for id_ in map(int, records):
            try:
                cls._attempt(id_)
            except backend.DatabaseOperationalError:
                # Row locked: another worker is on it, it will be seen to
                logger.info("%s %s busy, skipped", cls.__name__, id_)

    @classmethod
    def process_due(cls):
        "Cron: catch up with what the queue missed (outage, no worker)"
        with without_check_access():
            records = cls.search([
                    ('state', '=', 'pending'),
                    ['OR',
                        ('next_try', '=', None),
                        ('next_try', '<=', utcnow()),
                        ],
                    ], order=[('next_try', 'ASC NULLS FIRST'), ('id', 'ASC')])
        cls.process(records)

    def is_due(self):
        return self.state == 'pending' and (
            not self.next_try or self.next_try <= utcnow())

    @classmethod
    def _locked(cls, id_):
        # Tryton 8 takes row locks when a transaction starts (NOWAIT)
        return Transaction().new_transaction(
            _lock_records={cls._table: [id_]})

    @classmethod
    def _attempt(cls, id_):
        with cls._locked(id_) as transaction:
            record = cls(id_)
            if not record.is_due():
                return
            attempts = record.attempts
            try:
                result = record.dispatch()
            except Exception as error:
                transaction.rollback()      # what the handler wrote
                failure = error
            else:
                record.succeeded(result)
                return
        cls._record_failure(id_, attempts, failure)

    @classmethod
    def _record_failure(cls, id_, attempts, error):
        with cls._locked(id_):
            record = cls(id_)
            # Someone may have attempted it between both transactions
            if record.state == 'pending' and record.attempts == attempts:
                record.failed(error)

    def dispatch(self):
        "Call the handler; return its result (a remote id, a summary)"
        raise NotImplementedError

    def succeeded(self, result):
        self.state = 'done'
        self.attempts += 1
        self.result = None if result is None else excerpt(str(result), 250)
        self.done_date = utcnow()
        self.next_try = None
        self.attention = False
        self.save()
        self.log_attempt('ok', gettext('hub_sync.msg_journal_done',
                result=self.result or '—'))

    def failed(self, error):
        outcome = classify(error)
        if outcome == 'error':
            logger.error("%s %s failed", self.__name__, self.id,
                exc_info=error)
        self.attempts += 1
        self.last_error = summary(error)
        if outcome != 'refused' and self.attempts >= self.max_attempts():
            # nothing is retried forever: a person looks, fixes, replays
            self.attention = True
            outcome = 'attention'
        if outcome in {'refused', 'attention'}:
            self.state = 'failed'
            self.next_try = None
        else:
            self.next_try = utcnow() + datetime.timedelta(seconds=backoff(
                    self.attempts, getattr(error, 'retry_after', None)))
        self.save()
        self.log_attempt(outcome, summary(error), error)
        if outcome in {'refused', 'attention'}:
            self.refused(error)

    def refused(self, error):
        "The message failed for good: refused, or out of attempts"

    def max_attempts(self):
        System = Pool().get('hub_sync.system')
        with without_check_access():
            systems = System.search([('code', '=', self.system)], limit=1)
        return systems[0].max_attempts if systems else (
            System.default_max_attempts())

    def log_attempt(self, outcome, text, error=None):
        Journal = Pool().get('hub_sync.journal')
        Journal.add([{
                    **self.journal_values(),
                    'system': self.system,
                    'outcome': outcome,
                    'summary': text,
                    'http_status': getattr(error, 'status', None),
                    'detail': detail(error) if error else None,
                    }])

    def journal_values(self):
        "direction, operation, record and link of the journal entries"
        raise NotImplementedError

    # -- retention -----------------------------------------------------------
    @classmethod
    def purge_finished(cls, before, journal, column):
        """Drop the records done or cancelled before `before` that no row of
        the journal's table points at (by its `column`).

        An event dropped here is no longer known by its id: the retention
        ([hub_sync] journal_days) outlasts any provider's redelivery."""
        table, record = cls.__table__(), cls.__table__()
        finished = Coalesce(record.done_date, record.write_date,
            record.create_date)
        # (DELETE cannot alias its table: the correlated test is made in a
        # sub-select of its own)
        purged = record.select(record.id, where=(
                record.state.in_(['done', 'cancelled'])
                & (finished < before)
                & ~Exists(journal.select(Literal(1),
                        where=getattr(journal, column) == record.id))))
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(where=table.id.in_(purged)))

    # -- buttons -------------------------------------------------------------
    @classmethod
    @ModelView.button
    def replay(cls, records):
        "Due now, with a fresh count of attempts"
        records = [r for r in records if r.state in cls._replay_states]
        cls.write(records, {
                'state': 'pending', 'next_try': utcnow(), 'attempts': 0,
                'attention': False})
        cls.push(records)

    @classmethod
    @ModelView.button
    def cancel(cls, records):
        cls.write([r for r in records if r.state in {'pending', 'failed'}], {
                'state': 'cancelled', 'next_try': None, 'attention': False})
