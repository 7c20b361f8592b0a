"""Payments and refunds of orders, whatever the provider.

A provider module adds its code to ``provider`` and implements the hooks
``Payment.send`` (create a payment link), ``send_capture``, ``send_cancel``,
``Refund.send`` and ``Receipt.send`` (receipt.py), which queue the calls;
its handlers report back through ``Payment.set_provider_state``,
``Refund.set_provider_state`` and ``Receipt.set_provider_state``.  Business
rules (when an order is paid, what may be refunded, which receipt is due)
live here, not in the provider module.
"""
import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal

from sql import For, Null

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.currency.fields import Monetary
from trytond.modules.order_hub.action_log import format_number
from trytond.modules.order_hub.pricing import format_money
from trytond.modules.hub_common import utcnow
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools.timezone import get_tzinfo
from trytond.transaction import Transaction

from . import fiscal
from .exceptions import PaymentError, RefundError

PAYMENT_STATES = [
    ('draft', "Draft"),
    ('pending', "Awaiting Payment"),
    ('waiting_for_capture', "Held, Awaiting Capture"),
    ('succeeded', "Paid"),
    ('cancelled', "Cancelled"),
    ]
# a provider's status never moves a payment backwards
PAYMENT_RANK = {'draft': 0, 'pending': 1, 'waiting_for_capture': 2,
    'succeeded': 3, 'cancelled': 3}
# money taken outside the hub (the site's own payment module, a bank
# transfer, the till of a shop): recorded by a person or a bridge, fiscalized
# by whoever took it, refunded by a person who then confirms it here
EXTERNAL = 'external'
REFUND_STATES = [
    ('pending', "Being Refunded"),
    ('succeeded', "Refunded"),
    ('cancelled', "Refused"),
    ]


# the accountant's day, when the company sets no time zone
DEFAULT_TIMEZONE = 'Europe/Moscow'


def new_key():
    return uuid.uuid4().hex


def local_date(moment, timezone=None):
    """The day of a naive UTC moment in the company's time zone (Moscow
    when it has none): «Итоги дня» count the accountant's days"""
    zone = get_tzinfo(timezone or DEFAULT_TIMEZONE)
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).date()


class LocalDayMixin:
    "A moment stored in UTC with its day in the company's time zone"
    __slots__ = ()

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cls.fill_local_days()

    @classmethod
    def fill_local_days(cls):
        "Rows from before the day was stored get it (migration)"
        pool = Pool()
        moment, day = cls._local_day_fields
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        order = pool.get('order_hub.order').__table__()
        company = pool.get('company.company').__table__()
        query = table.join(order, condition=table.order == order.id).join(
            company, 'LEFT', condition=order.company == company.id).select(
            table.id, getattr(table, moment), company.timezone,
            where=(getattr(table, day) == Null)
            & (getattr(table, moment) != Null))
        cursor.execute(*query)
        rows = cursor.fetchall()
        for id_, when, zone in rows:
            if isinstance(when, str):
                when = dt.datetime.fromisoformat(when)
            date = local_date(when, zone)
            cursor.execute(*table.update([getattr(table, day)], [date],
                    where=table.id == id_))
        # records read before see the new values (as ModelSQL.write does)
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            if cls.__name__ in cache:
                for id_, _, _ in rows:
                    cache[cls.__name__].pop(id_, None)

    @classmethod
    def set_local_days(cls, records, moment):
        "Write moment and its local day on the records"
        name, day = cls._local_day_fields
        by_day = {}
        for record in records:
            company = record.order.company
            by_day.setdefault(local_date(moment,
                    company.timezone if company else None),
                []).append(record)
        for date, group in by_day.items():
            cls.write(group, {name: moment, day: date})


