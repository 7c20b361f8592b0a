"""Outbound messages: every change another system must hear of.

A module adds a kind of message by extending this model: its label in
``operation_labels`` and its handler, the method ``send_<operation>``.  The
queue and the cron call the handler until the remote system accepts, refuses
or the attempts run out.
"""
import uuid

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import without_check_access

from trytond.modules.hub_common import model_selection, utcnow

from .errors import ConfigurationError
from .processing import SyncQueueMixin


def new_key():
    return uuid.uuid4().hex


class Outbox(SyncQueueMixin, ModelSQL, ModelView):
    "Outbound Message"
    __name__ = 'hub_sync.outbox'
    _rec_name = 'operation'

    operation = fields.Char("Operation", required=True, readonly=True)
    operation_string = fields.Function(
        fields.Char("Exchange"), 'get_operation_string')
    record = fields.Reference("Record", selection='get_models',
        readonly=True)
    idempotency_key = fields.Char("Idempotency Key", required=True,
        readonly=True, strip=False)
    journal = fields.One2Many('hub_sync.journal', 'outbox', "Journal",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(table, table.system, table.idempotency_key),
                'hub_sync.msg_outbox_key_unique'),
            ]

    @classmethod
    def get_models(cls):
        return model_selection()

    @staticmethod
    def default_idempotency_key():
        return new_key()

    @classmethod
    def operation_labels(cls):
        """{operation: ir.message id of what users call it}; a module that
        adds a kind of message adds its label here"""
        return {}

    def get_operation_string(self, name=None):
        label = self.operation_labels().get(self.operation)
        return gettext(label) if label else self.operation

    def get_rec_name(self, name):
        return self.get_operation_string()

    @classmethod
    def enqueue(cls, system, operation, records, key=None):
        """A pending message per record, processed after the commit.

        Without key, a pending message of the same system, operation and
        record is reused (its key stays) and made due now.  With key (one
        record), the message of that key is returned if it exists."""
        if key is not None and len(records) != 1:
            raise ValueError("a key identifies the message of one record")
        with without_check_access():
            messages = [cls._coalesce(system, operation, r, key)
                for r in records]
        cls.push([m for m in messages if m.state == 'pending'])
        return messages

    @classmethod
    def _coalesce(cls, system, operation, record, key):
        if key is not None:
            domain = [('idempotency_key', '=', key)]
        else:
            domain = [
                ('operation', '=', operation),
                ('record', '=', str(record)),
                ('state', '=', 'pending'),
                ]
        existing = cls.search([('system', '=', system)] + domain, limit=1)
        if existing and key is None:
            message, = existing
            # Writing also makes this transaction conflict with an attempt
            # in progress: the RPC retry then creates a new message
            message.next_try = utcnow()
            message.save()
            return message
        if existing:
            return existing[0]
        message = cls(system=system, operation=operation, record=record,
            idempotency_key=key or new_key())
        message.save()
        return message

    def is_due(self):
        return super().is_due() and not self.waits_for_older()

    def waits_for_older(self):
        "Messages of one record go out in order"
        if not self.record:
            return False
        return bool(self.search([
                    ('system', '=', self.system),
                    ('record', '=', str(self.record)),
                    ('state', '=', 'pending'),
                    ('id', '<', self.id),
                    ], limit=1))

    def dispatch(self):
        return self.get_handler()()

    def get_handler(self):
        "The method that sends this message: send_<operation>"
        handler = getattr(self, f'send_{self.operation}', None)
        if handler is None:
            raise ConfigurationError(
                f'No handler for operation {self.operation!r}: no module '
                f'defines hub_sync.outbox.send_{self.operation}')
        return handler

    def refused(self, error):
        hook = getattr(type(self.record), 'hub_sync_refused', None)
        if self.record and hook:
            hook(self.record, self, error)

    def get_system(self):
        "The connection to send this message through"
        return Pool().get('hub_sync.system').get(self.system)

    def journal_values(self):
        return {'direction': 'out', 'operation': self.operation,
            'record': self.record, 'outbox': self.id}

    @classmethod
    def copy(cls, messages, default=None):
        default = default.copy() if default else {}
        default.setdefault('idempotency_key', lambda data: new_key())
        for name in ['last_error', 'result', 'done_date', 'journal']:
            default.setdefault(name, None)
        default.setdefault('state', 'pending')
        default.setdefault('attempts', 0)
        default.setdefault('attention', False)
        default.setdefault('next_try', lambda data: utcnow())
        return super().copy(messages, default=default)
