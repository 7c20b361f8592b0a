"""From the hub to 1C UT11: the customer order (ЗаказКлиента) with the hub's
reservation per warehouse, sent through the outbox whenever it changes."""
import uuid
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.order_hub.action_log import format_number
from trytond.modules.hub_sync.errors import PermanentError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from . import payloads

OPERATION = 'ut11_push_order'
RESERVE, CLOSED = 'КОбеспечению', 'Закрыт'


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            OPERATION: 'ut11_bridge.msg_operation_order'}

    def send_ut11_push_order(self):
        return self.record.ut11_push(self)


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    ut11_ref = fields.Char("1C Order GUID", readonly=True)
    ut11_number = fields.Char("1C Order Number", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'ut11_ref', 'ut11_number'}

    @classmethod
    def copy(cls, orders, default=None):
        default = dict(default or {}, ut11_ref=None, ut11_number=None)
        return super().copy(orders, default=default)

    @classmethod
    def on_paid(cls, orders):
        """A paid order goes to 1C with its goods reserved nearest the
        customer (the spec's step 2), when the connection says so; one
        without a city waits for the manager's «Зарезервировать»"""
        super().on_paid(orders)
        System = Pool().get('hub_sync.system')
        with without_check_access():
            systems = System.search([('code', '=', 'ut11')], limit=1)
        if systems and systems[0].ut11_reserve_on_payment:
            cls.reserve([o for o in orders if o.reservation_city])

    # «Зарезервировать» needs no override: Reservation.reserve_lines sends
    # the orders that hold reservations (see Reservation._ut11_resend)

    @classmethod
    def cancel(cls, orders):
        super().cancel(orders)
        # an order whose first push may still be waiting counts too: the
        # push closes what 1C holds, or finds that 1C holds nothing
        with Transaction().set_context(active_test=False):
            orders = cls.browse(orders)     # released reservations too
            cls.ut11_enqueue([o for o in orders
                    if o.ut11_ref or o.reservations])

    @classmethod
    def ut11_enqueue(cls, orders):
        "Send the orders' current state to 1C after the commit"
        if orders:
            Pool().get('hub_sync.outbox').enqueue('ut11', OPERATION, orders)

    # -- the mapper: hub order → ЗаказКлиента, one part per method -----------
    def get_ut11_order_payload(self, system):
        "The whole Document_ЗаказКлиента of the order as it is now"
        rows = payloads.order_lines(self._ut11_order_lines(system))
        payload = {
            **self._ut11_order_header(system),
            **self._ut11_order_customer(system),
            **self._ut11_order_delivery(system),
            }
        payload.update(Товары=rows, СуммаДокумента=payloads.total(rows))
        return payload

    def _ut11_order_header(self, system):
        status = self.ut11_status
        return payloads.header(self.ut11_document_key, self.date,
            self.customer_name, ХозяйственнаяОперация='РеализацияКлиенту',
            Статус=status, Согласован=True, ЦенаВключаетНДС=True,
            НалогообложениеНДС='ПродажаОблагаетсяНДС',
            НомерПоДаннымКлиента=str(self.number))

    def _ut11_order_customer(self, system):
        return payloads.parties(system.ut11_organization, system.ut11_partner,
            system.ut11_counterparty, system.ut11_agreement, None,
            system.ut11_currency)

    def _ut11_order_delivery(self, system):
        "Where the goods go; the hub reserves per line, not per order"
        return {}

    def _ut11_order_lines(self, system):
        """One 1C line per active reservation (1C reserves per line
        warehouse); a cancelled order keeps its lines, cancelled"""
        if self.state == 'cancelled':
            return [self._ut11_cancelled_line(line, system)
                for line in self.lines]
        return [self._ut11_order_line(r, system)
            for r in self.reservations if r.active]

    def _ut11_order_line(self, reservation, system):
        line = reservation.line
        product = reservation.product
        share = reservation.quantity / line.quantity if line else 0
        return {
            'product': self._ut11_product_ref(product, reservation.warehouse),
            'characteristic': product.external_variant_ref,
            'warehouse': reservation.warehouse.ut11_ref,
            'quantity': reservation.quantity,
            'price': line.unit_price if line else Decimal(0),
            'discount': ((line.discount or 0) * share).quantize(
                Decimal('0.01')) if line else Decimal(0),
            'vat_rate': system.ut11_vat_rate,
            'price_type': system.ut11_price_type,
            }

    def _ut11_cancelled_line(self, line, system):
        """The line as UT11 closes an order: kept, marked cancelled with
        the reason, which releases its reserve"""
        warehouses = [r.warehouse for r in line.reservations]
        warehouse = warehouses[-1] if warehouses else None
        return {
            'product': self._ut11_product_ref(line.product, warehouse),
            'characteristic': line.product.external_variant_ref,
            'warehouse': warehouse.ut11_ref if warehouse else None,
            'quantity': line.quantity, 'price': line.unit_price or 0,
            'discount': line.discount or 0,
            'vat_rate': system.ut11_vat_rate,
            'price_type': system.ut11_price_type,
            'cancelled': True, 'cancel_reason': system.ut11_cancel_reason,
            }

    @staticmethod
    def _ut11_product_ref(product, warehouse):
        ref = product.template.external_ref
        if not ref or (warehouse and not warehouse.ut11_ref):
            raise PermanentError(gettext('ut11_bridge.msg_not_from_ut11',
                    product=product.rec_name,
                    warehouse=warehouse.rec_name if warehouse else '—'))
        return ref

    @property
    def ut11_document_key(self):
        """The GUID the order gets in 1C, the same on every attempt: a
        retry, or a new push after a refusal, finds the document 1C may
        already have made instead of creating a second one."""
        database = Transaction().database.name
        return str(uuid.uuid5(uuid.NAMESPACE_URL,
                f'order-hub:{database}:order_hub.order:{self.id}'))

    @property
    def ut11_status(self):
        return CLOSED if self.state == 'cancelled' else RESERVE

    # -- the outbox handler ----------------------------------------------
    def ut11_push(self, message):
        "Create, overwrite or close the order in 1C, then note the result"
        system = message.get_system()
        client = system.ut11_client()
        if self.state == 'cancelled' and not self.ut11_in_1c(client):
            return gettext('ut11_bridge.msg_nothing_in_1c')
        document = client.save(payloads.ORDER,
            self.get_ut11_order_payload(system))
        self.ut11_record_pushed(document)
        if self.state != 'cancelled':
            self.ut11_record_reserved(document, client)
        return document['number']

    def ut11_in_1c(self, client):
        """Whether 1C holds a document of the order: recorded, or made by
        an attempt whose answer was lost"""
        if self.ut11_ref:
            return True
        try:
            client.document(payloads.ORDER, self.ut11_document_key)
        except PermanentError as error:
            if getattr(error, 'status', None) == 404 or getattr(
                    error, 'odata_code', None) == '9':
                return False
            raise
        return True

    def ut11_record_pushed(self, document):
        """1C now reserves what the order's lines say: its free stock
        figures account for these reservations, and no longer for released
        ones."""
        pool = Pool()
        Order = pool.get('order_hub.order')
        Reservation = pool.get('order_hub.reservation')
        StockLevel = pool.get('order_hub.stock')
        ActionLog = pool.get('order_hub.action_log')
        with Transaction().set_context(active_test=False):
            reservations = Reservation.search([('order', '=', self.id)])
        to_mirror = [r for r in reservations if r.active and not r.in_mirror]
        released = [r for r in reservations if not r.active and r.in_mirror]
        StockLevel.shift_quantities(
            [(r.product.id, r.warehouse.id, -r.quantity) for r in to_mirror]
            + [(r.product.id, r.warehouse.id, r.quantity) for r in released])
        Reservation.set_in_mirror(to_mirror, True)
        Reservation.set_in_mirror(released, False)
        StockLevel.store_reserved({r.product.id for r in reservations})
        Order.write([self], {'ut11_ref': document['key'],
                'ut11_number': document['number']})
        if self.state == 'cancelled':
            text = gettext('ut11_bridge.msg_log_closed',
                number=document['number'])
        else:
            text = gettext('ut11_bridge.msg_log_pushed',
                number=document['number'],
                posted=gettext('ut11_bridge.msg_posted'
                    if document.get('posted')
                    else 'ut11_bridge.msg_not_posted'))
        with Transaction().set_context(hub_source='ut11'):
            ActionLog.add([(self, 'exchange', text)])

    def ut11_record_reserved(self, document, client):
        """Read back what 1C reserved for the order, note on each active
        reservation its share (1C's reserve per variant and warehouse shared
        out in reservation order) and tell the manager where 1C reserved
        less than the hub asked.

        1C reserves less only when it has nothing more free there (another
        channel sold it since the hub's mirror was loaded): the mirror says
        so at once instead of offering stale stock until the next load."""
        pool = Pool()
        Reservation = pool.get('order_hub.reservation')
        StockLevel = pool.get('order_hub.stock')
        ActionLog = pool.get('order_hub.action_log')
        with Transaction().set_context(active_test=False):
            reservations = Reservation.search([('order', '=', self.id)],
                order=[('id', 'ASC')])
        reserves = client.order_reserves(document['key'],
            {r.product.template.external_ref for r in reservations} - {None})
        left = {tuple((k or '').lower() for k in key): quantity
            for key, quantity in reserves.items()}
        values, short, exhausted = {}, [], set()
        for reservation in reservations:
            if not reservation.active:
                values[reservation] = None
                continue
            key = reservation.ut11_key
            held = min(left.get(key, Decimal(0)), reservation.quantity)
            left[key] = left.get(key, Decimal(0)) - held
            values[reservation] = held
            if held < reservation.quantity:
                exhausted.add(
                    (reservation.product.id, reservation.warehouse.id))
            if held < reservation.quantity and (
                    held != reservation.ut11_reserved):
                short.append(gettext('ut11_bridge.msg_reserve_short',
                        product=reservation.product.rec_name,
                        warehouse=reservation.warehouse.rec_name,
                        reserved=format_number(held),
                        quantity=format_number(reservation.quantity),
                        missing=format_number(reservation.quantity - held)))
        Reservation.set_ut11_reserved(values)
        StockLevel.set_levels((p, w, 0) for p, w in exhausted)
        if short:
            with Transaction().set_context(hub_source='ut11'):
                ActionLog.add([(self, 'reservation', gettext(
                                'ut11_bridge.msg_log_reserved_less',
                                number=document['number'],
                                lines='; '.join(short)))])


