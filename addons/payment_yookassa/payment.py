"""Payments, refunds and receipts through YooKassa.

Out (outbox, idempotency key = the record's own, stored before the call):
``yookassa_create_payment``, ``yookassa_capture``, ``yookassa_cancel``,
``yookassa_refund``, ``yookassa_receipt``.  In: notifications (routes.py)
are stored in the inbox and applied by ``apply_yookassa``, which trusts only
the object re-read from the API: a forged, repeated or late notification
changes nothing more than the genuine one did.  A cron re-reads what is
still open (a lost notification, a receipt being registered).
"""
from datetime import datetime
from decimal import Decimal

from trytond.i18n import gettext
from trytond.modules.hub_sync.errors import PermanentError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .system import SYSTEM

# order_payment's neutral attributes -> YooKassa's codes
VAT_CODES = {'none': 1, '0': 2, '10': 3, '20': 4, '10/110': 5, '20/120': 6,
    '5': 7, '7': 8, '5/105': 9, '7/107': 10, '22': 11, '22/122': 12}
TAX_SYSTEM_CODES = {'osn': 1, 'usn_income': 2, 'usn_income_outcome': 3,
    'esn': 5, 'patent': 6}
PAYMENT_STATES = {'pending': 'pending',
    'waiting_for_capture': 'waiting_for_capture',
    'succeeded': 'succeeded', 'canceled': 'cancelled'}
RECEIPT_STATES = {'pending': 'pending', 'succeeded': 'registered',
    'canceled': 'rejected'}
CANCEL_REASONS = [
    '3d_secure_failed', 'call_issuer', 'canceled_by_merchant',
    'card_expired', 'country_forbidden', 'deal_expired',
    'expired_on_capture', 'expired_on_confirmation', 'fraud_suspected',
    'general_decline', 'identification_required', 'insufficient_funds',
    'internal_timeout', 'invalid_card_number', 'invalid_csc',
    'issuer_unavailable', 'payment_method_limit_exceeded',
    'payment_method_restricted', 'permission_revoked',
    'unsupported_mobile_operator', 'loan_declined', 'loan_declined_by_payer',
    'loan_application_expired', 'rejected_by_timeout',
    # refunds
    'rejected_by_payee', 'yoo_money_account_closed',
    'payment_basket_id_not_found', 'payment_article_number_not_found',
    'payment_tru_code_not_found', 'too_many_refunding_articles',
    'some_articles_already_refunded',
    ]
OPERATIONS = {
    'yookassa_create_payment': 'payment_yookassa.msg_operation_payment',
    'yookassa_capture': 'payment_yookassa.msg_operation_capture',
    'yookassa_cancel': 'payment_yookassa.msg_operation_cancel',
    'yookassa_refund': 'payment_yookassa.msg_operation_refund',
    'yookassa_receipt': 'payment_yookassa.msg_operation_receipt',
    }


def money(amount):
    return {'value': f'{Decimal(amount):.2f}', 'currency': 'RUB'}


def parse_time(value):
    "YooKassa's ISO time (UTC, 'Z') as a naive UTC datetime"
    if not value:
        return None
    return datetime.fromisoformat(value.replace('Z', '+00:00')).replace(
        tzinfo=None)


def cancel_reason(details):
    "YooKassa's cancellation_details in Russian"
    if not details:
        return None
    reason = details.get('reason')
    text = gettext(f'payment_yookassa.msg_reason_{reason}') if (
        reason in CANCEL_REASONS) else reason
    party = details.get('party')
    if party:
        text += ' (' + gettext(
            f'payment_yookassa.msg_party_{party}') + ')' if party in {
            'merchant', 'yoo_money', 'payment_network', 'refund_network'} \
            else f' ({party})'
    return text


def client():
    return Pool().get('hub_sync.system').get(SYSTEM).yookassa_client()


def as_source():
    return Transaction().set_context(hub_source=SYSTEM)



def enqueue(operation, records, key=False):
    """Queue operation for the records YooKassa handles; key: under the
    record's own idempotency key (stored before the call)"""
    Outbox = Pool().get('hub_sync.outbox')
    for record in records:
        if record.provider == SYSTEM:
            Outbox.enqueue(SYSTEM, operation, [record],
                key=record.idempotency_key if key else None)

