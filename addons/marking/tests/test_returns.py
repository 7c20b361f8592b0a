"""Marked goods in return blocks (order_returns): they go to the warehouse
even through a shop, and those a withdrawal document took out of
circulation are reported back into it when the goods are received."""
import random
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_product, set_company, set_stock, setup_company)

from .samples import code, gtin

EAN = gtin('460704889311')


class MarkedReturnsTestCase(HubTestCase):
    "Return blocks of marked goods"
    modules = ['marking', 'order_returns']

    @with_transaction()
    def test_marked_goods_come_back_to_the_warehouse_and_circulation(self):
        from trytond.modules.order_shipments.tests.tools import (
            create_shops, paid_order)
        pool = Pool()
        Block = pool.get('order_returns.block')
        Reason = pool.get('order_returns.reason')
        Code = pool.get('marking.code')
        Document = pool.get('marking.document')
        with set_company(setup_company()):
            shops = create_shops()
            shoes, = create_product("Кроссовки", '5000', marked=True)
            pool.get('product.template').write([shoes.template],
                {'marking_group': 'shoes'})
            pool.get('product.identifier').create([{'product': shoes.id,
                        'type': 'ean', 'code': EAN}])
            set_stock(shoes, shops.tverskaya, 3)
            order = paid_order([(shoes, 3), (shops.hat, 1)],
                delivery_service='pickup', pickup_shop=shops.tverskaya.id)
            marked_line, plain_line = order.lines
            rng = random.Random(5)
            codes = Code.create([{'line': marked_line.id, 'unit': unit,
                        'code': code('shoes', rng, '0' + EAN)}
                    for unit in (1, 2, 3)])
            Code.write(codes, {'state': 'valid'})
            # units 2 and 3 left other than by a receipt: withdrawn
            Document.create([{'order': order.id, 'kind': 'withdrawal',
                        'group': 'shoes', 'reason': 'test',
                        'date': order.create_date.date(),
                        'state': 'accepted',
                        'codes': [('add', [c.id for c in codes[1:]])]}])

            reason, = Reason.search([], limit=1)
            block = Block.create_return(order,
                [(marked_line, Decimal(1)), (plain_line, Decimal(1))],
                reason, channel='shop', shop=shops.tverskaya,
                warehouse=shops.nevsky)
            destinations = {l.product: l.destination() for l in block.lines}
            # marked goods to the warehouse with the waybill; the rest stay
            self.assertEqual(destinations[shoes], shops.nevsky)
            self.assertEqual(destinations[shops.hat], shops.tverskaya)

            Block.refund([block])
            refund, = Block(block.id).refunds
            refund.__class__.set_provider_state(refund, 'succeeded')
            self.assertEqual(Block(block.id).state, 'returned')
            returned, = Document.search([('kind', '=', 'return'),
                    ('order', '=', order.id)])
            # one unit back: the last withdrawn one
            self.assertEqual([c.id for c in returned.codes], [codes[2].id])
