"""Glue with the 1C UT11 bridge (registered only when ut11_bridge is
activated): a shipment's goods are sold in 1C (РеализацияТоваровУслуг on
the basis of the order) before anything leaves for the customer."""
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta


class Shipment(metaclass=PoolMeta):
    __name__ = 'order_shipments.shipment'

    def get_ut11_sales(self):
        "The sales (реализации) requested in 1C for this shipment"
        Document = Pool().get('ut11_bridge.document')
        return Document.search([('origin', '=', str(self)),
                ('kind', '=', 'sale')])

    @classmethod
    def release_goods(cls, shipments):
        "The sale is requested in 1C; its answer moves the shipment on"
        Document = Pool().get('ut11_bridge.document')
        for shipment in shipments:
            if any(d.state == 'pending' for d in shipment.get_ut11_sales()):
                continue    # asked already: a repeated click sends nothing
            Document.request('sale', shipment, shipment.get_ut11_sale_lines(),
                order=shipment.order, warehouse=shipment.sale_warehouse)
        cls.log_on_order(shipments, 'order_shipments.msg_log_sale_requested')

    def get_ut11_sale_lines(self):
        return [{'product': l.product, 'quantity': l.quantity,
                'unit_price': l.list_price, 'discount': l.discount,
                'warehouse': self.sale_warehouse} for l in self.lines]

    @classmethod
    def ut11_document_posted(cls, shipment, document):
        if document.kind == 'sale' and document.ut11_posted:
            cls.goods_released([shipment])

    @classmethod
    def ut11_document_refused(cls, shipment, document, reason):
        if document.kind == 'sale':
            cls.release_refused([shipment], gettext(
                    'order_shipments.msg_sale_refused_1c', reason=reason))
