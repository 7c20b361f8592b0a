"""Bitrix24 and the hub over real HTTP (the sandbox simulator): orders
mirrored as deals through every status, managers' edits applied or refused,
outages, the rate limit, duplicated and reordered events, reconciliation."""
import time
from decimal import Decimal

import requests

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME

from .tools import B24TestCase


class B24MirrorTestCase(B24TestCase):
    "Orders mirrored to Bitrix24 deals"

    def test_order_through_every_status(self):
        before = len(self.events())
        order_id = self.new_order()
        self.run_queue()
        stages = self.stages()
        deal = self.deal(order_id)
        order = self.order(order_id)
        self.assertEqual(deal['STAGE_ID'], stages['awaiting_payment'])
        self.assertEqual(deal['CATEGORY_ID'], str(self.sim.categories[-1][
                    'id']))
        self.assertEqual(self.sim.categories[-1]['name'], "Заказы хаба")
        names = {s['STATUS_ID']: s['NAME'] for s in self.sim.statuses}
        self.assertEqual(names[stages['paid']], "Оплачен")
        self.assertEqual(Decimal(deal['OPPORTUNITY']), order['total'])
        self.assertEqual(deal['ORIGIN_ID'], str(order_id))
        self.assertIn(f'/model/order_hub.order/{order_id}]',
            deal['COMMENTS'])
        rows = self.rows(order_id)
        self.assertEqual([(r['PRODUCT_NAME'], r['QUANTITY'], r['PRICE'])
                for r in rows][-1][1:], (1.0, 300.0))
        self.assertEqual(len(rows), 3)
        self.assertIsInstance(rows[0]['ID'], str)
        contact = self.sim.contacts[int(order['contact'])]
        self.assertEqual((contact['LAST_NAME'], contact['NAME'],
                contact['SECOND_NAME']), ("Иванова", "Мария", "Петровна"))
        self.assertEqual(contact['PHONE'][0]['VALUE'], '+79161234567')
        self.assertEqual(contact['EMAIL'][0]['VALUE'], 'm.ivanova@example.ru')

        for method, state in [('pay', 'paid'), ('reserve', 'assembling'),
                ('deliver', 'delivering'), ('issue', 'issued')]:
            self.act(order_id, method)
            self.run_queue()
            self.assertEqual(self.deal(order_id)['STAGE_ID'], stages[state])
            if state == 'assembling':
                self.assertIn("Магазин на Тверской",
                    self.deal(order_id)['COMMENTS'])
        self.assertEqual(self.deal(order_id)['STAGE_SEMANTIC_ID'], 'S')
        # the echoes of the hub's own writes changed nothing
        self.assertEqual(self.messages('pending'), [])
        self.assertTrue(all(e[1] == 'done' for e in self.events()[before:]),
            self.events())
        self.assertFalse([l for l in self.order(order_id)['log']
                if l[0] == 'b24'])

        cancelled = self.new_order()
        self.act(cancelled, 'cancel')
        self.run_queue()
        self.assertEqual(self.deal(cancelled)['STAGE_ID'],
            stages['cancelled'])
        # the same customer: the same contact, found by phone
        self.assertEqual(self.order(cancelled)['contact'], order['contact'])
        # one deal per order, never two
        self.assertEqual(sorted(d['ORIGIN_ID'] for d in self.sim.deals.values()
                if d['ORIGIN_ID'] in {str(order_id), str(cancelled)}),
            sorted([str(order_id), str(cancelled)]))

        def journal():
            Journal = Pool().get('hub_sync.journal')
            return {(j.system, j.direction, j.outcome, j.outbox.state)
                for j in Journal.search([('record', '=',
                                f'order_hub.order,{cancelled}')])}
        # the round's journal rows (one INSERT) read as any other
        self.assertEqual(self.step(journal), {('b24', 'out', 'ok', 'done')})

    def test_existing_contact_found_by_email(self):
        contact = self.sim.seed_contacts([{'NAME': "Пётр", 'EMAIL': [
                        {'VALUE': 'petrov@example.ru'}]}])['ids'][0]
        order_id = self.new_order(customer_name="Петров Пётр",
            phone=None, email='petrov@example.ru')
        self.run_queue()
        self.assertEqual(self.order(order_id)['contact'], str(contact))

    def test_manager_edits_applied(self):
        order_id = self.new_order()
        self.run_queue()
        total = self.order(order_id)['total']
        rows = [dict(r) for r in self.rows(order_id)]
        rows[0]['QUANTITY'] = 2
        self.sim.user_edit_rows(self.order(order_id)['deal'], rows)
        self.run_queue()
        order = self.order(order_id)
        self.assertEqual(order['lines'][0][1], Decimal(2))
        self.assertEqual(order['total'], total + Decimal(3000))
        self.assertTrue([d for s, d in order['log'] if s == 'b24'
                and "Кеды" in d and "количество 1 → 2" in d], order['log'])
        deal = self.deal(order_id)
        self.assertEqual(Decimal(deal['OPPORTUNITY']), order['total'])
        # stage moved by the manager: the order is paid
        self.sim.user_edit_deal(order['deal'],
            {'STAGE_ID': self.stages()['paid']})
        self.run_queue()
        self.assertEqual(self.order(order_id)['state'], 'paid')
        self.assertEqual(self.comments(order_id), [])

    def test_manager_edits_refused(self):
        order_id = self.new_order()
        self.run_queue()
        stages = self.stages()
        deal_id = self.order(order_id)['deal']
        # a stage skip: awaiting payment → delivering
        self.sim.user_edit_deal(deal_id, {'STAGE_ID': stages['delivering']})
        self.run_queue()
        self.assertEqual(self.order(order_id)['state'], 'awaiting_payment')
        self.assertEqual(self.deal(order_id)['STAGE_ID'],
            stages['awaiting_payment'])
        comment, = self.comments(order_id)
        self.assertIn("не принял", comment)
        self.assertIn("«Доставляется»", comment)
        self.assertEqual(self.events()[-2][1], 'failed')

        # a quantity without stock (5 in the shop)
        rows = [dict(r) for r in self.rows(order_id)]
        rows[0]['QUANTITY'] = 9
        self.sim.user_edit_rows(deal_id, rows)
        self.run_queue()
        self.assertEqual(self.order(order_id)['lines'][0][1], Decimal(1))
        self.assertEqual(self.rows(order_id)[0]['QUANTITY'], 1.0)
        self.assertIn("Недостаточно", self.comments(order_id)[-1])

        # a closed order
        self.act(order_id, 'cancel')
        self.run_queue()
        rows = [dict(r) for r in self.rows(order_id)]
        rows[1]['QUANTITY'] = 1
        self.sim.user_edit_rows(deal_id, rows)
        self.run_queue()
        self.assertEqual(self.order(order_id)['lines'][1][1], Decimal(2))
        self.assertEqual(self.rows(order_id)[1]['QUANTITY'], 2.0)
        self.assertEqual(len(self.comments(order_id)), 3)

    def test_price_edit_is_set_back(self):
        order_id = self.new_order()
        self.run_queue()
        rows = [dict(r) for r in self.rows(order_id)]
        rows[0]['PRICE'] = 1
        self.sim.user_edit_rows(self.order(order_id)['deal'], rows)
        self.run_queue()
        self.assertEqual(self.rows(order_id)[0]['PRICE'], 3000.0)
        self.assertEqual(self.order(order_id)['lines'][0][2], Decimal(3000))

    def test_events_duplicated_and_out_of_order(self):
        order_id = self.new_order()
        self.run_queue()
        deal_id = self.order(order_id)['deal']
        self.sim.faults.add(kind='webhook_duplicate', count=1)
        self.sim.faults.add(kind='webhook_reorder', count=2)
        for quantity in (2, 3):
            rows = [dict(r) for r in self.rows(order_id)]
            rows[0]['QUANTITY'] = quantity
            self.sim.user_edit_rows(deal_id, rows)
        self.sim.webhooks.flush_held()
        self.run_queue()
        order = self.order(order_id)
        self.assertEqual(order['lines'][0][1], Decimal(3))
        changes = [d for s, d in order['log'] if s == 'b24'
            and "количество" in d]
        self.assertEqual(len(changes), 1, order['log'])
        self.assertEqual(self.rows(order_id)[0]['QUANTITY'], 3.0)

    def test_wrong_application_token_refused(self):
        import threading
        result = {}
        before = self.events()

        def post():
            result['response'] = requests.post(
                f'{self.hub.url}/{DB_NAME}/b24_bridge/events', data={
                    'event': 'ONCRMDEALUPDATE', 'data[FIELDS][ID]': '1',
                    'auth[application_token]': 'forged'}, timeout=10)
        thread = threading.Thread(target=post)
        thread.start()
        self.hub.pump(idle=1)
        thread.join()
        self.assertEqual(result['response'].status_code, 401)
        self.assertEqual(self.events(), before)