class Reservation(metaclass=PoolMeta):
    __name__ = 'order_hub.reservation'

    ut11_reserved = fields.Numeric(
        "Reserved in 1C", digits=(16, 0), readonly=True,
        help="What 1C UT11 reserved for these items after the order was "
        "last sent; empty until 1C answered.")

    @property
    def ut11_key(self):
        "(product, characteristic, warehouse) GUIDs as 1C's reserve has them"
        return tuple((k or '').lower() for k in (
                self.product.template.external_ref,
                self.product.external_variant_ref, self.warehouse.ut11_ref))

    @classmethod
    def set_ut11_reserved(cls, values):
        "Store {reservation: quantity or None}, one statement per quantity"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        by_value = {}
        for reservation, quantity in values.items():
            if quantity != reservation.ut11_reserved:
                by_value.setdefault(quantity, []).append(reservation.id)
        for quantity, ids in by_value.items():
            cursor.execute(*table.update([table.ut11_reserved], [quantity],
                    where=table.id.in_(ids)))

    @classmethod
    def copy(cls, reservations, default=None):
        default = dict(default or {}, ut11_reserved=None)
        return super().copy(reservations, default=default)

    @classmethod
    def set_in_mirror(cls, reservations, value):
        if reservations:
            table = cls.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update([table.in_mirror], [value],
                    where=table.id.in_([r.id for r in reservations])))

    @classmethod
    def reserve_lines(cls, lines):
        shortages = super().reserve_lines(lines)
        cls._ut11_resend({l.order for l in lines})
        return shortages

    @classmethod
    def reduce(cls, amounts, reason=None):
        super().reduce(amounts, reason=reason)
        cls._ut11_resend({r.order for r in amounts})

    def move(self, warehouse, quantity):
        target = super().move(warehouse, quantity)
        self._ut11_resend({self.order})
        return target

    @staticmethod
    def _ut11_resend(orders):
        """An order in 1C, or on its way there (a refused one included),
        follows every change of its reservations: the manager's fix after
        a refusal sends it again by itself"""
        pool = Pool()
        Order = pool.get('order_hub.order')
        Reservation = pool.get('order_hub.reservation')
        orders = list(orders)
        holding = Reservation.orders_holding(orders)
        Order.ut11_enqueue([o for o in orders
                if o.ut11_ref or o.id in holding])


class OrderLine(metaclass=PoolMeta):
    __name__ = 'order_hub.order.line'

    ut11_reserved = fields.Function(
        fields.Numeric("Reserved in 1C", digits=(16, 0)),
        'get_ut11_reserved')

    def get_ut11_reserved(self, name):
        known = [r.ut11_reserved for r in self.reservations
            if r.active and r.ut11_reserved is not None]
        return sum(known) if known else None
