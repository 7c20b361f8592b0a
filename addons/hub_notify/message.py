"Messages to customers: one record per e-mail or SMS, sent by the outbox"
from email.message import EmailMessage
from email.utils import formataddr

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.hub_common import model_selection, utcnow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .clients import SmsClient, send_email

class Message(ModelSQL, ModelView):
    "Customer Message"
    __name__ = 'hub_notify.message'
    _rec_name = 'subject'

    channel = fields.Selection([
            ('email', "E-mail"),
            ('sms', "SMS"),
            ], "Channel", required=True, readonly=True)
    recipient = fields.Char("To", required=True, readonly=True)
    subject = fields.Char("Subject", readonly=True)
    text = fields.Text("Text", required=True, readonly=True)
    html = fields.Text("HTML", readonly=True)
    image = fields.Binary("Image", readonly=True,
        help="Shown inline in the e-mail's HTML as cid:image.")
    origin = fields.Reference("Origin", selection='get_origins',
        readonly=True)
    sent_at = fields.DateTime("Sent", readonly=True)
    remote_id = fields.Char("Gateway ID", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]

    @classmethod
    def get_origins(cls):
        return model_selection()

    @classmethod
    def channel_system(cls, channel):
        """The code of the connection (hub_sync.system) a channel is sent
        through; a module adding a channel (a messenger) extends the
        selection and this"""
        return {'email': 'smtp', 'sms': 'sms'}[channel]

    @classmethod
    def connected(cls, channel):
        "Whether the connection of the channel ('email', 'sms') exists"
        System = Pool().get('hub_sync.system')
        with without_check_access():
            return bool(System.search(
                    [('code', '=', cls.channel_system(channel))], limit=1))

    @classmethod
    def send(cls, values):
        "Create the messages and have the outbox deliver them"
        Outbox = Pool().get('hub_sync.outbox')
        messages = cls.create(values)
        for message in messages:
            Outbox.enqueue(cls.channel_system(message.channel),
                f'hub_notify_{message.channel}', [message])
        return messages

    def get_email(self, system):
        mail = EmailMessage()
        mail['Subject'] = self.subject or ''
        mail['From'] = formataddr((system.name, system.notify_from
                or system.login or 'shop@localhost'))
        mail['To'] = self.recipient
        mail['Message-ID'] = self.get_message_id(system)
        mail.set_content(self.text)
        if self.html:
            mail.add_alternative(self.html, subtype='html')
            if self.image:
                html_part = mail.get_payload()[-1]
                html_part.add_related(bytes(self.image), 'image', 'png',
                    cid='<image>', filename='qr.png')
        return mail

    def get_message_id(self, system):
        """The same on every attempt (a retry after a lost answer is the
        same mail), and naming what it is about, so that a customer's reply
        (In-Reply-To) leads back to it: <hub-<id>.<origin model>-<origin
        id>@<the sender's domain>>"""
        sender = system.notify_from or system.login or ''
        domain = sender.rpartition('@')[2] or 'order-hub.local'
        origin = (f'.{self.origin.__name__}-{self.origin.id}'
            if self.origin and self.origin.id is not None else '')
        return f'<hub-{self.id}{origin}@{domain}>'

    def deliver_email(self, message):
        system = message.get_system()
        send_email(system.base_url, self.get_email(system), system.login,
            system.password, timeout=system.timeout or 10)
        self.write([self], {'sent_at': utcnow()})
        return self.recipient

    def deliver_sms(self, message):
        system = message.get_system()
        client = SmsClient(system.base_url, system.token,
            timeout=system.timeout or 10)
        remote_id = client.send(message.idempotency_key, self.recipient,
            self.text, system.notify_from)
        self.write([self], {'sent_at': utcnow(), 'remote_id': remote_id})
        return remote_id


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    notify_from = fields.Char("Sender",
        help="The From address of e-mails, or the sender name of SMS.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.extend([
                ('smtp', "Mail Server (SMTP)"),
                ('sms', "SMS Gateway"),
                ])


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            'hub_notify_email': 'hub_notify.msg_operation_email',
            'hub_notify_sms': 'hub_notify.msg_operation_sms'}

    def send_hub_notify_email(self):
        return self.record.deliver_email(self)

    def send_hub_notify_sms(self):
        return self.record.deliver_sms(self)
