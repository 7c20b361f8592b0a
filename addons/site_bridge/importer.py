"""Orders from the site: polled over CommerceML as 1C does (or read from a
captured file), stored in the inbox (one event per site order and
content; an order that cannot be read as an event of its own, quarantined),
confirmed to the site after they are committed, then turned into hub
orders — or applied to the hub order made from an earlier delivery, when
newer than what the hub holds — by the inbox handlers below."""
import datetime as dt
import hashlib
import json
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

from trytond.i18n import gettext
from trytond.model import Model, fields
from trytond.modules.hub_sync.errors import PermanentError, SyncError
from trytond.modules.hub_sync.processing import classify, detail, summary
from trytond.modules.order_hub.action_log import format_value
from trytond.modules.order_hub.promotion_rules import round_money
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from . import commerceml
from .commerceml import Unreadable
from .exceptions import SiteFileError

logger = logging.getLogger(__name__)

SYSTEM = 'site'
SITE_TIMEZONE = ZoneInfo('Europe/Moscow')   # CommerceML dates are site time
EVENT_ORDER = 'order'
EVENT_UNREADABLE = 'order_unreadable'

# What the site owns in an order it delivers (architecture.md rule 3): what
# the customer chose at checkout — contact data, loyalty figures, the
# delivery and its cost, the payment method and whether the order is paid.
# Delivery and payment are kept as the site sent them ({id, name}) and
# mapped to the hub's through site_bridge.mapping.  The lines, their prices
# once imported, the status and the comment belong to the hub.
SITE_OWNED = ('customer_name', 'phone', 'email', 'bonus_balance',
    'loyalty_level', 'delivery_site', 'delivery_terms', 'delivery_cost',
    'delivery_city', 'delivery_address', 'payment_site', 'paid')
# site values mapped to order fields: (mapping kind, the fields they set)
MAPPED = {
    'delivery_site': ('delivery', ('delivery_service', 'pickup_shop')),
    'payment_site': ('payment', ('payment_method',)),
    }
# site-owned facts that move the order instead of setting a field
TRANSITIONS = {'paid', 'canceled', 'cancel_reason'}
# action log kinds that mean the hub took the order over
HUB_KINDS = {'field', 'status', 'line_added', 'line_changed', 'line_removed',
    'promo_code', 'reservation'}
# how a delivery ages: the site's order version, its change date, the date
# of the export it came in (order fields, compared in this order)
VERSION_FIELDS = ('site_version', 'site_changed', 'site_exported')


def event_id(order):
    """One inbox event per site order and content (the export's date
    included): the same delivery again is a duplicate, a changed one a new
    event"""
    content = json.dumps(order, default=str, ensure_ascii=False,
        sort_keys=True)
    digest = hashlib.sha1(content.encode()).hexdigest()[:16]
    return f"order:{order['site_order_id']}:{digest}"


def unreadable_event_id(item):
    digest = hashlib.sha1(item['document'].encode()).hexdigest()[:16]
    return f"order:{item['site_order_id'] or '?'}:unreadable:{digest}"


def site_time(value):
    "A date the site wrote (its local time unless zoned) → naive UTC"
    if not value:
        return None
    moment = commerceml.parse_date(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SITE_TIMEZONE)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('site_bridge.importer|cron_fetch_orders',
                "Fetch Orders from the Website"))


