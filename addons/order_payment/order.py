"The order's money: its payments, refunds and receipts"
from decimal import Decimal

from sql import Cast, Literal, Null
from sql.aggregate import Sum
from sql.conditionals import Coalesce
from sql.functions import Function

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.order_hub.pricing import format_money
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import ReceiptError
from .payment import EXTERNAL

SETTLED_STATES = {'paid', 'assembling', 'delivering', 'issued'}


class ToChar(Function):
    __slots__ = ()
    _function = 'TO_CHAR'


class Replace(Function):
    __slots__ = ()
    _function = 'REPLACE'


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    payments = fields.One2Many('order_payment.payment', 'order', "Payments",
        readonly=True)
    refunds = fields.One2Many('order_payment.refund', 'order', "Refunds",
        readonly=True)
    receipts = fields.One2Many('order_payment.receipt', 'order', "Receipts",
        readonly=True)
    paid_amount = fields.Function(Monetary("Paid", currency='currency',
            digits='currency'), 'get_money')
    refunded_amount = fields.Function(Monetary("Refunded",
            currency='currency', digits='currency'), 'get_money')
    payment_due = fields.Function(Monetary("Due", currency='currency',
            digits='currency', help="The total less what the customer paid "
            "and was not refunded."), 'get_money')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'send_payment_link': {
                    'invisible': Eval('state') != 'awaiting_payment',
                    'depends': ['state'],
                    },
                'issue_settlement_receipt': {
                    'invisible': ~Eval('state').in_(list(SETTLED_STATES)),
                    'depends': ['state'],
                    },
                'record_payment': {
                    'invisible': Eval('state') != 'awaiting_payment',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def get_money(cls, orders, names):
        result = {n: {} for n in names}
        for order in orders:
            paid = sum((p.amount for p in order.payments
                    if p.state == 'succeeded'), Decimal(0))
            refunded = sum((p.refunded_amount for p in order.payments
                    if p.state == 'succeeded'), Decimal(0))
            values = {'paid_amount': paid, 'refunded_amount': refunded,
                'payment_due': max((order.total or 0) - paid + refunded, 0)}
            for name in names:
                result[name][order.id] = values[name]
        return result

    @classmethod
    def copy(cls, orders, default=None):
        default = dict(default or {}, payments=None, refunds=None,
            receipts=None)
        return super().copy(orders, default=default)

    @classmethod
    def payment_received(cls, orders):
        """A payment succeeded: an order paid in full becomes «Оплачен»;
        a part payment is only logged"""
        ActionLog = Pool().get('order_hub.action_log')
        orders = cls.browse([o.id for o in orders])
        paid = [o for o in orders
            if o.state == 'awaiting_payment' and o.payment_due <= 0]
        ActionLog.add((o, 'payment', gettext('order_payment.msg_log_part_paid',
                    paid=format_money(o.paid_amount - o.refunded_amount),
                    total=format_money(o.total or 0)))
            for o in orders
            if o.state == 'awaiting_payment' and o.payment_due > 0)
        cls.pay(paid)

    @classmethod
    @ModelView.button_action('order_payment.wizard_record_payment')
    def record_payment(cls, orders):
        "«Оплата вне хаба»: money taken by the site, a bank or a shop's till"

    @classmethod
    @ModelView.button
    def send_payment_link(cls, orders):
        Payment = Pool().get('order_payment.payment')
        for order in orders:
            Payment.create_link(order)

    @classmethod
    @ModelView.button
    def issue_settlement_receipt(cls, orders):
        """«Полный расчёт» now (until shipments exist, the manager says when
        the goods were handed over)"""
        Receipt = Pool().get('order_payment.receipt')
        for order in orders:
            if Receipt.settled(order):
                raise ReceiptError(gettext(
                        'order_payment.msg_settlement_exists',
                        order=order.rec_name))
            Receipt.create_settlement(order)

    @classmethod
    def cancel(cls, orders):
        """A cancelled order gives the money back: held payments are
        released, everything paid and not refunded is refunded (one
        refund per payment, each with its receipt)"""
        pool = Pool()
        Payment = pool.get('order_payment.payment')
        Refund = pool.get('order_payment.refund')
        ActionLog = pool.get('order_hub.action_log')
        before = {o.id: o.state for o in orders}
        super().cancel(orders)
        cancelled = [o for o in cls.browse([o.id for o in orders])
            if o.state == 'cancelled' and before[o.id] != 'cancelled']
        for order in cancelled:
            Payment.send_cancel([p for p in order.payments
                    if p.state == 'waiting_for_capture'])
            refunds = Refund.refund_all(order, reason=gettext(
                    'order_payment.msg_refund_reason_cancelled'))
            if refunds:
                ActionLog.add([(order, 'payment', gettext(
                                'order_payment.msg_log_cancel_refund',
                                amount=format_money(sum(
                                        (r.amount for r in refunds),
                                        Decimal(0))),
                                count=len(refunds)))])

    @classmethod
    def issue(cls, orders):
        "Every shipment handed over: the full-settlement receipt is due"
        pool = Pool()
        Receipt = pool.get('order_payment.receipt')
        ActionLog = pool.get('order_hub.action_log')
        super().issue(orders)
        for order in orders:
            if not any(p.state == 'succeeded' for p in order.payments):
                continue
            try:
                Receipt.create_settlement(order)
            except ReceiptError as error:
                # the goods are handed over all the same: the accountant
                # sees why and issues the receipt by hand
                ActionLog.add([(order, 'payment', error.message)])


class RecordPaymentStart(ModelView):
    "Payment Taken outside the Hub"
    __name__ = 'order_payment.record_payment.start'

    order = fields.Many2One('order_hub.order', "Order", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    amount = Monetary("Amount", currency='currency', digits='currency',
        required=True)
    method = fields.Char("Paid with",
        help="How the customer paid: the site's payment system, a bank "
        "transfer, cash at a shop.")
    reference = fields.Char("Payment Document",
        help="The number of the payment order, the site's transaction or "
        "the till's receipt: one document is recorded once.")


class RecordPayment(Wizard):
    "Record a Payment Taken outside the Hub"
    __name__ = 'order_payment.record_payment'

    start = StateView('order_payment.record_payment.start',
        'order_payment.record_payment_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Record", 'save', 'tryton-ok', default=True),
            ])
    save = StateTransition()

    def default_start(self, fields):
        order = self.record
        return {'order': order.id,
            'currency': order.currency.id if order.currency else None,
            'amount': order.payment_due}

    def transition_save(self):
        Payment = Pool().get('order_payment.payment')
        Payment.record_external(self.record, self.start.amount,
            method=self.start.method, reference=self.start.reference)
        return 'end'


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection.append(('payment', "Payment"))


class DayTotal(ModelSQL, ModelView):
    "Payments of the Day"
    __name__ = 'order_payment.day_total'

    day = fields.Char("Day", help="In the company's time zone (Moscow "
        "when it has none).")
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    payments = fields.Integer("Payments")
    paid = Monetary("Paid", currency='currency', digits='currency')
    refunds = fields.Integer("Refunds")
    refunded = Monetary("Refunded", currency='currency', digits='currency')
    net = Monetary("Net", currency='currency', digits='currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('day', 'DESC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        payment = pool.get('order_payment.payment').__table__()
        refund = pool.get('order_payment.refund').__table__()
        day_format = 'YYYY-MM-DD'
        # the days stored with the moments, in the company's time zone
        money = (payment.select(
                ToChar(payment.paid_date, day_format).as_('day'),
                Literal(1).as_('payment'), payment.amount.as_('paid'),
                Literal(0).as_('refund'), Literal(0).as_('refunded'),
                where=(payment.state == 'succeeded')
                & (payment.paid_date != Null)
                # the provider's money: what was taken outside the hub is
                # in the bank's or the till's own report
                & (payment.provider != EXTERNAL))
            | refund.select(
                ToChar(refund.done_date, day_format).as_('day'),
                Literal(0).as_('payment'), Literal(0).as_('paid'),
                Literal(1).as_('refund'), refund.amount.as_('refunded'),
                where=(refund.state == 'succeeded')
                & (refund.done_date != Null)
                & (refund.provider != EXTERNAL)))
        money.all_ = True
        day = money.select(
            money.day,
            Sum(money.payment).as_('payments'),
            Coalesce(Sum(money.paid), 0).as_('paid'),
            Sum(money.refund).as_('refunds'),
            Coalesce(Sum(money.refunded), 0).as_('refunded'),
            group_by=[money.day])
        return day.select(
            # a stable id per day: its digits (20260701)
            Cast(Replace(day.day, '-', ''), 'INTEGER').as_('id'),
            Literal(0).as_('create_uid'), Literal(Null).as_('create_date'),
            Literal(0).as_('write_uid'), Literal(Null).as_('write_date'),
            day.day, day.payments, day.paid, day.refunds, day.refunded,
            (day.paid - day.refunded).as_('net'))

    def get_currency(self, name):
        Company = Pool().get('company.company')
        company_id = Transaction().context.get('company')
        return Company(company_id).currency.id if company_id else None