class B24BackgroundTestCase(B24TestCase):
    "[b24_bridge] background_push: the push after a user's request"

    def setUp(self):
        super().setUp()
        from trytond import config
        before = config.get('b24_bridge', 'background_push', default='False')
        if not config._config.has_section('b24_bridge'):
            config._config.add_section('b24_bridge')
        config.set('b24_bridge', 'background_push', 'True')
        self.addCleanup(config.set, 'b24_bridge', 'background_push', before)

    def user_request(self, func):
        "func in a committed transaction as a user's request would run it"
        from trytond.modules.order_hub.tests.tools import committed_step
        return committed_step(self.company, func,
            _request={'remote_addr': '127.0.0.1'})

    def background_threads(self):
        import threading
        return [t for t in threading.enumerate()
            if t.name == 'b24-background']

    def test_push_runs_after_the_request(self):
        order_id = self.new_order()
        self.run_queue()
        deal_id = self.order(order_id)['deal']
        before = len(self.background_threads())

        def pay():
            Order = Pool().get('order_hub.order')
            Order.pay([Order(order_id)])
            # nothing sent before the request's answer
            return self.sim.deals[int(deal_id)]['STAGE_ID']
        stage = self.user_request(pay)
        self.assertEqual(stage, self.stages()['awaiting_payment'])
        threads = self.background_threads()
        if DB_NAME == ':memory:':
            # SQLite in memory is one database per thread: no thread, the
            # queue (here the cron's catch-up) sends it as without the flag
            self.assertEqual(len(threads), before)
            self.assertEqual([m[1] for m in self.messages('pending')],
                ['pending'])
            self.run_queue()
        else:
            for thread in threads:
                thread.join(30)
            # the thread sent it and committed (nobody runs the queue here;
            # it may be over already when the request's transaction ends)
            deadline = time.monotonic() + 30
            while self.messages('pending') and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(self.messages('pending'), [])
        self.assertEqual(self.deal(order_id)['STAGE_ID'],
            self.stages()['paid'])
        self.assertEqual(self.order(order_id)['state'], 'paid')

    def test_not_in_a_script(self):
        "Without a user's request (a script, the cron) no thread is left"
        order_id = self.new_order()
        before = len(self.background_threads())
        self.act(order_id, 'pay')
        self.assertEqual(len(self.background_threads()), before)
        self.run_queue()
        self.assertEqual(self.deal(order_id)['STAGE_ID'],
            self.stages()['paid'])