def _decimal(value, default=None):
    if value in (None, ''):
        return default
    return Decimal(str(value))


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
    """Site orders in: the exchange (fetch) and captured files
    (import_file) through the same inbox; the mapper from a site order to
    a hub order in small parts a later module may override (header,
    customer, lines, delivery, payment) and the rules for a re-delivered
    order"""
    __name__ = 'site_bridge.importer'

    # -- in: the exchange and captured files ----------------------------
    @classmethod
    def fetch(cls):
        """Fetch new and changed site orders, store each in the inbox (once
        per site order and content; unreadable ones quarantined), commit,
        then confirm the batch to the site and process the stored events.
        Returns the inbox events.

        The caller must hold nothing uncommitted (cron, queue, tests)."""
        pool = Pool()
        System = pool.get('hub_sync.system')
        Inbox_ = pool.get('hub_sync.inbox')
        client = System.get(SYSTEM).site_client()
        try:
            batch = client.fetch_orders()
        except SyncError as error:
            cls.journal_exchange(error=error)
            raise
        events = cls.receive_orders(batch.orders, batch.unreadable,
            batch.exported_at)
        # stored: the site may stop re-sending them
        client.confirm_orders(batch)
        if events:
            cls.journal_exchange(batch=batch)
        Inbox_.process(events)
        return Inbox_.browse(events)

    @classmethod
    def cron_fetch_orders(cls):
        cls.fetch()

    @classmethod
    def import_file(cls, data, filename=None):
        """Import a CommerceML order file captured from the site (any
        schema version, encoding, zipped or not) exactly as the exchange
        does: inbox, duplicates, newer wins, quarantine, journal.  Returns
        [{number, outcome, outcome_string, text}] per order.

        The caller must hold nothing uncommitted."""
        Inbox_ = Pool().get('hub_sync.inbox')
        try:
            read = commerceml.read_orders(data)
        except Unreadable as error:
            cls.journal_file(filename, error=error)
            raise SiteFileError(gettext('site_bridge.msg_file_unreadable',
                    file=filename or '—', reason=str(error)))
        events = cls.receive_orders(read.orders, read.unreadable,
            read.exported_at)
        cls.journal_file(filename, read=read)
        Inbox_.process(events)
        with Transaction().new_transaction():
            return cls.report(Inbox_.browse(events))

    @classmethod
    def receive_orders(cls, orders, unreadable=(), exported_at=None):
        "Store the orders of a batch or a file in the inbox; commit; ids"
        with Transaction().new_transaction() as transaction:
            events = [cls.receive_order(o, exported_at) for o in orders]
            events += [cls.receive_unreadable(u, exported_at)
                for u in unreadable]
            transaction.commit()
        return events

    @classmethod
    def receive_order(cls, order, exported_at=None):
        Inbox_ = Pool().get('hub_sync.inbox')
        payload = {**order, 'exported_at': exported_at}
        event, created = Inbox_.receive(SYSTEM, event_id(payload),
            EVENT_ORDER, json.dumps(payload, default=str, ensure_ascii=False))
        if not created:
            # content seen before (A, B, then A again): applied again,
            # a no-op when nothing changed since, skipped when older
            Inbox_.replay([event])
        return event.id

    @classmethod
    def receive_unreadable(cls, item, exported_at=None):
        "An order that cannot be read: kept with its XML, quarantined"
        Inbox_ = Pool().get('hub_sync.inbox')
        event, created = Inbox_.receive(SYSTEM, unreadable_event_id(item),
            EVENT_UNREADABLE, json.dumps({**item, 'exported_at': exported_at},
                default=str, ensure_ascii=False))
        if not created:
            Inbox_.replay([event])
        return event.id

    @classmethod
    def report(cls, events):
        "What became of each stored order, for the person who imports"
        Inbox_ = Pool().get('hub_sync.inbox')
        labels = dict(Inbox_.fields_get(['site_outcome'])['site_outcome'][
                'selection'])
        rows = []
        for event in events:
            outcome = event.get_site_outcome()
            data = event.data()
            rows.append({'number': data.get('number')
                    or data.get('site_order_id') or '?', 'outcome': outcome,
                'outcome_string': labels.get(outcome, outcome),
                'text': event.result if event.state == 'done'
                else event.last_error})
        return rows

    @classmethod
    def format_report(cls, rows):
        return '\n'.join(f"{r['number']}: {r['outcome_string']} — "
            f"{r['text'] or ''}" for r in rows) or gettext(
            'site_bridge.msg_file_no_orders')

    @classmethod
    def journal_exchange(cls, batch=None, error=None):
        "A journal entry for a fetch that brought orders or failed"
        Journal = Pool().get('hub_sync.journal')
        values = {'system': SYSTEM, 'direction': 'in',
            'operation': 'fetch_orders'}
        if error is not None:
            values.update(outcome=classify(error), summary=summary(error),
                http_status=error.status, detail=detail(error))
        else:
            values.update(outcome='ok', summary=gettext(
                    'site_bridge.msg_journal_fetch',
                    orders=len(batch.orders),
                    unreadable=len(batch.unreadable)))
        with Transaction().new_transaction() as transaction:
            Journal.add([values])
            transaction.commit()

    @classmethod
    def journal_file(cls, filename, read=None, error=None):
        "A journal entry for an imported file, naming who imported it"
        pool = Pool()
        Journal = pool.get('hub_sync.journal')
        User = pool.get('res.user')
        user = Transaction().context.get('hub_importer') or User(
            Transaction().user).rec_name
        if error is not None:
            values = {'outcome': 'refused', 'summary': gettext(
                    'site_bridge.msg_file_unreadable', file=filename or '—',
                    reason=str(error))}
        else:
            values = {'outcome': 'ok', 'summary': gettext(
                    'site_bridge.msg_journal_file', file=filename or '—',
                    user=user, orders=len(read.orders),
                    unreadable=len(read.unreadable))}
        with Transaction().new_transaction() as transaction:
            Journal.add([{'system': SYSTEM, 'direction': 'in',
                        'operation': 'import_file', **values}])
            transaction.commit()

    # -- the inbox handlers --------------------------------------------------
    @classmethod
    def apply_order(cls, event):
        """Inbox handler of ('site', 'order'): the hub order of a site order,
        created once; a later delivery updates what the site owns in it"""
        outcome, result = cls.import_order(event.data())
        event.site_outcome = outcome
        return result

    @classmethod
    def apply_unreadable(cls, event):
        """Inbox handler of ('site', 'order_unreadable'): read again (the
        hub may read it now, after a fix) or refused with the reason"""
        data = event.data()
        number = data.get('number') or data.get('site_order_id') or '?'
        try:
            if data.get('cut'):
                raise Unreadable(data['reason'])
            order = commerceml.read_document(data['document'])
        except Unreadable as error:
            raise PermanentError(gettext(
                    'site_bridge.msg_site_order_unreadable', number=number,
                    reason=str(error)), detail=data['document'][:8000])
        return cls.apply_order_data(event,
            {**order, 'exported_at': data.get('exported_at')})

    @classmethod
    def apply_order_data(cls, event, data):
        outcome, result = cls.import_order(
            json.loads(json.dumps(data, default=str)))
        event.site_outcome = outcome
        return result

    @classmethod
    def import_order(cls, data):
        "(outcome, result) of a site order delivered"
        Order = Pool().get('order_hub.order')
        number = data.get('number') or data['site_order_id']
        with Transaction().set_context(hub_source=SYSTEM):
            existing = Order.search(['OR',
                    ('site_order_id', '=', data['site_order_id']),
                    ('site_number', '=', number),
                    ], limit=1)
            if existing:
                return cls.update_order(existing[0], data)
            return 'created', cls.create_order(data)

    @classmethod
    def create_order(cls, data):
        "A hub order of a site order; the result told to the journal"
        Order = Pool().get('order_hub.order')
        products = cls.find_products(data)
        party = cls.find_customer(data)
        order, = Order.create([cls.get_order_values(data, products, party)])
        owned = cls.site_owned_values(data)
        if owned['canceled']:
            cls.cancel_from_site(order, owned['cancel_reason'])
        elif owned['paid']:
            cls.site_paid(order, data)
        logger.info("Site order %s created as %s", order.site_number,
            order.number)
        return cls.result(gettext('site_bridge.msg_site_order_created',
                number=order.site_number, order=order.number), data, order)

    @classmethod
    def site_paid(cls, order, data):
        "The site says the order is paid (order_payment's glue records how)"
        Pool().get('order_hub.order').pay([order])

    @classmethod
    def result(cls, text, data, order=None):
        "The handler's result with what the manager must know of it"
        notes = [text]
        if data.get('truncated'):
            notes.append(gettext('site_bridge.msg_site_order_cut',
                    fields='; '.join(gettext('site_bridge.msg_cut_field',
                            field=c['field'], length=f"{c['length']:,}"
                            .replace(',', '\u00a0'),
                            kept=f"{c['kept']:,}".replace(',', '\u00a0'))
                        for c in data['truncated'])))
        if order is not None and order.site_unmapped:
            notes.append(gettext('site_bridge.msg_site_order_unmapped',
                    values=order.site_unmapped))
        return ' '.join(notes)

    # -- the mapper ----------------------------------------------------------
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
                                    line.get('barcode'), line['xml_id'])))))
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
            'delivery_site': cls.site_value(delivery.get('service_id'),
                delivery.get('service')),
            'delivery_terms': delivery.get('terms'),
            'delivery_cost': _amount(delivery.get('cost'), Decimal(0)),
            'delivery_city': delivery.get('city'),
            'delivery_address': ', '.join(filter(None, (delivery.get(
                                'postcode'), delivery.get('address')))) or None,
            'payment_site': cls.site_value(payment.get('method_id'),
                payment.get('method')),
            'paid': bool(payment.get('paid')),
            'canceled': bool(status.get('canceled')),
            'cancel_reason': status.get('cancel_reason')
            if status.get('canceled') else None,
            }

    @staticmethod
    def site_value(id_, name):
        "A delivery service or payment system as the site named it"
        if not id_ and not name:
            return None
        return {'id': str(id_) if id_ else None, 'name': name or None}

    @classmethod
    def map_site_value(cls, key, value):
        """(order values, mapped) of the site's delivery service or payment
        system (MAPPED[key]): what its mapping says, the fields emptied when
        the site sent none, emptied and not mapped when nothing maps it"""
        Mapping = Pool().get('site_bridge.mapping')
        kind, names = MAPPED[key]
        values = dict.fromkeys(names)
        if not value:
            return values, True
        found = Mapping.hub_values_of(kind, value.get('id'),
            value.get('name'))
        if found is None:
            return values, False
        return {**values, **found}, True

    @classmethod
    def unmapped(cls, owned):
        "The keys of MAPPED whose site value has no mapping"
        return [key for key in MAPPED if key in owned
            and not cls.map_site_value(key, owned[key])[1]]

    @classmethod
    def describe_unmapped(cls, owned, keys):
        "«доставка «Курьер DPD» (ИД 17)» for the manager, or None"
        messages = {'delivery_site': 'site_bridge.msg_unmapped_delivery',
            'payment_site': 'site_bridge.msg_unmapped_payment'}
        return '; '.join(gettext(messages[key],
                name=owned[key].get('name') or '—',
                id=owned[key].get('id') or '—') for key in keys) or None

    @classmethod
    def hub_values(cls, owned):
        "Order field values of site-owned facts (paid, canceled: transitions)"
        City = Pool().get('order_hub.city')
        values = {k: v for k, v in owned.items()
            if k not in TRANSITIONS and k not in MAPPED}
        for key in MAPPED.keys() & owned.keys():
            values.update(cls.map_site_value(key, owned[key])[0])
        for name in ('bonus_balance', 'delivery_cost'):
            if name in values:
                values[name] = _decimal(values[name])
        if values.get('delivery_city'):
            cities = City.search(
                [('name', 'ilike', values['delivery_city'])], limit=1)
            values['delivery_city'] = cities[0].id if cities else None
        return values

    @classmethod
    def snapshot(cls, owned, unmapped):
        "What the site sent last, kept on the order (JSON)"
        return json.dumps({**owned, 'unmapped': unmapped},
            ensure_ascii=False)

    @classmethod
    def version_values(cls, data):
        "The site's version, change date and export date of a delivery"
        return {'site_version': data.get('version'),
            'site_changed': site_time(data.get('changed_at')),
            'site_exported': site_time(data.get('exported_at'))}

    @classmethod
    def get_order_values(cls, data, products, party):
        "Values of the hub order a site order creates"
        owned = cls.site_owned_values(data)
        unmapped = cls.unmapped(owned)
        return {
            **cls._order_header(data),
            **cls._order_customer(data, party, owned),
            **cls._order_delivery(data, owned),
            **cls._order_payment(data, owned),
            **cls.version_values(data),
            'site_unmapped': cls.describe_unmapped(owned, unmapped),
            'site_snapshot': cls.snapshot(owned, unmapped),
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
        date = site_time(data.get('date'))
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
                    'delivery_site', 'delivery_terms', 'delivery_cost',
                    'delivery_city', 'delivery_address')})

    @classmethod
    def _order_payment(cls, data, owned):
        return cls.hub_values({'payment_site': owned['payment_site']})

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

    # -- a re-delivered order --------------------------------------------------
    @classmethod
    def is_older(cls, order, data):
        """Is this delivery older than the one the hub holds?  Compared by
        the site's order version, else its change date, else the date of
        the export it came in: the first both have"""
        received = cls.version_values(data)
        for name in VERSION_FIELDS:
            held = getattr(order, name)
            if held is not None and received[name] is not None:
                return received[name] < held
        return False

    @classmethod
    def describe_version(cls, values):
        "«версия 7» or «выгрузка от 20.05.2024 14:01» in the user's words"
        if values.get('site_version') is not None:
            return gettext('site_bridge.msg_version',
                version=values['site_version'])
        for name, message in (('site_changed', 'site_bridge.msg_changed'),
                ('site_exported', 'site_bridge.msg_exported')):
            if values.get(name):
                moment = values[name].replace(tzinfo=dt.UTC)
                return gettext(message, date=moment.astimezone(
                        SITE_TIMEZONE).strftime('%d.%m.%Y %H:%M:%S'))
        return '—'

    @classmethod
    def update_order(cls, order, data):
        """(outcome, result) of a later delivery of a site order.

        An older delivery than the hub holds is skipped.  Otherwise the
        site's changes of what it owns are applied while the order awaits
        payment and nobody in the hub has touched it; afterwards only told
        to the manager in the action log.  Compared with the site data last
        received, so the hub's own changes echoed by the site change
        nothing."""
        Order = Pool().get('order_hub.order')
        if cls.is_older(order, data):
            held = {n: getattr(order, n) for n in VERSION_FIELDS}
            logger.info("Site order %s: older delivery skipped",
                order.site_number)
            return 'skipped', gettext('site_bridge.msg_site_order_older',
                number=order.site_number,
                received=cls.describe_version(cls.version_values(data)),
                held=cls.describe_version(held))
        cls.apply_mapping([order])
        order = Order(order.id)
        owned = cls.site_owned_values(data)
        before = json.loads(order.site_snapshot) if order.site_snapshot \
            else owned
        # orders imported before a fact was kept: adopt the site's (but a
        # cancellation is news)
        before = {**owned, 'canceled': False, 'cancel_reason': None,
            **before}
        changes = {k: v for k, v in owned.items() if before.get(k) != v}
        unmapped = before.get('unmapped') or []
        values = {k: v for k, v in cls.version_values(data).items()
            if v is not None}
        if not changes:
            outcome, text = 'unchanged', gettext(
                'site_bridge.msg_site_order_unchanged', order=order.number)
        elif cls.taken_over(order):
            cls.log_kept_changes(order, before, changes)
            outcome, text = 'kept', gettext('site_bridge.msg_site_order_kept',
                order=order.number)
        else:
            Order.write([order], cls.hub_values(changes))
            if changes.keys() & MAPPED.keys():
                unmapped = cls.unmapped(owned)
                values['site_unmapped'] = cls.describe_unmapped(
                    owned, unmapped)
            if changes.get('canceled'):
                cls.cancel_from_site(order, owned['cancel_reason'])
            elif changes.get('paid') and order.state == 'awaiting_payment':
                cls.site_paid(order, data)
            outcome, text = 'updated', gettext(
                'site_bridge.msg_site_order_updated', order=order.number)
        Order.write([order], {**values,
                'site_snapshot': cls.snapshot(owned, unmapped)})
        return outcome, cls.result(text, data, order)

    @classmethod
    def apply_mapping(cls, orders):
        """Fill in, now that a mapping says it, the delivery or payment the
        site sent and the hub could not map (the order's button, a replay
        of its delivery)"""
        pool = Pool()
        Order = pool.get('order_hub.order')
        with Transaction().set_context(hub_source=SYSTEM):
            for order in orders:
                if not order.site_unmapped or not order.site_snapshot:
                    continue
                snapshot = json.loads(order.site_snapshot)
                keys = snapshot.get('unmapped') or []
                mapped = {k: cls.map_site_value(k, snapshot.get(k))
                    for k in keys}
                left = [k for k in keys if not mapped[k][1]]
                values = {}
                for key in keys:
                    if mapped[key][1]:
                        values.update(mapped[key][0])
                cls.fill_mapped(order, values)
                Order.write([order], {
                        'site_unmapped': cls.describe_unmapped(
                            snapshot, left),
                        'site_snapshot': json.dumps({**snapshot,
                                'unmapped': left}, ensure_ascii=False)})

    @classmethod
    def fill_mapped(cls, order, values):
        "Write mapped values, or log them when the order is past changing"
        pool = Pool()
        Order = pool.get('order_hub.order')
        ActionLog = pool.get('order_hub.action_log')
        if not values:
            return
        if order.lines_editable:
            Order.write([order], values)
            return
        ActionLog.add([(order, 'exchange', gettext(
                        'site_bridge.msg_log_mapping_not_applied',
                        state=order.state_string,
                        values='; '.join(cls.describe_change(
                                order, k, getattr(order, k), v)
                            for k, v in values.items())))])

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
                return gettext(
                    'order_hub.msg_yes' if value else 'order_hub.msg_no')
            if name in MAPPED:
                return ' '.join(filter(None, ((value or {}).get('name'),
                            f"({gettext('site_bridge.msg_id')} {value['id']})"
                            if (value or {}).get('id') else None))) or '—'
            if name in ('delivery_service', 'payment_method'):
                return format_value(order, name, value)
            if name == 'pickup_shop' and value:
                return Pool().get('stock.location')(int(value)).rec_name
            return '—' if value in (None, '') else str(getattr(
                        value, 'rec_name', value))
        labels = {'paid': 'site_bridge.msg_field_paid',
            'canceled': 'site_bridge.msg_field_canceled',
            'cancel_reason': 'site_bridge.msg_field_cancel_reason',
            'delivery_site': 'site_bridge.msg_field_delivery_site',
            'payment_site': 'site_bridge.msg_field_payment_site'}
        label = gettext(labels[name]) if name in labels else (
            order.fields_get([name])[name]['string'])
        return f'{label}: {show(old)} → {show(new)}'


OUTCOMES = [
    (None, ""),
    ('created', "Created"),
    ('updated', "Updated"),
    ('unchanged', "Unchanged"),
    ('kept', "Changes Logged for the Manager"),
    ('skipped', "Older Delivery Skipped"),
    ('quarantined', "Unreadable, Quarantined"),
    ('refused', "Refused"),
    ('pending', "Waiting for Retry"),
    ]


class Inbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.inbox'

    site_outcome = fields.Selection(OUTCOMES, "Website Order",
        readonly=True, help="What a website order delivery did.")

    def apply_site_order(self):
        return Pool().get('site_bridge.importer').apply_order(self)

    def apply_site_order_unreadable(self):
        return Pool().get('site_bridge.importer').apply_unreadable(self)

    def get_site_outcome(self):
        "site_outcome, or what a failed or pending delivery came to"
        if self.state == 'failed':
            return ('quarantined' if self.event_type == EVENT_UNREADABLE
                else 'refused')
        if self.state in {'pending', 'cancelled'}:
            return 'pending' if self.state == 'pending' else None
        return self.site_outcome
