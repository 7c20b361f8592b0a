"""Transfer requests in 1C UT11: a ЗаказНаПеремещение and, on its basis, a
two-step ПеремещениеТоваров (Отгружено by the sender, Принято by the
receiving shop), sent through the outbox when the manager requests the
goods and followed by a polling cron until the shop has received them."""
import logging

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.hub_sync.errors import PermanentError, SyncError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from . import payloads
from .refs import document_key

logger = logging.getLogger(__name__)

PUSH, CLOSE = 'ut11_push_transfer', 'ut11_close_transfer'
SHIPPED, RECEIVED, CLOSED = 'Отгружено', 'Принято', 'Закрыт'


class Transfer(metaclass=PoolMeta):
    __name__ = 'order_hub.transfer'

    ut11_order_ref = fields.Char("1C Transfer Order GUID", readonly=True)
    ut11_order_number = fields.Char(
        "1C Transfer Order Number", readonly=True,
        help="Заказ на перемещение in 1C UT11.")
    ut11_transfer_ref = fields.Char("1C Goods Transfer GUID", readonly=True)
    ut11_transfer_number = fields.Char(
        "1C Goods Transfer Number", readonly=True,
        help="Перемещение товаров in 1C UT11.")
    ut11_posted = fields.Boolean("Posted in 1C", readonly=True)
    ut11_status = fields.Char(
        "Status in 1C", readonly=True,
        help="Статус of the goods transfer in 1C UT11.")

    @classmethod
    def copy(cls, transfers, default=None):
        default = dict(default or {}, ut11_order_ref=None,
            ut11_order_number=None, ut11_transfer_ref=None,
            ut11_transfer_number=None, ut11_posted=False, ut11_status=None)
        return super().copy(transfers, default=default)

    @classmethod
    def request(cls, transfers):
        super().request(transfers)
        if transfers:
            Pool().get('hub_sync.outbox').enqueue('ut11', PUSH, transfers)

    @classmethod
    def cancel(cls, transfers):
        # a refused request may have left a transfer order in 1C
        sent = [t for t in transfers if t.state == 'requested']
        super().cancel(transfers)
        if sent:
            Pool().get('hub_sync.outbox').enqueue('ut11', CLOSE, sent)

    @classmethod
    def hub_sync_refused(cls, transfer, message, error):
        "The outbox's hook: 1C refused the documents of this request"
        with Transaction().set_context(hub_source='ut11'):
            cls.record_refusal([transfer], message.last_error)

    def get_ut11_values(self, system):
        "Arguments shared by both documents' payloads"
        refs = (self.from_warehouse.ut11_ref, self.to_warehouse.ut11_ref)
        lines = []
        for line in self.lines:
            if not all(refs + (line.product.template.external_ref,)):
                raise PermanentError(gettext('ut11_bridge.msg_not_from_ut11',
                        product=line.product.rec_name,
                        warehouse=(self.from_warehouse.rec_name if not refs[0]
                            else self.to_warehouse.rec_name)))
            lines.append({'product': line.product.template.external_ref,
                    'characteristic': line.product.external_variant_ref,
                    'quantity': line.quantity})
        return {'date': self.date, 'organization': system.ut11_organization,
            'sender': refs[0], 'receiver': refs[1], 'lines': lines,
            'comment': self.number}

    @classmethod
    def ut11_poll(cls):
        "Cron: transfers the receiving shop has accepted in 1C"
        System = Pool().get('hub_sync.system')
        transfers = cls.search([('state', '=', 'in_transit'),
                ('ut11_transfer_ref', '!=', None)])
        if not transfers or not System.search([('code', '=', 'ut11')]):
            return
        client = System.get('ut11').ut11_client()
        received = []
        for transfer in transfers:
            try:
                document = client.document_status(payloads.TRANSFER,
                    transfer.ut11_transfer_ref)
            except SyncError as error:
                logger.warning("transfer %s: %s", transfer.number, error)
                continue
            if document['status'] != transfer.ut11_status:
                transfer.ut11_record(None, document)
            if document['posted'] and document['status'] == RECEIVED:
                received.append(transfer)
        with Transaction().set_context(hub_source='ut11'):
            cls.receive(received)

    def ut11_record(self, order_document, document):
        values = {'ut11_transfer_ref': document['key'],
            'ut11_transfer_number': document['number'],
            'ut11_posted': document['posted'],
            'ut11_status': document.get('status')}
        if order_document:
            values.update(ut11_order_ref=order_document['key'],
                ut11_order_number=order_document['number'])
        self.write([self], values)

    def ut11_push(self, message):
        """Outbox handler: the transfer order, then the transfer shipped on
        its basis, each under a GUID of the request (retries overwrite, never
        double); the request is then in transit"""
        transfer = self
        if transfer.state != 'requested':
            return None     # cancelled meanwhile
        system = message.get_system()
        client = system.ut11_client()
        values = transfer.get_ut11_values(system)
        basis = transfer.order.ut11_ref if transfer.order else None
        order_document = client.save(payloads.TRANSFER_ORDER,
            payloads.transfer_order_payload(
                ref_key=document_key(transfer, 'transfer_order'),
                basis_order=basis, **values))
        document = client.save(payloads.TRANSFER, payloads.transfer_payload(
                ref_key=document_key(transfer, 'transfer'),
                transfer_order=order_document['key'], status=SHIPPED, **values))
        transfer.ut11_record(order_document, {**document, 'status': SHIPPED})
        pool = Pool()
        Transfer = pool.get('order_hub.transfer')
        ActionLog = pool.get('order_hub.action_log')
        with Transaction().set_context(hub_source='ut11'):
            Transfer.ship([transfer])
            if transfer.order:
                ActionLog.add([(transfer.order, 'transfer', gettext(
                                'ut11_bridge.msg_log_transfer_pushed',
                                number=transfer.number,
                                transfer_order=order_document['number'],
                                transfer=document['number']))])
        return f"{order_document['number']}, {document['number']}"

    def ut11_close(self, message):
        "Outbox handler: a cancelled request's transfer order is closed in 1C"
        transfer = self
        client = message.get_system().ut11_client()
        key = document_key(transfer, 'transfer_order')
        try:
            document = client.update(payloads.TRANSFER_ORDER, key,
                {'Статус': CLOSED})
        except PermanentError as error:
            if getattr(error, 'odata_code', None) == '9':
                return None     # 1C never had it
            raise
        return document['number']


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            PUSH: 'ut11_bridge.msg_operation_transfer',
            CLOSE: 'ut11_bridge.msg_operation_transfer_close'}

    def send_ut11_push_transfer(self):
        return self.record.ut11_push(self)

    def send_ut11_close_transfer(self):
        return self.record.ut11_close(self)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(('order_hub.transfer|ut11_poll',
                "Follow Transfers in 1C UT11"))
