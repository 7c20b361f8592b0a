"The order hears of a refused exchange in its action log"
from trytond.i18n import gettext
from trytond.modules.order_hub.action_log import SOURCES
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    @classmethod
    def hub_sync_refused(cls, order, message, error):
        "Called by the outbox when a system refused a message of the order"
        ActionLog = Pool().get('order_hub.action_log')
        source = message.system if message.system in dict(SOURCES) else (
            'system')
        text = gettext('hub_sync.msg_order_refused',
            system=message.system_string,
            operation=message.get_operation_string(),
            reason=error.message)
        with Transaction().set_context(hub_source=source):
            ActionLog.add([(order, 'exchange', text)])
