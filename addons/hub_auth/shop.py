"With order_hub: directory groups give shops too"
from trytond.model import ModelSQL, fields
from trytond.pool import Pool, PoolMeta


class GroupMap(metaclass=PoolMeta):
    __name__ = 'hub_auth.group_map'

    shops = fields.Many2Many('hub_auth.group_map-stock.location', 'map',
        'warehouse', "Shops", domain=[('type', '=', 'warehouse')],
        help="The shops and warehouses given to the members.")


class GroupMapShop(ModelSQL):
    "Directory Group Mapping - Shop"
    __name__ = 'hub_auth.group_map-stock.location'

    map = fields.Many2One('hub_auth.group_map', "Mapping", required=True,
        ondelete='CASCADE')
    warehouse = fields.Many2One('stock.location', "Shop", required=True,
        ondelete='CASCADE')


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    @classmethod
    def _hub_auth_values(cls, user, account):
        GroupMap = Pool().get('hub_auth.group_map')
        values = super()._hub_auth_values(user, account)
        managed = {s.id for m in GroupMap.managed() for s in m.shops}
        wanted = {s.id for m in cls._hub_auth_mappings(account)
            for s in m.shops}
        current = {s.id for s in user.hub_shops}
        shops = (current - managed) | wanted
        if shops != current:
            values['hub_shops'] = [('remove', sorted(current - shops)),
                ('add', sorted(shops - current))]
        return values
