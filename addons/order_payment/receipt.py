"""Fiscal receipts of the order's money operations (54-FZ, FFD 1.2).

* «Предоплата 100%» when a payment succeeds: the order's goods and its
  delivery, paid before hand-over (sent with a payment link's payment, or
  on its own for a payment made on the website);
* «Полный расчёт» at hand-over: the goods again, offset against the
  prepayment, with the marking codes;
* «Возврат прихода» with every refund: the refunded units at the prices the
  customer paid for them.

Every receipt keeps its items; their sum is the receipt's total to the
kopeck.  The provider registers it and reports back through
``set_provider_state``; a rejected receipt shows the provider's reason and
is re-sent by the accountant («Отправить снова») after fixing the cause.
"""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.order_hub.pricing import format_money
from trytond.modules.hub_common import utcnow
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.report import Report

from . import fiscal
from .configuration import VAT_SELECTION
from .exceptions import ReceiptError, RefundError
from .payment import ProviderMixin, new_key

KINDS = [
    ('prepayment', "Prepayment"),
    ('settlement', "Full Settlement"),
    ('refund', "Refund"),
    ]
STATES = [
    ('draft', "Draft"),
    ('pending', "Being Registered"),
    ('registered', "Registered"),
    ('rejected', "Rejected"),
    ('cancelled', "Cancelled"),
    ]
# what a receipt of each kind adds to the money the shop holds
SIGN = {'prepayment': 1, 'settlement': 0, 'refund': -1}
CALCULATED_VAT = {'5': '5/105', '7': '7/107', '10': '10/110',
    '20': '20/120', '22': '22/122'}


