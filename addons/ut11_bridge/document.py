"""Sales and customer returns in 1C UT11, requested by other hub modules.

Shipments and return blocks (later issues) call one method::

    Document = Pool().get('ut11_bridge.document')
    sale = Document.request('sale', shipment, lines, order=order)
    Document.request('return', return_block, lines, order=order,
        warehouse=shop, basis=sale)

``lines`` are dicts: ``product`` (product.product), ``quantity``,
``unit_price``, optional ``discount`` (amount of the line) and, for a sale,
``warehouse`` (where the goods leave; default the document's).  A sale is
made "on the basis of" the order's ЗаказКлиента (its reserve is consumed), a
return on the basis of a sale.  The document is sent through the outbox
after the commit; 1C's GUID, number and posted state come back on it, and
the origin hears of the outcome through optional hooks on its model:
``ut11_document_posted(origin, document)`` and
``ut11_document_refused(origin, document, reason)``.
"""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.hub_common import model_selection
from trytond.modules.hub_sync.errors import PermanentError, TransientError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from . import payloads
from .refs import document_key

OPERATION = 'ut11_push_document'
KINDS = [
    ('sale', "Sale"),
    ('return', "Customer Return"),
    ]
STATES = [
    ('pending', "Waiting for 1C"),
    ('posted', "Posted in 1C"),
    ('refused', "Refused by 1C"),
    ]


