"""Glue with order_shipments (optional): the order's shipments — carrier,
track number, status — in the deal's story, and their events (handed to a
carrier, sent, delivered, issued, returned, cancelled, refused) as
timeline comments, each once.  Registered only when order_shipments is
activated; its changes reach the deal because a shipment logs them on its
order (``Shipment.log_on_order``)."""
from trytond.i18n import gettext
from trytond.pool import PoolMeta

# shipment states worth a timeline comment (assembling is the default)
TIMELINE_STATES = {'sent', 'delivered', 'issued', 'cancelled'}


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    def b24_story_sections(self, system):
        return super().b24_story_sections(system) + [
            self.b24_story_shipments(system)]

    def b24_shipments(self):
        return sorted(self.shipments, key=lambda s: s.id)

    def b24_story_shipments(self, system):
        shipments = self.b24_shipments()
        if not shipments:
            return None
        return '\n'.join([gettext('b24_bridge.msg_story_shipments')] + [
                self.b24_story_shipment(s, system) for s in shipments])

    def b24_story_shipment(self, shipment, system):
        "One line: number, status, carrier or shop, track, request, goods"
        text = gettext('b24_bridge.msg_story_shipment',
            number=shipment.number or shipment.id,
            state=shipment.state_string,
            delivery=shipment.delivery_type_string,
            carrier=shipment.carrier_string or shipment.from_warehouse.rec_name,
            goods=shipment.describe_goods() or '—')
        if shipment.track_number:
            text += ', ' + gettext('b24_bridge.msg_story_track',
                track=shipment.track_number)
        if shipment.carrier_state:
            text += ', ' + gettext('b24_bridge.msg_story_carrier_state',
                state=shipment.carrier_state_string)
        if shipment.returned:
            text += ', ' + gettext('b24_bridge.msg_story_shipment_returned')
        return text

    def get_b24_timeline(self, system):
        entries = super().get_b24_timeline(system)
        for shipment in self.b24_shipments():
            entries.update(self.b24_timeline_shipment(shipment, system))
        return entries

    def b24_timeline_shipment(self, shipment, system):
        "{key: comment} of what happened to a shipment, in order"
        number = shipment.number or shipment.id
        entries = {}
        if shipment.carrier_state in {'created', 'cancelled'} \
                and shipment.carrier_ref:
            entries[f'shipment:{shipment.id}:carrier:'
                f'{shipment.carrier_ref}'] = gettext(
                'b24_bridge.msg_timeline_carrier', number=number,
                carrier=shipment.carrier_string,
                track=shipment.track_number or shipment.carrier_ref)
        if shipment.carrier_state == 'refused':
            entries[f'shipment:{shipment.id}:refused'] = gettext(
                'b24_bridge.msg_timeline_carrier_refused', number=number,
                carrier=shipment.carrier_string,
                reason=shipment.carrier_error or '—')
        # the status it is in (two changes between pushes: the last one)
        if shipment.state in TIMELINE_STATES:
            entries[f'shipment:{shipment.id}:{shipment.state}'] = gettext(
                'b24_bridge.msg_timeline_shipment', number=number,
                state=shipment.state_string)
        if shipment.returned:
            entries[f'shipment:{shipment.id}:returned'] = gettext(
                'b24_bridge.msg_timeline_shipment_returned', number=number)
        return entries
