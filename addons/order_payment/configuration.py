"What the accountant decides once: VAT, tax system, capture"
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool

from .fiscal import VAT_RATES

VAT_SELECTION = [(r, {'none': "Without VAT"}.get(r, f"VAT {r}"
            + ('' if '/' in r else '%'))) for r in VAT_RATES]
TAX_SYSTEMS = [
    (None, ""),
    ('osn', "General (ОСН)"),
    ('usn_income', "Simplified, Income (УСН доходы)"),
    ('usn_income_outcome', "Simplified, Income − Expenses (УСН доходы − "
        "расходы)"),
    ('esn', "Unified Agricultural Tax (ЕСХН)"),
    ('patent', "Patent (ПСН)"),
    ]


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Payments Configuration"
    __name__ = 'order_payment.configuration'

    vat_goods = fields.Selection(VAT_SELECTION, "VAT on Goods", required=True,
        help="The VAT rate printed on the receipts' goods.")
    vat_delivery = fields.Selection(VAT_SELECTION, "VAT on Delivery",
        required=True)
    tax_system = fields.Selection(TAX_SYSTEMS, "Tax System",
        help="Only when the shop has several tax systems (tag 1055).")
    capture = fields.Selection([
            ('auto', "Automatically"),
            ('manual', "By Hand"),
            ], "Capture Held Payments", required=True,
        help="Two-stage payments: take the held money as soon as it is held, "
        "or when a manager clicks «Списать».")
    provider = fields.Selection('get_providers', "Provider of Payment Links",
        help="Where «Отправить ссылку на оплату» creates the payment.")
    delivery_description = fields.Char("Delivery Item", required=True,
        help="How the delivery is named on receipts.")

    @classmethod
    def get_providers(cls):
        Payment = Pool().get('order_payment.payment')
        return [(None, "")] + Payment.providers()

    @classmethod
    def default_provider(cls):
        providers = Pool().get('order_payment.payment').providers()
        return providers[0][0] if len(providers) == 1 else None

    @classmethod
    def default_vat_goods(cls):
        return '22'

    @classmethod
    def default_vat_delivery(cls):
        return '22'

    @classmethod
    def default_capture(cls):
        return 'auto'

    @classmethod
    def default_delivery_description(cls):
        return "Доставка"
