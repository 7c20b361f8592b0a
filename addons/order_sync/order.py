"The order hears of an exchange that failed for good in its action log"
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    @classmethod
    def hub_sync_refused(cls, order, message, error):
        "Called by the outbox when a message of the order failed for good"
        ActionLog = Pool().get('order_hub.action_log')
        sources = dict(ActionLog.fields_get(['source'])['source']['selection'])
        source = message.system if message.system in sources else 'system'
        text = gettext('order_sync.msg_order_refused',
            system=message.system_string,
            operation=message.get_operation_string(),
            reason=message.last_error)
        with Transaction().set_context(hub_source=source):
            ActionLog.add([(order, 'exchange', text)])
