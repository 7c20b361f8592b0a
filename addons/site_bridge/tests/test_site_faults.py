"""The 1C-Bitrix site rate-limited or slow, over real HTTP (the sandbox
simulator): the hub's changes of a site order reach the site once, after
waiting as long as the site asks; an edit the site cannot price is refused
with a Russian message and the order keeps its prices.

Each step is committed, as the cron, the queue and the web client would."""
import copy
import datetime as dt
import json
import multiprocessing
import time
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.order_hub.exceptions import PricingUnavailable
from trytond.modules.hub_common import utcnow
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from ..importer import event_id

from .tools import SNEAKERS_43, SiteScenario

TIMEOUT = 1                     # seconds: the site connection's timeout
SLOW = TIMEOUT + 1
PRICE = '/local/api/hub/basket/price/'


def rest(method):
    return f'/rest/*/{method}.json'


def process_in_process(company, barrier, event, results):
    "A queue worker applying one inbox event when the other one does"
    Pool(DB_NAME).init()
    barrier.wait()
    with Transaction().start(DB_NAME, 0, context={
                'company': company, 'language': 'ru'}):
        Pool().get('hub_sync.inbox').process([event])
    results.put(event)


class SiteFaultsTestCase(SiteScenario):
    "The site slow or rate-limited"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def short_timeout():
            System = Pool().get('hub_sync.system')
            System.write(System.search([('code', '=', 'site')]),
                {'timeout': TIMEOUT})
        cls.step(short_timeout)

    def setUp(self):
        super().setUp()
        self.site.journal.clear()

    # -- helpers -------------------------------------------------------------
    def site_order(self, site_id):
        with self.site.lock:
            return copy.deepcopy(self.site.orders[site_id])

    def answered(self, method):
        "Calls of a REST method the site carried out"
        return [r for r in self.site.journal.list(rest(method), 'POST')
            if r['status'] == 200]

    def wait_answered(self, method, count=1):
        "Until the site has carried out count calls (a slow one too)"
        deadline = time.monotonic() + SLOW + 5
        while len(self.answered(method)) < count:
            self.assertLess(time.monotonic(), deadline, "no answer")
            time.sleep(0.05)

    def message(self, order_id):
        "The order's site message: state, attempts, next try, journal"
        def read():
            Outbox = Pool().get('hub_sync.outbox')
            message, = Outbox.search([('system', '=', 'site'),
                    ('record', '=', f'order_hub.order,{order_id}')])
            return {'id': message.id, 'state': message.state,
                'attempts': message.attempts, 'next_try': message.next_try,
                'journal': [(j.outcome, j.http_status, j.summary)
                    for j in sorted(message.journal, key=lambda j: j.id)]}
        return self.step(read)

    def push(self, order_id, due=False):
        "The queue's (or, when due, the cron's later) run of the message"
        def pending():
            Outbox = Pool().get('hub_sync.outbox')
            messages = Outbox.search([('system', '=', 'site'),
                    ('record', '=', f'order_hub.order,{order_id}'),
                    ('state', '=', 'pending')])
            if due:
                Outbox.write(messages, {'next_try': None})
            return [m.id for m in messages]
        messages = self.step(pending)
        # processing starts with nothing uncommitted, as the cron does
        self.step(lambda: Pool().get('hub_sync.outbox').process(messages))
        return self.message(order_id)

    def call(self, order_id, method):
        def run():
            Order = Pool().get('order_hub.order')
            getattr(Order, method)([Order(order_id)])
        self.step(run)

    def change_line(self, order_id, index, **values):
        def change():
            Order = Pool().get('order_hub.order')
            Line = Pool().get('order_hub.order.line')
            if 'product' in values:
                Product = Pool().get('product.product')
                values['product'], = Product.search([
                        ('template.code', '=', values['product'][0]),
                        ('hub_size', '=', values['product'][1])])
            Line.write([Order(order_id).lines[index]], values)
        self.step(change)

    # -- hub → site ------------------------------------------------------------
    def test_rate_limited_site_gets_the_status_once_after_retry_after(self):
        placed, order_id = self.new_order()
        # a proxy in front of the site throttles the REST calls
        self.site.faults.add(kind='rate_limit', endpoint='/rest/*',
            status=429, count=1, retry_after=300)
        self.call(order_id, 'pay')
        before = utcnow().replace(microsecond=0)
        message = self.push(order_id)
        self.assertEqual((message['state'], message['attempts']),
            ('pending', 1))
        self.assertGreaterEqual(message['next_try'],
            before + dt.timedelta(seconds=300))
        (outcome, status, _), = message['journal']
        self.assertEqual((outcome, status), ('retry', 429))
        self.assertEqual(self.site_order(placed['id'])['status_id'], 'N')

        # not due: nothing is sent before the site's time
        self.assertEqual(self.push(order_id)['attempts'], 1)
        message = self.push(order_id, due=True)
        self.assertEqual(message['state'], 'done')
        self.assertEqual([o for o, _, _ in message['journal']],
            ['retry', 'ok'])
        self.assertEqual(self.site_order(placed['id'])['status_id'], 'P')
        self.assertEqual(len(self.answered('sale.order.update')), 1)

    def test_slow_site_adding_a_row_keeps_one_row(self):
        placed, order_id = self.new_order()
        self.change_line(order_id, 0, product=SNEAKERS_43)
        self.site.faults.add(kind='slow', endpoint=rest('sale.basketitem.add'),
            count=1, delay=SLOW)
        message = self.push(order_id)
        self.assertEqual(message['state'], 'pending')
        (outcome, _, summary), = message['journal']
        self.assertEqual(outcome, 'retry')
        self.assertIn("не ответил за отведённое время", summary)
        self.wait_answered('sale.basketitem.add')    # the site added it

        self.assertEqual(self.push(order_id, due=True)['state'], 'done')
        rows = [l for l in self.site_order(placed['id'])['lines']
            if l['product_xml_id'] == self.xml_ids[SNEAKERS_43]]
        self.assertEqual(len(rows), 1)
        self.assertEqual(len(self.answered('sale.basketitem.add')), 1)
        # and the hub's totals are the site's
        total, = self.step(lambda: [Pool().get('order_hub.order')(
                        order_id).total])
        self.assertEqual(Decimal(str(self.site_order(placed['id'])['price'])),
            total)

    def test_slow_site_updating_the_status_sends_it_once(self):
        placed, order_id = self.new_order()
        self.call(order_id, 'pay')
        self.site.faults.add(kind='slow', endpoint=rest('sale.order.update'),
            count=1, delay=SLOW)
        self.assertEqual(self.push(order_id)['state'], 'pending')
        self.wait_answered('sale.order.update')
        self.assertEqual(self.site_order(placed['id'])['status_id'], 'P')

        self.assertEqual(self.push(order_id, due=True)['state'], 'done')
        self.assertEqual(len(self.answered('sale.order.update')), 1)

    # -- pricing by the site ----------------------------------------------------
    def check_pricing_refused(self, order_id, quantity):
        "The manager's edit is refused in Russian; the order is unchanged"
        before = self.snapshot(order_id)
        with self.assertRaises(PricingUnavailable) as cm:
            self.change_line(order_id, 0, quantity=Decimal(quantity))
        self.assertEqual(self.snapshot(order_id), before)
        self.assertIn("Сайт не ответил на запрос цен", cm.exception.message)
        self.assertIn("заказ сохраняет прежние цены", cm.exception.message)
        return cm.exception.message

    def test_rate_limited_pricing_refuses_the_edit(self):
        _, order_id = self.new_order()
        self.site.faults.add(kind='rate_limit', endpoint=PRICE, count=1)
        text = self.check_pricing_refused(order_id, 2)
        self.assertIn("временно недоступен", text)
        # the limit passed: the same edit goes through, priced by the site
        self.change_line(order_id, 0, quantity=Decimal(2))
        self.assertEqual(self.snapshot(order_id)['lines'][0][1], 2)

    def test_slow_pricing_refuses_the_edit(self):
        _, order_id = self.new_order()
        self.site.faults.add(kind='slow', endpoint=PRICE, count=1,
            delay=SLOW)
        text = self.check_pricing_refused(order_id, 2)
        self.assertIn("не ответил за отведённое время", text)
        self.assertNotIn("HTTPConnectionPool", text)
        # the site's late answer changes nothing in the hub
        deadline = time.monotonic() + SLOW + 5
        while not self.site.journal.list(PRICE, 'POST'):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertEqual(self.snapshot(order_id)['lines'][0][1], 1)

    # -- the same site order delivered twice at once --------------------------
    @unittest.skipUnless(backend.name == 'postgresql', "needs two workers")
    def test_order_delivered_twice_at_once_is_one_order(self):
        """Two exports of a new site order (the customer changed the phone
        in between, the first batch was never confirmed) applied by two
        queue workers at the same moment"""
        placed = self.place()

        def fetch():
            client = Pool().get('hub_sync.system').get('site').site_client()
            return client.fetch_orders().orders
        first, = self.step(fetch)
        self.site.edit_order(placed['id'], properties={
                'PHONE': '+79035550011'})
        second, = self.step(fetch)

        def receive():
            Inbox = Pool().get('hub_sync.inbox')
            return [Inbox.receive('site', event_id(o), 'order',
                    json.dumps(o, default=str, ensure_ascii=False))[0].id
                for o in (first, second)]
        events = self.step(receive)
        self.assertEqual(len(set(events)), 2)

        context = multiprocessing.get_context('spawn')
        barrier = context.Barrier(2)
        results = context.Queue()
        workers = [context.Process(target=process_in_process, args=(
                    self.company, barrier, e, results), daemon=True)
            for e in events]
        for worker in workers:
            worker.start()
        for _ in workers:
            results.get(timeout=120)
        for worker in workers:
            worker.join(timeout=60)

        # the loser, if any, is retried later as the cron would
        def retry():
            Inbox = Pool().get('hub_sync.inbox')
            pending = Inbox.search([('id', 'in', events),
                    ('state', '=', 'pending')])
            Inbox.write(pending, {'next_try': None})
            return [e.id for e in pending]
        pending = self.step(retry)
        self.step(lambda: Pool().get('hub_sync.inbox').process(pending))
        self.assertEqual(len(self.hub_order(placed['account_number'])), 1)
        states = self.step(lambda: [e.state for e in Pool().get(
                        'hub_sync.inbox').browse(events)])
        self.assertEqual(states, ['done', 'done'])
