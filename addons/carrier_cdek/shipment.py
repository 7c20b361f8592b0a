"""CDEK plugged into the shipments' carrier-neutral interface: the request
form, the order creation through the outbox (never two orders for one
shipment), labels, cancel, statuses by webhook and by polling."""
import datetime as dt
import logging

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from trytond.modules.hub_sync.errors import (
    PermanentError, SyncError, TransientError)

from .events import parse_webhook
from .system import SYSTEM

logger = logging.getLogger(__name__)

CODE = 'cdek'
CREATE = 'cdek_create_order'
PRINT = 'cdek_print'


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.source.selection.append((SYSTEM, "CDEK"))


class Shipment(metaclass=PoolMeta):
    __name__ = 'order_shipments.shipment'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.carrier.selection.append((CODE, "CDEK"))

    # -- the interface ---------------------------------------------------------
    def carrier_request_cdek(self):
        "The request form of this shipment, pre-filled on first opening"
        pool = Pool()
        Request = pool.get('carrier_cdek.request')
        Action = pool.get('ir.action')
        ModelData = pool.get('ir.model.data')
        request = Request.for_shipment(self)
        action_id = Action.get_action_id(
            ModelData.get_id('carrier_cdek', 'act_request_form'))
        action = Action(action_id).get_action_value()
        action['res_id'] = [request.id]
        return action

    def cdek_request(self):
        "The request the manager submitted last"
        Request = Pool().get('carrier_cdek.request')
        requests = Request.search([('shipment', '=', self.id),
                ('state', '=', 'submitted')], order=[('id', 'DESC')],
            limit=1)
        if not requests:
            raise PermanentError(gettext('carrier_cdek.msg_no_request',
                    shipment=self.rec_name))
        return requests[0]

    @classmethod
    def carrier_send_cdek(cls, shipments):
        Pool().get('hub_sync.outbox').enqueue(SYSTEM, CREATE, shipments)

    @classmethod
    def carrier_cancel_cdek(cls, shipments):
        """Delete the CDEK order while CDEK allows it; otherwise a Russian
        error and nothing is cancelled"""
        for shipment in shipments:
            if shipment.carrier_state == 'pending':
                raise UserError(gettext('carrier_cdek.msg_cancel_pending',
                        shipment=shipment.rec_name))
            if not shipment.carrier_ref:
                cls.carrier_cancelled(shipment)
                continue
            client = cls.cdek_client()
            try:
                info = client.get_order(shipment.carrier_ref)
                if info['status'] == 'REMOVED':
                    cls.carrier_cancelled(shipment)
                    continue
                if not info['deletable']:
                    raise UserError(gettext(
                            'carrier_cdek.msg_cancel_too_late',
                            shipment=shipment.rec_name,
                            status=info['statuses'][-1]['description']
                            if info['statuses'] else info['status']))
                client.delete_order(shipment.carrier_ref)
                info = cls.cdek_wait(client, shipment.carrier_ref, 'DELETE')
                if info['state'] == 'invalid':
                    raise PermanentError(info['error']
                        or ', '.join(e.get('message', '')
                            for e in info['errors']))
            except PermanentError as error:
                raise UserError(gettext('carrier_cdek.msg_cancel_refused',
                        shipment=shipment.rec_name, error=str(error))
                    ) from error
            except SyncError as error:
                raise UserError(gettext('carrier_cdek.msg_cdek_unavailable',
                        error=str(error))) from error
            cls.carrier_cancelled(shipment)

    @classmethod
    def carrier_track_cdek(cls, shipments):
        "Polling fallback: re-read the orders that had no news for a while"
        quiet = cls.cdek_quiet_since()
        for shipment in shipments:
            last = max((e.received for e in shipment.events
                    if e.source == CODE and e.received), default=None)
            if last and quiet and last > quiet:
                continue
            try:
                cls.cdek_follow(shipment)
            except SyncError as error:
                logger.warning('CDEK polling of %s failed: %s',
                    shipment.number, error)

    @classmethod
    def cdek_quiet_since(cls):
        "Orders with news after this moment are not polled"
        hours = Transaction().context.get('cdek_poll_quiet_hours', 3)
        if not hours:
            return None
        return dt.datetime.utcnow() - dt.timedelta(hours=hours)

    @staticmethod
    def cdek_client():
        return Pool().get('hub_sync.system').get(SYSTEM).cdek_client()

    @classmethod
    def cdek_follow(cls, shipment, client=None):
        """Read the order at CDEK and apply its statuses (what CDEK says
        now is what we believe, whatever a webhook claimed)"""
        client = client or cls.cdek_client()
        info = client.get_order(shipment.carrier_ref)
        return cls.carrier_events(shipment, info['statuses'])

    # -- the outbox's work -----------------------------------------------------
    def cdek_create_order(self, message):
        """Create the CDEK order of the submitted request once: the order
        of our number is looked up first, so a retry after a timeout or a
        second click adopts it instead of creating another"""
        client = message.get_system().cdek_client()
        request = self.cdek_request()
        order_uuid = request.cdek_uuid
        if not order_uuid:
            found = client.find_order(number=request.number)
            if found and found['state'] != 'invalid' \
                    and found['status'] != 'REMOVED':
                order_uuid = found['uuid']
            else:
                order_uuid = client.create_order(request.get_order_payload())
            request.cdek_uuid = order_uuid
            request.save()
        info = self.cdek_wait(client, order_uuid)
        if info['state'] == 'invalid':
            raise PermanentError(info['error'])
        if info['state'] != 'successful':
            raise TransientError(gettext('carrier_cdek.msg_still_checking',
                    uuid=order_uuid))
        self.carrier_created(self, order_uuid, info['cdek_number'])
        Pool().get('hub_sync.outbox').enqueue(SYSTEM, PRINT, [self])
        return order_uuid

    @classmethod
    def cdek_wait(cls, client, order_uuid, request_type='CREATE',
            attempts=None, delay=0.5):
        """The order, polled a little while CDEK still checks the request
        (create or delete); still 'accepted' after that: the caller decides"""
        attempts = attempts or Transaction().context.get(
            'cdek_poll_attempts', 6)
        for attempt in range(attempts):
            info = client.get_order_request(order_uuid, request_type)
            if info['state'] != 'accepted':
                break
            client.sleep(delay)
        return info

    def cdek_print(self, message):
        "The waybill and the barcode labels, attached to the shipment"
        client = message.get_system().cdek_client()
        self.attach_document(self, self.cdek_document_name('waybill'),
            client.print_waybill([self.carrier_ref]))
        self.attach_document(self, self.cdek_document_name('barcode'),
            client.print_barcode([self.carrier_ref]))
        return self.carrier_ref

    def cdek_document_name(self, kind):
        label = gettext(f'carrier_cdek.msg_document_{kind}')
        return f'{label} {self.number}.pdf'

    # -- webhooks ----------------------------------------------------------------
    @classmethod
    def cdek_find(cls, event, client):
        "The shipment of a webhook event: by CDEK's uuid, number, or return"
        if event.get('order_uuid'):
            shipments = cls.search([('carrier', '=', CODE),
                    ('carrier_ref', '=', event['order_uuid'])], limit=1)
            if shipments:
                return shipments[0], event['order_uuid']
        if event.get('is_return') and event.get('order_uuid'):
            info = client.get_order(event['order_uuid'])
            for related in info['related']:
                if related.get('type') == 'direct_order':
                    found = cls.search([('carrier', '=', CODE),
                            ('carrier_ref', '=', related.get('uuid'))],
                        limit=1)
                    if found:
                        return found[0], event['order_uuid']
        if event.get('number'):
            Request = Pool().get('carrier_cdek.request')
            requests = Request.search([('number', '=', event['number'])],
                order=[('id', 'DESC')], limit=1)
            if requests and requests[0].shipment.carrier_ref:
                shipment = requests[0].shipment
                return shipment, shipment.carrier_ref
        return None, None


class Inbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.inbox'

    def apply_cdek_ORDER_STATUS(self):
        return self.apply_cdek_order_status()

    def apply_cdek_order_status(self):
        """A status webhook: CDEK signs nothing, so the order is re-read
        from the API and what CDEK says there is applied (duplicates and
        reordering are harmless: carrier_events deduplicates and never
        moves a shipment back)"""
        Shipment = Pool().get('order_shipments.shipment')
        parsed = parse_webhook(self.payload)
        event = parsed['event'] or {}
        client = Shipment.cdek_client()
        shipment, order_uuid = Shipment.cdek_find(event, client)
        if shipment is None:
            return f"no shipment for CDEK order {event.get('order_uuid')}"
        info = client.get_order(order_uuid)
        new = Shipment.carrier_events(shipment, info['statuses'])
        return f'{shipment.number}: {len(new)} new'

    def apply_cdek_PRINT_FORM(self):
        "Print forms are fetched by the outbox; the notice is only kept"
        return 'kept'


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            CREATE: 'carrier_cdek.msg_operation_create',
            PRINT: 'carrier_cdek.msg_operation_print'}

    def send_cdek_create_order(self):
        return self.record.cdek_create_order(self)

    def send_cdek_print(self):
        return self.record.cdek_print(self)
