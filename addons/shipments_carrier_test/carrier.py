"""A carrier for the tests only: what a carrier module plugs into the
shipments' carrier-neutral interface, over real HTTP (the test shop
simulator of hub_sync plays the carrier's API) and through the outbox."""
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta

CODE = 'test'
SYSTEM = 'test_carrier'
CREATE = 'test_carrier_create'


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append((SYSTEM, "Test Carrier"))


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.source.selection.append((SYSTEM, "Test Carrier"))


class Shipment(metaclass=PoolMeta):
    __name__ = 'order_shipments.shipment'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.carrier.selection.append((CODE, "Test Carrier"))

    def carrier_request_test(self):
        "A real carrier opens its own wizard here"
        return 'order_shipments.act_shipment_form'

    @classmethod
    def carrier_send_test(cls, shipments):
        Pool().get('hub_sync.outbox').enqueue(SYSTEM, CREATE, shipments)

    @classmethod
    def carrier_cancel_test(cls, shipments):
        for shipment in shipments:
            if shipment.state != 'assembling':
                raise UserError(gettext(
                        'shipments_carrier_test.msg_cancel_too_late',
                        shipment=shipment.rec_name))
            cls.carrier_cancelled(shipment)

    def test_carrier_create(self, message):
        from trytond.modules.hub_sync.tests.shop import ShopClient
        system = message.get_system()
        client = ShopClient(system.base_url, system.timeout,
            auth=(system.login, system.password))
        ref = client.create_order(message.idempotency_key, {
                'number': self.number,
                'recipient': self.get_recipient(),
                'items': [{'name': i['name'], 'quantity': str(i['quantity']),
                        'price': str(i['unit_price'])}
                    for i in self.get_carrier_items()]})
        self.carrier_created(self, ref, f'TRACK-{ref}')
        return ref


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            CREATE: 'shipments_carrier_test.msg_operation_create'}

    def send_test_carrier_create(self):
        return self.record.test_carrier_create(self)
