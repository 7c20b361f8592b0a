"Bitrix24 events in the inbox: deal changes a manager made"
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta


class Inbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.inbox'

    def apply_b24_oncrmdealupdate(self):
        "A deal changed (fields, stage or product rows): read and apply"
        Order = Pool().get('order_hub.order')
        return Order.b24_apply_deal(self.b24_deal_id())

    def apply_b24(self):
        "Other events (deal added, deleted, moved…): nothing to apply"
        return gettext('b24_bridge.msg_event_ignored', event=self.event_type)

    def b24_deal_id(self):
        return int(self.data()['data[FIELDS][ID]'])