class Payment(metaclass=PoolMeta):
    __name__ = 'order_payment.payment'

    @classmethod
    def providers(cls):
        # a method's selection is not translated by Tryton: the label is
        return super().providers() + [
            (SYSTEM, gettext('payment_yookassa.msg_provider_name'))]

    @classmethod
    def send(cls, payments):
        super().send(payments)
        cls.yookassa_enqueue('yookassa_create_payment', payments, key=True)

    @classmethod
    def send_capture(cls, payments):
        super().send_capture(payments)
        cls.yookassa_enqueue('yookassa_capture', payments)

    @classmethod
    def send_cancel(cls, payments):
        super().send_cancel(payments)
        cls.yookassa_enqueue('yookassa_cancel', payments)

    @classmethod
    def yookassa_enqueue(cls, operation, records, key=False):
        enqueue(operation, records, key)

    # -- the mapper: a payment link --------------------------------------------
    def get_yookassa_payment(self):
        System = Pool().get('hub_sync.system')
        Configuration = Pool().get('order_payment.configuration')
        system = System.get(SYSTEM)
        data = {
            'amount': money(self.amount),
            'capture': Configuration(1).capture == 'auto',
            'confirmation': {'type': 'redirect',
                'return_url': system.yookassa_return_url
                or 'https://example.invalid/'},
            'description': gettext('payment_yookassa.msg_payment_description',
                order=self.order.site_number or self.order.number)[:128],
            'metadata': {'hub_order': str(self.order.id),
                'hub_payment': str(self.id),
                'order_number': self.order.number},
            }
        receipts = [r for r in self.receipts if r.with_operation]
        if receipts:
            data['receipt'] = receipts[0].get_yookassa_receipt()
        return data

    # -- what YooKassa says ----------------------------------------------------
    def yookassa_apply(self, data):
        "Apply a payment object read from the API"
        state = PAYMENT_STATES.get(data.get('status'))
        if state is None:
            return False
        amount = Decimal(data['amount']['value']) if (
            state == 'succeeded') else None
        method = (data.get('payment_method') or {}).get('title') or (
            data.get('payment_method') or {}).get('type')
        if state == 'succeeded' and data.get('receipt_registration'):
            Receipt = Pool().get('order_payment.receipt')
            Receipt.yookassa_import(self, data)
        with as_source():
            return self.set_provider_state(self, state, amount=amount,
                method=method,
                reason=cancel_reason(data.get('cancellation_details')))

    @classmethod
    def yookassa_find(cls, data):
        "The hub's payment of a YooKassa payment object, made if need be"
        payments = cls.search([('provider', '=', SYSTEM),
                ('provider_ref', '=', data['id'])], limit=1)
        if payments:
            return payments[0]
        metadata = data.get('metadata') or {}
        if metadata.get('hub_payment'):
            payment = cls(int(metadata['hub_payment']))
            cls.write([payment], {'provider_ref': data['id']})
            return payment
        order = cls.yookassa_find_order(data)
        if order is None:
            return None
        payment, = cls.create([{'order': order.id, 'kind': 'checkout',
                    'provider': SYSTEM, 'provider_ref': data['id'],
                    'amount': Decimal(data['amount']['value']),
                    'state': 'pending'}])
        return payment

    @classmethod
    def yookassa_find_order(cls, data):
        """The order a payment made on the website pays: by the site's
        order number in the metadata the 1C-Bitrix module sends
        (BX_PAYMENT_NUMBER «<order number>/<payment>», unconfirmed) or in
        order_id / orderNumber, else «№ N» in the description"""
        Order = Pool().get('order_hub.order')
        metadata = data.get('metadata') or {}
        if metadata.get('hub_order'):
            return Order(int(metadata['hub_order']))
        numbers = [str(metadata[k]).split('/')[0] for k in (
                'BX_PAYMENT_NUMBER', 'order_id', 'orderNumber',
                'order_number') if metadata.get(k)]
        description = data.get('description') or ''
        if '№' in description:
            numbers.append(description.split('№')[-1].strip().split()[0])
        for number in numbers:
            orders = Order.search(['OR', ('site_number', '=', number),
                    ('number', '=', number)], limit=1)
            if orders:
                return orders[0]
        return None

    @classmethod
    def yookassa_sync(cls, payment_id):
        """Re-read the payment from YooKassa and apply it: the hub never
        trusts a notification's own copy"""
        data = client().get_payment(payment_id)
        payment = cls.yookassa_find(data)
        if payment is None:
            raise PermanentError(gettext('payment_yookassa.msg_no_order',
                    payment=payment_id))
        changed = payment.yookassa_apply(data)
        return gettext('payment_yookassa.msg_synced',
            order=payment.order.rec_name, status=data['status'],
            changed=gettext('payment_yookassa.msg_changed' if changed
                else 'payment_yookassa.msg_unchanged'))

    @classmethod
    def yookassa_refresh(cls):
        "Cron: re-read open payments (a notification may have been lost)"
        with without_check_access():
            payments = cls.search([('provider', '=', SYSTEM),
                    ('provider_ref', '!=', None),
                    ('state', 'in', ['pending', 'waiting_for_capture'])])
        for payment in payments:
            cls.yookassa_sync(payment.provider_ref)

    # -- outbox handlers ---------------------------------------------------------
    def yookassa_create(self, message):
        try:
            data = client().create_payment(message.idempotency_key,
                self.get_yookassa_payment())
        except PermanentError as error:
            with as_source():
                self.set_provider_state(self, 'cancelled',
                    reason=error.message)
            return gettext('payment_yookassa.msg_refused',
                reason=error.message)
        url = (data.get('confirmation') or {}).get('confirmation_url')
        self.link_created(self, data['id'], url)
        self.yookassa_apply(data)
        return data['id']

    def yookassa_capture(self, message):
        data = client().capture_payment(self.provider_ref,
            message.idempotency_key)
        self.yookassa_apply(data)
        return data['status']

    def yookassa_cancel(self, message):
        data = client().cancel_payment(self.provider_ref,
            message.idempotency_key)
        self.yookassa_apply(data)
        return data['status']


