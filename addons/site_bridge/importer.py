"""Orders from the site: polled over CommerceML as 1C does, stored in the
inbox (one event per site order, deduplicated by its id), confirmed to the
site after they are committed, then turned into hub orders by the inbox
handler below."""
import datetime as dt
import json
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

from trytond.i18n import gettext
from trytond.model import Model
from trytond.modules.hub_sync.errors import PermanentError
from trytond.modules.hub_sync.inbox import Inbox
from trytond.modules.order_hub.promotion_rules import round_money
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)

SYSTEM = 'site'
EVENT_ORDER = 'order'
SITE_TIMEZONE = ZoneInfo('Europe/Moscow')   # CommerceML dates are site time

# The site's delivery services (b_sale_delivery_srv: id → name, as the
# 1C-Bitrix site of the sandbox has them) → order_hub delivery_service.
# The id («Метод доставки ИД») is used first, the name as a fallback.
DELIVERY_SERVICES = {
    '1': None,                # Без доставки
    '2': 'pickup',            # Самовывоз из магазина
    '3': 'cdek_pickup',       # СДЭК: до пункта выдачи
    '4': 'cdek_courier',      # СДЭК: курьером
    '5': 'russian_post',      # Почта России: посылка
    }
DELIVERY_NAMES = {
    'Без доставки': None,
    'Самовывоз из магазина': 'pickup',
    'СДЭК: до пункта выдачи': 'cdek_pickup',
    'СДЭК: курьером': 'cdek_courier',
    'Почта России: посылка': 'russian_post',
    }
# The site's payment systems (b_sale_pay_system: id → name) →
# order_hub payment_method; 3 «Внутренний счёт» is the bonus account, never
# the order's payment method.
PAYMENT_METHODS = {
    '1': 'on_delivery',       # Наличные курьеру
    '2': 'online',            # Банковская карта (ЮKassa)
    '4': 'sbp',               # СБП
    }
PAYMENT_NAMES = {
    'Наличные курьеру': 'on_delivery',
    'Банковская карта (ЮKassa)': 'online',
    'СБП': 'sbp',
    }


class Importer(Model):
    "Site Order Importer"
    __name__ = 'site_bridge.importer'

    @classmethod
    def fetch(cls):
        """Fetch new and changed site orders, store each in the inbox (once
        per site order), commit, then confirm the batch to the site and
        process the stored events.  Returns the inbox events.

        The caller must hold nothing uncommitted (cron, queue, tests)."""
        pool = Pool()
        System = pool.get('hub_sync.system')
        Inbox_ = pool.get('hub_sync.inbox')
        client = System.get(SYSTEM).site_client()
        batch = client.fetch_orders()
        with Transaction().new_transaction() as transaction:
            events = []
            for order in batch.orders:
                event, _ = Inbox_.receive(SYSTEM,
                    f"order:{order['site_order_id']}", EVENT_ORDER,
                    json.dumps(order, default=str, ensure_ascii=False))
                events.append(event.id)
            transaction.commit()
        # stored: the site may stop re-sending them
        client.confirm_orders(batch)
        Inbox_.process(events)
        return Inbox_.browse(events)

    @classmethod
    def cron_fetch_orders(cls):
        cls.fetch()


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('site_bridge.importer|cron_fetch_orders',
                "Fetch Orders from the Website"))


# -- the inbox handler -------------------------------------------------------

def _decimal(value, default=None):
    if value in (None, ''):
        return default
    return Decimal(str(value))


def _order_date(value):
    "Site local time (naive) → naive UTC, as Tryton stores DateTime"
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SITE_TIMEZONE)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _mapped(by_id, by_name, id_, name):
    if id_ not in (None, '') and str(id_) in by_id:
        return by_id[str(id_)]
    return by_name.get(name)


def _company():
    Company = Pool().get('company.company')
    company = Transaction().context.get('company')
    if company:
        return company
    companies = Company.search([], limit=1)
    return companies[0].id if companies else None


