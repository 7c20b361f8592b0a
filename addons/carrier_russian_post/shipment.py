"""Russian Post plugged into order_shipments' carrier-neutral interface.

- ``carrier_request_russian_post``: the request wizard (``request.py``);
- ``carrier_send_russian_post``: an outbox message of the ``russian_post``
  connection whose handler creates the order in Otpravka's backlog (found
  first by our number: never twice), puts it into a batch, stores the
  barcode and attaches the forms;
- ``carrier_cancel_russian_post``: deleted from the backlog while it is
  there, else from its batch (``DELETE /1.0/shipment``);
- ``carrier_track_russian_post``: the cron polls the tracking services
  through the planner within the daily quota (``track.py``).
"""
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from trytond.modules.hub_sync.errors import PermanentError, SyncError

from .client import build_order
from .system import SYSTEM

CODE = 'russian_post'
CREATE = 'russian_post_create'
LABEL = 'f7p.pdf'
F112 = 'f112.pdf'


class Shipment(metaclass=PoolMeta):
    __name__ = 'order_shipments.shipment'

    russian_post_requests = fields.One2Many(
        'carrier_russian_post.request', 'shipment', "Russian Post Requests",
        readonly=True,
        states={'invisible': Eval('carrier') != CODE})
    russian_post_polled = fields.DateTime("Last Tracked", readonly=True,
        states={'invisible': Eval('carrier') != CODE},
        help="When Russian Post's tracking service was last asked.")
    russian_post_ticket = fields.Char("Tracking Ticket", readonly=True,
        states={'invisible': ~Eval('russian_post_ticket')},
        help="The batch tracking ticket whose answer is awaited.")
    russian_post_ticket_date = fields.DateTime("Ticket Date", readonly=True,
        states={'invisible': ~Eval('russian_post_ticket')})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.carrier.selection.append((CODE, "Russian Post"))

    # -- request ---------------------------------------------------------
    def carrier_request_russian_post(self):
        return 'carrier_russian_post.wizard_request'

    def russian_post_request(self):
        "The last request made by the wizard for this shipment"
        requests = sorted(self.russian_post_requests, key=lambda r: r.id)
        return requests[-1] if requests else None

    # -- send ----------------------------------------------------------------
    @classmethod
    def carrier_send_russian_post(cls, shipments):
        Pool().get('hub_sync.outbox').enqueue(SYSTEM, CREATE, shipments)

    def russian_post_order(self, request, shipping_point):
        "The Otpravka order of this shipment from its request"
        return build_order(self.number, request.recipient(),
            request.address_values(), request.mass,
            **request.otpravka_values(shipping_point),
            items=self.get_carrier_items())

    def russian_post_create(self, message):
        """Outbox handler: create (idempotent), batch, forms, created.

        Any step may fail transiently: the retry finds the order by our
        number, a batched order is not batched again, forms are fetched
        again and replace the attached ones."""
        request = self.russian_post_request()
        if request is None:
            raise PermanentError(gettext(
                    'carrier_russian_post.msg_no_request',
                    shipment=self.number))
        system = message.get_system()
        client = system.russian_post_client()
        created = client.create_order(self.russian_post_order(request,
                system.russian_post_shipping_point))
        order_id, barcode = created['id'], created.get('barcode')
        batched = created['existing'] and created['order'].get(
            'batch-name')
        if not batched:
            answer = client.create_batch([order_id])
            if order_id not in answer['ids'] and not self.russian_post_found(
                    client, order_id):
                raise PermanentError(gettext(
                        'carrier_russian_post.msg_batch_refused',
                        shipment=self.number,
                        errors='; '.join(str(e.get('error-description')
                                or e.get('error-code'))
                            for e in answer['errors']) or '—'))
        if not barcode:
            found = client.find_orders(self.number)
            barcode = found[0].get('barcode') if found else None
        self.attach_document(self, LABEL, client.forms(order_id, 'f7p'))
        if request.cash_on_delivery:
            self.attach_document(self, F112, client.forms(order_id, 'f112'))
        self.carrier_created(self, str(order_id), barcode)
        return str(order_id)

    def russian_post_found(self, client, order_id):
        "Whether the order is in a batch already (a retry after batching)"
        return any(o.get('id') == order_id
            for o in client.find_orders(self.number))

    # -- cancel ------------------------------------------------------------
    @classmethod
    def carrier_cancel_russian_post(cls, shipments):
        """Delete the order from Otpravka's backlog or from its batch; an
        order found in neither is refused (deleted in the Otpravka account
        already: a person looks).  A creation
        still pending is cancelled, and an order it may have made already
        (answer lost, batch failed) is looked up by our number"""
        System = Pool().get('hub_sync.system')
        for shipment in shipments:
            client = System.get(SYSTEM).russian_post_client()
            try:
                if shipment.carrier_ref:
                    ids = [int(shipment.carrier_ref)]
                else:
                    cls.russian_post_cancel_message(shipment)
                    ids = [o['id'] for o in client.find_orders(
                            shipment.number)]
                missing = cls.russian_post_delete(client, ids)
            except SyncError as error:
                raise UserError(gettext(
                        'carrier_russian_post.msg_cancel_failed',
                        shipment=shipment.rec_name, reason=error.message))
            if missing and shipment.carrier_ref:
                raise UserError(gettext(
                        'carrier_russian_post.msg_cancel_not_found',
                        shipment=shipment.rec_name,
                        track=shipment.track_number or '—'))
            cls.carrier_cancelled(shipment)

    @classmethod
    def russian_post_delete(cls, client, ids):
        """Delete the orders from the backlog, then those already moved
        into a batch from their batch; the ids found in neither"""
        if not ids:
            return []
        missing = client.delete_orders(ids)['not_found']
        if missing:
            missing = client.delete_batched(missing)['not_found']
        return missing

    @classmethod
    def russian_post_cancel_message(cls, shipment):
        Outbox = Pool().get('hub_sync.outbox')
        messages = Outbox.search([('record', '=', str(shipment)),
                ('operation', '=', CREATE), ('state', '=', 'pending')])
        if messages:
            Outbox.write(messages, {'state': 'cancelled'})


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            CREATE: 'carrier_russian_post.msg_operation_create'}

    def send_russian_post_create(self):
        return self.record.russian_post_create(self)