class Refund(metaclass=PoolMeta):
    __name__ = 'order_payment.refund'

    @classmethod
    def send(cls, refunds):
        super().send(refunds)
        enqueue('yookassa_refund', refunds, key=True)

    def get_yookassa_refund(self):
        data = {'payment_id': self.payment.provider_ref,
            'amount': money(self.amount),
            'description': gettext('payment_yookassa.msg_refund_description',
                order=self.order.site_number or self.order.number)[:250],
            'metadata': {'hub_order': str(self.order.id),
                'hub_refund': str(self.id)}}
        receipts = [r for r in self.receipts if r.with_operation]
        if receipts:
            data['receipt'] = receipts[0].get_yookassa_receipt()
        return data

    def yookassa_refund(self, message):
        try:
            data = client().create_refund(message.idempotency_key,
                self.get_yookassa_refund())
        except PermanentError as error:
            with as_source():
                self.set_provider_state(self, 'cancelled',
                    reason=error.message)
            return gettext('payment_yookassa.msg_refused',
                reason=error.message)
        self.write([self], {'provider_ref': data['id']})
        self.yookassa_apply(data)
        return data['id']

    def yookassa_apply(self, data):
        state = {'succeeded': 'succeeded', 'canceled': 'cancelled'}.get(
            data.get('status'))
        if state is None:
            return False
        with as_source():
            return self.set_provider_state(self, state,
                reason=cancel_reason(data.get('cancellation_details')))

    @classmethod
    def yookassa_sync(cls, refund_id):
        data = client().get_refund(refund_id)
        refunds = cls.search([('provider', '=', SYSTEM),
                ('provider_ref', '=', refund_id)], limit=1)
        if not refunds:
            metadata = data.get('metadata') or {}
            if not metadata.get('hub_refund'):
                return gettext('payment_yookassa.msg_refund_unknown',
                    refund=refund_id)
            refunds = [cls(int(metadata['hub_refund']))]
            cls.write(refunds, {'provider_ref': refund_id})
        changed = refunds[0].yookassa_apply(data)
        return gettext('payment_yookassa.msg_synced',
            order=refunds[0].order.rec_name, status=data['status'],
            changed=gettext('payment_yookassa.msg_changed' if changed
                else 'payment_yookassa.msg_unchanged'))