class ProviderMixin:
    __slots__ = ()
    provider = fields.Selection('get_providers', "Provider", required=True,
        readonly=True)
    provider_ref = fields.Char("Provider ID", readonly=True, strip=False)
    idempotency_key = fields.Char("Idempotency Key", required=True,
        readonly=True, strip=False,
        help="Sent with the request to the provider: a retry after a "
        "timeout never repeats the operation.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('provider_ref_unique', Unique(t, t.provider, t.provider_ref),
                'order_payment.msg_provider_ref_unique'),
            ('key_unique', Unique(t, t.idempotency_key),
                'order_payment.msg_key_unique'),
            ]

    @classmethod
    def get_providers(cls):
        "Providers append themselves in __setup__ of order_payment.payment"
        Payment = Pool().get('order_payment.payment')
        return Payment.all_providers()

    @property
    def external(self):
        "Money taken outside the hub: no receipt of ours, a person refunds"
        return self.provider == EXTERNAL

    @staticmethod
    def default_idempotency_key():
        return new_key()

    @classmethod
    def copy(cls, records, default=None):
        default = dict(default or {})
        default.setdefault('idempotency_key', lambda data: new_key())
        default.setdefault('provider_ref', None)
        return super().copy(records, default=default)


class Payment(LocalDayMixin, ProviderMixin, Workflow, ModelSQL, ModelView):
    "Payment"
    __name__ = 'order_payment.payment'
    _rec_name = 'provider_ref'
    _local_day_fields = ('paid_at', 'paid_date')

    order = fields.Many2One('order_hub.order', "Order", required=True,
        readonly=True, ondelete='RESTRICT')
    kind = fields.Selection([
            ('checkout', "Paid on the Website"),
            ('link', "Payment Link"),
            ('external', "Recorded by Hand"),
            ], "Kind", required=True, readonly=True)
    date = fields.DateTime("Created", required=True, readonly=True)
    paid_at = fields.DateTime("Paid", readonly=True)
    paid_date = fields.Date("Day Paid", readonly=True,
        help="In the company's time zone (Moscow when it has none).")
    state = fields.Selection(PAYMENT_STATES, "Status", required=True,
        readonly=True, sort=False)
    state_string = state.translated('state')
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    amount = Monetary("Amount", currency='currency', digits='currency',
        required=True, readonly=True)
    refunded_amount = Monetary("Refunded", currency='currency',
        digits='currency', required=True, readonly=True,
        help="Refunds requested or done; written under a row lock.")
    confirmation_url = fields.Char("Payment Link", readonly=True)
    method = fields.Char("Paid with", readonly=True)
    cancel_reason = fields.Char("Reason of Cancellation", readonly=True)
    refunds = fields.One2Many('order_payment.refund', 'payment', "Refunds",
        readonly=True)
    receipts = fields.One2Many('order_payment.receipt', 'payment',
        "Receipts", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.state, Index.Equality()),
                where=t.state.in_(['pending', 'waiting_for_capture'])))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'pending'),
            ('draft', 'cancelled'),
            ('draft', 'succeeded'),     # recorded outside the hub
            ('pending', 'waiting_for_capture'),
            ('pending', 'succeeded'),
            ('pending', 'cancelled'),
            ('waiting_for_capture', 'succeeded'),
            ('waiting_for_capture', 'cancelled'),
            }
        cls._buttons.update({
                'capture': {
                    'invisible': Eval('state') != 'waiting_for_capture',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'waiting_for_capture',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def providers(cls):
        "[(code, label)] of the payment providers; providers extend it"
        return []

    @classmethod
    def all_providers(cls):
        "The providers and the money recorded outside the hub"
        # a method's selection is not translated by Tryton: gettext
        return cls.providers() + [
            (EXTERNAL, gettext('order_payment.msg_provider_external'))]

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_date():
        return utcnow()

    @staticmethod
    def default_refunded_amount():
        return Decimal(0)

    def get_currency(self, name):
        return self.order.currency.id if self.order.currency else None

    def get_rec_name(self, name):
        return gettext('order_payment.msg_payment_name',
            order=self.order.rec_name, amount=format_money(self.amount))

    @property
    def refundable(self):
        if self.state != 'succeeded':
            return Decimal(0)
        return self.amount - self.refunded_amount

    # -- the hooks of the provider ------------------------------------------
    @classmethod
    def send(cls, payments):
        "Create the payments (links) at their provider, after the commit"

    @classmethod
    def send_capture(cls, payments):
        "Take the held money, after the commit"

    @classmethod
    def send_cancel(cls, payments):
        "Release the held money, after the commit"

    @classmethod
    def on_link_ready(cls, payments):
        "The provider gave the payments' links: tell the customers"

    # -- buttons -------------------------------------------------------------
    @classmethod
    @ModelView.button
    def capture(cls, payments):
        cls.send_capture([p for p in payments
                if p.state == 'waiting_for_capture'])

    @classmethod
    @ModelView.button
    def cancel(cls, payments):
        cls.send_cancel([p for p in payments
                if p.state == 'waiting_for_capture'])

    # -- a payment link --------------------------------------------------------
    @classmethod
    def create_link(cls, order):
        """A payment of what the order still owes, created at the provider
        (with its advance receipt) and sent to the customer.  A link of the
        same amount not paid yet is sent again instead."""
        pool = Pool()
        Configuration = pool.get('order_payment.configuration')
        Receipt = pool.get('order_payment.receipt')
        due = order.payment_due
        if order.state != 'awaiting_payment' or due <= 0:
            raise PaymentError(gettext('order_payment.msg_link_nothing_due',
                    order=order.rec_name))
        for payment in order.payments:
            if (payment.kind == 'link' and payment.state == 'pending'
                    and payment.amount == due and payment.confirmation_url):
                cls.on_link_ready([payment])
                return payment
        provider = Configuration(1).provider
        if not provider:
            raise PaymentError(gettext('order_payment.msg_no_provider'))
        payment, = cls.create([{'order': order.id, 'kind': 'link',
                    'provider': provider, 'amount': due}])
        Receipt.create_prepayment(payment)
        cls.log_order([payment], 'msg_log_link_requested',
            amount=format_money(due))
        cls.send([payment])
        return payment

    @classmethod
    def link_created(cls, payment, provider_ref, url):
        "The provider created the link's payment"
        cls.write([payment], {'provider_ref': provider_ref,
                'confirmation_url': url})
        cls.set_provider_state(payment, 'pending')
        cls.on_link_ready([payment])

    # -- what the provider reports ----------------------------------------------
    @classmethod
    def set_provider_state(cls, payment, state, amount=None, method=None,
            reason=None):
        """Apply the provider's status of a payment.  Replays and late
        notifications change nothing: a status never goes backwards."""
        if PAYMENT_RANK[state] <= PAYMENT_RANK[payment.state]:
            return False
        values = {}
        if amount is not None and amount != payment.amount:
            # a partial capture: the rest went back to the buyer
            values['amount'] = amount
        if method:
            values['method'] = method
        if values:
            cls.write([payment], values)
        {'pending': cls.wait,
            'waiting_for_capture': cls.hold,
            'succeeded': cls.succeed,
            }.get(state, lambda p: cls.fail(p, reason))([payment])
        # after the transition: the payment counts as what it became
        payments = cls.browse([payment.id])
        if state == 'succeeded':
            cls.paid(payments)
        elif state == 'waiting_for_capture':
            Configuration = Pool().get('order_payment.configuration')
            if Configuration(1).capture == 'auto':
                cls.send_capture(payments)
        elif state == 'cancelled':
            Receipt = Pool().get('order_payment.receipt')
            Receipt.cancel_drafts([r for p in payments for r in p.receipts])
        return True

    @classmethod
    def paid(cls, payments):
        "The money is the shop's: the prepayment receipt, the order paid"
        pool = Pool()
        Order = pool.get('order_hub.order')
        Receipt = pool.get('order_payment.receipt')
        Receipt.payment_succeeded(payments)
        Order.payment_received(list({p.order for p in payments}))

    @classmethod
    @Workflow.transition('pending')
    def wait(cls, payments):
        pass

    @classmethod
    @Workflow.transition('waiting_for_capture')
    def hold(cls, payments):
        cls.log_order(payments, 'msg_log_payment_held')

    @classmethod
    @Workflow.transition('succeeded')
    def succeed(cls, payments):
        cls.set_local_days(payments, utcnow())
        cls.log_order(payments, 'msg_log_payment_succeeded')

    @classmethod
    @Workflow.transition('cancelled')
    def fail(cls, payments, reason=None):
        cls.write(payments, {'cancel_reason': reason})
        cls.log_order(payments, 'msg_log_payment_cancelled',
            reason=reason or '—')

    @classmethod
    def log_order(cls, payments, message, **values):
        ActionLog = Pool().get('order_hub.action_log')
        ActionLog.add((p.order, 'payment', gettext(
                    f'order_payment.{message}', **{
                        'amount': format_money(p.amount),
                        'provider': p.provider_string, **values}))
            for p in payments)

    @property
    def provider_string(self):
        return dict(self.all_providers()).get(self.provider, self.provider)

    # -- money taken outside the hub ---------------------------------------------
    @classmethod
    def record_external(cls, order, amount, method=None, reference=None):
        """Record money the customer paid outside the hub (the site's own
        payment module, a bank transfer, a shop's till): a payment that
        succeeded, with no receipt of the hub's (the one who took the money
        fiscalized it).  An order paid in full becomes «Оплачен»."""
        cls.check_external(order, amount, reference)
        payment, = cls.create([{'order': order.id, 'kind': 'external',
                    'provider': EXTERNAL, 'amount': amount,
                    'method': method or None,
                    'provider_ref': reference or None}])
        cls.succeed([payment])
        cls.log_order([payment], 'msg_log_payment_recorded',
            method=method or '—', reference=reference or '—')
        cls.paid([payment])
        return payment

    @classmethod
    def check_external(cls, order, amount, reference=None):
        "Bad amounts and a document recorded twice are refused"
        if order.state in {'draft', 'cancelled'}:
            raise PaymentError(gettext(
                    'order_payment.msg_external_order_state',
                    order=order.rec_name, state=order.state_string))
        if amount is None or amount <= 0:
            raise PaymentError(gettext(
                    'order_payment.msg_external_amount',
                    order=order.rec_name))
        if amount > order.payment_due:
            raise PaymentError(gettext('order_payment.msg_external_too_much',
                    order=order.rec_name, amount=format_money(amount),
                    due=format_money(order.payment_due)))
        if reference and cls.search([('provider', '=', EXTERNAL),
                    ('provider_ref', '=', reference)], limit=1):
            raise PaymentError(gettext(
                    'order_payment.msg_external_reference_exists',
                    reference=reference))

    # -- locking -----------------------------------------------------------------
    @classmethod
    def lock_order(cls, order):
        """Lock the order's paid payments and return them (id order).  The
        caller writes the rows it locked: a concurrent transaction with an
        older snapshot then fails to serialize and is retried."""
        transaction = Transaction()
        table = cls.__table__()
        where = (table.order == order.id) & (table.state == 'succeeded')
        cursor = transaction.connection.cursor()
        # a waiting lock in id order: two refunds queue, never deadlock
        cursor.execute(*table.select(table.id, where=where,
                order_by=table.id,
                for_=For('UPDATE') if transaction.database.has_select_for()
                else None))
        ids = [i for i, in cursor]
        # fresh records: the cache may predate another refund
        return cls.browse(ids)

    @classmethod
    def check_modification(cls, mode, payments, values=None, external=False):
        super().check_modification(mode, payments, values=values,
            external=external)
        if mode == 'delete':
            raise PaymentError(gettext('order_payment.msg_payment_delete'))


class Refund(LocalDayMixin, ProviderMixin, Workflow, ModelSQL, ModelView):
    "Refund"
    __name__ = 'order_payment.refund'
    _local_day_fields = ('done_at', 'done_date')

    order = fields.Many2One('order_hub.order', "Order", required=True,
        readonly=True, ondelete='RESTRICT')
    payment = fields.Many2One('order_payment.payment', "Payment",
        required=True, readonly=True, ondelete='RESTRICT')
    date = fields.DateTime("Requested", required=True, readonly=True)
    done_at = fields.DateTime("Refunded", readonly=True)
    done_date = fields.Date("Day Refunded", readonly=True,
        help="In the company's time zone (Moscow when it has none).")
    state = fields.Selection(REFUND_STATES, "Status", required=True,
        readonly=True, sort=False)
    state_string = state.translated('state')
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    amount = Monetary("Amount", currency='currency', digits='currency',
        required=True, readonly=True)
    reason = fields.Char("Reason", readonly=True)
    cancel_reason = fields.Char("Reason of Refusal", readonly=True)
    lines = fields.One2Many('order_payment.refund.line', 'refund', "Items",
        readonly=True)
    delivery = fields.Boolean("Delivery Refunded", readonly=True)
    receipts = fields.One2Many('order_payment.receipt', 'refund', "Receipts",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('pending', 'succeeded'),
            ('pending', 'cancelled'),
            }
        outside = (Eval('provider') != EXTERNAL) | (Eval('state') != 'pending')
        cls._buttons.update({
                'confirm_external': {
                    'invisible': outside,
                    'depends': ['provider', 'state'],
                    },
                'refuse_external': {
                    'invisible': outside,
                    'depends': ['provider', 'state'],
                    },
                })

    @staticmethod
    def default_state():
        return 'pending'

    @staticmethod
    def default_date():
        return utcnow()

    def get_currency(self, name):
        return self.order.currency.id if self.order.currency else None

    def get_rec_name(self, name):
        return gettext('order_payment.msg_refund_name',
            order=self.order.rec_name, amount=format_money(self.amount))

    @classmethod
    def send(cls, refunds):
        "Ask the provider for the refunds, after the commit"

    @classmethod
    def request(cls, order, lines=(), delivery=False, amount=None,
            reason=None):
        """Refund units of the order's lines and, with delivery, its
        delivery; lines is [(order line, quantity)].  The amount, when
        given, must equal what those items cost on the receipts.  Returns
        the refunds: one per payment the money goes back to.

        Never more than paid minus refunded: the order's payments are
        locked while it is checked.  The refunds (with their idempotency
        keys and their receipts) are stored before the provider is
        called."""
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Receipt = pool.get('order_payment.receipt')
        payments = Payment.lock_order(order)
        items = Receipt.refund_items(order, lines, delivery)
        total = fiscal.total(items)
        if total <= 0:
            raise RefundError(gettext('order_payment.msg_refund_empty',
                    order=order.rec_name))
        if amount is not None and fiscal.round_money(amount) != total:
            raise RefundError(gettext('order_payment.msg_refund_amount',
                    order=order.rec_name, amount=format_money(amount),
                    items=format_money(total)))
        return cls.create_refunds(order, payments, items, reason)

    @classmethod
    def refund_all(cls, order, reason=None):
        """Refund everything paid and not refunded yet (a cancelled
        order): the units still sold and the delivery, or, when they do
        not add up to the money held (an advance), the advance itself"""
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Receipt = pool.get('order_payment.receipt')
        RefundLine = pool.get('order_payment.refund.line')
        payments = Payment.lock_order(order)
        available = sum((p.refundable for p in payments), Decimal(0))
        if available <= 0:
            return []
        refunded = RefundLine.refunded_units(order.lines)
        lines = [(l, l.quantity - refunded[l.id]) for l in order.lines
            if l.quantity > refunded[l.id]]
        delivery = bool(order.delivery_cost) and not (
            Receipt.delivery_refunded(order))
        items = Receipt.refund_items(order, lines, delivery)
        if fiscal.total(items) != available:
            items = [Receipt.advance_item(order, available)]
        return cls.create_refunds(order, payments, items, reason)

    @classmethod
    def create_refunds(cls, order, payments, items, reason=None):
        """One refund per payment the items' money goes back to (the
        latest first), each with its receipt"""
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Receipt = pool.get('order_payment.receipt')
        ActionLog = pool.get('order_hub.action_log')
        refunds = []
        for payment, part, units in cls.split(order, payments, items):
            total = fiscal.total(part)
            Payment.write([payment], {
                    'refunded_amount': payment.refunded_amount + total})
            refund, = cls.create([{'order': order.id,
                        'payment': payment.id, 'provider': payment.provider,
                        'amount': total, 'reason': reason,
                        'delivery': any(i.line is None
                            and i.payment_subject == 'service'
                            for i in part),
                        'lines': [('create', [{'line': l, 'quantity': q}
                                    for l, q in units.items() if q])],
                        }])
            if not payment.external:
                # money taken outside the hub: its till issues the receipt
                Receipt.submit([Receipt.create_refund(refund, part)])
            ActionLog.add([(order, 'payment', gettext(
                            'order_payment.msg_log_refund_requested',
                            amount=format_money(total),
                            reason=reason or '—'))])
            refunds.append(refund)
        cls.send(refunds)
        return refunds

    @classmethod
    def split(cls, order, payments, items):
        """[(payment, items, {order line id: units})]: the items' money
        taken from the latest paid payments first, as much as each can
        still return.  A unit whose price straddles two payments is split
        into two items of one unit whose prices add up to its price, so
        every receipt's items sum to its refund to the kopeck; the unit
        counts as refunded by the part holding its larger share."""
        total = fiscal.total(items)
        available = sum((p.refundable for p in payments), Decimal(0))
        if total > available:
            raise RefundError(gettext('order_payment.msg_refund_too_much',
                    order=order.rec_name, amount=format_money(total),
                    available=format_money(available)))
        whole = [p for p in reversed(payments) if p.refundable >= total]
        if whole:
            # one payment returns it all: no split
            return [(whole[0], list(items), cls.units(items))]
        # (index of the unit, one unit); fractional quantities stay whole
        units = []
        for item in items:
            count = int(item.quantity)
            if count == item.quantity:
                units += [replace(item, quantity=Decimal(1))] * count
            else:
                units.append(item)
        pieces = list(enumerate(units))
        parts = []
        for payment in reversed(payments):
            room, part = payment.refundable, []
            while pieces and room > 0:
                index, unit = pieces[0]
                if unit.amount <= room:
                    part.append(pieces.pop(0))
                    room -= unit.amount
                else:
                    part.append((index, replace(unit, unit_price=room)))
                    pieces[0] = (index, replace(unit,
                            unit_price=unit.unit_price - room))
                    room = Decimal(0)
            if part:
                parts.append((payment, part))
            if not pieces:
                break
        # which part counts each unit: the largest share, the first on a tie
        owner = {}
        for number, (_, part) in enumerate(parts):
            for index, piece in part:
                if index not in owner or piece.amount > owner[index][1]:
                    owner[index] = (number, piece.amount)
        result = []
        for number, (payment, part) in enumerate(parts):
            counted = {}
            for index, piece in part:
                if owner[index][0] == number and piece.line is not None:
                    counted[piece.line] = counted.get(piece.line, 0) + (
                        units[index].quantity)
            result.append((payment, cls.regroup([p for _, p in part]),
                    counted))
        return result

    @staticmethod
    def regroup(items):
        "Equal items of one unit together again"
        grouped = []
        for item in items:
            if grouped and item.mark_code is None and replace(grouped[-1],
                    quantity=item.quantity) == item:
                grouped[-1] = replace(grouped[-1],
                    quantity=grouped[-1].quantity + item.quantity)
            else:
                grouped.append(item)
        return grouped

    @staticmethod
    def units(items):
        "{order line id: units} of items"
        units = {}
        for item in items:
            if item.line is not None:
                units[item.line] = units.get(item.line, 0) + item.quantity
        return units

    # -- refunds of money taken outside the hub: a person confirms ------------
    @classmethod
    @ModelView.button
    def confirm_external(cls, refunds):
        "«Деньги возвращены»: the person who refunded outside the hub says so"
        for refund in cls.check_external(refunds):
            cls.set_provider_state(refund, 'succeeded')

    @classmethod
    @ModelView.button
    def refuse_external(cls, refunds):
        "«Не возвращены»: the money stays with the shop, counted as not refunded"
        for refund in cls.check_external(refunds):
            cls.set_provider_state(refund, 'cancelled',
                gettext('order_payment.msg_external_refund_refused'))

    @classmethod
    def check_external(cls, refunds):
        for refund in refunds:
            if not refund.external or refund.state != 'pending':
                raise RefundError(gettext(
                        'order_payment.msg_refund_not_external',
                        refund=refund.rec_name))
        return refunds

    @classmethod
    def set_provider_state(cls, refund, state, reason=None):
        if refund.state != 'pending' or state == 'pending':
            return False
        if state == 'succeeded':
            cls.succeed([refund])
        else:
            cls.fail([refund], reason)
        return True

    @classmethod
    @Workflow.transition('succeeded')
    def succeed(cls, refunds):
        ActionLog = Pool().get('order_hub.action_log')
        cls.set_local_days(refunds, utcnow())
        ActionLog.add((r.order, 'payment', gettext(
                    'order_payment.msg_log_refund_succeeded',
                    amount=format_money(r.amount))) for r in refunds)

    @classmethod
    @Workflow.transition('cancelled')
    def fail(cls, refunds, reason=None):
        "The provider refused: the money counts as not refunded again"
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Receipt = pool.get('order_payment.receipt')
        ActionLog = pool.get('order_hub.action_log')
        for refund in refunds:
            payment, = [p for p in Payment.lock_order(refund.order)
                if p == refund.payment]
            Payment.write([payment], {
                    'refunded_amount': payment.refunded_amount - refund.amount})
        cls.write(refunds, {'cancel_reason': reason})
        Receipt.cancel_drafts([r for f in refunds for r in f.receipts],
            force=True)
        ActionLog.add((r.order, 'payment', gettext(
                    'order_payment.msg_log_refund_cancelled',
                    amount=format_money(r.amount), reason=reason or '—'))
            for r in refunds)

    @classmethod
    def check_modification(cls, mode, refunds, values=None, external=False):
        super().check_modification(mode, refunds, values=values,
            external=external)
        if mode == 'delete':
            raise RefundError(gettext('order_payment.msg_refund_delete'))


class RefundLine(ModelSQL, ModelView):
    "Refunded Items"
    __name__ = 'order_payment.refund.line'

    refund = fields.Many2One('order_payment.refund', "Refund", required=True,
        ondelete='CASCADE')
    line = fields.Many2One('order_hub.order.line', "Order Line",
        required=True, ondelete='RESTRICT')
    quantity = fields.Numeric("Quantity", digits=(16, 0), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('refund')

    def get_rec_name(self, name):
        return f'{self.line.rec_name} × {format_number(self.quantity)}'

    @classmethod
    def refunded_units(cls, lines):
        "{order line id: units in refunds not refused}"
        refunded = {l.id: Decimal(0) for l in lines}
        for refund_line in cls.search([
                    ('line', 'in', [l.id for l in lines]),
                    ('refund.state', '!=', 'cancelled'),
                    ]):
            refunded[refund_line.line.id] += refund_line.quantity
        return refunded
