"Users attached to shops: shop staff see and act on their shops only."
from trytond.cache import Cache
from trytond.model import ModelSQL, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    hub_shops = fields.Many2Many(
        'res.user-order_hub.shop', 'user', 'warehouse', "Shops",
        domain=[('type', '=', 'warehouse')],
        help="The shops and warehouses this employee works in.")
    _hub_shops_cache = Cache('res_user.get_hub_shops', context=False)

    @classmethod
    def get_hub_shops(cls):
        "Ids of the current user's shops"
        user_id = Transaction().user
        shops = cls._hub_shops_cache.get(user_id)
        if shops is None:
            shops = sorted(w.id for w in cls(user_id).hub_shops) \
                if user_id else []
            cls._hub_shops_cache.set(user_id, shops)
        return shops

    @classmethod
    def on_modification(cls, mode, users, field_names=None):
        super().on_modification(mode, users, field_names=field_names)
        cls._hub_shops_cache.clear()


class UserShop(ModelSQL):
    "User - Shop"
    __name__ = 'res.user-order_hub.shop'
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')
    warehouse = fields.Many2One(
        'stock.location', "Shop", required=True, ondelete='CASCADE')


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _get_cache_key(cls, model_names):
        User = Pool().get('res.user')
        return (*super()._get_cache_key(model_names), User.get_hub_shops())

    @classmethod
    def _get_context(cls, model_name):
        User = Pool().get('res.user')
        context = super()._get_context(model_name)
        context['hub_shops'] = User.get_hub_shops()
        return context