class B24FaultsTestCase(B24TestCase):
    "Bitrix24 down, slow to answer or over its rate limit"

    def test_down_then_back(self):
        self.sim.faults.add(kind='down')
        first = self.new_order()
        self.run_queue(rounds=1)
        self.act(first, 'pay')
        second = self.new_order()
        self.run_queue(rounds=1)
        pending = self.messages('pending')
        # one message per order, coalesced, waiting to retry
        self.assertEqual(sorted(m[0] for m in pending), [first, second])
        self.assertTrue(all(m[2] >= 1 for m in pending))
        self.assertEqual(len(self.sim.deals), 0)
        self.sim.faults.clear()
        self.make_all_due()
        self.run_queue()
        self.assertEqual(self.messages('pending'), [])
        self.assertEqual(len(self.sim.deals), 2)
        self.assertEqual(self.deal(first)['STAGE_ID'], self.stages()['paid'])

    def test_lost_answer_does_not_double_the_deal(self):
        import time
        # no contact to look up: the first request is the deal's batch
        order_id = self.new_order(phone=None, email=None)
        # Bitrix24 creates the deal after the hub stopped waiting (3 s)
        self.sim.faults.add(kind='slow', delay=4, endpoint='/rest/*',
            count=1)
        self.run_queue(rounds=1)
        self.assertEqual(self.messages('pending')[0][2], 1)
        time.sleep(1.5)
        self.make_all_due()
        self.run_queue()
        deals = [d for d in self.sim.deals.values()
            if d['ORIGIN_ID'] == str(order_id)]
        self.assertEqual(len(deals), 1)

    def test_rate_limit_hit(self):
        self.sim.set_rate_limit(enabled=True, rate=0.2, burst=1)
        self.sim.bucket.level = 1       # just spent: the next call is over
        order_id = self.new_order()
        self.run_queue(rounds=1)
        message, = self.messages('pending')
        self.assertEqual(message[2], 1)
        self.assertIn('QUERY_LIMIT_EXCEEDED', message[3])
        self.sim.set_rate_limit(enabled=False)
        self.make_all_due()
        self.run_queue()
        self.assertEqual(self.messages('pending'), [])
        self.assertTrue(self.order(order_id)['deal'])

    def test_operation_time_limit_is_retried(self):
        self.sim.faults.add(kind='error', status=429, count=1, body={
                'error': 'OPERATION_TIME_LIMIT',
                'error_description': 'Method is blocked due to operation '
                'time limit.'})
        order_id = self.new_order()
        self.run_queue(rounds=1)
        message, = self.messages('pending')
        self.assertIn('OPERATION_TIME_LIMIT', message[3])
        self.make_all_due()
        self.run_queue()
        self.assertTrue(self.order(order_id)['deal'])

    def test_reconciliation(self):
        order_id = self.new_order()
        self.run_queue()
        deal_id = self.order(order_id)['deal']
        stages = self.stages()
        # a robot moves the deal; its event is lost
        self.sim.faults.add(kind='webhook_drop', count=1)
        self.sim.user_edit_deal(deal_id, {'STAGE_ID': stages['paid']},
            automation=True)
        self.sim.webhooks.wait_idle(2)

        run_id, status = self.step(self.start_reconciliation)
        self.assertEqual(status, "Сверка выполняется… Битрикс24 отвечает "
            "на 2 запроса в секунду: обновите форму через некоторое время.")
        # a double click opens the same run, nothing was read yet
        self.assertEqual(self.step(self.start_reconciliation)[0], run_id)
        self.assertEqual(self.reconciliation(run_id)['differences'], [])
        self.run_tasks()
        run = self.reconciliation(run_id)
        # the other tests' orders are checked too
        self.assertRegex(run.pop('status'),
            r'^Готово: проверено заказов \d+, расхождений 1 \(')
        self.assertEqual(run, {'state': 'done', 'differences': [(order_id,
                        'stage', "Подтвержден, ожидает оплаты", "Оплачен")]})

        def synchronise():
            Difference = Pool().get('b24_bridge.difference')
            Difference.synchronise(Difference.search([]))
        self.step(synchronise)
        self.run_queue()
        self.assertEqual(self.deal(order_id)['STAGE_ID'],
            stages['awaiting_payment'])
        run_id, _ = self.step(self.start_reconciliation)
        self.run_tasks()
        self.assertEqual(self.reconciliation(run_id)['differences'], [])

    def test_reconciliation_failure_shown(self):
        self.sim.faults.add(kind='down')
        run_id, _ = self.step(self.start_reconciliation)
        self.run_tasks()
        run = self.reconciliation(run_id)
        self.assertEqual(run['state'], 'failed')
        self.assertTrue(run['status'].startswith("Сверка не удалась: "),
            run['status'])
        self.sim.faults.clear()
        # the next run starts afresh
        self.assertNotEqual(self.step(self.start_reconciliation)[0], run_id)
        self.run_tasks()

    @staticmethod
    def start_reconciliation():
        "What «Сверка с Битрикс24» does: the run it opens"
        run = Pool().get('b24_bridge.reconciliation').b24_start()
        return run.id, run.status

    def run_tasks(self):
        "What the queue worker does: run the queued tasks"
        def run():
            Queue = Pool().get('ir.queue')
            tasks = Queue.search([('finished_at', '=', None)])
            for task in tasks:
                task.run()
            return len(tasks)
        return self.step(run)

    def reconciliation(self, run_id):
        def read():
            run = Pool().get('b24_bridge.reconciliation')(run_id)
            return {'state': run.state, 'status': run.status,
                'differences': [(d.order.id, d.kind, d.hub_value,
                        d.b24_value) for d in run.differences]}
        return self.step(read)


class B24OAuthTestCase(B24TestCase):
    "A local application (box edition): OAuth tokens refreshed"

    @classmethod
    def system_values(cls):
        app = cls.sim.install_app()
        cls.sim.outgoing_webhook  # events: the same outgoing webhook
        return {**super().system_values(), 'b24_auth': 'oauth',
            'base_url': app['client_endpoint'], 'login': app['client_id'],
            'password': app['client_secret'], 'token': app['access_token'],
            'b24_refresh_token': app['refresh_token'],
            'b24_oauth_url': cls.sim.base_url}

    def test_expired_token_refreshed(self):
        self.sim.expire_token()
        order_id = self.new_order()
        self.run_queue()
        self.assertTrue(self.order(order_id)['deal'])

        def token():
            return Pool().get('hub_sync.system').get('b24').token
        self.assertEqual(self.step(token),
            self.sim.oauth_app['access_token'])
