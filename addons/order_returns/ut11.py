"""Glue with the 1C UT11 bridge (registered only when ut11_bridge is
activated): the goods of a return block taken back are returned in 1C
(ВозвратТоваровОтКлиента) on the basis of the sales (РеализацияТоваровУслуг)
of the shipments they left with, one document per sale and per warehouse
they come back to; the documents' numbers are shown on the block."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.modules.order_payment import fiscal
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class Block(metaclass=PoolMeta):
    __name__ = 'order_returns.block'

    @classmethod
    def goods_received(cls, blocks):
        super().goods_received(blocks)
        cls.request_ut11_returns(blocks)

    def get_ut11_returns(self):
        "The returns requested in 1C for this block"
        Document = Pool().get('ut11_bridge.document')
        with without_check_access():
            return Document.search([('origin', '=', str(self)),
                    ('kind', '=', 'return')], order=[('id', 'ASC')])

    @classmethod
    def request_ut11_returns(cls, blocks):
        """One 1C return per sale and destination; goods that never were
        sold in 1C (no sale of their shipment) have nothing to return
        there"""
        Document = Pool().get('ut11_bridge.document')
        for block in blocks:
            if not block.refund_money or block.get_ut11_returns():
                continue
            for (sale, warehouse), lines in block.get_ut11_return_groups():
                Document.request('return', block, lines, order=block.order,
                    warehouse=warehouse, basis=sale)
                cls.log_action(block,
                    'order_returns.msg_log_1c_return_requested',
                    sale=sale.ut11_number or sale.id,
                    warehouse=warehouse.rec_name if warehouse else '—')

    def get_ut11_return_groups(self):
        """[((sale document, warehouse), lines)] of the units shipped: each
        unit at the price paid for it (the list price less a discount that
        makes up the block line's amount)"""
        groups = {}
        shipped = self.shipped_units()
        # the share of a block line's amount its units take, the last
        # group of the line taking what is left (no kopeck lost)
        left = {l.id: (l.quantity, l.amount or Decimal(0))
            for l in self.lines}
        for line, shipment_line, count, _ in shipped:
            sale = self.ut11_sale(shipment_line.shipment)
            if not sale:
                continue
            units, amount = left[line.id]
            share = amount if count >= units else fiscal.round_money(
                amount * count / units)
            left[line.id] = (units - count, amount - share)
            price = line.order_line.unit_price or Decimal(0)
            warehouse = (line.destination()
                or shipment_line.shipment.sale_warehouse)
            groups.setdefault((sale, warehouse), []).append({
                    'product': line.product, 'quantity': count,
                    'unit_price': price,
                    'discount': fiscal.round_money(price * count - share),
                    })
        return list(groups.items())

    @staticmethod
    def ut11_sale(shipment):
        "The shipment's sale in 1C that a return is based on, if any"
        Document = Pool().get('ut11_bridge.document')
        with without_check_access():
            sales = Document.search([('origin', '=', str(shipment)),
                    ('kind', '=', 'sale'), ('state', '!=', 'refused')],
                order=[('id', 'DESC')], limit=1)
        return sales[0] if sales else None

    @classmethod
    def ut11_document_posted(cls, block, document):
        if document.kind != 'return':
            return
        numbers = [d.ut11_number for d in block.get_ut11_returns()
            if d.ut11_number]
        cls.write([block], {'documents': ', '.join(numbers) or None})
        cls.log_action(block, 'order_returns.msg_log_1c_return_posted',
            number=document.ut11_number or '—')

    @classmethod
    def ut11_document_refused(cls, block, document, reason):
        if document.kind == 'return':
            cls.log_action(block, 'order_returns.msg_log_1c_return_refused',
                reason=reason or '—')
