from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Id


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Order Hub Configuration"
    __name__ = 'order_hub.configuration'

    order_sequence = fields.Many2One(
        'ir.sequence', "Order Sequence", required=True,
        domain=[('sequence_type', '=', Id('order_hub', 'sequence_type_order'))])
    pricing_method = fields.Selection([
            ('local', "Hub price lists and promotions"),
            ], "Pricing", required=True,
        help="Where line prices, discounts and promo codes come from.")

    @classmethod
    def default_order_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('order_hub', 'sequence_order')
        except KeyError:
            return None

    @classmethod
    def default_pricing_method(cls):
        return 'local'
