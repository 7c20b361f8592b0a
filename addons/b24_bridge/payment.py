"""Glue with order_payment (optional): payments, refunds and receipts in the
deal's story (registered only when order_payment is activated)."""
from trytond.i18n import gettext
from trytond.modules.order_hub.pricing import format_money
from trytond.pool import PoolMeta


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    def b24_story_sections(self, system):
        return super().b24_story_sections(system) + [
            self.b24_story_payments(system)]

    def b24_story_payments(self, system):
        if not self.payments and not self.receipts:
            return None
        lines = [gettext('b24_bridge.msg_story_payments'),
            gettext('b24_bridge.msg_story_paid',
                paid=format_money(self.paid_amount or 0),
                refunded=format_money(self.refunded_amount or 0),
                due=format_money(self.payment_due or 0))]
        lines += [gettext('b24_bridge.msg_story_payment',
                amount=format_money(p.amount), state=p.state_string)
            for p in self.payments]
        lines += [gettext('b24_bridge.msg_story_receipt',
                kind=r.kind_string, total=format_money(r.total or 0),
                state=r.state_string)
            for r in self.receipts]
        return '\n'.join(lines)
