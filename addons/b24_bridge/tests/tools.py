"""The hub with the Bitrix24 bridge against the Bitrix24 simulator, over
real HTTP both ways (the simulator's events reach the hub's route through
``HubEndpoint``).  Each step is committed, as the queue and the web client
would."""
from decimal import Decimal

from trytond.modules.hub_sync.tests.endpoint import HubEndpoint
from trytond.modules.hub_sync.tests.queue import QueueSteps
from trytond.modules.order_hub.tests.tools import (
    CommittedSteps, HubTestCase, create_city, create_product, create_warehouse, set_company,
    set_stock, setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

EVENTS = ['ONCRMDEALUPDATE']


class B24TestCase(QueueSteps, CommittedSteps, HubTestCase):
    "The hub with b24_bridge, a Bitrix24 simulator and an event endpoint"
    modules = ['b24_bridge']
    rate = 100.0            # the client's pace; the simulator's limit is off

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from sandbox.bitrix24 import Bitrix24Simulator
        cls.sim = Bitrix24Simulator()
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        cls.sim.set_rate_limit(enabled=False)
        cls.hub = HubEndpoint()
        cls.addClassCleanup(cls.hub.stop)
        hook = cls.sim.outgoing_webhook(
            f'{cls.hub.url}/{DB_NAME}/b24_bridge/events', EVENTS)
        cls.application_token = hook['application_token']
        with Transaction().start(DB_NAME, 0) as transaction:
            cls.company = setup_company().id
            moscow = create_city("Москва", '55.755826', '37.617300')
            cls.city = moscow.id
            with set_company(Pool().get('company.company')(cls.company)):
                shoes = create_product("Кеды", '3000', sizes=('41', '42'))
                cls.shoes, cls.shoes42 = shoes[0].id, shoes[1].id
                cls.shirt = create_product("Футболка", '1000')[0].id
                shop = create_warehouse("Магазин на Тверской", moscow,
                    code='TV')
                cls.shop = shop.id
                for product in shoes + [Pool().get('product.product')(
                            cls.shirt)]:
                    set_stock(product, shop, 5)
            Pool().get('hub_sync.system').create([cls.system_values()])
            transaction.commit()

    @classmethod
    def system_values(cls):
        return {'code': 'b24', 'name': "Битрикс24",
            'base_url': cls.sim.webhook()['url'], 'timeout': 3,
            'secret': cls.application_token, 'b24_rate': cls.rate,
            'b24_hub_url': 'http://hub.example.ru'}

    def setUp(self):
        super().setUp()
        self.sim.faults.clear()
        self.sim.set_rate_limit(enabled=False)

    @classmethod
    def read(cls, func):
        return cls.step(func)

    def new_order(self, lines=None, delivery='300', **values):
        "An order awaiting payment; lines [(product id, quantity)]"
        lines = lines or [(self.shoes, 1), (self.shirt, 2)]

        def create():
            Order = Pool().get('order_hub.order')
            order, = Order.create([{
                        'customer_name': "Иванова Мария Петровна",
                        'phone': '+7 916 123-45-67',
                        'email': 'M.Ivanova@example.ru',
                        'delivery_city': self.city,
                        'delivery_service': 'cdek_courier',
                        'delivery_address': "ул. Тверская, 7",
                        'delivery_cost': Decimal(delivery),
                        'lines': [('create', [{'product': p,
                                        'quantity': Decimal(q)}
                                    for p, q in lines])],
                        **values}])
            return order.id
        return self.step(create)

    def act(self, order_id, method, *args):
        "An order button, as a manager presses it"
        def run():
            Order = Pool().get('order_hub.order')
            getattr(Order, method)([Order(order_id)], *args)
        self.step(run)

    def run_queue(self, rounds=6):
        """Send what is due, serve the events that came back, apply them,
        until nothing is left"""
        def due():
            pool = Pool()
            pool.get('hub_sync.outbox').process_due()
            pool.get('hub_sync.inbox').process_due()
        for _ in range(rounds):
            self.step(due)
            self.sim.webhooks.wait_idle(2)
            served = self.hub.pump(idle=0.3)
            if not served and not self.pending():
                return

    def order(self, order_id):
        "A detached snapshot of the order"
        def read():
            order = Pool().get('order_hub.order')(order_id)
            return {
                'state': order.state, 'total': order.total,
                'deal': order.b24_deal, 'contact': order.b24_contact,
                'lines': [(l.product.id, l.quantity, l.unit_price)
                    for l in order.lines],
                'log': [(l.source, l.description)
                    for l in reversed(order.action_logs)],
                }
        return self.read(read)

    def deal(self, order_id):
        deal_id = self.order(order_id)['deal']
        self.assertTrue(deal_id, "the order has no deal")
        return self.sim.deals[int(deal_id)]

    def rows(self, order_id):
        return self.sim.rows[int(self.order(order_id)['deal'])]

    def comments(self, order_id):
        deal = self.order(order_id)['deal']
        return [c['COMMENT'] for c in self.sim.comments.values()
            if str(c['ENTITY_ID']) == str(deal)]

    def stages(self):
        def read():
            system = Pool().get('hub_sync.system').get('b24')
            return system.b24_stage_map()
        return self.read(read)

    def messages(self, state=None):
        def read():
            Outbox = Pool().get('hub_sync.outbox')
            domain = [('system', '=', 'b24')]
            if state:
                domain.append(('state', '=', state))
            return [(m.record.id if m.record else None, m.state, m.attempts,
                    m.last_error) for m in Outbox.search(domain)]
        return self.read(read)

    def events(self):
        def read():
            Inbox = Pool().get('hub_sync.inbox')
            return [(e.event_type, e.state, e.last_error, e.result)
                for e in Inbox.search([('system', '=', 'b24')],
                    order=[('id', 'ASC')])]
        return self.read(read)
