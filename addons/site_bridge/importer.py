"""Orders from the site: polled over CommerceML as 1C does, stored in the
inbox (one event per site order and content), confirmed to the site after
they are committed, then turned into hub orders — or applied to the hub
order made from an earlier delivery — by the inbox handler below."""
import datetime as dt
import hashlib
import json
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

from trytond.i18n import gettext
from trytond.model import Model
from trytond.modules.hub_sync.errors import PermanentError
from trytond.modules.order_hub.action_log import format_value
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

# What the site owns in an order it delivers (architecture.md rule 3): what
# the customer chose at checkout — contact data, loyalty figures, the
# delivery and its cost, the payment method and whether the order is paid.
# The lines, their prices once imported (re-priced through the pricing
# interface), the status and the manager's comment belong to the hub.
SITE_OWNED = ('customer_name', 'phone', 'email', 'bonus_balance',
    'loyalty_level', 'delivery_service', 'delivery_terms', 'delivery_cost',
    'delivery_city', 'delivery_address', 'payment_method', 'paid')
# site-owned facts that move the order instead of setting a field
TRANSITIONS = {'paid', 'canceled', 'cancel_reason'}
# action log kinds that mean the hub took the order over
HUB_KINDS = {'field', 'status', 'line_added', 'line_changed', 'line_removed',
    'promo_code', 'reservation'}


def event_id(order):
    """One inbox event per site order and content: the same delivery again
    is a duplicate, a changed one a new event"""
    content = json.dumps(order, default=str, ensure_ascii=False,
        sort_keys=True)
    digest = hashlib.sha1(content.encode()).hexdigest()[:16]
    return f"order:{order['site_order_id']}:{digest}"


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


def _amount(value, default=None):
    value = _decimal(value, default)
    return None if value is None else str(value.quantize(Decimal('0.01')))


