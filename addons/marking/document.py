"""Documents reported to Chestny Znak: withdrawal from circulation
(LK_RECEIPT) for goods leaving other than by a receipt with their codes,
return to circulation (LP_RETURN) for marked goods coming back."""
import datetime

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.hub_sync.errors import TransientError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from .exceptions import MarkingDocumentError

KINDS = [
    ('withdrawal', "Withdrawal from Circulation"),
    ('return', "Return to Circulation"),
    ]
TYPES = {'withdrawal': 'LK_RECEIPT', 'return': 'LP_RETURN'}
STATES = [
    ('draft', "Draft"),
    ('sent', "Processing in Registry"),
    ('accepted', "Accepted"),
    ('rejected', "Rejected"),
    ]
REGISTRY_DONE = {'CHECKED_OK': 'accepted', 'CHECKED_NOT_OK': 'rejected',
    'PROCESSING_ERROR': 'rejected', 'CANCELLED': 'rejected'}


class Document(ModelSQL, ModelView):
    "Chestny Znak Document"
    __name__ = 'marking.document'

    order = fields.Many2One('order_hub.order', "Order", required=True,
        readonly=True, ondelete='RESTRICT')
    kind = fields.Selection(KINDS, "Document", required=True, readonly=True)
    kind_string = kind.translated('kind')
    group = fields.Char("Product Group", required=True, readonly=True)
    reason = fields.Char("Reason", required=True, readonly=True,
        help="LK_RECEIPT action or LP_RETURN return_type.")
    primary_document = fields.Char("Primary Document", readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    codes = fields.Many2Many('marking.document-marking.code', 'document',
        'code', "Codes", readonly=True)
    state = fields.Selection(STATES, "Status", required=True, readonly=True)
    state_string = state.translated('state')
    registry_id = fields.Char("Registry Document ID", readonly=True)
    registry_status = fields.Char("Registry Status", readonly=True)
    errors = fields.Text("Registry Errors", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('order')
        cls._order = [('id', 'DESC')]
        cls._buttons.update({'resend': {
                    'invisible': Eval('state') != 'rejected',
                    'depends': ['state']}})

    @staticmethod
    def default_state():
        return 'draft'

    # -- creating ------------------------------------------------------------
    @classmethod
    def report(cls, order, kind, codes, reason, primary_document=None):
        """One document per product group of the codes, sent through the
        outbox; returns them"""
        if not codes:
            raise MarkingDocumentError(gettext('marking.msg_document_no_codes',
                    order=order.rec_name))
        by_group = {}
        for code in codes:
            by_group.setdefault(code.group, []).append(code.id)
        # the hub's own report of what happened, whoever received the goods
        with without_check_access():
            return cls._report(order, kind, by_group, reason,
                primary_document)

    @classmethod
    def _report(cls, order, kind, by_group, reason, primary_document):
        documents = cls.create([{'order': order.id, 'kind': kind,
                    'group': group, 'reason': reason,
                    'primary_document': primary_document,
                    'date': datetime.date.today(),
                    'codes': [('add', ids)]}
                for group, ids in by_group.items()])
        Pool().get('hub_sync.outbox').enqueue('chestny_znak',
            'marking_document', documents)
        cls.log(documents, 'msg_document_created')
        return documents

    @classmethod
    def withdraw(cls, order, codes, action='DISTANCE'):
        "Goods that left other than by a receipt with their codes"
        return cls.report(order, 'withdrawal', codes, action,
            order.rec_name)

    @classmethod
    def report_return(cls, order, codes, return_type='REMOTE_SALE_RETURN'):
        "Marked goods that came back: their codes return to circulation"
        return cls.report(order, 'return', codes, return_type,
            order.rec_name)

    @classmethod
    @ModelView.button
    def resend(cls, documents):
        cls.write(documents, {'state': 'draft', 'errors': None,
                'registry_id': None, 'registry_status': None})
        Pool().get('hub_sync.outbox').enqueue('chestny_znak',
            'marking_document', documents)

    @classmethod
    def log(cls, documents, message):
        ActionLog = Pool().get('order_hub.action_log')
        ActionLog.add([(d.order, 'marking', gettext('marking.' + message,
                        document=d.kind_string, group=d.group,
                        count=len(d.codes), errors=d.errors or ''))
                for d in documents])

    # -- payloads ------------------------------------------------------------
    def marking_payload(self, inn):
        return getattr(self, f'marking_{self.kind}_payload')(inn)

    def marking_withdrawal_payload(self, inn):
        return {'inn': inn, 'action': self.reason,
            'action_date': self.date.isoformat(),
            'document_type': 'OTHER',
            'document_number': self.primary_document or str(self.id),
            'document_date': self.date.isoformat(),
            'primary_document_custom_name': 'Заказ',
            'products': [self.marking_withdrawal_product(c)
                for c in self.codes]}

    def marking_withdrawal_product(self, code):
        line = code.line
        price = line.amount / line.quantity if line.quantity else 0
        return {'cis': code.cis, 'product_cost': int(round(price * 100))}

    def marking_return_payload(self, inn):
        payload = {'trade_participant_inn': inn,
            'return_type': self.reason,
            'products_list': [{'ki': c.cis} for c in self.codes]}
        if self.reason == 'REMOTE_SALE_RETURN':
            payload['paid'] = False
        return payload

    # -- outbox handlers -----------------------------------------------------
    def marking_send(self, message):
        if self.state != 'draft':
            return self.registry_id
        client = Pool().get('hub_sync.system').marking_client()
        self.registry_id = client.create_document(self.group,
            TYPES[self.kind], self.marking_payload(client.inn))
        self.state = 'sent'
        self.save()
        Pool().get('hub_sync.outbox').enqueue('chestny_znak',
            'marking_document_status', [self])
        return self.registry_id

    def marking_poll(self, message):
        "The registry processes documents asynchronously: ask until done"
        if self.state != 'sent':
            return self.state
        client = Pool().get('hub_sync.system').marking_client()
        info = client.document_info(self.registry_id, self.group)
        self.registry_status = info['status']
        if info['status'] not in REGISTRY_DONE:
            raise TransientError(gettext('marking.msg_document_processing',
                    status=info['status']), retry_after=5)
        self.state = REGISTRY_DONE[info['status']]
        self.errors = '\n'.join(str(e) for e in info.get('errors') or [])
        self.save()
        self.log([self], 'msg_document_' + self.state)
        return self.state


class DocumentCode(ModelSQL):
    "Chestny Znak Document - Marking Code"
    __name__ = 'marking.document-marking.code'

    document = fields.Many2One('marking.document', "Document",
        required=True, ondelete='CASCADE')
    code = fields.Many2One('marking.code', "Code", required=True,
        ondelete='RESTRICT')