class Receipt(ProviderMixin, Workflow, ModelSQL, ModelView):
    "Receipt"
    __name__ = 'order_payment.receipt'

    order = fields.Many2One('order_hub.order', "Order", required=True,
        readonly=True, ondelete='RESTRICT')
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    kind_string = kind.translated('kind')
    payment = fields.Many2One('order_payment.payment', "Payment",
        readonly=True, ondelete='RESTRICT')
    refund = fields.Many2One('order_payment.refund', "Refund", readonly=True,
        ondelete='RESTRICT')
    date = fields.DateTime("Created", required=True, readonly=True)
    state = fields.Selection(STATES, "Status", required=True, readonly=True,
        sort=False)
    state_string = state.translated('state')
    settlement = fields.Selection([
            ('cashless', "Cashless"),
            ('prepayment', "Offset of the Prepayment"),
            ], "Settlement", required=True, readonly=True)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    total = Monetary("Total", currency='currency', digits='currency',
        required=True, readonly=True)
    email = fields.Char("Customer's E-mail", readonly=True)
    phone = fields.Char("Customer's Phone", readonly=True,
        help="Digits with the country code (E.164 without «+»).")
    tax_system = fields.Char("Tax System", readonly=True)
    items = fields.One2Many('order_payment.receipt.item', 'receipt', "Items",
        readonly=True)
    with_operation = fields.Boolean("Sent with the Operation", readonly=True,
        help="Sent to the provider inside the payment or refund request.")
    registered_at = fields.DateTime("Registered", readonly=True)
    fiscal_document_number = fields.Char("Fiscal Document No.",
        readonly=True)
    fiscal_storage_number = fields.Char("Fiscal Storage No.", readonly=True)
    fiscal_attribute = fields.Char("Fiscal Attribute", readonly=True)
    rejection_reason = fields.Text("Reason of Rejection", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'pending'),
            ('draft', 'cancelled'),
            ('pending', 'registered'),
            ('pending', 'rejected'),
            ('rejected', 'pending'),
            ('pending', 'cancelled'),
            }
        cls._buttons.update({
                'resend': {
                    'invisible': Eval('state') != 'rejected',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_date():
        return utcnow()

    @staticmethod
    def default_with_operation():
        return False

    def get_currency(self, name):
        return self.order.currency.id if self.order.currency else None

    def get_rec_name(self, name):
        return gettext('order_payment.msg_receipt_name', kind=self.kind_string,
            order=self.order.rec_name, total=format_money(self.total))

    @property
    def net(self):
        "What the receipt adds to paid − refunded"
        if self.state == 'cancelled':
            return Decimal(0)
        return SIGN[self.kind] * self.total

    # -- the hook of the provider ----------------------------------------------
    @classmethod
    def send(cls, receipts):
        "Register the receipts at their provider, after the commit"

    # -- building ----------------------------------------------------------------
    @classmethod
    def contact(cls, order):
        "Tag 1008: the customer's e-mail, else the phone"
        email = (order.email or '').strip() or None
        phone = None if email else fiscal.phone_e164(order.phone)
        return {'email': email, 'phone': phone}

    @classmethod
    def base_values(cls, order, kind, items, **values):
        Configuration = Pool().get('order_payment.configuration')
        return {'order': order.id, 'kind': kind,
            'total': fiscal.total(items),
            'tax_system': Configuration(1).tax_system,
            'settlement': 'prepayment' if kind == 'settlement' else 'cashless',
            'items': [('create', [cls.item_values(i) for i in items])],
            **cls.contact(order), **values}

    @staticmethod
    def item_values(item):
        return {'description': item.description, 'quantity': item.quantity,
            'unit_price': item.unit_price, 'vat': item.vat,
            'payment_subject': item.payment_subject,
            'payment_mode': item.payment_mode, 'line': item.line,
            'mark_code': item.mark_code}

    @classmethod
    def line_template(cls, line, mode):
        Configuration = Pool().get('order_payment.configuration')
        return fiscal.Item(description=fiscal.description(line.rec_name),
            quantity=line.quantity, unit_price=Decimal(0),
            vat=Configuration(1).vat_goods,
            payment_subject='non_marked' if line.marked else 'commodity',
            payment_mode=mode, line=line.id)

    @classmethod
    def delivery_item(cls, order, mode):
        Configuration = Pool().get('order_payment.configuration')
        config = Configuration(1)
        return fiscal.Item(description=fiscal.description(
                config.delivery_description), quantity=Decimal(1),
            unit_price=fiscal.round_money(order.delivery_cost),
            vat=config.vat_delivery, payment_subject='service',
            payment_mode=mode)

    @classmethod
    def sold_items(cls, order, mode, codes=False, refunded=None):
        """The order's goods (less refunded units) and delivery as items;
        codes: with the lines' marking codes"""
        RefundLine = Pool().get('order_payment.refund.line')
        refunded = refunded if refunded is not None else (
            RefundLine.refunded_units(order.lines))
        items = []
        for line in order.lines:
            # refunds take the last units: the first ones are still sold
            remaining = int(line.quantity - refunded.get(line.id, 0))
            prices = fiscal.unit_prices(line.amount, line.quantity)[
                :remaining]
            items += fiscal.line_items(cls.line_template(line, mode), prices,
                line.marking_codes() if codes else ())
        if order.delivery_cost and not cls.delivery_refunded(order):
            items.append(cls.delivery_item(order, mode))
        return items

    @staticmethod
    def delivery_refunded(order):
        return any(r.delivery and r.state != 'cancelled'
            for r in order.refunds)

    @classmethod
    def create_prepayment(cls, payment):
        """The payment's receipt: the order's goods paid 100 % before
        hand-over, or an advance when the payment is not the order's
        whole amount (the goods it pays for are not known)"""
        order = payment.order
        items = cls.sold_items(order, 'full_prepayment')
        if fiscal.total(items) != payment.amount:
            items = [cls.advance_item(order, payment.amount)]
        receipt, = cls.create([cls.base_values(order, 'prepayment', items,
                    payment=payment.id, provider=payment.provider,
                    with_operation=payment.kind == 'link')])
        return receipt

    @classmethod
    def advance_item(cls, order, amount):
        Configuration = Pool().get('order_payment.configuration')
        vat = Configuration(1).vat_goods
        return fiscal.Item(description=fiscal.description(gettext(
                    'order_payment.msg_advance_item', order=order.rec_name)),
            quantity=Decimal(1), unit_price=amount,
            vat=CALCULATED_VAT.get(vat, vat), payment_subject='payment',
            payment_mode='advance')

    @classmethod
    def refund_items(cls, order, lines, delivery):
        """Items of a refund: the refunded units at the prices they had,
        full prepayment before the full settlement, full payment after"""
        RefundLine = Pool().get('order_payment.refund.line')
        refunded = RefundLine.refunded_units(order.lines)
        mode = 'full_payment' if cls.settled(order) else 'full_prepayment'
        items = []
        for line, quantity in lines:
            if line.order != order or quantity < 0 or (
                    quantity > line.quantity - refunded[line.id]):
                raise RefundError(gettext(
                        'order_payment.msg_refund_quantity',
                        line=line.rec_name, quantity=quantity,
                        available=line.quantity - refunded.get(line.id, 0)))
            prices = fiscal.refund_prices(line.amount, line.quantity,
                refunded[line.id], quantity)
            codes = cls.refund_codes(line, refunded[line.id], quantity) if (
                mode == 'full_payment') else ()
            refunded[line.id] += quantity
            items += fiscal.line_items(cls.line_template(line, mode), prices,
                codes)
        if delivery:
            if not order.delivery_cost or cls.delivery_refunded(order):
                raise RefundError(gettext('order_payment.msg_refund_delivery',
                        order=order.rec_name))
            items.append(cls.delivery_item(order, mode))
        return items

    @staticmethod
    def refund_codes(line, refunded, quantity):
        """The marking codes of the units a refund after the settlement
        takes back: the last ones (the units still sold keep the first)"""
        end = int(line.quantity - refunded)
        return line.marking_codes()[max(end - int(quantity), 0):end]

    @staticmethod
    def settled(order):
        return any(r.kind == 'settlement' and r.state != 'cancelled'
            for r in order.receipts)

    @classmethod
    def create_refund(cls, refund, items):
        receipt, = cls.create([cls.base_values(refund.order, 'refund', items,
                    refund=refund.id, payment=refund.payment.id,
                    provider=refund.provider, with_operation=True)])
        return receipt

    @classmethod
    def create_settlement(cls, order):
        """«Полный расчёт» at hand-over: the goods still sold, with their
        marking codes, offset against what the customer paid"""
        if cls.settled(order):
            return None
        payments = [p for p in order.payments if p.state == 'succeeded']
        if any(p.external for p in payments):
            # the till that took the prepayment settles it
            raise ReceiptError(gettext(
                    'order_payment.msg_settlement_external',
                    order=order.rec_name))
        net = sum((p.amount - p.refunded_amount for p in payments),
            Decimal(0))
        items = cls.sold_items(order, 'full_payment', codes=True)
        if not payments or fiscal.total(items) != net or net <= 0:
            raise ReceiptError(gettext('order_payment.msg_settlement_mismatch',
                    order=order.rec_name, paid=format_money(net),
                    items=format_money(fiscal.total(items))))
        payment = max(payments, key=lambda p: (p.refundable, p.id))
        receipt, = cls.create([cls.base_values(order, 'settlement', items,
                    payment=payment.id, provider=payment.provider)])
        cls.submit([receipt])
        return receipt

    # -- life cycle ----------------------------------------------------------------
    @classmethod
    def payment_succeeded(cls, payments):
        """A paid payment's prepayment receipt is registered now: sent with
        a link's payment (the provider registers it), else sent now"""
        to_submit = []
        for payment in payments:
            if payment.external:
                continue    # fiscalized where the money was taken
            receipts = [r for r in payment.receipts if r.kind == 'prepayment']
            if not receipts:
                receipts = [cls.create_prepayment(payment)]
            to_submit += [r for r in receipts if r.state == 'draft']
        cls.submit(to_submit)

    @classmethod
    def submit(cls, receipts):
        "To the provider: those not sent with their operation are sent now"
        cls.to_pending(receipts)
        cls.send([r for r in receipts if not r.with_operation])

    @classmethod
    @Workflow.transition('pending')
    def to_pending(cls, receipts):
        pass

    @classmethod
    def cancel_drafts(cls, receipts, force=False):
        "The operation failed: its receipts will never be registered"
        cls.cancel([r for r in receipts if r.state == 'draft'
                or (force and r.state == 'pending')])

    @classmethod
    @Workflow.transition('cancelled')
    def cancel(cls, receipts):
        pass

    @classmethod
    def set_provider_state(cls, receipt, state, values=None, reason=None):
        """The provider's answer: 'registered' with the fiscal attributes,
        'rejected' with its reason, 'pending' with its id"""
        values = dict(values or {})
        if receipt.state in {'draft', 'rejected'} and state != 'rejected':
            cls.to_pending([receipt])
        if receipt.state == 'draft' and state == 'rejected':
            cls.to_pending([receipt])
        if values:
            cls.write([receipt], values)
        receipt = cls(receipt.id)
        if receipt.state != 'pending' or state == 'pending':
            return False
        if state == 'registered':
            cls.register([receipt])
            cls.send_to_customer(cls.browse([receipt.id]))
        else:
            cls.reject([receipt], reason)
        return True

    @classmethod
    def send_to_customer(cls, receipts):
        """The hook called once a receipt is registered: its copy goes to
        the customer (order_payment's hub_notify glue: notify.py)"""

    @classmethod
    @Workflow.transition('registered')
    def register(cls, receipts):
        for receipt in receipts:
            if not receipt.registered_at:
                receipt.registered_at = utcnow()
        cls.save(receipts)

    @classmethod
    @Workflow.transition('rejected')
    def reject(cls, receipts, reason=None):
        ActionLog = Pool().get('order_hub.action_log')
        cls.write(receipts, {'rejection_reason': reason})
        ActionLog.add((r.order, 'payment', gettext(
                    'order_payment.msg_log_receipt_rejected',
                    receipt=r.rec_name, reason=reason or '—'))
            for r in receipts)

    @classmethod
    @ModelView.button
    def resend(cls, receipts):
        """The accountant fixed the cause: the customer's contact and the
        configured VAT are read again and the receipt goes out under a new
        key (a refused request is never repeated as it was)"""
        pool = Pool()
        Item = pool.get('order_payment.receipt.item')
        Configuration = pool.get('order_payment.configuration')
        config = Configuration(1)
        receipts = [r for r in receipts if r.state == 'rejected']
        for receipt in receipts:
            cls.write([receipt], {**cls.contact(receipt.order),
                    'idempotency_key': new_key(), 'rejection_reason': None,
                    'provider_ref': None, 'with_operation': False,
                    'tax_system': config.tax_system})
            for item in receipt.items:
                Item.write([item], {'vat': item.configured_vat(config)})
        cls.to_pending(receipts)
        cls.send(receipts)


class ReceiptItem(ModelSQL, ModelView):
    "Receipt Item"
    __name__ = 'order_payment.receipt.item'

    receipt = fields.Many2One('order_payment.receipt', "Receipt",
        required=True, ondelete='CASCADE')
    line = fields.Many2One('order_hub.order.line', "Order Line",
        ondelete='SET NULL')
    description = fields.Char("Description", required=True)
    quantity = fields.Numeric("Quantity", digits=(16, 3), required=True)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    unit_price = Monetary("Price", currency='currency', digits='currency',
        required=True, help="Per unit, after discounts, with VAT.")
    amount = fields.Function(Monetary("Amount", currency='currency',
            digits='currency'), 'get_amount')
    vat = fields.Selection(VAT_SELECTION, "VAT", required=True)
    payment_subject = fields.Selection([
            ('commodity', "Goods"),
            ('marked', "Marked Goods with a Code"),
            ('non_marked', "Marked Goods without a Code"),
            ('service', "Service"),
            ('payment', "Payment"),
            ], "Subject", required=True)
    payment_mode = fields.Selection([
            ('full_prepayment', "Prepayment 100%"),
            ('full_payment', "Full Settlement"),
            ('advance', "Advance"),
            ], "Payment Mode", required=True)
    mark_code = fields.Char("Marking Code", strip=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('receipt')
        cls._order = [('id', 'ASC')]

    def get_currency(self, name):
        return self.receipt.currency.id if self.receipt.currency else None

    def get_amount(self, name):
        return self.unit_price * self.quantity

    def configured_vat(self, config):
        vat = config.vat_delivery if self.payment_subject == 'service' else (
            config.vat_goods)
        if self.payment_mode == 'advance':
            return CALCULATED_VAT.get(vat, vat)
        return vat


class ReceiptReport(Report):
    __name__ = 'order_payment.receipt.report'
