"""Return blocks: goods leaving an order, the money going back.

A block («Возврат») holds units of the order's lines, their amount (the
price the customer paid for exactly those units, as the receipts allocate
discounts: ``order_payment.fiscal``), the reason and, when the reason says
so, the delivery.  The order's lines keep what was sold (the receipts and
1C refer to them); the order's totals leave out the blocks' goods.  Before
any payment the units simply leave the sale: the lines are reduced like
any edit and the block is closed at once, with no refund.
"""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.order_hub.action_log import format_number
from trytond.modules.order_hub.pricing import format_money
from trytond.modules.order_hub.status import RETURN_STATES
from trytond.modules.order_payment import fiscal
from sql.operators import In
from sql import For

from trytond.modules.hub_common import utcnow
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import ReturnError

BLOCK_STATES = RETURN_STATES + [('cancelled', "Cancelled")]
# states whose units count as taken out of the sale
TAKEN = {'to_return', 'returned'}
CHANNELS = [
    (None, ""),
    ('shop', "Through a Shop"),
    ('carrier', "Through a Carrier"),
    ]


class Reason(ModelSQL, ModelView):
    "Return Reason"
    __name__ = 'order_returns.reason'

    name = fields.Char("Name", required=True, translate=True)
    refund_delivery = fields.Boolean("Refund Delivery",
        help="The delivery is refunded with the goods.")
    active = fields.Boolean("Active")

    @classmethod
    def default_active(cls):
        return True

    @classmethod
    def default_refund_delivery(cls):
        return False


