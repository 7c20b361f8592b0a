"""A carrier shipment with the 1C bridge, against the UT11 simulator and
the test carrier over real HTTP: the sale is made in 1C before the carrier
hears of anything; 1C refusing it leaves the carrier untouched."""
from trytond.modules.hub_sync.tests.shop import ShopSimulator
from trytond.modules.order_shipments.tests.test_shipments_ut11 import (
    NEVSKY, ShipmentsUT11Base)
from trytond.pool import Pool

from ..carrier import CREATE, SYSTEM


class CarrierUT11TestCase(ShipmentsUT11Base):
    "A carrier shipment sold in 1C first"
    modules = ['shipments_carrier_test', 'ut11_bridge']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carrier = ShopSimulator()
        cls.carrier.start()
        cls.addClassCleanup(cls.carrier.stop)
        cls.step(lambda: Pool().get('hub_sync.system').create([{
                        'code': SYSTEM, 'name': "Тестовая служба доставки",
                        'base_url': cls.carrier.base_url, 'login': 'hub',
                        'timeout': 2}]))

    def carrier_messages(self, shipment_id):
        def search():
            Outbox = Pool().get('hub_sync.outbox')
            return Outbox.search_count([('operation', '=', CREATE), (
                        'record', '=',
                        f'order_shipments.shipment,{shipment_id}')])
        return self.step(search)

    def submit(self, shipment_id):
        self.shipment_action(shipment_id, 'submit_carrier_request')
        self.process_sales(shipment_id)
        self.process(f'order_shipments.shipment,{shipment_id}')

    def test_1c_refusing_the_sale_sends_nothing_to_the_carrier(self):
        self.use_size('44')
        order_id = self.order_in_1c(delivery_service='cdek_courier',
            delivery_city="Санкт-Петербург")
        shipment_id = self.request(order_id, None, 'courier', carrier='test')
        self.sim.refuse_posting('РеализацияТоваровУслуг', message=(
                "Не заполнен адрес доставки"))

        self.submit(shipment_id)

        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Собирается", 'refused'))
        self.assertIn("Не заполнен адрес доставки", shown['error'])
        self.assertEqual(self.carrier_messages(shipment_id), 0)
        self.assertFalse(self.carrier.orders)

        self.submit(shipment_id)
        shown = self.read(shipment_id)
        self.assertEqual((shown['state'], shown['carrier_state']),
            ("Отправлено", 'created'))
        self.assertEqual([w for s, _, w in shown['sales'] if s == 'posted'],
            [NEVSKY])
        self.assertEqual(len(self.carrier.orders), 1)
        self.assertEqual(shown['order'], "Доставляется")
