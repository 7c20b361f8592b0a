"""The hub with YooKassa against the simulators, over real HTTP both ways.

The simulator's notifications reach the hub over HTTP: ``HubEndpoint`` is a
real server whose thread hands each request to the test's thread, which runs
it through Tryton's WSGI app (the notification route, unchanged) — Tryton's
SQLite database in memory lives in one thread.  Each step of a test is
committed, as the queue and the web client would."""
from decimal import Decimal

from trytond.modules.hub_sync.tests.endpoint import HubEndpoint
from trytond.modules.hub_sync.tests.queue import QueueSteps
from trytond.modules.order_hub.tests.tools import (
    CommittedSteps, HubTestCase, create_city, create_product, set_company, setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction


class YooKassaScenario(QueueSteps, CommittedSteps, HubTestCase):
    "The hub with payment_yookassa, the YooKassa and SMS simulators"
    modules = ['payment_yookassa']
    allowed_ips = '127.0.0.1/32'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import sandbox
        cls.sandbox = sandbox.start(['yookassa', 'sms'])
        cls.addClassCleanup(cls.sandbox.stop)
        cls.sim = cls.sandbox['yookassa']
        cls.sms = cls.sandbox['sms']
        cls.hub = HubEndpoint()
        cls.addClassCleanup(cls.hub.stop)
        with Transaction().start(DB_NAME, 0) as transaction:
            cls.company = setup_company().id
            cls.city = create_city("Москва", '55.755826', '37.617300').id
            with set_company(Pool().get('company.company')(cls.company)):
                cls.shoes, = create_product("Кеды", '3000')
                cls.shirt, = create_product("Футболка", '1000')
                cls.shoes, cls.shirt = cls.shoes.id, cls.shirt.id
            System = Pool().get('hub_sync.system')
            System.yookassa_configure_sandbox(cls.sim.base_url,
                sms_url=cls.sms.base_url)
            system, = System.search([('code', '=', 'yookassa')])
            System.write([system], {'yookassa_ips': cls.allowed_ips,
                    'timeout': 3})
            transaction.commit()
        cls.sim.configure(notification_url=(
                f'{cls.hub.url}/{DB_NAME}/payment_yookassa/notifications'))

    def setUp(self):
        super().setUp()
        self.sim.faults.clear()

    def configure(self, **values):
        with Transaction().start(DB_NAME, 0, context={
                    'company': self.company},
                _lock_tables=['order_payment_configuration']) as transaction:
            Configuration = Pool().get('order_payment.configuration')
            Configuration.write([Configuration(1)], values)
            transaction.commit()

    def new_order(self, lines=((None, 1),), delivery='300', **values):
        "An order awaiting payment; lines [(product id, quantity)]"
        def create():
            Order = Pool().get('order_hub.order')
            order, = Order.create([{
                        'customer_name': "Иванова Мария Петровна",
                        'phone': '+7 916 123-45-67',
                        'email': 'm.ivanova@example.ru',
                        'delivery_city': self.city,
                        'delivery_cost': Decimal(delivery),
                        'lines': [('create', [{
                                        'product': p or self.shoes,
                                        'quantity': Decimal(q)}
                                    for p, q in lines])],
                        **values}])
            return order.id
        return self.step(create)

    def read(self, func):
        return self.step(func)

    def order(self, order_id):
        "A detached snapshot of the order's money"
        def read():
            order = Pool().get('order_hub.order')(order_id)
            return {
                'state': order.state, 'total': order.total,
                'paid': order.paid_amount, 'refunded': order.refunded_amount,
                'payments': [(p.kind, p.state, p.amount, p.provider_ref)
                    for p in order.payments],
                'receipts': [(r.kind, r.state, r.total) for r in sorted(
                            order.receipts, key=lambda r: r.id)],
                'net': sum((r.net for r in order.receipts), Decimal(0)),
                'log': [l.description for l in order.action_logs],
                }
        return self.read(read)

    def run_queue(self, rounds=5):
        """Process every due outbox message and inbox event, then what
        that queued, as the queue and the cron would"""
        def due():
            pool = Pool()
            for name in ('hub_sync.outbox', 'hub_sync.inbox'):
                Model = pool.get(name)
                Model.process_due()
        for _ in range(rounds):
            self.step(due)
            if not self.hub.pump(idle=0.3) and not self.pending():
                return

    def refresh(self):
        "The crons that re-read open payments and receipts"
        self.sim.register_receipts()

        def refresh():
            pool = Pool()
            pool.get('order_payment.receipt').yookassa_refresh()
            pool.get('order_payment.payment').yookassa_refresh()
        self.step(refresh)

    def deliver(self):
        "Let the simulator's notifications reach the hub, then apply them"
        self.sim.webhooks.wait_idle(0.1)
        for _ in range(3):
            self.hub.pump(idle=0.4)
            self.run_queue()
            if self.sim.webhooks.wait_idle(0.5) and self.hub.requests.empty():
                break

    def site_payment(self, order_id, amount, capture=True, receipt=None):
        "A payment the website creates (as its 1C-Bitrix module does)"
        def number():
            return Pool().get('order_hub.order')(order_id).site_number
        site_number = self.step(number)
        from yookassa.client import ApiClient  # noqa: F401 (SDK present)
        import requests
        body = {'amount': {'value': f'{Decimal(amount):.2f}',
                'currency': 'RUB'}, 'capture': capture,
            'confirmation': {'type': 'redirect',
                'return_url': 'https://shop.example/'},
            'description': f'Заказ №{site_number}',
            'metadata': {'BX_PAYMENT_NUMBER': f'{site_number}/1',
                'BX_HANDLER': 'YOOKASSA'}}
        if receipt:
            body['receipt'] = receipt
        import uuid
        response = requests.post(self.sim.base_url + '/v3/payments',
            json=body, auth=(self.sim.shop_id, self.sim.secret_key),
            headers={'Idempotence-Key': uuid.uuid4().hex}, timeout=5)
        response.raise_for_status()
        return response.json()['id']
