"""Glue with order_returns: marked goods coming back go to the warehouse
(with the return waybill, even through a shop), and those a withdrawal
document took out of circulation are reported back into it."""
from trytond.pool import Pool, PoolMeta

from .code import codes_of_line


class BlockLine(metaclass=PoolMeta):
    __name__ = 'order_returns.block.line'

    def goes_to_warehouse(self):
        return super().goes_to_warehouse() or bool(
            self.product and self.product.hub_marked)

    def marking_returned_codes(self):
        """The codes of the units this line brings back that need a return
        to circulation: the line's withdrawn codes, the last units first
        (as a refund receipt takes the last units' codes)"""
        line = self.order_line
        if not line or not line.marking_required:
            return []
        withdrawn = [c for c in codes_of_line(line) if c.marking_withdrawn()]
        return withdrawn[-int(self.quantity):] if self.quantity else []


class Block(metaclass=PoolMeta):
    __name__ = 'order_returns.block'

    @classmethod
    def goods_received(cls, blocks):
        super().goods_received(blocks)
        Document = Pool().get('marking.document')
        for block in blocks:
            codes = [c for l in block.lines
                for c in l.marking_returned_codes()]
            if codes:
                Document.report_return(block.order, codes)
