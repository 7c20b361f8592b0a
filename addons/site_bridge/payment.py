"""With order_payment: money the site takes itself.

A payment system mapped with «Деньги принимает сайт» (the site's own payment
module, a courier's cash, a bank transfer) takes the money outside the hub:
when the site says such an order is paid, the hub records the payment
(``order_payment.payment.record_external``: no receipt of the hub's, refunds
confirmed by a person).  Other payment systems are paid through the hub's
provider: the site's flag only moves the order, as without order_payment."""
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval


class Mapping(metaclass=PoolMeta):
    __name__ = 'site_bridge.mapping'

    site_takes_money = fields.Boolean("Money Taken by the Website",
        states={'invisible': Eval('kind') != 'payment'},
        help="The website (its payment module, a courier, a bank "
        "transfer) takes the money: when it says an order is paid, the "
        "payment is recorded as taken outside the hub, and its refunds are "
        "made there and confirmed by hand.")


class Importer(metaclass=PoolMeta):
    __name__ = 'site_bridge.importer'

    @classmethod
    def site_paid(cls, order, data):
        pool = Pool()
        Mapping = pool.get('site_bridge.mapping')
        Payment = pool.get('order_payment.payment')
        payment = data.get('payment') or {}
        mapping = Mapping.find('payment', payment.get('method_id'),
            payment.get('method'))
        if mapping and mapping.site_takes_money and order.payment_due > 0:
            Payment.record_external(order, order.payment_due,
                method=payment.get('method') or mapping.site_name,
                reference=cls.site_payment_reference(order, payment))
        else:
            super().site_paid(order, data)

    @classmethod
    def site_payment_reference(cls, order, payment):
        "The site's payment document, unique among the recorded payments"
        document = payment.get('document')
        if document:
            return f'{order.site_number or order.number}: {document}'
