"""The payment link to the customer: an e-mail with the link's QR code and
an SMS, through hub_notify (each only when its connection exists)."""
import io
from html import escape

import qrcode
from qrcode.image.pure import PyPNGImage

from trytond.i18n import gettext
from trytond.modules.order_hub.pricing import format_money
from trytond.modules.order_payment.fiscal import phone_e164
from trytond.pool import Pool, PoolMeta


def qr_png(text):
    "A PNG of the QR code of text"
    buffer = io.BytesIO()
    qrcode.make(text, image_factory=PyPNGImage, box_size=6).save(buffer)
    return buffer.getvalue()


class Payment(metaclass=PoolMeta):
    __name__ = 'order_payment.payment'

    @classmethod
    def on_link_ready(cls, payments):
        pool = Pool()
        Message = pool.get('hub_notify.message')
        ActionLog = pool.get('order_hub.action_log')
        super().on_link_ready(payments)
        values, entries = [], []
        for payment in payments:
            messages = payment.link_messages()
            values += messages
            entries.append((payment.order, 'payment', gettext(
                        'payment_yookassa.msg_log_link_sent',
                        to=', '.join(m['recipient'] for m in messages)
                        or '—')))
        Message.send(values)
        ActionLog.add(entries)

    def link_messages(self):
        "hub_notify.message values: the e-mail and the SMS of the link"
        Message = Pool().get('hub_notify.message')
        order = self.order
        words = {'order': order.site_number or order.number,
            'amount': format_money(self.amount),
            'url': self.confirmation_url,
            'name': order.customer_name or ''}
        messages = []
        if order.email and Message.connected('email'):
            text = gettext('payment_yookassa.msg_link_email', **words)
            messages.append({'channel': 'email', 'recipient': order.email,
                    'subject': gettext('payment_yookassa.msg_link_subject',
                        **words),
                    'text': text, 'html': self.link_html(text),
                    'image': qr_png(self.confirmation_url),
                    'origin': str(self)})
        phone = phone_e164(order.phone)
        if phone and Message.connected('sms'):
            messages.append({'channel': 'sms', 'recipient': phone,
                    'text': gettext('payment_yookassa.msg_link_sms', **words),
                    'origin': str(self)})
        return messages

    def link_html(self, text):
        paragraphs = ''.join(f'<p>{escape(p)}</p>' for p in text.split('\n')
            if p.strip())
        url = escape(self.confirmation_url, quote=True)
        return (f'<html><body>{paragraphs}<p><a href="{url}">{url}</a></p>'
            f'<p><img src="cid:image" alt="QR"/></p></body></html>')
