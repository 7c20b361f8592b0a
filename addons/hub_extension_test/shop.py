"A test shop: a system, a kind of outbound message, an event handler"
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.pool import PoolMeta

CODE = 'test_shop'     # hub_sync.tests.shop.CODE (imported lazily: sandbox)
PUSH = 'test_push_order'
CHECK = 'test_check_order'
# what the payment handler applied, by event id (the test reads it)
APPLIED = {}


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append((CODE, "Test Shop"))


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            PUSH: 'hub_extension_test.msg_operation_push',
            CHECK: 'hub_extension_test.msg_operation_check'}

    def send_test_push_order(self):
        from trytond.modules.hub_sync.tests.shop import ShopClient
        system = self.get_system()
        client = ShopClient(system.base_url, system.timeout,
            auth=(system.login, system.password))
        return client.create_order(self.idempotency_key,
            {'number': self.record.number})

    def send_test_check_order(self):
        "Our own business rule refuses the order: no retry can help"
        if not self.record.phone:
            raise UserError(gettext('hub_extension_test.msg_no_phone',
                    order=self.record.rec_name))
        return 'ok'


class Inbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.inbox'

    def apply_test_shop_payment(self):
        "Idempotent: the event's last state wins"
        APPLIED[self.event_id] = self.data()['status']
        return self.data()['status']