class Receipt(metaclass=PoolMeta):
    __name__ = 'order_payment.receipt'

    @classmethod
    def send(cls, receipts):
        super().send(receipts)
        enqueue('yookassa_receipt', receipts, key=True)

    # -- the mapper -------------------------------------------------------------
    def get_yookassa_receipt(self):
        "The receipt as sent inside a payment or a refund"
        data = {'customer': {k: v for k, v in (
                    ('email', self.email), ('phone', self.phone)) if v},
            'items': [i.get_yookassa_item() for i in self.items]}
        if self.tax_system:
            data['tax_system_code'] = TAX_SYSTEM_CODES[self.tax_system]
        return data

    def get_yookassa_separate(self):
        "The receipt as POST /v3/receipts takes it (sent on its own)"
        data = {**self.get_yookassa_receipt(),
            'type': 'refund' if self.kind == 'refund' else 'payment',
            'send': True,
            'settlements': [{'type': self.settlement,
                    'amount': money(self.total)}]}
        if self.kind == 'refund':
            data['refund_id'] = self.refund.provider_ref
        else:
            data['payment_id'] = self.payment.provider_ref
        return data

    # -- what YooKassa says -------------------------------------------------------
    def yookassa_apply(self, data):
        state = RECEIPT_STATES.get(data.get('status'))
        values = {'provider_ref': data['id']}
        for name in ('fiscal_document_number', 'fiscal_storage_number',
                'fiscal_attribute'):
            if data.get(name):
                values[name] = data[name]
        if data.get('registered_at'):
            values['registered_at'] = parse_time(data['registered_at'])
        reason = gettext('payment_yookassa.msg_receipt_not_registered') if (
            state == 'rejected') else None
        with as_source():
            return self.set_provider_state(self, state, values, reason)

    def yookassa_submit(self, message):
        try:
            data = client().create_receipt(message.idempotency_key,
                self.get_yookassa_separate())
        except PermanentError as error:
            with as_source():
                self.set_provider_state(self, 'rejected', reason=error.message)
            return gettext('payment_yookassa.msg_refused',
                reason=error.message)
        self.yookassa_apply(data)
        return data['id']

    @classmethod
    def yookassa_import(cls, payment, data):
        """The website's payment carried its own receipt: keep it on the
        order as the prepayment receipt, items as YooKassa has them"""
        if any(r.kind == 'prepayment' for r in payment.receipts):
            return
        found = client().list_receipts(payment_id=data['id'])
        for remote in found:
            if remote.get('type') != 'payment':
                continue
            items = [cls.yookassa_item(i) for i in remote.get('items', [])]
            receipt, = cls.create([cls.base_values(payment.order,
                        'prepayment', items, payment=payment.id,
                        provider=SYSTEM, with_operation=True,
                        provider_ref=remote['id'])])
            cls.to_pending([receipt])
            receipt.yookassa_apply(remote)
            return

    @staticmethod
    def yookassa_item(item):
        from trytond.modules.order_payment.fiscal import Item
        vats = {v: k for k, v in VAT_CODES.items()}
        subject = item.get('payment_subject', 'commodity')
        return Item(description=item['description'],
            quantity=Decimal(str(item['quantity'])),
            unit_price=Decimal(item['amount']['value']),
            vat=vats.get(int(item.get('vat_code', 1)), 'none'),
            payment_subject=subject if subject in {'commodity', 'marked',
                'non_marked', 'service', 'payment'} else 'commodity',
            payment_mode=item.get('payment_mode') if item.get('payment_mode')
            in {'full_prepayment', 'full_payment', 'advance'}
            else 'full_prepayment',
            mark_code=(item.get('mark_code_info') or {}).get('gs_1m'))

    @classmethod
    def yookassa_refresh(cls):
        """Cron: receipts being registered — those sent with their operation
        are found by the payment or refund, the others re-read"""
        with without_check_access():
            receipts = cls.search([('provider', '=', SYSTEM),
                    ('state', '=', 'pending')])
        for receipt in receipts:
            receipt.yookassa_sync()

    def yookassa_sync(self):
        api = client()
        if self.provider_ref:
            data = api.get_receipt(self.provider_ref)
        else:
            owner = {'refund_id': self.refund.provider_ref} if self.refund \
                else {'payment_id': self.payment.provider_ref}
            if not all(owner.values()):
                return
            kind = 'refund' if self.kind == 'refund' else 'payment'
            found = [r for r in api.list_receipts(**owner)
                if r.get('type') == kind]
            if not found:
                return
            data = found[-1]
        self.yookassa_apply(data)


class ReceiptItem(metaclass=PoolMeta):
    __name__ = 'order_payment.receipt.item'

    def get_yookassa_item(self):
        item = {'description': self.description,
            'quantity': f'{self.quantity:f}',
            'amount': money(self.unit_price),
            'vat_code': VAT_CODES[self.vat],
            'payment_mode': self.payment_mode,
            'payment_subject': self.payment_subject,
            'measure': 'piece'}
        if self.mark_code:
            item.update(mark_code_info={'gs_1m': self.mark_code},
                mark_mode='0')
        return item


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(), **OPERATIONS}

    def send_yookassa_create_payment(self):
        return self.record.yookassa_create(self)

    def send_yookassa_capture(self):
        return self.record.yookassa_capture(self)

    def send_yookassa_cancel(self):
        return self.record.yookassa_cancel(self)

    def send_yookassa_refund(self):
        return self.record.yookassa_refund(self)

    def send_yookassa_receipt(self):
        return self.record.yookassa_submit(self)


class Inbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.inbox'

    def apply_yookassa(self):
        "Every notification: re-read its object from the API and apply it"
        pool = Pool()
        data = self.data() or {}
        obj = data.get('object') or {}
        if not obj.get('id'):
            raise PermanentError(gettext('payment_yookassa.msg_bad_notification'))
        if self.event_type.startswith('refund.'):
            return pool.get('order_payment.refund').yookassa_sync(obj['id'])
        return pool.get('order_payment.payment').yookassa_sync(obj['id'])


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('order_payment.payment|yookassa_refresh',
                    "Re-read Open YooKassa Payments"),
                ('order_payment.receipt|yookassa_refresh',
                    "Re-read YooKassa Receipts Being Registered"),
                ])