class Importer(Model):
    """Site orders in: the exchange (fetch), the mapper from a site order to
    a hub order in small parts a later module may override (header,
    customer, lines, delivery, payment) and the rules for a re-delivered
    order"""
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
                event, created = Inbox_.receive(SYSTEM, event_id(order),
                    EVENT_ORDER,
                    json.dumps(order, default=str, ensure_ascii=False))
                if not created:
                    # content seen before (A, B, then A again): applied
                    # again against the order's last site data, a no-op
                    # when nothing changed since
                    Inbox_.replay([event])
                events.append(event.id)
            transaction.commit()
        # stored: the site may stop re-sending them
        client.confirm_orders(batch)
        Inbox_.process(events)
        return Inbox_.browse(events)

    @classmethod
    def cron_fetch_orders(cls):
        cls.fetch()

    @classmethod
    def find_products(cls, data):
        """{xml_id: product id} of the site order's lines, found by the
        catalogue's external IDs; an unknown product refuses the order"""
        Product = Pool().get('product.product')
        products = {}
        for line in data['lines']:
            found = Product.search_offer(line['product_guid'],
                line.get('characteristic_guid'))
            if not found:
                raise PermanentError(gettext(
                        'site_bridge.msg_unknown_product',
                        order=data.get('number') or data['site_order_id'],
                        product=' '.join(filter(None, (line.get('name'),
                                    f"({line.get('article')})"
                                    if line.get('article') else None,
                                    line['xml_id'])))))
            products[line['xml_id']] = found.id
        return products

    @classmethod
    def find_customer(cls, data):
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

    @classmethod
    def site_owned_values(cls, data):
        "The site-owned facts of a delivered order, JSON-able (its snapshot)"
        customer = data.get('customer') or {}
        delivery = data.get('delivery') or {}
        payment = data.get('payment') or {}
        status = data.get('status') or {}
        return {
            'customer_name': customer.get('full_name'),
            'phone': customer.get('phone'),
            'email': customer.get('email'),
            'bonus_balance': _amount(data.get('bonus_balance')),
            'loyalty_level': data.get('loyalty_level'),
            'delivery_service': _mapped(DELIVERY_SERVICES, DELIVERY_NAMES,
                delivery.get('service_id'), delivery.get('service')),
            'delivery_terms': delivery.get('terms'),
            'delivery_cost': _amount(delivery.get('cost'), Decimal(0)),
            'delivery_city': delivery.get('city'),
            'delivery_address': ', '.join(filter(None, (delivery.get(
                                'postcode'), delivery.get('address')))) or None,
            'payment_method': _mapped(PAYMENT_METHODS, PAYMENT_NAMES,
                payment.get('method_id'), payment.get('method')),
            'paid': bool(payment.get('paid')),
            'canceled': bool(status.get('canceled')),
            'cancel_reason': status.get('cancel_reason')
            if status.get('canceled') else None,
            }

    @classmethod
    def hub_values(cls, owned):
        "Order field values of site-owned facts (paid, canceled: transitions)"
        City = Pool().get('order_hub.city')
        values = {k: v for k, v in owned.items() if k not in TRANSITIONS}
        for name in ('bonus_balance', 'delivery_cost'):
            if name in values:
                values[name] = _decimal(values[name])
        if values.get('delivery_city'):
            cities = City.search(
                [('name', 'ilike', values['delivery_city'])], limit=1)
            values['delivery_city'] = cities[0].id if cities else None
        return values

    @classmethod
    def get_order_values(cls, data, products, party):
        "Values of the hub order a site order creates"
        owned = cls.site_owned_values(data)
        return {
            **cls._order_header(data),
            **cls._order_customer(data, party, owned),
            **cls._order_delivery(data, owned),
            **cls._order_payment(data, owned),
            'site_snapshot': json.dumps(owned, ensure_ascii=False),
            'lines': [('create', cls._order_lines(data, products))],
            }

    @classmethod
    def _order_header(cls, data):
        values = {
            'company': _company(),
            'site_number': data['number'],
            'site_order_id': data['site_order_id'],
            'promo_code': data.get('promo_code') or None,
            'comment': data.get('comment') or None,
            }
        date = _order_date(data.get('date'))
        if date:
            values['date'] = date
        return values

    @classmethod
    def _order_customer(cls, data, party, owned):
        customer = data.get('customer') or {}
        return {**cls.hub_values({k: owned[k] for k in (
                        'customer_name', 'phone', 'email', 'bonus_balance',
                        'loyalty_level')}),
            'customer': party.id, 'site_login': customer.get('login')}

    @classmethod
    def _order_delivery(cls, data, owned):
        return cls.hub_values({k: owned[k] for k in (
                    'delivery_service', 'delivery_terms', 'delivery_cost',
                    'delivery_city', 'delivery_address')})

    @classmethod
    def _order_payment(cls, data, owned):
        return cls.hub_values({'payment_method': owned['payment_method']})

    @classmethod
    def _order_lines(cls, data, products):
        return [cls._order_line(line, products) for line in data['lines']]

    @classmethod
    def _order_line(cls, line, products):
        quantity = _decimal(line['quantity'])
        if quantity == quantity.to_integral_value():
            quantity = quantity.quantize(Decimal(1))   # CommerceML: '1.0000'
        discount = _decimal(line.get('discount'), Decimal(0))
        amount = _decimal(line['amount'])
        # ЦенаЗаЕдиницу is after discounts: the hub keeps the base price
        # and the whole line's discount, as the site priced them
        return {'product': products[line['xml_id']],
            'site_basket_id': int(line['basket_id'])
            if str(line.get('basket_id') or '').strip().isdigit() else None,
            'quantity': quantity,
            'unit_price': round_money((amount + discount) / quantity),
            'discount': round_money(discount)}

    @classmethod
    def apply_order(cls, event):
        """Inbox handler of ('site', 'order'): the hub order of a site order,
        created once; a later delivery updates what the site owns in it"""
        Order = Pool().get('order_hub.order')
        data = event.data()
        number = data.get('number') or data['site_order_id']
        with Transaction().set_context(hub_source=SYSTEM):
            existing = Order.search(['OR',
                    ('site_order_id', '=', data['site_order_id']),
                    ('site_number', '=', number),
                    ], limit=1)
            if existing:
                return cls.update_order(existing[0], data)
            products = cls.find_products(data)
            party = cls.find_customer(data)
            order, = Order.create([cls.get_order_values(data, products, party)])
            owned = cls.site_owned_values(data)
            if owned['canceled']:
                cls.cancel_from_site(order, owned['cancel_reason'])
            elif owned['paid']:
                Order.pay([order])
            logger.info("Site order %s created as %s", number, order.number)
            return order.number

    @classmethod
    def update_order(cls, order, data):
        """Apply the site's changes of what it owns while the order awaits
        payment and nobody in the hub has touched it; afterwards only tell the
        manager in the action log.  Compared with the site data last received,
        so the hub's own changes echoed by the site change nothing."""
        Order = Pool().get('order_hub.order')
        owned = cls.site_owned_values(data)
        # orders imported before snapshots were kept: adopt the site's data
        before = json.loads(order.site_snapshot) if order.site_snapshot else owned
        # snapshots kept before cancellations were followed
        before = {'canceled': False, 'cancel_reason': None, **before}
        changes = {k: v for k, v in owned.items() if before.get(k) != v}
        if not changes:
            return gettext('site_bridge.msg_site_order_unchanged',
                order=order.number)
        if cls.taken_over(order):
            cls.log_kept_changes(order, before, changes)
            result = 'site_bridge.msg_site_order_kept'
        else:
            Order.write([order], cls.hub_values(changes))
            if changes.get('canceled'):
                cls.cancel_from_site(order, owned['cancel_reason'])
            elif changes.get('paid') and order.state == 'awaiting_payment':
                Order.pay([order])
            result = 'site_bridge.msg_site_order_updated'
        Order.write([order], {'site_snapshot': json.dumps(owned,
                    ensure_ascii=False)})
        return gettext(result, order=order.number)

    @classmethod
    def cancel_from_site(cls, order, reason):
        """The customer cancelled on the site before the hub took the order
        over: cancelled here too, with the site's reason in the log"""
        pool = Pool()
        Order = pool.get('order_hub.order')
        ActionLog = pool.get('order_hub.action_log')
        Order.cancel([order])
        ActionLog.add([(order, 'exchange', gettext(
                        'site_bridge.msg_log_site_cancelled',
                        reason=reason or '—'))])

    @classmethod
    def taken_over(cls, order):
        "Paid, reserved or edited in the hub: the hub's data wins"
        return (order.state != 'awaiting_payment'
            or any(r.active for r in order.reservations)
            or any(e.source != SYSTEM and e.kind in HUB_KINDS
                for e in order.action_logs))

    @classmethod
    def log_kept_changes(cls, order, before, changes):
        ActionLog = Pool().get('order_hub.action_log')
        ActionLog.add([(order, 'exchange', gettext(
                        'site_bridge.msg_log_site_change_kept',
                        changes='; '.join(cls.describe_change(order, name,
                                before.get(name), value)
                            for name, value in changes.items())))])

    @classmethod
    def describe_change(cls, order, name, old, new):
        "«Телефон: +7… → +7…» in the user's words"
        def show(value):
            if isinstance(value, bool):
                return gettext('order_hub.msg_yes' if value else 'order_hub.msg_no')
            if name in ('delivery_service', 'payment_method'):
                return format_value(order, name, value)
            return '—' if value in (None, '') else str(value)
        labels = {'paid': 'site_bridge.msg_field_paid',
            'canceled': 'site_bridge.msg_field_canceled',
            'cancel_reason': 'site_bridge.msg_field_cancel_reason'}
        label = gettext(labels[name]) if name in labels else (
            order.fields_get([name])[name]['string'])
        return f'{label}: {show(old)} → {show(new)}'


class Inbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.inbox'

    def apply_site_order(self):
        return Pool().get('site_bridge.importer').apply_order(self)
