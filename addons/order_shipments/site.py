"""Glue with the site bridge (registered only when site_bridge is
activated): track numbers go to the site's shipment."""
from trytond.pool import Pool, PoolMeta


class Shipment(metaclass=PoolMeta):
    __name__ = 'order_shipments.shipment'

    @classmethod
    def carrier_created(cls, shipment, ref, track_number=None):
        Order = Pool().get('order_hub.order')
        super().carrier_created(shipment, ref, track_number=track_number)
        if track_number:
            Order.site_enqueue([shipment.order])


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    def get_site_shipment_fields(self, shipment):
        "The track number of the hub's carrier shipment, once it has one"
        values = super().get_site_shipment_fields(shipment)
        tracks = [s.track_number for s in self.shipments
            if s.track_number and s.state != 'cancelled']
        if tracks and shipment.get('trackingNumber') != tracks[0]:
            values['trackingNumber'] = tracks[0]
        return values
