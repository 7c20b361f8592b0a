"Cities with coordinates, and warehouses placed in them."
from math import asin, cos, radians, sin, sqrt

from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

EARTH_RADIUS_KM = 6371.0


def distance_km(lat1, lon1, lat2, lon2):
    "Great-circle distance between two points, in kilometres"
    lat1, lon1, lat2, lon2 = map(radians, map(float, (lat1, lon1, lat2, lon2)))
    a = (sin((lat2 - lat1) / 2) ** 2
        + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a))


class City(DeactivableMixin, ModelSQL, ModelView):
    "City"
    __name__ = 'order_hub.city'

    name = fields.Char("Name", required=True)
    region = fields.Char("Region")
    latitude = fields.Numeric("Latitude", digits=(9, 6), required=True)
    longitude = fields.Numeric("Longitude", digits=(9, 6), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('name', 'ASC'), ('id', 'ASC')]

    def get_rec_name(self, name):
        if self.region and self.region != self.name:
            return f'{self.name} ({self.region})'
        return self.name

    def distance_to(self, other):
        return distance_km(
            self.latitude, self.longitude, other.latitude, other.longitude)


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'

    hub_city = fields.Many2One(
        'order_hub.city', "City", ondelete='RESTRICT',
        states={'invisible': Eval('type') != 'warehouse'})
    hub_street = fields.Char(
        "Street Address",
        states={'invisible': Eval('type') != 'warehouse'})
    hub_is_shop = fields.Boolean(
        "Shop", states={'invisible': Eval('type') != 'warehouse'},
        help="A retail shop, also a pickup point for customers.")

    @classmethod
    def hub_create_warehouses(cls, vlist):
        """Create warehouses with their input, output and storage zones.

        vlist holds the warehouse values (name, code, hub_city, hub_street,
        hub_is_shop); the zones Tryton requires are made here so that
        integrations importing warehouses need not know about them.
        """
        zones = cls.create([{'name': name, 'type': 'storage'}
                for _ in vlist
                for name in ('Input', 'Output', 'Storage')])
        warehouses = []
        for i, values in enumerate(vlist):
            input_, output, storage = zones[3 * i:3 * i + 3]
            warehouses.append({
                    'type': 'warehouse',
                    'input_location': input_.id,
                    'output_location': output.id,
                    'storage_location': storage.id,
                    **values,
                    })
        return cls.create(warehouses)
