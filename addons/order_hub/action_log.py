"""The order's action log: who did what to an order, when, from where.

Entries are written by the code that makes a change (never by views) and
cannot be changed or deleted.  Other modules add their events with
``ActionLog.add`` and the context key ``hub_source`` naming the system.
"""
import datetime
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.transaction import Transaction

from .exceptions import ActionLogReadOnly
from .bulk import insert_rows

# the hub's own sources; each integration appends its system in __setup__
SOURCES = [
    ('hub', "Hub"),
    ('system', "Hub (automatic)"),
    ]

KINDS = [
    ('created', "Order Created"),
    ('field', "Field Changed"),
    ('status', "Status Changed"),
    ('line_added', "Line Added"),
    ('line_changed', "Line Changed"),
    ('line_removed', "Line Removed"),
    ('promo_code', "Promo Code"),
    ('pricing', "Prices and Totals"),
    ('reservation', "Reservation"),
    ('exchange', "Exchange"),
    ('transfer', "Transfer"),
    ('other', "Other"),
    ]


class ActionLog(ModelSQL, ModelView):
    "Order Action"
    __name__ = 'order_hub.action_log'

    order = fields.Many2One(
        'order_hub.order', "Order", required=True, readonly=True,
        ondelete='CASCADE')
    date = fields.DateTime("Date", required=True, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    source = fields.Selection(SOURCES, "Source", required=True, readonly=True)
    source_string = source.translated('source')
    kind = fields.Selection(KINDS, "Action", required=True, readonly=True)
    description = fields.Text("Description", required=True, readonly=True)
    actor = fields.Function(fields.Char("Who"), 'get_actor')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('order')

    def get_actor(self, name):
        if self.source == 'hub' and self.user:
            return self.user.rec_name
        if self.source in {'hub', 'system'}:
            return gettext('order_hub.msg_actor_system')
        return gettext('order_hub.msg_actor_external',
            system=self.source_string)

    @classmethod
    def check_modification(cls, mode, entries, values=None, external=False):
        super().check_modification(
            mode, entries, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise ActionLogReadOnly(gettext('order_hub.msg_action_log_read_only'))

    @staticmethod
    def current_source():
        transaction = Transaction()
        source = transaction.context.get('hub_source')
        if source:
            return source
        return 'system' if not transaction.user else 'hub'

    @classmethod
    def add(cls, entries):
        "Record entries: an iterable of (order, kind, description)"
        source = cls.current_source()
        user = Transaction().user or None
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        vlist = [{
                'order': int(order), 'kind': kind, 'description': description,
                'source': source, 'user': user, 'date': now,
                } for order, kind, description in entries]
        insert_rows(cls, vlist)


def format_value(record, name, value):
    "Render a field value the way a Russian user reads it in the log"
    field = record._fields[name]
    if value is None or value == '':
        return '—'
    if field._type == 'selection':
        return dict(record.fields_get([name])[name]['selection']).get(
            value, value)
    if field._type == 'many2one':
        return value.rec_name
    if field._type == 'boolean':
        return gettext('order_hub.msg_yes' if value else 'order_hub.msg_no')
    if isinstance(value, Decimal):
        return format_number(value)
    return str(value)


def format_number(value):
    "Decimal in Russian notation: 1 234,5 (no trailing zeros for integers)"
    text = f'{value:,f}'
    if '.' in text:
        text = text.rstrip('0').rstrip('.')
    return text.replace(',', '\u00a0').replace('.', ',')
