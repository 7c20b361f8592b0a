"""The hub's order and its lines.

Every change to an order is re-priced and logged by the hooks below, so the
same rules hold whether the change comes from the web client, the REST API
or another system's bridge.
"""
import datetime
import re
from decimal import Decimal

from sql import Null

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Workflow, fields, sequence_ordered)
from trytond.modules.currency.fields import Monetary
from trytond.modules.hub_common import is_whole_positive, normalise_phone
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .action_log import format_number, format_value
from .bulk import ModelLogInBulk, in_
from .exceptions import (
    LineValidationError, OrderDeleteError, OrderNotEditable, PromoCodeError,
    ReservationError)
from .pricing import format_money, normalize_code
from .promotion_rules import round_money
from .reservation import OrderReservationMixin
from .status import CLOSED, LINES_EDITABLE, ORDER_STATES

DELIVERY_SERVICES = [
    (None, ""),
    ('pickup', "Pickup from Our Shop"),
    ('cdek_pickup', "CDEK, Pickup Point"),
    ('cdek_courier', "CDEK, Courier"),
    ('russian_post', "Russian Post"),
    ]

PAYMENT_METHODS = [
    (None, ""),
    ('online', "Online by Card"),
    ('sbp', "Faster Payments System (SBP)"),
    ('on_delivery', "On Delivery"),
    ]

# header fields whose every change goes to the action log
TRACKED_FIELDS = [
    'customer', 'customer_name', 'phone', 'email', 'site_login',
    'bonus_balance', 'loyalty_level', 'site_number', 'payment_method',
    'delivery_service', 'delivery_terms', 'delivery_cost', 'delivery_city',
    'delivery_address', 'pickup_shop', 'comment',
    ]
# header fields still editable once the goods are on their way
CONTACT_FIELDS = {'customer_name', 'phone', 'phone_key', 'email', 'comment'}
# fields the hub itself maintains, written in any state
SYSTEM_FIELDS = {
    'state', 'total_without_discount', 'discount_total', 'total',
    'promo_note'}
LINE_PRICE_FIELDS = {'unit_price', 'discount', 'promotion'}

_CREATING = '_order_hub_creating'


