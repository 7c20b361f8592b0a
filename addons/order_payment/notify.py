"""Registered receipts go to the customer from the hub, through hub_notify
(registered only when hub_notify is activated: ``[register hub_notify]``).

An e-mail with the printable receipt (the receipt report's HTML) when the
customer has an e-mail and the mail server is connected; else an SMS with
the total and the fiscal attributes.  Both are queued in the outbox in the
transaction that registered the receipt: an outage of the mail server
delays the message, never loses it."""
from trytond.i18n import gettext
from trytond.modules.order_hub.pricing import format_money
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .fiscal import phone_e164


class Receipt(metaclass=PoolMeta):
    __name__ = 'order_payment.receipt'

    @classmethod
    def send_to_customer(cls, receipts):
        pool = Pool()
        Message = pool.get('hub_notify.message')
        ActionLog = pool.get('order_hub.action_log')
        super().send_to_customer(receipts)
        values, entries = [], []
        for receipt in receipts:
            with Transaction().set_context(
                    language=cls.customer_language(receipt)):
                messages = receipt.customer_messages()
            values += messages
            if messages:
                entries.append((receipt.order, 'payment', gettext(
                            'order_payment.msg_log_receipt_sent',
                            receipt=receipt.rec_name,
                            to=', '.join(m['recipient'] for m in messages))))
            else:
                entries.append((receipt.order, 'payment', gettext(
                            'order_payment.msg_log_receipt_not_sent',
                            receipt=receipt.rec_name)))
        Message.send(values)
        ActionLog.add(entries)

    @classmethod
    def customer_language(cls, receipt):
        "The language of what the customer reads"
        return 'ru'

    def customer_contact(self):
        "(e-mail, phone) to send the receipt to; the receipt's own first"
        order = self.order
        email = (self.email or order.email or '').strip() or None
        phone = self.phone or phone_e164(order.phone)
        return email, phone

    def customer_messages(self):
        "hub_notify.message values: the e-mail, else the SMS"
        Message = Pool().get('hub_notify.message')
        email, phone = self.customer_contact()
        words = self.customer_words()
        if email and Message.connected('email'):
            return [{'channel': 'email', 'recipient': email,
                    'subject': gettext(
                        'order_payment.msg_receipt_email_subject', **words),
                    'text': self.customer_text(words),
                    'html': self.customer_html(),
                    'origin': str(self)}]
        if phone and Message.connected('sms'):
            return [{'channel': 'sms', 'recipient': phone,
                    'text': gettext('order_payment.msg_receipt_sms',
                        **words),
                    'origin': str(self)}]
        return []

    def customer_words(self):
        order = self.order
        return {'kind': self.kind_string,
            'order': order.site_number or order.number,
            'total': format_money(self.total),
            'name': order.customer_name or '',
            'fn': self.fiscal_storage_number or '—',
            'fd': self.fiscal_document_number or '—',
            'fp': self.fiscal_attribute or '—'}

    def customer_text(self, words):
        "The plain-text part of the e-mail: the items and the attributes"
        lines = [gettext('order_payment.msg_receipt_email', **words), '']
        for item in self.items:
            lines.append(gettext('order_payment.msg_receipt_email_item',
                    description=item.description,
                    quantity=item.quantity.normalize(),
                    price=format_money(item.unit_price),
                    amount=format_money(item.amount)))
        lines += ['', gettext('order_payment.msg_receipt_email_total',
                **words), gettext('order_payment.msg_receipt_fiscal',
                **words)]
        return '\n'.join(lines)

    def customer_html(self):
        "The printable receipt: the receipt report, as the accountant prints"
        Report = Pool().get('order_payment.receipt.report', type='report')
        with Transaction().set_user(0):
            _, content, _, _ = Report.execute([self.id], {})
        if isinstance(content, bytes):
            content = content.decode('utf-8')
        return content