class Document(ModelSQL, ModelView):
    "1C UT11 Document"
    __name__ = 'ut11_bridge.document'
    _rec_name = 'ut11_number'

    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    kind_string = kind.translated('kind')
    origin = fields.Reference(
        "Origin", selection='get_origins', readonly=True,
        help="The hub record this document realises.")
    order = fields.Many2One(
        'order_hub.order', "Order", required=True, readonly=True,
        ondelete='RESTRICT')
    basis = fields.Many2One(
        'ut11_bridge.document', "Basis", readonly=True, ondelete='RESTRICT',
        help="The sale a return is based on.")
    warehouse = fields.Many2One(
        'stock.location', "Warehouse", readonly=True, ondelete='RESTRICT')
    lines = fields.One2Many(
        'ut11_bridge.document.line', 'document', "Goods", readonly=True)
    state = fields.Selection(
        STATES, "Status", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    ut11_ref = fields.Char("1C GUID", readonly=True)
    ut11_number = fields.Char("1C Number", readonly=True)
    ut11_posted = fields.Boolean("Posted in 1C", readonly=True)
    refusal = fields.Text("Refusal", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def get_origins(cls):
        return model_selection()

    def get_rec_name(self, name):
        return f'{self.kind_string} {self.ut11_number or self.id}'

    @classmethod
    def request(cls, kind, origin, lines, order=None, warehouse=None,
            basis=None):
        "Queue a sale or a return in 1C for origin; returns the document"
        order = order or (basis.order if basis else origin)
        with without_check_access():
            document, = cls.create([{
                        'kind': kind, 'origin': str(origin),
                        'order': order.id,
                        'warehouse': warehouse.id if warehouse else None,
                        'basis': basis.id if basis else None,
                        'lines': [('create', [cls.line_values(l)
                                        for l in lines])],
                        }])
        Pool().get('hub_sync.outbox').enqueue('ut11', OPERATION, [document])
        return document

    @staticmethod
    def line_values(line):
        warehouse = line.get('warehouse')
        return {'product': line['product'].id, 'quantity': line['quantity'],
            'unit_price': line['unit_price'],
            'discount': line.get('discount') or Decimal(0),
            'warehouse': warehouse.id if warehouse else None}

    def get_ut11_lines(self, system):
        lines = []
        for line in self.lines:
            warehouse = line.warehouse or self.warehouse
            product = line.product
            if not product.template.external_ref or (
                    warehouse and not warehouse.ut11_ref):
                raise PermanentError(gettext('ut11_bridge.msg_not_from_ut11',
                        product=product.rec_name,
                        warehouse=warehouse.rec_name if warehouse else '—'))
            values = {'product': product.template.external_ref,
                'characteristic': product.external_variant_ref,
                'quantity': line.quantity, 'price': line.unit_price,
                'discount': line.discount or Decimal(0),
                'warehouse': warehouse.ut11_ref if warehouse else None,
                'vat_rate': system.ut11_vat_rate,
                'price_type': system.ut11_price_type}
            if self.kind == 'return':
                # a return's rows have neither ВидЦены nor manual discount
                values.update(amount=payloads.line_amount(values),
                    discount=None, price_type=None)
            lines.append(values)
        return lines

    def get_ut11_payload(self, system):
        values = {'ref_key': document_key(self, self.kind),
            'date': self.create_date, 'organization':
            system.ut11_organization, 'partner': system.ut11_partner,
            'counterparty': system.ut11_counterparty,
            'agreement': system.ut11_agreement,
            'currency': system.ut11_currency,
            'lines': self.get_ut11_lines(system),
            'comment': self.order.number}
        if self.kind == 'sale':
            return payloads.SALE, payloads.sale_payload(
                order=self.ut11_basis(self.order.ut11_ref),
                warehouse=self.warehouse.ut11_ref if self.warehouse
                else None, **values)
        return payloads.RETURN, payloads.return_payload(
            sale=self.ut11_basis(self.basis.ut11_ref if self.basis else ''),
            warehouse=self.warehouse.ut11_ref, **values)

    def ut11_basis(self, key):
        "The basis' GUID; None for no basis, wait while it is not in 1C"
        if key is None:
            raise TransientError(gettext('ut11_bridge.msg_basis_not_in_1c',
                    document=self.kind_string))
        return key or None

    def notify_origin(self, hook, *args):
        method = getattr(type(self.origin), hook, None)
        if self.origin and method:
            method(self.origin, self, *args)

    @classmethod
    def hub_sync_refused(cls, document, message, error):
        "The outbox's hook: 1C refused the document"
        document.write([document], {'state': 'refused',
                'refusal': message.last_error})
        document.log_on_order(gettext('ut11_bridge.msg_log_document_refused',
                document=document.kind_string, reason=message.last_error))
        document.notify_origin('ut11_document_refused', message.last_error)

    def log_on_order(self, text):
        ActionLog = Pool().get('order_hub.action_log')
        with Transaction().set_context(hub_source='ut11'):
            ActionLog.add([(self.order, 'exchange', text)])

    def ut11_push(self, message):
        "Create (or overwrite) and post the document in 1C"
        document = self
        system = message.get_system()
        client = system.ut11_client()
        entity_set, payload = document.get_ut11_payload(system)
        result = client.save(entity_set, payload)
        document.write([document], {'state': 'posted' if result['posted']
                else 'pending', 'ut11_ref': result['key'],
                'ut11_number': result['number'],
                'ut11_posted': result['posted'], 'refusal': None})
        document.log_on_order(gettext('ut11_bridge.msg_log_document_posted',
                document=document.kind_string, number=result['number']))
        document.notify_origin('ut11_document_posted')
        return result['number']


class DocumentLine(ModelSQL, ModelView):
    "1C UT11 Document Line"
    __name__ = 'ut11_bridge.document.line'

    document = fields.Many2One(
        'ut11_bridge.document', "Document", required=True,
        ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='RESTRICT')
    quantity = fields.Numeric("Quantity", digits=(16, 0), required=True)
    unit_price = fields.Numeric("Unit Price", digits=(16, 2), required=True)
    discount = fields.Numeric("Discount", digits=(16, 2))
    warehouse = fields.Many2One(
        'stock.location', "Warehouse", ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('document')


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            OPERATION: 'ut11_bridge.msg_operation_document'}

    def send_ut11_push_document(self):
        return self.record.ut11_push(self)


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    ut11_documents = fields.One2Many(
        'ut11_bridge.document', 'order', "1C Documents", readonly=True)
