"""Inbound events: webhooks and polled changes, stored raw, processed once.

A bridge's route authenticates the call and hands the event to
``Inbox.receive``; the bridge's handler, the method
``apply_<system>_<event type>`` (or ``apply_<system>`` for every type) of
this model, applies it from the queue.  The same event id received twice is
stored once.
"""
import json
import re

from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.transaction import without_check_access

from trytond.modules.hub_common import utcnow

from .errors import ConfigurationError
from .processing import SyncQueueMixin


class Inbox(SyncQueueMixin, ModelSQL, ModelView):
    "Inbound Event"
    __name__ = 'hub_sync.inbox'
    _rec_name = 'event_id'
    # Applying an event again must leave the same state: done ones replay too
    _replay_states = ['pending', 'failed', 'cancelled', 'done']

    event_id = fields.Char("Event ID", required=True, readonly=True,
        strip=False)
    event_type = fields.Char("Event Type", required=True, readonly=True)
    payload = fields.Text("Payload", readonly=True)
    received = fields.DateTime("Received", required=True, readonly=True)
    journal = fields.One2Many('hub_sync.journal', 'inbox', "Journal",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('event_unique', Unique(table, table.system, table.event_id),
                'hub_sync.msg_inbox_event_unique'),
            ]

    @staticmethod
    def default_received():
        return utcnow()

    @classmethod
    def receive(cls, system, event_id, event_type, payload):
        """Store an event once; return (event, created).

        payload is the raw body (str), or data to store as JSON."""
        if not isinstance(payload, str):
            payload = json.dumps(payload, ensure_ascii=False)
        with without_check_access():
            events = cls.search([
                    ('system', '=', system),
                    ('event_id', '=', str(event_id)),
                    ], limit=1)
            if events:
                return events[0], False
            event, = cls.create([{
                        'system': system, 'event_id': str(event_id),
                        'event_type': event_type, 'payload': payload,
                        }])
        cls.push([event])
        return event, True

    def data(self):
        "The payload decoded from JSON"
        return json.loads(self.payload or 'null')

    def dispatch(self):
        return self.get_handler()()

    def get_handler(self):
        "apply_<system>_<event type>, else apply_<system>"
        names = [f'apply_{self.system}_{self.event_type}',
            f'apply_{self.system}']
        for name in names:
            handler = getattr(self, re.sub(r'\W', '_', name), None)
            if handler is not None:
                return handler
        raise ConfigurationError(f'No handler for {self.system!r} events '
            f'{self.event_type!r}: no module defines hub_sync.inbox.'
            + ' or '.join(names))

    def journal_values(self):
        return {'direction': 'in', 'operation': self.event_type,
            'inbox': self.id}
