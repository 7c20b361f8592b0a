"""The return's printouts, in Russian, as PDF: the customer's claim
(заявление на возврат) pre-filled from the order, to sign, and the return
waybill (возвратная накладная) the goods travel with."""
from trytond.pool import Pool
from trytond.report import Report


class BlockReport(Report):
    "What both printouts need"

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        lang = Pool().get('ir.lang').get()
        context['money'] = lambda amount: lang.format(
            '%.2f', amount or 0, grouping=True)
        context['qty'] = lambda quantity: lang.format(
            '%d', quantity or 0, grouping=True)
        context['date'] = lambda value: value.strftime('%d.%m.%Y') if (
            value) else '—'
        return context


class ClaimReport(BlockReport):
    __name__ = 'order_returns.block.claim'


class WaybillReport(BlockReport):
    __name__ = 'order_returns.block.waybill'
