"""Gift wrapping: one part of the 1C order mapper extended (the header's
comment) and a new kind of message to 1C, without touching ut11_bridge"""
from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.ut11_bridge import payloads
from trytond.pool import PoolMeta

GIFT_NOTE = 'test_ut11_gift_note'


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    gift_note = fields.Char("Gift Note")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields.add('gift_note')

    def _ut11_order_header(self, system):
        header = super()._ut11_order_header(system)
        if self.gift_note:
            header['Комментарий'] = self.ut11_gift_comment()
        return header

    def ut11_gift_comment(self):
        return '; '.join(filter(None, [self.customer_name, gettext(
                        'hub_extension_test.msg_gift_note',
                        note=self.gift_note)]))


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            GIFT_NOTE: 'hub_extension_test.msg_operation_gift_note'}

    def send_test_ut11_gift_note(self):
        "Only the comment of the order 1C holds, without re-posting it"
        order = self.record
        client = self.get_system().ut11_client()
        document = client.update(payloads.ORDER, order.ut11_ref,
            {'Комментарий': order.ut11_gift_comment()}, post=False)
        return document['number']