def find_products(data):
    """{xml_id: product id} of the site order's lines, found by the 1C
    GUIDs; an unknown product refuses the whole order"""
    pool = Pool()
    Product = pool.get('product.product')
    products = {}
    for line in data['lines']:
        domain = [('template.ut11_ref', '=', line['product_guid'])]
        if line.get('characteristic_guid'):
            domain.append(
                ('ut11_characteristic', '=', line['characteristic_guid']))
        found = Product.search(domain, limit=1)
        if not found:
            raise PermanentError(gettext(
                    'site_bridge.msg_unknown_product',
                    order=data.get('number') or data['site_order_id'],
                    product=' '.join(filter(None, (line.get('name'),
                                f"({line.get('article')})"
                                if line.get('article') else None,
                                line['xml_id'])))))
        products[line['xml_id']] = found[0].id
    return products


def find_customer(data):
    "The party of the site user (by login), created or refreshed"
    Party = Pool().get('party.party')
    customer = data.get('customer') or {}
    login = customer.get('login')
    values = {
        'name': customer.get('full_name') or login or data['number'],
        'hub_site_login': login,
        'hub_bonus_balance': _decimal(data.get('bonus_balance')),
        'hub_loyalty_level': data.get('loyalty_level'),
        }
    parties = Party.search([('hub_site_login', '=', login)], limit=1) \
        if login else []
    if parties:
        party, = parties
        Party.write([party], {k: v for k, v in values.items()
                if k in {'hub_bonus_balance', 'hub_loyalty_level'}})
        return party
    contacts = [{'type': kind, 'value': customer[key]}
        for kind, key in (('phone', 'phone'), ('email', 'email'))
        if customer.get(key)]
    party, = Party.create([{**values,
                'contact_mechanisms': [('create', contacts)]}])
    return party


def order_values(data, products, party):
    City = Pool().get('order_hub.city')
    customer = data.get('customer') or {}
    delivery = data.get('delivery') or {}
    payment = data.get('payment') or {}
    city = None
    if delivery.get('city'):
        cities = City.search([('name', 'ilike', delivery['city'])], limit=1)
        city = cities[0].id if cities else None
    address = ', '.join(filter(None, (delivery.get('postcode'),
                delivery.get('address'))))
    lines = []
    for line in data['lines']:
        quantity = _decimal(line['quantity'])
        if quantity == quantity.to_integral_value():
            quantity = quantity.quantize(Decimal(1))   # CommerceML: '1.0000'
        discount = _decimal(line.get('discount'), Decimal(0))
        amount = _decimal(line['amount'])
        # ЦенаЗаЕдиницу is after discounts: the hub keeps the base price
        # and the whole line's discount, as the site priced them
        lines.append({'product': products[line['xml_id']],
                'quantity': quantity,
                'unit_price': round_money((amount + discount) / quantity),
                'discount': round_money(discount)})
    values = {
        'company': _company(),
        'site_number': data['number'],
        'customer': party.id,
        'customer_name': customer.get('full_name'),
        'phone': customer.get('phone'),
        'email': customer.get('email'),
        'site_login': customer.get('login'),
        'bonus_balance': _decimal(data.get('bonus_balance')),
        'loyalty_level': data.get('loyalty_level'),
        'delivery_service': _mapped(DELIVERY_SERVICES, DELIVERY_NAMES,
            delivery.get('service_id'), delivery.get('service')),
        'delivery_terms': delivery.get('terms'),
        'delivery_cost': _decimal(delivery.get('cost'), Decimal(0)),
        'delivery_city': city,
        'delivery_address': address or None,
        'payment_method': _mapped(PAYMENT_METHODS, PAYMENT_NAMES,
            payment.get('method_id'), payment.get('method')),
        'promo_code': data.get('promo_code') or None,
        'comment': data.get('comment') or None,
        'lines': [('create', lines)],
        }
    date = _order_date(data.get('date'))
    if date:
        values['date'] = date
    return values


def create_order(event):
    """Inbox handler of ('site', 'order'): the hub order of a site order,
    created once (an existing order with that site number is returned)"""
    Order = Pool().get('order_hub.order')
    data = event.data()
    number = data.get('number') or data['site_order_id']
    with Transaction().set_context(hub_source=SYSTEM):
        existing = Order.search([('site_number', '=', number)], limit=1)
        if existing:
            return existing[0].number
        products = find_products(data)
        party = find_customer(data)
        order, = Order.create([order_values(data, products, party)])
        logger.info("Site order %s created as %s", number, order.number)
        return order.number


Inbox.register_handler(SYSTEM, EVENT_ORDER, create_order)