class Order(
        ModelLogInBulk, OrderReservationMixin, Workflow, ModelSQL, ModelView):
    "Order"
    __name__ = 'order_hub.order'
    _rec_name = 'number'

    _states = {'readonly': Eval('state').in_(list(CLOSED))}

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    number = fields.Char("Number", readonly=True)
    site_number = fields.Char("Site Order Number", states=_states)
    date = fields.DateTime("Order Date", required=True, states=_states)
    state = fields.Selection(
        ORDER_STATES, "Status", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    customer = fields.Many2One(
        'party.party', "Customer", ondelete='RESTRICT', states=_states,
        context={'company': Eval('company', -1)}, depends=['company'])
    customer_name = fields.Char("Full Name", states=_states)
    phone = fields.Char("Phone", states=_states)
    phone_key = fields.Char("Phone (Normalised)", readonly=True,
        help="The phone as +7…, whatever its form: what a search by phone "
        "and telephony compare.")
    email = fields.Char("Email", states=_states)
    site_login = fields.Char("Site Login", states=_states)
    bonus_balance = fields.Numeric(
        "Bonus Balance", digits=(16, 2), states=_states)
    loyalty_level = fields.Char("Loyalty Level", states=_states)

    delivery_service = fields.Selection(
        DELIVERY_SERVICES, "Delivery Service", states=_states,
        help="The delivery the customer chose on the website.")
    delivery_service_string = delivery_service.translated('delivery_service')
    delivery_terms = fields.Char("Delivery Terms", states=_states)
    delivery_cost = Monetary(
        "Delivery Cost", currency='currency', digits='currency',
        states=_states)
    delivery_city = fields.Many2One(
        'order_hub.city', "Delivery City", ondelete='RESTRICT',
        states=_states)
    delivery_address = fields.Char("Delivery Address", states=_states)
    pickup_shop = fields.Many2One(
        'stock.location', "Pickup Shop", ondelete='RESTRICT',
        domain=[('type', '=', 'warehouse'), ('hub_is_shop', '=', True)],
        states={
            'readonly': _states['readonly'],
            'invisible': Eval('delivery_service') != 'pickup',
            })
    payment_method = fields.Selection(
        PAYMENT_METHODS, "Payment Method", states=_states)

    promo_code = fields.Char(
        "Promo Code", states=_states,
        help="Applying a code re-computes the order by its promotion.")
    promo_note = fields.Char("Promo Code Note", readonly=True)
    lines = fields.One2Many(
        'order_hub.order.line', 'order', "Lines",
        states={'readonly': ~Eval('state').in_(list(LINES_EDITABLE))})
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    total_without_discount = Monetary(
        "Total without Discounts", currency='currency', digits='currency',
        readonly=True)
    discount_total = Monetary(
        "Discounts", currency='currency', digits='currency', readonly=True)
    total = Monetary(
        "Total", currency='currency', digits='currency', readonly=True,
        help="With discounts and delivery.")
    comment = fields.Text("Comment")
    reservations = fields.One2Many(
        'order_hub.reservation', 'order', "Reserved Items", readonly=True)
    reservation_shortage = fields.Function(
        fields.Text("Not Reserved"), 'get_reservation_shortage')
    action_logs = fields.One2Many(
        'order_hub.action_log', 'order', "Action Log", readonly=True)

    del _states

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        filling = not table_h.column_exist('phone_key')
        super().__register__(module)
        if filling:
            cls._fill_phone_keys()

    @classmethod
    def _fill_phone_keys(cls):
        "Migration: the normalised phone of the orders stored before it"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, table.phone,
                where=table.phone != Null))
        by_key = {}
        for id_, phone in cursor.fetchall():
            by_key.setdefault(normalise_phone(phone), []).append(id_)
        for key, ids in by_key.items():
            for sub_ids in grouped_slice(ids):
                cursor.execute(*table.update([table.phone_key], [key],
                        where=table.id.in_(list(sub_ids))))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        table = cls.__table__()
        cls._sql_indexes.add(Index(table,
                (table.phone_key, Index.Equality()),
                where=table.phone_key != Null))
        # fields written in any state: the hub's and the exchanges' own
        # bookkeeping (integrations add theirs)
        cls._system_fields = set(SYSTEM_FIELDS)
        cls._transitions |= {
            ('awaiting_payment', 'paid'),
            ('paid', 'assembling'),
            ('assembling', 'delivering'),
            ('delivering', 'issued'),
            ('awaiting_payment', 'cancelled'),
            ('paid', 'cancelled'),
            ('assembling', 'cancelled'),
            }
        cls._buttons.update({
                'pay': {
                    'invisible': Eval('state') != 'awaiting_payment',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(
                        ['awaiting_payment', 'paid', 'assembling']),
                    'depends': ['state'],
                    },
                'reserve': {
                    'invisible': ~Eval('state').in_(['paid', 'assembling']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'awaiting_payment'

    @classmethod
    def default_date(cls):
        return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @fields.depends('customer')
    def on_change_customer(self):
        if not self.customer:
            return
        party = self.customer
        self.customer_name = party.name
        self.phone = party.phone
        self.email = party.email
        self.site_login = party.hub_site_login
        self.bonus_balance = party.hub_bonus_balance
        self.loyalty_level = party.hub_loyalty_level

    @property
    def pricing_date(self):
        return Pool().get('ir.date').today()

    @property
    def lines_editable(self):
        return self.state in LINES_EDITABLE

    def check_lines_editable(self):
        if not self.lines_editable:
            raise OrderNotEditable(gettext(
                    'order_hub.msg_order_lines_not_editable',
                    order=self.rec_name, state=self.state_string))

    # -- creation, modification, deletion ----------------------------------
    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Configuration = pool.get('order_hub.configuration')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('number'):
            values['number'] = Configuration(1).order_sequence.get()
        if values.get('promo_code') is not None:
            values['promo_code'] = normalize_code(values['promo_code']) or None
        if 'phone' in values:
            values['phone_key'] = normalise_phone(values['phone'])
        return values

    @classmethod
    def search_rec_name(cls, name, clause):
        """The search box of the order list: number, site number, customer's
        name, and the phone in any form («8 916 123-45-67»)"""
        _, operator, operand, *extra = clause
        if operator.startswith('not') or operator == '!=':
            return [('number', operator, operand, *extra)]
        domain = ['OR',
            ('number', operator, operand, *extra),
            ('site_number', operator, operand, *extra),
            ('customer_name', operator, operand, *extra),
            ]
        if isinstance(operand, str) and len(re.sub(r'\D', '', operand)) >= 10:
            domain.append(('phone_key', '=', normalise_phone(operand)))
        return domain

    @classmethod
    def create(cls, vlist):
        # lines created with the order are logged once, as the creation
        with Transaction().set_context(**{_CREATING: True}):
            orders = super().create(vlist)
        cls._after_creation(orders)
        return orders

    @classmethod
    def _after_creation(cls, orders):
        ActionLog = Pool().get('order_hub.action_log')
        unpriced = [o for o in orders
            if any(l.unit_price is None for l in o.lines)]
        cls.reprice(unpriced, apply_code=True, log=False)
        cls.update_totals([o for o in orders if o not in unpriced])
        ActionLog.add((o, 'created', gettext('order_hub.msg_log_created',
                    lines=len(o.lines), total=format_money(o.total or 0)))
            for o in orders)

    @classmethod
    def check_modification(cls, mode, orders, values=None, external=False):
        super().check_modification(
            mode, orders, values=values, external=external)
        if mode == 'delete':
            raise OrderDeleteError(gettext('order_hub.msg_order_delete'))
        if mode != 'write':
            return
        changed = set(values) - cls._system_fields
        for order in orders:
            if order.state in CLOSED:
                allowed = set()
            elif not order.lines_editable:
                allowed = CONTACT_FIELDS
            else:
                continue
            if changed - allowed:
                raise OrderNotEditable(gettext(
                        'order_hub.msg_order_not_editable',
                        order=order.rec_name, state=order.state_string))

    @classmethod
    def on_write(cls, orders, values):
        callbacks = super().on_write(orders, values)
        names = [n for n in TRACKED_FIELDS + ['state', 'promo_code']
            if n in values]
        if names:
            old = {o.id: {n: getattr(o, n) for n in names} for o in orders}
            callbacks.append(lambda: cls._log_changes(orders, old))
        if 'promo_code' in values:
            callbacks.append(lambda: cls.reprice(orders, apply_code=True))
        elif 'delivery_cost' in values:
            callbacks.append(lambda: cls.update_totals(orders))
        return callbacks

    @classmethod
    def _log_changes(cls, orders, old):
        ActionLog = Pool().get('order_hub.action_log')
        entries = []
        for order in orders:
            for name, before in old[order.id].items():
                after = getattr(order, name)
                if before == after:
                    continue
                entries.append(order._change_entry(name, before, after))
        ActionLog.add(entries)

    def _change_entry(self, name, before, after):
        if name == 'state':
            return (self, 'status', gettext('order_hub.msg_log_status',
                    old=format_value(self, name, before),
                    new=format_value(self, name, after)))
        if name == 'promo_code':
            if after:
                message = gettext('order_hub.msg_log_promo_applied',
                    code=after, discount=format_money(self.discount_total or 0))
            else:
                message = gettext('order_hub.msg_log_promo_removed',
                    code=before)
            return (self, 'promo_code', message)
        string = self.fields_get([name])[name]['string']
        return (self, 'field', gettext('order_hub.msg_log_field',
                field=string, old=format_value(self, name, before),
                new=format_value(self, name, after)))

    # -- prices and totals -------------------------------------------------
    @classmethod
    def reprice(cls, orders, apply_code=False, log=True):
        """Re-price every line at current prices and promotions.

        With apply_code, a promo code that does not apply is an error (the
        manager just entered it); otherwise it only stops giving a discount.
        """
        pool = Pool()
        Pricing = pool.get('order_hub.pricing')
        Line = pool.get('order_hub.order.line')
        ActionLog = pool.get('order_hub.action_log')
        to_write, entries, notes = [], [], {}
        for order in orders:
            result = Pricing.price(order, order.lines, order.promo_code)
            if result.promo_error and apply_code:
                raise PromoCodeError(result.promo_error)
            note = result.promo_error if order.promo_code else None
            if note != order.promo_note:
                notes[order] = note
                if note:
                    entries.append((order, 'promo_code', note))
            for line in order.lines:
                changes = line.price_changes(result.lines[line.id])
                if changes:
                    to_write.extend([[line], changes])
                    if log and 'unit_price' in changes:
                        entries.append(line.price_entry(changes['unit_price']))
        if to_write:
            with Transaction().set_context(**{_CREATING: True}):
                Line.write(*to_write)
        for order, note in notes.items():
            cls.write([order], {'promo_note': note})
        cls.update_totals(orders, log=log)
        ActionLog.add(entries)

    @classmethod
    def update_totals(cls, orders, log=True):
        ActionLog = Pool().get('order_hub.action_log')
        to_write, entries = [], []
        for order in orders:
            totals = order.compute_totals()
            if any(getattr(order, k) != v for k, v in totals.items()):
                if log and order.total is not None and (
                        order.total != totals['total']):
                    entries.append((order, 'pricing', gettext(
                                'order_hub.msg_log_total',
                                old=format_money(order.total),
                                new=format_money(totals['total']))))
                to_write.extend([[order], totals])
        if to_write:
            cls.write(*to_write)
        ActionLog.add(entries)

    def compute_totals(self):
        base = sum((l.base_amount for l in self.lines), Decimal(0))
        discount = sum((l.discount or 0 for l in self.lines), Decimal(0))
        return {
            'total_without_discount': base,
            'discount_total': discount,
            'total': base - discount + (self.delivery_cost or 0),
            }

    # -- status ------------------------------------------------------------
    @classmethod
    @ModelView.button
    def pay(cls, orders):
        """The orders are paid: «Оплачен», then the paid-order work"""
        orders = [o for o in orders if (o.state, 'paid') in cls._transitions]
        cls.set_paid(orders)
        cls.on_paid(orders)

    @classmethod
    @Workflow.transition('paid')
    def set_paid(cls, orders):
        pass

    @classmethod
    def on_paid(cls, orders):
        """The one event of a paid order, called once its state is «Оплачен».

        Whoever learns of the payment (a payment provider, the site, a
        manager's button) calls ``pay``; modules that start work on a paid
        order (export to 1C, reservation, notifications) extend this method
        and call ``super()``.  The hub itself does nothing more here: the
        manager reserves with «Зарезервировать»."""

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, orders):
        Reservation = Pool().get('order_hub.reservation')
        Reservation.release(
            [r for o in orders for r in o.reservations if r.active],
            reason=gettext('order_hub.msg_release_order_cancelled'))

    @classmethod
    @ModelView.button
    def reserve(cls, orders):
        """Reserve every line nearest the customer first; what cannot be
        reserved is reported on the order, all lines at once."""
        pool = Pool()
        Reservation = pool.get('order_hub.reservation')
        ActionLog = pool.get('order_hub.action_log')
        for order in orders:
            order.check_lines_editable()
            if not order.reservation_city:
                raise ReservationError(gettext(
                        'order_hub.msg_reserve_no_city', order=order.rec_name))
        shortages = Reservation.reserve_lines(cls.lines_of(orders))
        ActionLog.add((o, 'reservation', o.describe_shortage(shortages))
            for o in orders if any(l.order == o for l in shortages))
        holding = Reservation.orders_holding(orders)
        cls.assemble([o for o in orders if o.state == 'paid'
                and o.id in holding])

    @classmethod
    def lines_of(cls, orders):
        """Lines of the orders, in the orders' order and then the lines'
        (as o.lines gives them), with one query of their ids"""
        Line = Pool().get('order_hub.order.line')
        line = Line.__table__()
        by_order = {o.id: [] for o in orders}
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.select(line.id, line.order,
                where=in_(line.order, list(by_order)),
                order_by=[line.sequence.asc.nulls_first, line.id.asc]))
        for id_, order in cursor:
            by_order[order].append(id_)
        return Line.browse([l for o in orders for l in by_order[o.id]])

    def describe_shortage(self, shortages):
        return gettext('order_hub.msg_reservation_shortage', lines='; '.join(
                gettext('order_hub.msg_line_missing', line=line.rec_name,
                    missing=format_number(missing))
                for line, missing in shortages.items() if line.order == self))

    def get_reservation_shortage(self, name):
        if self.state not in LINES_EDITABLE or not self.reservations:
            return None
        missing = {l: l.missing_quantity for l in self.lines
            if l.missing_quantity > 0}
        return self.describe_shortage(missing) if missing else None

    @classmethod
    @Workflow.transition('assembling')
    def assemble(cls, orders):
        pass

    @classmethod
    @Workflow.transition('delivering')
    def deliver(cls, orders):
        pass

    @classmethod
    @Workflow.transition('issued')
    def issue(cls, orders):
        pass


class OrderLine(ModelLogInBulk, sequence_ordered(), ModelSQL, ModelView):
    "Order Line"
    __name__ = 'order_hub.order.line'

    order = fields.Many2One(
        'order_hub.order', "Order", required=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='RESTRICT',
        context={'company': Eval('company', -1)}, depends=['company'])
    size = fields.Function(fields.Char("Size"), 'on_change_with_size')
    marked = fields.Function(
        fields.Boolean("Marked"), 'on_change_with_marked')
    # checked by check_quantity, whose message names the product
    quantity = fields.Numeric("Quantity", digits=(16, 0), required=True)
    unit_price = Monetary(
        "Unit Price", currency='currency', digits='currency', readonly=True)
    discount = Monetary(
        "Discount", currency='currency', digits='currency', readonly=True)
    promotion = fields.Many2One(
        'order_hub.promotion', "Promotion", readonly=True,
        ondelete='RESTRICT')
    base_amount = fields.Function(Monetary(
            "Amount without Discount", currency='currency',
            digits='currency'), 'on_change_with_base_amount')
    amount = fields.Function(Monetary(
            "Amount", currency='currency', digits='currency'),
        'on_change_with_amount')
    reservations = fields.One2Many(
        'order_hub.reservation', 'line', "Reserved Items", readonly=True)
    reserved_quantity = fields.Function(
        fields.Numeric("Reserved", digits=(16, 0)), 'get_reserved')
    missing_quantity = fields.Function(
        fields.Numeric("Not Reserved", digits=(16, 0)), 'get_reserved')
    reserved_where = fields.Function(
        fields.Char("Reserved at"), 'get_reserved_where')
    reservation_city = fields.Function(
        fields.Many2One('order_hub.city', "Goods Go To"),
        'get_reservation_city')
    stock_levels = fields.Function(
        fields.Many2Many('order_hub.stock', None, None, "Stock per Warehouse",
            readonly=True, context={'hub_city': Eval('reservation_city', -1)},
            depends=['reservation_city']),
        'get_stock_levels')
    company = fields.Function(
        fields.Many2One('company.company', "Company"),
        'on_change_with_company')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('order')

    @classmethod
    def get_reserved(cls, lines, names):
        reserved = {l.id: Decimal(0) for l in lines}
        for line in lines:
            for reservation in line.reservations:
                if reservation.active:
                    reserved[line.id] += reservation.quantity
        result = {'reserved_quantity': reserved, 'missing_quantity': {
                l.id: max(l.quantity - reserved[l.id], Decimal(0))
                for l in lines}}
        return {n: result[n] for n in names}

    def get_reservation_city(self, name):
        return self.order.reservation_city if self.order else None

    def get_reserved_where(self, name):
        return ', '.join(
            f'{r.warehouse.code or r.warehouse.name}: '
            f'{format_number(r.quantity)}'
            for r in self.reservations if r.active) or None

    @classmethod
    def get_stock_levels(cls, lines, name):
        StockLevel = Pool().get('order_hub.stock')
        levels = StockLevel.search(
            [('product', 'in', list({l.product.id for l in lines}))])
        result = {l.id: [] for l in lines}
        for line in lines:
            result[line.id] = [s.id for s in levels
                if s.product == line.product]
        return result

    @classmethod
    def default_quantity(cls):
        return Decimal(1)

    @fields.depends('order', '_parent_order.company')
    def on_change_with_company(self, name=None):
        return self.order.company if self.order else None

    @fields.depends('order', '_parent_order.currency')
    def on_change_with_currency(self, name=None):
        return self.order.currency if self.order else None

    @fields.depends('product')
    def on_change_with_size(self, name=None):
        return self.product.hub_size if self.product else None

    @fields.depends('product')
    def on_change_with_marked(self, name=None):
        return bool(self.product and self.product.hub_marked)

    @fields.depends('product')
    def on_change_product(self):
        # a preview: the saved order is re-priced with its promotions
        if self.product and self.product.list_price_used is not None:
            self.unit_price = round_money(self.product.list_price_used)
            self.discount = Decimal(0)

    @fields.depends('quantity', 'unit_price')
    def on_change_with_base_amount(self, name=None):
        if self.quantity is None or self.unit_price is None:
            return Decimal(0)
        return round_money(self.quantity * self.unit_price)

    @fields.depends('discount', methods=['on_change_with_base_amount'])
    def on_change_with_amount(self, name=None):
        return self.on_change_with_base_amount() - (self.discount or 0)

    def get_rec_name(self, name):
        return self.product.rec_name if self.product else str(self.id)

    def price_changes(self, price):
        changes = {
            'unit_price': price.unit_price,
            'discount': price.discount,
            'promotion': price.promotion,
            }
        current = {
            'unit_price': self.unit_price,
            'discount': self.discount,
            'promotion': self.promotion.id if self.promotion else None,
            }
        return {k: v for k, v in changes.items() if current[k] != v}

    def price_entry(self, new_price):
        return (self.order, 'pricing', gettext('order_hub.msg_log_line_price',
                line=self.rec_name,
                old=format_money(self.unit_price) if self.unit_price is not None
                else '—',
                new=format_money(new_price)))

    def marking_codes(self):
        """The marking codes (Chestny Znak DataMatrix, as scanned) of the
        line's units, one per unit: the one place fiscal receipts read them
        from.  The marking module extends this; none here."""
        return []

    def describe(self):
        return gettext('order_hub.msg_line_description',
            product=self.product.rec_name,
            quantity=format_number(self.quantity))

    # -- validation and hooks ----------------------------------------------
    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if field_names is None or field_names & {'quantity', 'product'}:
            for line in lines:
                line.check_quantity()
        if field_names is None or 'product' in field_names:
            # a quantity edit leaves the product as it was checked
            for line in lines:
                line.check_product()

    def check_quantity(self):
        quantity = self.quantity
        if not is_whole_positive(quantity):
            raise LineValidationError(gettext(
                    'order_hub.msg_line_quantity_invalid',
                    product=self.product.rec_name if self.product else '—',
                    quantity=format_number(quantity or 0)))

    def check_product(self):
        Product = Pool().get('product.product')
        found = Product.search([('id', '=', self.product.id)])
        if not found:
            raise LineValidationError(gettext(
                    'order_hub.msg_line_product_unknown',
                    product=self.product.id))

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode == 'write' and not set(values) - LINE_PRICE_FIELDS:
            return
        for order in {l.order for l in lines}:
            order.check_lines_editable()

    @classmethod
    def on_modification(cls, mode, lines, field_names=None):
        super().on_modification(mode, lines, field_names=field_names)
        if mode == 'create' and not Transaction().context.get(_CREATING):
            cls._after_change(lines, [(l.order, 'line_added', gettext(
                            'order_hub.msg_log_line_added',
                            line=l.describe())) for l in lines])

    @classmethod
    def on_write(cls, lines, values):
        callbacks = super().on_write(lines, values)
        if ({'product', 'quantity'} & set(values)
                and not Transaction().context.get(_CREATING)):
            old = {l.id: (l.product, l.quantity) for l in lines}
            callbacks.append(lambda: cls._after_change(lines, [
                        l.change_entry(*old[l.id]) for l in lines]))
        return callbacks

    @classmethod
    def on_delete(cls, lines):
        Reservation = Pool().get('order_hub.reservation')
        callbacks = super().on_delete(lines)
        held = [r.id for l in lines for r in l.reservations if r.active]
        if held:
            callbacks.append(lambda: Reservation.release(
                    Reservation.browse(held), reason=gettext(
                        'order_hub.msg_release_line_removed')))
        orders = list({l.order for l in lines})
        entries = [(l.order, 'line_removed', gettext(
                    'order_hub.msg_log_line_removed', line=l.describe()))
            for l in lines]
        callbacks.append(lambda: cls._after_change(
                [], entries, orders=orders))
        return callbacks

    @classmethod
    def _after_change(cls, lines, entries, orders=None):
        pool = Pool()
        Order = pool.get('order_hub.order')
        ActionLog = pool.get('order_hub.action_log')
        ActionLog.add(e for e in entries if e)
        orders = Order.browse(list({l.order.id for l in lines}
                | {o.id for o in orders or []}))
        Order.reprice(orders)
        cls.adjust_reservations(cls.browse([l.id for l in lines]))

    @classmethod
    def adjust_reservations(cls, lines):
        """Keep reservations in step with edited lines: another product
        releases them, a lower quantity releases the farthest first, and in
        an order being assembled what is missing is reserved again."""
        Reservation = Pool().get('order_hub.reservation')
        amounts = {}
        for line in lines:
            held = sorted((r for r in line.reservations if r.active),
                key=lambda r: (-(r.distance or 0), -r.id))
            excess = sum(r.quantity for r in held) - line.quantity
            for reservation in held:
                if reservation.product != line.product:
                    amounts[reservation] = reservation.quantity
                    excess -= reservation.quantity
            for reservation in held:
                if excess <= 0:
                    break
                if reservation not in amounts:
                    amounts[reservation] = min(excess, reservation.quantity)
                    excess -= amounts[reservation]
        Reservation.reduce(amounts, reason=gettext(
                'order_hub.msg_release_line_changed'))
        Reservation.reserve_lines(cls.browse(
                [l.id for l in lines if l.order.state == 'assembling']))

    def change_entry(self, old_product, old_quantity):
        changes = []
        if old_product != self.product:
            if old_product.template == self.product.template:
                changes.append(gettext('order_hub.msg_change_size',
                        old=old_product.hub_size or '—',
                        new=self.product.hub_size or '—'))
            else:
                changes.append(gettext('order_hub.msg_change_product',
                        old=old_product.rec_name, new=self.product.rec_name))
        if old_quantity != self.quantity:
            changes.append(gettext('order_hub.msg_change_quantity',
                    old=format_number(old_quantity),
                    new=format_number(self.quantity)))
        if changes:
            return (self.order, 'line_changed', gettext(
                    'order_hub.msg_log_line_changed', line=self.rec_name,
                    changes='; '.join(changes)))