class Block(Workflow, ModelSQL, ModelView):
    "Return"
    __name__ = 'order_returns.block'

    _readonly = {'readonly': Eval('state') != 'to_return'}

    order = fields.Many2One('order_hub.order', "Order", required=True,
        readonly=True, ondelete='RESTRICT')
    number = fields.Integer("Number", readonly=True,
        help="The return's number within its order.")
    date = fields.DateTime("Created", required=True, readonly=True)
    state = fields.Selection(BLOCK_STATES, "Status", required=True,
        readonly=True, sort=False)
    state_string = state.translated('state')
    lines = fields.One2Many('order_returns.block.line', 'block', "Goods",
        readonly=True)
    reason = fields.Many2One('order_returns.reason', "Reason",
        required=True, ondelete='RESTRICT', states=_readonly)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    goods_amount = Monetary("Goods Amount", currency='currency',
        digits='currency', readonly=True,
        help="What the customer paid for these units, discounts included.")
    base_amount = Monetary("Amount without Discount", currency='currency',
        digits='currency', readonly=True)
    delivery_amount = Monetary("Delivery", currency='currency',
        digits='currency', readonly=True)
    amount = fields.Function(Monetary("Amount to Refund",
            currency='currency', digits='currency'), 'get_amount')
    refund_money = fields.Boolean("Money to Refund", readonly=True,
        help="Unchecked when nothing was paid: the goods simply left "
        "the sale.")
    refunds = fields.One2Many('order_payment.refund', 'return_block',
        "Refunds", readonly=True)
    receipts = fields.Function(fields.Many2Many('order_payment.receipt',
            None, None, "Refund Receipts"), 'get_receipts')
    refund_error = fields.Text("Refund Refused", readonly=True,
        states={'invisible': ~Eval('refund_error')})
    claim = fields.Binary("Claim (Scan)", filename='claim_name',
        states=_readonly)
    claim_name = fields.Char("Claim File Name", states=_readonly)
    channel = fields.Selection(CHANNELS, "Returned", states=_readonly)
    channel_string = channel.translated('channel')
    shop = fields.Many2One('stock.location', "Shop", ondelete='RESTRICT',
        domain=[('type', '=', 'warehouse'), ('hub_is_shop', '=', True)],
        states={
            'readonly': _readonly['readonly'],
            'invisible': Eval('channel') != 'shop',
            })
    warehouse = fields.Many2One('stock.location', "Warehouse",
        ondelete='RESTRICT', domain=[('type', '=', 'warehouse')],
        states={'readonly': _readonly['readonly']},
        help="Where the goods that do not stay in the shop go: returns "
        "through a carrier and goods that must go to the warehouse "
        "(with the return waybill).")
    documents = fields.Char("1C Documents", readonly=True,
        help="Numbers of the 1C documents of this return.")
    order_issued = fields.Function(fields.Boolean("Order Issued"),
        'get_order_issued')
    received = fields.DateTime("Goods Received", readonly=True,
        help="When the goods came back to the shop or the warehouse "
        "(«Товар получен», or the refund's confirmation).")
    goods_out = fields.Function(fields.Boolean("Goods with the Customer"),
        'get_goods_out')

    del _readonly

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('order', 'DESC'), ('number', 'ASC'), ('id', 'ASC')]
        cls._transitions |= {
            ('to_return', 'returned'),
            ('to_return', 'cancelled'),
            }
        cls._buttons.update({
                'refund': {
                    'invisible': ((Eval('state') != 'to_return')
                        | Eval('order_issued', False)
                        | ~Eval('refund_money', False)),
                    'depends': ['state', 'order_issued', 'refund_money'],
                    },
                'refund_issued': {
                    'invisible': ((Eval('state') != 'to_return')
                        | ~Eval('order_issued', False)
                        | ~Eval('refund_money', False)),
                    'depends': ['state', 'order_issued', 'refund_money'],
                    },
                'cancel': {
                    'invisible': ((Eval('state') != 'to_return')
                        | Bool(Eval('received'))),
                    'depends': ['state', 'received'],
                    },
                'receive': {
                    'invisible': ((Eval('state') != 'to_return')
                        | Bool(Eval('received'))
                        | ~Eval('goods_out', False)),
                    'depends': ['state', 'received', 'goods_out'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'to_return'

    @classmethod
    def default_date(cls):
        return utcnow()

    @classmethod
    def default_refund_money(cls):
        return True

    def get_currency(self, name):
        return self.order.currency.id if self.order.currency else None

    def get_amount(self, name):
        if not self.refund_money:
            return Decimal(0)
        return (self.goods_amount or 0) + (self.delivery_amount or 0)

    def get_receipts(self, name):
        return [r.id for f in self.refunds for r in f.receipts]

    def get_order_issued(self, name):
        return self.order.state == 'issued'

    def get_goods_out(self, name):
        "Whether goods of the block left with a shipment (to come back)"
        return bool(self.refund_money and self.shipped_units())

    def get_rec_name(self, name):
        return gettext('order_returns.msg_block_name',
            number=self.number or '', order=self.order.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('order.rec_name',) + tuple(clause[1:])]

    def describe_goods(self):
        return '; '.join(l.describe() for l in self.lines)

    # -- creating ----------------------------------------------------------
    @classmethod
    def taken_units(cls, lines):
        """{order line id: units in blocks not cancelled whose goods are
        still on the line} — what cannot be returned again"""
        BlockLine = Pool().get('order_returns.block.line')
        taken = {l.id: Decimal(0) for l in lines}
        for block_line in BlockLine.search([
                    ('order_line', 'in', [l.id for l in lines]),
                    ('block.state', 'in', list(TAKEN)),
                    ('block.refund_money', '=', True),
                    ]):
            taken[block_line.order_line.id] += block_line.quantity
        return taken

    @classmethod
    def paid_before(cls, order):
        "Whether money was taken for the order (a return refunds it)"
        return order.paid_amount - order.refunded_amount > 0

    @classmethod
    def create_return(cls, order, goods, reason, channel=None, shop=None,
            warehouse=None):
        """A block for goods [(order line, quantity)] of the order, for
        the reason; returns it.  Nothing paid: the units leave the sale
        (the lines reduced) and the block is closed with no refund."""
        pool = Pool()
        Order = pool.get('order_hub.order')
        ActionLog = pool.get('order_hub.action_log')
        lock_rows(Order, [order.id])
        order = Order(order.id)
        goods = [(l, Decimal(q)) for l, q in goods if q]
        cls.check_goods(order, goods)
        paid = cls.paid_before(order)
        if not paid and not order.lines_editable:
            raise ReturnError(gettext('order_returns.msg_unpaid_not_editable',
                    order=order.rec_name, state=order.state_string))
        number = max((b.number or 0 for b in order.return_blocks),
            default=0) + 1
        if channel == 'shop' and not shop:
            raise ReturnError(gettext('order_returns.msg_shop_required',
                    order=order.rec_name))
        warehouse = warehouse or cls.return_warehouse(order, goods)
        values = {'order': order.id, 'number': number,
            'reason': reason.id, 'channel': channel,
            'shop': shop.id if shop else None, 'refund_money': paid,
            'warehouse': warehouse.id if warehouse else None,
            }
        if paid:
            amounts, per_line = cls.amounts(order, goods, reason)
        else:
            per_line = [fiscal.round_money(l.amount / l.quantity * q)
                for l, q in goods]
            amounts = {'goods_amount': sum(per_line, Decimal(0)),
                'base_amount': Decimal(0), 'delivery_amount': Decimal(0)}
        values.update(amounts)
        values['lines'] = [('create', [
                    {**cls.line_values(l, q), 'amount': a}
                    for (l, q), a in zip(goods, per_line)])]
        block, = cls.create([values])
        ActionLog.add([(order, 'return', gettext(
                        'order_returns.msg_log_block_created',
                        block=block.rec_name, goods=block.describe_goods(),
                        reason=reason.rec_name,
                        amount=format_money(block.amount)))])
        if paid:
            Order.update_totals([order])
            cls.release_reservations([block])
        else:
            cls.leave_sale(block, goods)
        return block

    @classmethod
    def return_warehouse(cls, order, goods):
        """The warehouse goods not kept by a shop go back to: the one the
        goods were shipped from (the first shipment of the lines)"""
        ShipmentLine = Pool().get('order_shipments.shipment.line')
        found = ShipmentLine.search([
                ('order_line', 'in', [l.id for l, _ in goods]),
                ('shipment.state', '!=', 'cancelled'),
                ], order=[('id', 'ASC')], limit=1)
        if found:
            return found[0].shipment.from_warehouse

    @classmethod
    def release_reservations(cls, blocks):
        """Reservations of the returned units are released: a line of an
        order not yet shipped holds no more than its units still sold
        (the farthest warehouse released first)"""
        pool = Pool()
        Reservation = pool.get('order_hub.reservation')
        amounts = {}
        for block in blocks:
            lines = [l.order_line for l in block.lines if l.order_line]
            taken = cls.taken_units(lines)
            for line in lines:
                held = sorted((r for r in line.reservations if r.active),
                    key=lambda r: (-(r.distance or 0), -r.id))
                excess = (sum((r.quantity for r in held), Decimal(0))
                    - (line.quantity - taken[line.id]))
                for reservation in held:
                    if excess <= 0:
                        break
                    if reservation in amounts:
                        continue
                    amounts[reservation] = min(excess, reservation.quantity)
                    excess -= amounts[reservation]
        if amounts:
            Reservation.reduce(amounts, reason=gettext(
                    'order_returns.msg_release_returned'))

    @classmethod
    def check_goods(cls, order, goods):
        if not goods:
            raise ReturnError(gettext('order_returns.msg_no_goods',
                    order=order.rec_name))
        taken = cls.taken_units(order.lines)
        for line, quantity in goods:
            available = line.quantity - taken[line.id]
            if (line.order != order or quantity <= 0
                    or quantity != int(quantity) or quantity > available):
                raise ReturnError(gettext('order_returns.msg_quantity',
                        line=line.rec_name, quantity=format_number(quantity),
                        available=format_number(max(available, 0))))

    @staticmethod
    def line_values(line, quantity):
        return {'order_line': line.id, 'product': line.product.id,
            'quantity': quantity}

    @classmethod
    def amounts(cls, order, goods, reason, block=None):
        """The block's amounts: its units at the prices the receipts give
        them (refunds take the last units first: after those refunded or
        held by other open blocks), plus the delivery when the reason
        refunds it"""
        pool = Pool()
        RefundLine = pool.get('order_payment.refund.line')
        Receipt = pool.get('order_payment.receipt')
        lines = [l for l, _ in goods]
        refunded = RefundLine.refunded_units(lines)
        held = cls.held_units(lines, block)
        goods_amount = base = Decimal(0)
        per_line = []
        for line, quantity in goods:
            prices = fiscal.refund_prices(line.amount, line.quantity,
                refunded[line.id] + held[line.id], quantity)
            per_line.append(sum(prices, Decimal(0)))
            goods_amount += per_line[-1]
            base += fiscal.round_money(quantity * (line.unit_price or 0))
            # several blocks of a line in one call take further units
            held[line.id] += quantity
        delivery = Decimal(0)
        if (reason.refund_delivery and order.delivery_cost
                and not Receipt.delivery_refunded(order)
                and not any(b.delivery_amount and b.state == 'to_return'
                    and b != block for b in order.return_blocks)):
            delivery = fiscal.round_money(order.delivery_cost)
        return {'goods_amount': goods_amount, 'base_amount': base,
            'delivery_amount': delivery}, per_line

    @classmethod
    def held_units(cls, lines, block=None):
        "{order line id: units of open blocks (but block) not refunded yet}"
        BlockLine = Pool().get('order_returns.block.line')
        held = {l.id: Decimal(0) for l in lines}
        domain = [
            ('order_line', 'in', [l.id for l in lines]),
            ('block.state', '=', 'to_return'),
            ('block.refund_money', '=', True),
            ]
        if block:
            domain.append(('block', '!=', block.id))
        for block_line in BlockLine.search(domain):
            if not block_line.block.refunds_active():
                held[block_line.order_line.id] += block_line.quantity
        return held

    @classmethod
    def leave_sale(cls, block, goods):
        """Unpaid goods leave the sale: the lines are reduced (removed when
        nothing is left), an edit like any other; the block is closed"""
        pool = Pool()
        Line = pool.get('order_hub.order.line')
        ActionLog = pool.get('order_hub.action_log')
        to_delete, to_write = [], []
        for line, quantity in goods:
            if quantity >= line.quantity:
                to_delete.append(line)
            else:
                to_write.extend([[line],
                        {'quantity': line.quantity - quantity}])
        if to_write:
            Line.write(*to_write)
        if to_delete:
            Line.delete(to_delete)
        cls.write([block], {'state': 'returned'})
        ActionLog.add([(block.order, 'return', gettext(
                        'order_returns.msg_log_left_sale',
                        block=block.rec_name))])

    # -- refunding ---------------------------------------------------------
    def refunds_active(self):
        "Refunds not refused: pending or done"
        return [r for r in self.refunds if r.state != 'cancelled']

    @classmethod
    @ModelView.button
    def refund(cls, blocks):
        "«Вернуть деньги»: the block's units and delivery, once"
        for block in blocks:
            cls.refund_block(block)

    @classmethod
    @ModelView.button
    def refund_issued(cls, blocks):
        "«Сделать возврат» after the hand-over: the same refund"
        cls.refund(blocks)

    @classmethod
    def refund_block(cls, block):
        """Refund the block through the payment provider.  The block's row
        is locked and written before the refund: a second click waits, then
        sees the refund and refuses (or fails to serialize and retries)."""
        pool = Pool()
        Refund = pool.get('order_payment.refund')
        Order = pool.get('order_hub.order')
        BlockLine = pool.get('order_returns.block.line')
        lock_rows(cls, [block.id])
        block = cls(block.id)
        if block.state != 'to_return' or not block.refund_money:
            raise ReturnError(gettext('order_returns.msg_not_to_return',
                    block=block.rec_name))
        if block.refunds_active():
            raise ReturnError(gettext('order_returns.msg_refund_exists',
                    block=block.rec_name))
        order = Order(block.order.id)
        goods = [(l.order_line, l.quantity) for l in block.lines]
        # the units' prices as this refund takes them
        amounts, per_line = cls.amounts(order, goods, block.reason,
            block=block)
        refunds = Refund.request(order, goods,
            delivery=bool(amounts['delivery_amount']),
            amount=amounts['goods_amount'] + amounts['delivery_amount'],
            reason=block.reason.rec_name)
        cls.write([block], {**amounts, 'refund_error': None})
        BlockLine.write(*[x for line, amount in zip(block.lines, per_line)
                for x in ([line], {'amount': amount})])
        Refund.write(refunds, {'return_block': block.id})
        Order.update_totals([order])
        cls.log_action(block, 'order_returns.msg_log_refund_requested',
            amount=format_money(block.amount))
        return refunds

    @classmethod
    def log_action(cls, block, message, **values):
        "An entry of the order's action log, kind «Возврат»"
        ActionLog = Pool().get('order_hub.action_log')
        ActionLog.add([(block.order, 'return', gettext(message,
                        block=block.rec_name, **values))])

    @classmethod
    def refunds_done(cls, blocks):
        "The provider confirmed: blocks whose refunds all succeeded close"
        done = [b for b in blocks if b.state == 'to_return'
            and b.refunds_active()
            and all(r.state == 'succeeded' for r in b.refunds_active())]
        if done:
            cls.set_returned(done)

    @classmethod
    def refunds_failed(cls, blocks, reason):
        ActionLog = Pool().get('order_hub.action_log')
        cls.write(blocks, {'refund_error': reason or '—'})
        ActionLog.add((b.order, 'return', gettext(
                    'order_returns.msg_log_refund_failed',
                    block=b.rec_name, reason=reason or '—')) for b in blocks)

    @classmethod
    @Workflow.transition('returned')
    def set_returned(cls, blocks):
        """Refunded: the block is closed; goods not received by then are
        taken in now"""
        ActionLog = Pool().get('order_hub.action_log')
        cls.write(blocks, {'refund_error': None})
        ActionLog.add((b.order, 'return', gettext(
                    'order_returns.msg_log_block_returned',
                    block=b.rec_name, amount=format_money(b.amount)))
            for b in blocks)
        cls.take_in([b for b in blocks if not b.received])

    @classmethod
    @ModelView.button
    def receive(cls, blocks):
        """«Товар получен»: the goods are back in the shop or the warehouse
        before the money is refunded (a parcel from the customer, say)"""
        ActionLog = Pool().get('order_hub.action_log')
        lock_rows(cls, [b.id for b in blocks])
        blocks = [b for b in cls.browse(blocks)
            if b.state == 'to_return' and not b.received]
        for block in blocks:
            if not block.goods_out:
                raise ReturnError(gettext(
                        'order_returns.msg_receive_nothing_shipped',
                        block=block.rec_name))
        ActionLog.add((b.order, 'return', gettext(
                    'order_returns.msg_log_goods_received',
                    block=b.rec_name, goods=b.describe_goods()))
            for b in blocks)
        cls.take_in(blocks)

    @classmethod
    def take_in(cls, blocks):
        "The goods are back: dated, their units returned, the hook called"
        if not blocks:
            return
        cls.write(blocks, {'received': utcnow()})
        cls.mark_units_returned(blocks)
        cls.goods_received(blocks)

    @classmethod
    def goods_received(cls, blocks):
        """The returned goods are taken in (shop or warehouse); the 1C glue
        requests the return documents here"""

    @classmethod
    def mark_units_returned(cls, blocks):
        """The shipped units of the blocks become «Возвращен»: a movement
        log entry per shipment line they come from; a shipment line whose
        units are all back takes the status"""
        pool = Pool()
        ShipmentLine = pool.get('order_shipments.shipment.line')
        Movement = pool.get('order_hub.item.movement')
        rows, to_mark = [], []
        for block in blocks:
            for line, shipment_line, count, full in block.shipped_units():
                rows.append(cls.movement_row(block, shipment_line, count,
                        line))
                if full:
                    to_mark.append(shipment_line)
        if to_mark:
            ShipmentLine.write(to_mark, {'state': 'returned'})
        Movement.add_rows(rows)

    def shipped_units(self):
        """[(block line, shipment line, units, whether the shipment line is
        then all back)]: the shipment lines of its order lines in id order,
        after the units earlier returns took"""
        ShipmentLine = Pool().get('order_shipments.shipment.line')
        result = []
        for line in self.lines:
            if not line.order_line:
                continue
            skip = self.units_returned_before(line.order_line, self)
            left = line.quantity
            for shipment_line in ShipmentLine.search([
                        ('order_line', '=', line.order_line.id),
                        ('shipment.state', '!=', 'cancelled'),
                        ], order=[('id', 'ASC')]):
                room = shipment_line.quantity
                passed = min(skip, room)
                skip -= passed
                count = min(room - passed, left)
                if count <= 0:
                    continue
                left -= count
                result.append((line, shipment_line, count,
                        passed + count == room))
                if left <= 0:
                    break
        return result

    @classmethod
    def units_returned_before(cls, order_line, block):
        """Units of the order line that other blocks took back before
        block: returned, or received while their refund waits"""
        BlockLine = Pool().get('order_returns.block.line')
        return sum((l.quantity for l in BlockLine.search([
                        ('order_line', '=', order_line.id),
                        ['OR',
                            ('block.state', '=', 'returned'),
                            [('block.state', '=', 'to_return'),
                                ('block.received', '!=', None)],
                            ],
                        ('block.refund_money', '=', True),
                        ('block', '!=', block.id),
                        ])), Decimal(0))

    @classmethod
    def movement_row(cls, block, shipment_line, count, line=None):
        location = (line.destination() if line else None) or (
            shipment_line.shipment.sale_warehouse)
        return {'order': block.order.id,
            'product': shipment_line.product.id,
            'shipment': shipment_line.shipment.id,
            'shipment_line': shipment_line.id,
            'order_line': shipment_line.order_line.id,
            'location': location.id, 'status': 'returned',
            'description': gettext('order_returns.msg_movement_returned',
                block=block.rec_name, shipment=shipment_line.shipment.number,
                quantity=format_number(count))}

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, blocks):
        """The customer keeps the goods after all: back in the sale.  Not
        while a refund is pending or done."""
        pool = Pool()
        Order = pool.get('order_hub.order')
        ActionLog = pool.get('order_hub.action_log')
        for block in blocks:
            if block.refunds_active():
                raise ReturnError(gettext('order_returns.msg_cancel_refunded',
                        block=block.rec_name))
            if block.received:
                raise ReturnError(gettext('order_returns.msg_cancel_received',
                        block=block.rec_name))
        ActionLog.add((b.order, 'return', gettext(
                    'order_returns.msg_log_block_cancelled',
                    block=b.rec_name)) for b in blocks)
        cls.write(blocks, {'state': 'cancelled'})
        Order.update_totals(Order.browse(list({b.order.id for b in blocks})))
        cls.reserve_again(blocks)

    @classmethod
    def reserve_again(cls, blocks):
        "Goods back in the sale of an order being assembled are reserved"
        Reservation = Pool().get('order_hub.reservation')
        Reservation.reserve_lines([l.order_line for b in blocks
                for l in b.lines if l.order_line
                and b.order.state == 'assembling'])


def lock_rows(Model, ids):
    """Lock rows for update, waiting for a concurrent holder (id order:
    never a deadlock); the caller writes them, so a transaction with an
    older snapshot fails to serialize and is retried"""
    transaction = Transaction()
    if not ids or not transaction.database.has_select_for():
        return
    table = Model.__table__()
    cursor = transaction.connection.cursor()
    cursor.execute(*table.select(table.id,
            where=In(table.id, sorted(ids)), order_by=table.id,
            for_=For('UPDATE')))


class BlockLine(ModelSQL, ModelView):
    "Returned Goods"
    __name__ = 'order_returns.block.line'

    block = fields.Many2One('order_returns.block', "Return", required=True,
        ondelete='CASCADE')
    order_line = fields.Many2One('order_hub.order.line', "Order Line",
        ondelete='SET NULL', readonly=True)
    product = fields.Many2One('product.product', "Product", required=True,
        readonly=True, ondelete='RESTRICT')
    quantity = fields.Numeric("Quantity", digits=(16, 0), required=True,
        readonly=True)
    amount = fields.Numeric("Amount", digits=(16, 2), readonly=True,
        help="What the customer paid for these units.")
    destination_name = fields.Function(fields.Char("Goes To"),
        'get_destination_name')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('block')

    def goes_to_warehouse(self):
        """Whether these goods go to the warehouse even when returned
        through a shop (with the return waybill).  False here; the marking
        module overrides it for marked goods."""
        return False

    def destination(self):
        """Where the goods are taken in: the shop they are returned
        through, else (a carrier, or goods that go to the warehouse) the
        block's warehouse"""
        block = self.block
        if (block.channel == 'shop' and block.shop
                and not self.goes_to_warehouse()):
            return block.shop
        return block.warehouse or block.shop

    @property
    def unit_price(self):
        "The average price paid per unit (for the printouts)"
        return fiscal.round_money((self.amount or 0) / self.quantity)

    def describe(self):
        return gettext('order_hub.msg_line_description',
            product=self.product.rec_name,
            quantity=format_number(self.quantity))

    def get_rec_name(self, name):
        return self.describe()

    def get_destination_name(self, name):
        destination = self.destination()
        return destination.rec_name if destination else None


class Refund(metaclass=PoolMeta):
    __name__ = 'order_payment.refund'

    return_block = fields.Many2One('order_returns.block', "Return",
        readonly=True, ondelete='RESTRICT')

    @classmethod
    def succeed(cls, refunds):
        Block = Pool().get('order_returns.block')
        super().succeed(refunds)
        blocks = Block.browse(list({r.return_block.id for r in refunds
                    if r.return_block}))
        Block.refunds_done(blocks)

    @classmethod
    def fail(cls, refunds, reason=None):
        Block = Pool().get('order_returns.block')
        super().fail(refunds, reason=reason)
        blocks = Block.browse(list({r.return_block.id for r in refunds
                    if r.return_block}))
        if blocks:
            Block.refunds_failed(blocks, reason)


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    return_blocks = fields.One2Many('order_returns.block', 'order',
        "Returns", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'start_return': {
                    'invisible': Eval('state') == 'cancelled',
                    'depends': ['state'],
                    },
                })

    @classmethod
    @ModelView.button_action('order_returns.wizard_create_return')
    def start_return(cls, orders):
        pass

    def compute_totals(self):
        """The goods of return blocks are no longer sold: the totals leave
        them out (and the delivery a block refunds)"""
        totals = super().compute_totals()
        for block in self.return_blocks:
            if block.state in TAKEN and block.refund_money:
                totals['total_without_discount'] -= block.base_amount or 0
                totals['discount_total'] -= (
                    (block.base_amount or 0) - (block.goods_amount or 0))
                totals['total'] -= (block.goods_amount or 0) + (
                    block.delivery_amount or 0)
        return totals


class OrderLine(metaclass=PoolMeta):
    __name__ = 'order_hub.order.line'

    returned_quantity = fields.Function(fields.Numeric("Returned",
            digits=(16, 0)), 'get_returned_quantity')

    @classmethod
    def get_returned_quantity(cls, lines, name):
        Block = Pool().get('order_returns.block')
        return Block.taken_units(lines)

    def check_quantity(self):
        "A line never holds fewer units than its return blocks took"
        Block = Pool().get('order_returns.block')
        super().check_quantity()
        if self.id is None or self.id < 0:
            return
        taken = Block.taken_units([self])[self.id]
        if self.quantity < taken:
            raise ReturnError(gettext('order_returns.msg_line_below_returned',
                    line=self.rec_name, quantity=format_number(self.quantity),
                    returned=format_number(taken)))


class Reservation(metaclass=PoolMeta):
    __name__ = 'order_hub.reservation'

    @classmethod
    def _missing(cls, lines):
        "Units of return blocks are not reserved again"
        Block = Pool().get('order_returns.block')
        Line = Pool().get('order_hub.order.line')
        wanted, held = super()._missing(lines)
        if wanted:
            taken = Block.taken_units(Line.browse([w[0] for w in wanted]))
            wanted = [(l, o, p, m - taken[l]) for l, o, p, m in wanted
                if m - taken[l] > 0]
        return wanted, held


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection.append(('return', "Return"))


class CreateReturnStart(ModelView):
    "Create a Return"
    __name__ = 'order_returns.create.start'

    order = fields.Many2One('order_hub.order', "Order", readonly=True)
    lines = fields.One2Many('order_returns.create.line', None, "Goods")
    reason = fields.Many2One('order_returns.reason', "Reason",
        required=True)
    channel = fields.Selection(CHANNELS, "Returned")
    shop = fields.Many2One('stock.location', "Shop",
        domain=[('type', '=', 'warehouse'), ('hub_is_shop', '=', True)],
        states={'invisible': Eval('channel') != 'shop',
            'required': Eval('channel') == 'shop'})
    warehouse = fields.Many2One('stock.location', "Warehouse",
        domain=[('type', '=', 'warehouse')],
        help="Where goods not kept by the shop go; by default the "
        "warehouse they were shipped from.")


class CreateReturnLine(ModelView):
    "Goods to Return"
    __name__ = 'order_returns.create.line'

    order_line = fields.Many2One('order_hub.order.line', "Order Line",
        readonly=True)
    product = fields.Many2One('product.product', "Product", readonly=True)
    shipments = fields.Char("Shipments", readonly=True)
    available = fields.Numeric("Can Be Returned", digits=(16, 0),
        readonly=True)
    quantity = fields.Numeric("Quantity to Return", digits=(16, 0),
        domain=[('quantity', '>=', 0),
            ('quantity', '<=', Eval('available', 0))])


class CreateReturn(Wizard):
    "Create a Return"
    __name__ = 'order_returns.create'

    start = StateView('order_returns.create.start',
        'order_returns.create_return_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Create Return", 'create_', 'tryton-ok', default=True),
            ])
    create_ = StateTransition()

    def default_start(self, fields):
        Block = Pool().get('order_returns.block')
        order = self.record
        taken = Block.taken_units(order.lines)
        lines = []
        for line in order.lines:
            available = line.quantity - taken[line.id]
            if available > 0:
                lines.append({'order_line': line.id,
                        'product': line.product.id,
                        'shipments': self.shipment_names(line),
                        'available': available, 'quantity': Decimal(0)})
        return {'order': order.id, 'lines': lines}

    @staticmethod
    def shipment_names(line):
        "Where the line's units are: shipments with their statuses"
        ShipmentLine = Pool().get('order_shipments.shipment.line')
        found = ShipmentLine.search([('order_line', '=', line.id),
                ('shipment.state', '!=', 'cancelled')])
        return ', '.join(f'{s.shipment.number} ({s.shipment.state_string})'
            for s in found) or None

    def transition_create_(self):
        Block = Pool().get('order_returns.block')
        goods = [(l.order_line, l.quantity) for l in self.start.lines
            if l.quantity]
        Block.create_return(self.record, goods, self.start.reason,
            channel=self.start.channel, shop=self.start.shop,
            warehouse=self.start.warehouse)
        return 'end'
