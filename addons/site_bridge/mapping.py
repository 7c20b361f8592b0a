"""The site's delivery services and payment systems in the hub's words,
per site connection.

Each site names its own (b_sale_delivery_srv, b_sale_pay_system): orders
carry their id («Метод доставки ИД», «Метод оплаты ИД») and name («Способ
доставки», «Метод оплаты»).  A mapping matches the id first, then the
name; a value no mapping matches is never guessed: the order is flagged
«Требует сопоставления» (see importer.py).
"""
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.modules.order_hub.order import DELIVERY_SERVICES, PAYMENT_METHODS
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from .exceptions import MappingError

KINDS = [
    ('delivery', "Delivery Service"),
    ('payment', "Payment System"),
    ]
# The site of sandbox/bitrix_site.py (DELIVERIES, PAY_SYSTEMS): what the
# demo and the tests map.  3 «Внутренний счёт» is the bonus account, never
# the order's payment method.
SANDBOX = [
    ('delivery', '1', 'Без доставки', {}),
    ('delivery', '2', 'Самовывоз из магазина', {'delivery_service': 'pickup'}),
    ('delivery', '3', 'СДЭК: до пункта выдачи',
        {'delivery_service': 'cdek_pickup'}),
    ('delivery', '4', 'СДЭК: курьером', {'delivery_service': 'cdek_courier'}),
    ('delivery', '5', 'Почта России: посылка',
        {'delivery_service': 'russian_post'}),
    ('payment', '1', 'Наличные курьеру', {'payment_method': 'on_delivery'}),
    ('payment', '2', 'Банковская карта (ЮKassa)', {'payment_method': 'online'}),
    ('payment', '3', 'Внутренний счёт', {}),
    ('payment', '4', 'СБП', {'payment_method': 'sbp'}),
    ]


def normalize(name):
    "Names compare without case, extra spaces or ё"
    return ' '.join((name or '').replace('ё', 'е').replace('Ё', 'Е')
        .casefold().split())


class Mapping(ModelSQL, ModelView):
    "Website Delivery or Payment Mapping"
    __name__ = 'site_bridge.mapping'

    system = fields.Many2One('hub_sync.system', "Connection", required=True,
        ondelete='CASCADE', domain=[('code', '=', 'site')])
    kind = fields.Selection(KINDS, "Kind", required=True)
    site_id = fields.Char("ID on the Website",
        help="The ID of the delivery service or payment system in the "
        "website's admin, as its orders give it (Метод доставки ИД, "
        "Метод оплаты ИД).")
    site_name = fields.Char("Name on the Website",
        help="Used when the ID does not match (Способ доставки, Метод "
        "оплаты); case and extra spaces do not matter.")
    delivery_service = fields.Selection(DELIVERY_SERVICES, "Delivery Service",
        states={'invisible': Eval('kind') != 'delivery'},
        help="Empty: the order has no delivery.")
    pickup_shop = fields.Many2One('stock.location', "Pickup Shop",
        ondelete='RESTRICT',
        domain=[('type', '=', 'warehouse'), ('hub_is_shop', '=', True)],
        states={'invisible': ((Eval('kind') != 'delivery')
                | (Eval('delivery_service') != 'pickup'))},
        help="The shop the customer collects from, when the website has "
        "one delivery service per shop.")
    payment_method = fields.Selection(PAYMENT_METHODS, "Payment Method",
        states={'invisible': Eval('kind') != 'payment'},
        help="Empty: not the order's payment method (e.g. the bonus "
        "account).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('site_id_unique', Unique(t, t.system, t.kind, t.site_id),
                'site_bridge.msg_mapping_unique'),
            ]
        cls._order = [('kind', 'ASC'), ('site_id', 'ASC'), ('id', 'ASC')]

    @staticmethod
    def default_kind():
        return 'delivery'

    def get_rec_name(self, name):
        return self.site_name or self.site_id or ''

    @classmethod
    def validate(cls, mappings):
        super().validate(mappings)
        for mapping in mappings:
            if not (mapping.site_id or mapping.site_name):
                raise MappingError(gettext('site_bridge.msg_mapping_no_key'))

    @classmethod
    def find(cls, kind, site_id, site_name):
        "The active site connection's mapping of a value, by id then name"
        mappings = cls.search([('kind', '=', kind),
                ('system.code', '=', 'site')])
        site_id = (site_id or '').strip()
        for mapping in mappings:
            if site_id and (mapping.site_id or '').strip() == site_id:
                return mapping
        name = normalize(site_name)
        for mapping in mappings:
            if name and normalize(mapping.site_name) == name:
                return mapping

    @classmethod
    def hub_values_of(cls, kind, site_id, site_name):
        """The order values of a site's delivery service or payment
        system, None when nothing maps it (whoever asks may not read the
        mapping: an order's button, the exchange)"""
        with without_check_access():
            mapping = cls.find(kind, site_id, site_name)
            return mapping.get_order_values() if mapping else None

    def get_order_values(self):
        if self.kind == 'delivery':
            shop = self.pickup_shop if self.delivery_service == 'pickup' \
                else None
            return {'delivery_service': self.delivery_service,
                'pickup_shop': shop.id if shop else None}
        return {'payment_method': self.payment_method}

    @classmethod
    def create_sandbox_mappings(cls, system=None, pickup_shop=None):
        """Map the sandbox site simulator's delivery services and payment
        systems (the demo's and the tests' set-up); values the connection
        maps already are left alone.  system: the site connection (the
        active one by default); pickup_shop: the shop of «Самовывоз из
        магазина»."""
        System = Pool().get('hub_sync.system')
        system = system or System.get('site')
        existing = {(m.kind, m.site_id) for m in cls.search(
                [('system', '=', system.id)])}
        return cls.create([{'system': system.id, 'kind': kind,
                    'site_id': site_id, 'site_name': name, **values,
                    **({'pickup_shop': getattr(pickup_shop, 'id', pickup_shop)}
                        if values.get('delivery_service') == 'pickup'
                        and pickup_shop else {})}
                for kind, site_id, name, values in SANDBOX
                if (kind, site_id) not in existing])

