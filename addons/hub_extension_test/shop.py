"A test shop: a system, a kind of outbound message, an event handler"
from trytond.modules.hub_sync.tests.shop import CODE, ShopClient
from trytond.pool import PoolMeta

PUSH = 'test_push_order'
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
            PUSH: 'hub_extension_test.msg_operation_push'}

    def send_test_push_order(self):
        system = self.get_system()
        client = ShopClient(system.base_url, system.timeout,
            auth=(system.login, system.password))
        return client.create_order(self.idempotency_key,
            {'number': self.record.number})


class Inbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.inbox'

    def apply_test_shop_payment(self):
        "Idempotent: the event's last state wins"
        APPLIED[self.event_id] = self.data()['status']
        return self.data()['status']
