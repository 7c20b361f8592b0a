"""The outbox, the inbox and the journal against a remote over real HTTP.

hub_sync attempts each message in a transaction of its own, so the tests
commit what they prepare (one transaction per step, as the queue would) and
read the outcome in a new transaction."""
import datetime as dt
import unittest

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.hub_common import utcnow
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_order, create_product, create_user, set_company,
    setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from trytond.modules.hub_sync.tests.shop import CODE, ShopSimulator

from ..shop import APPLIED, PUSH


class OutboxTestCase(HubTestCase):
    """Outbound messages, inbound events, journal: through a module that
    adds a kind of message and an event handler, as every bridge does"""
    modules = ['hub_extension_test']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shop = ShopSimulator()
        cls.shop.start()
        cls.addClassCleanup(cls.shop.stop)
        with Transaction().start(DB_NAME, 0):
            System = Pool().get('hub_sync.system')
            company = setup_company()
            with set_company(company):
                cls.product, = [p.id for p in create_product("Футболка", '990')]
            cls.company = company.id
            system, = System.create([{'code': CODE, 'name': "Магазин",
                        'base_url': cls.shop.base_url, 'login': 'hub',
                        'password': 's3cret', 'timeout': 2}])
            cls.system = system.id

    def tearDown(self):
        self.shop.reset()
        with self.transaction():
            Outbox_ = self.pool.get('hub_sync.outbox')
            Outbox_.cancel(Outbox_.search([('state', '=', 'pending')]))

    # -- helpers -------------------------------------------------------------
    def transaction(self):
        "A committed step, as a queue task or an RPC call would run"
        return Transaction().start(DB_NAME, 0, context={
                'company': self.company, 'language': 'ru'})

    @property
    def pool(self):
        return Pool()

    def new_order(self):
        with self.transaction():
            Product = self.pool.get('product.product')
            return create_order([(Product(self.product), 1)]).id

    def enqueue(self, order_id, operation=PUSH, **kwargs):
        with self.transaction():
            Outbox_ = self.pool.get('hub_sync.outbox')
            message, = Outbox_.enqueue(CODE, operation,
                [self.pool.get('order_hub.order')(order_id)], **kwargs)
            return message.id

    def process(self, message_id, model='hub_sync.outbox'):
        with self.transaction():
            Model = self.pool.get(model)
            Model.process([Model(message_id)])

    def make_due(self, message_id, model='hub_sync.outbox'):
        with self.transaction():
            Model = self.pool.get(model)
            Model.write([Model(message_id)],
                {'next_try': utcnow() - dt.timedelta(seconds=1)})

    def read(self, message_id, model='hub_sync.outbox'):
        "(state, attempts, next_try, result, key, attention, journal)"
        with self.transaction():
            m = self.pool.get(model)(message_id)
            return (m.state, m.attempts, m.next_try, m.result,
                getattr(m, 'idempotency_key', None), m.attention,
                [(j.outcome, j.http_status, j.summary)
                    for j in sorted(m.journal, key=lambda j: j.id)])

    def sent_keys(self):
        return [r['headers'].get('Idempotency-Key')
            for r in self.shop.journal.list('/orders', 'POST')]

    # -- outbox --------------------------------------------------------------
    def test_enqueue_queues_then_process_succeeds(self):
        "A message is queued after the commit; processed, it is done"
        order = self.new_order()
        with self.transaction():
            Outbox_ = self.pool.get('hub_sync.outbox')
            Queue = self.pool.get('ir.queue')
            message, = Outbox_.enqueue(
                CODE, PUSH, [self.pool.get('order_hub.order')(order)])
            task, = Queue.search([('name', '=', f'hub_sync.{CODE}')],
                order=[('id', 'DESC')], limit=1)
            self.assertEqual(task.data['model'], 'hub_sync.outbox')
            self.assertEqual(task.data['method'], 'process')
            self.assertEqual(list(task.data['instances']), [message.id])
            self.assertIn(task.id, Transaction().tasks)
            message_id, key = message.id, message.idempotency_key
        self.assertRegex(key, r'^[0-9a-f]{32}$')

        self.process(message_id)

        state, attempts, _, result, _, _, journal = self.read(message_id)
        self.assertEqual((state, attempts), ('done', 1))
        self.assertEqual(result, self.shop.orders[key])
        self.assertEqual(journal, [('ok', None, f"Выполнено: {result}")])
        self.assertEqual(self.sent_keys(), [key])

    def test_transient_failures_back_off_then_succeed(self):
        "503 twice: retried later with the same key, then done"
        self.shop.faults.add(kind='error', status=503, count=2)
        message = self.enqueue(self.new_order())
        self.process(message)
        state, attempts, next_try, _, key, _, journal = self.read(message)
        self.assertEqual((state, attempts), ('pending', 1))
        self.assertGreater(next_try, utcnow() + dt.timedelta(seconds=8))
        self.assertEqual(journal[-1][:2], ('retry', 503))

        self.process(message)       # not due yet: nothing sent
        self.assertEqual(self.read(message)[1], 1)
        self.assertEqual(len(self.sent_keys()), 1)

        for _ in range(2):
            self.make_due(message)
            self.process(message)
        state, attempts, _, result, _, _, journal = self.read(message)
        self.assertEqual((state, attempts), ('done', 3))
        self.assertEqual([j[0] for j in journal], ['retry', 'retry', 'ok'])
        self.assertEqual(self.sent_keys(), [key] * 3)
        self.assertEqual(list(self.shop.orders), [key])

    def test_down_endpoint_retries(self):
        "A dropped connection is retried, nothing is lost"
        self.shop.faults.add(kind='down', count=1)
        message = self.enqueue(self.new_order())
        self.process(message)
        state, attempts, _, _, _, _, journal = self.read(message)
        self.assertEqual((state, attempts), ('pending', 1))
        self.assertEqual(journal[-1][:2], ('retry', None))
        self.make_due(message)
        self.process(message)
        self.assertEqual(self.read(message)[0], 'done')

    def test_attempt_limit_gives_up(self):
        "After the connection's attempts the message fails, flagged"
        with self.transaction():
            System = self.pool.get('hub_sync.system')
            System.write([System(self.system)], {'max_attempts': 2})
        self.addCleanup(self._reset_max_attempts)
        self.shop.faults.add(kind='error', status=500, count=2)
        message = self.enqueue(self.new_order())
        self.process(message)
        self.make_due(message)
        self.process(message)
        state, attempts, next_try, _, _, attention, journal = self.read(
            message)
        # nothing is retried forever: given up, for a person to replay
        self.assertEqual((state, attempts, attention), ('failed', 2, True))
        self.assertEqual([j[0] for j in journal], ['retry', 'attention'])
        self.assertIsNone(next_try)

    def _reset_max_attempts(self):
        with self.transaction():
            System = self.pool.get('hub_sync.system')
            System.write([System(self.system)], {'max_attempts': 10})

    def test_refusal_is_stored_and_told_on_the_order(self):
        "422: refused for good, the order's log says why in Russian"
        self.shop.refusal = "Не указан телефон покупателя"
        order = self.new_order()
        message = self.enqueue(order)
        self.process(message)
        state, attempts, next_try, _, _, _, journal = self.read(message)
        self.assertEqual((state, attempts, next_try), ('failed', 1, None))
        self.assertEqual(journal,
            [('refused', 422, "Не указан телефон покупателя")])
        with self.transaction():
            ActionLog = self.pool.get('order_hub.action_log')
            entry, = ActionLog.search(
                [('order', '=', order), ('kind', '=', 'exchange')])
            self.assertEqual(entry.description,
                "Обмен «отправка заказа в тестовый магазин» с системой "
                "«Тестовый магазин» не выполнен: Не указан телефон "
                "покупателя. "
                "Исправьте заказ — исправление уйдёт снова само; при "
                "необходимости администратор отправит его повторно.")
            self.assertEqual(entry.source, 'system')

    def test_business_rule_refusal_is_permanent(self):
        "A UserError of our rules: failed at once, told on the order"
        order = self.new_order()
        with self.transaction():
            Order = self.pool.get('order_hub.order')
            Order.write([Order(order)], {'phone': None})
        message = self.enqueue(order, operation='test_check_order')
        self.process(message)
        state, attempts, next_try, _, _, attention, journal = self.read(
            message)
        self.assertEqual((state, attempts, next_try, bool(attention)),
            ('failed', 1, None, False))
        self.assertEqual(journal[0][0], 'refused')
        self.assertIn("не указан телефон", journal[0][2])

    def test_replay_refused_message(self):
        "Replay: pending and due now, queued, then done with the same key"
        self.shop.refusal = "Неверный склад"
        message = self.enqueue(self.new_order())
        self.process(message)
        self.shop.refusal = None
        with self.transaction():
            Outbox_ = self.pool.get('hub_sync.outbox')
            Outbox_.replay([Outbox_(message)])
            self.assertTrue(Transaction().tasks)
        state, attempts, next_try, _, key, _, _ = self.read(message)
        self.assertEqual((state, attempts), ('pending', 0))
        self.assertLessEqual(next_try, utcnow())
        self.process(message)
        self.assertEqual(self.read(message)[0], 'done')
        self.assertEqual(self.sent_keys(), [key, key])

    def test_cancel(self):
        message = self.enqueue(self.new_order())
        with self.transaction():
            Outbox_ = self.pool.get('hub_sync.outbox')
            Outbox_.cancel([Outbox_(message)])
        self.process(message)
        self.assertEqual(self.read(message)[0], 'cancelled')
        self.assertEqual(self.sent_keys(), [])

    def test_coalescing(self):
        "Two enqueues of one record: one message, same key, due now"
        order = self.new_order()
        first = self.enqueue(order)
        self.make_due(first)
        with self.transaction():
            Outbox_ = self.pool.get('hub_sync.outbox')
            Outbox_.write([Outbox_(first)],
                {'next_try': utcnow() + dt.timedelta(hours=1)})
        key = self.read(first)[4]
        second = self.enqueue(order)
        self.assertEqual(second, first)
        _, _, next_try, _, same_key, _, _ = self.read(first)
        self.assertEqual(same_key, key)
        self.assertLessEqual(next_try, utcnow())
        with self.transaction():
            self.assertEqual(self.pool.get('hub_sync.outbox').search_count(
                    [('record', '=', f'order_hub.order,{order}')]), 1)

    def test_explicit_key_identifies_the_message(self):
        order = self.new_order()
        first = self.enqueue(order, key=f'payment-{order}')
        self.process(first)
        self.assertEqual(self.enqueue(order, key=f'payment-{order}'), first)
        self.assertEqual(self.read(first)[0], 'done')
        self.assertEqual(self.sent_keys(), [f'payment-{order}'])

    def test_messages_of_a_record_go_in_order(self):
        "A later message waits while an older one of the record is pending"
        self.shop.faults.add(kind='error', status=503, count=1)
        order = self.new_order()
        first = self.enqueue(order)
        self.process(first)
        second = self.enqueue(order, key='second')
        self.process(second)
        self.assertEqual(self.read(second)[:2], ('pending', 0))
        self.make_due(first)
        with self.transaction():
            self.pool.get('hub_sync.outbox').process_due()
        self.assertEqual(self.read(first)[0], 'done')
        self.assertEqual(self.read(second)[0], 'done')

    def test_unknown_operation_is_an_error_kept_pending(self):
        message = self.enqueue(self.new_order(), operation='test_nothing')
        with self.assertLogs('trytond.modules.hub_sync.processing', 'ERROR'):
            self.process(message)
        state, _, _, _, _, _, journal = self.read(message)
        self.assertEqual(state, 'pending')
        self.assertEqual(journal[-1][0], 'error')
        self.assertIn('test_nothing', journal[-1][2])

    def test_cron_catches_up(self):
        "The cron processes due messages the queue did not run"
        message = self.enqueue(self.new_order())
        with self.transaction():
            Cron = self.pool.get('ir.cron')
            cron, = Cron.search(
                [('method', '=', 'hub_sync.outbox|process_due')])
            self.assertEqual((cron.interval_number, cron.interval_type),
                (1, 'minutes'))
            Cron.run_once([cron])
        self.assertEqual(self.read(message)[0], 'done')

    # -- journal -------------------------------------------------------------
    def test_journal_read_only(self):
        message = self.enqueue(self.new_order())
        self.process(message)
        with self.transaction():
            Journal = self.pool.get('hub_sync.journal')
            entry, = Journal.search([('outbox', '=', message)])
            with self.assertRaises(AccessError) as cm:
                Journal.write([entry], {'summary': "исправлено"})
            self.assertEqual(cm.exception.message,
                "Записи журнала обмена нельзя изменять или удалять.")
            with self.assertRaises(AccessError):
                Journal.delete([entry])

    def test_journal_purged_after_retention(self):
        "The daily cron drops entries older than the retention, only those"
        message = self.enqueue(self.new_order())
        self.process(message)
        with self.transaction():
            Journal = self.pool.get('hub_sync.journal')
            Journal.add([{'system': CODE, 'direction': 'in',
                        'operation': 'old', 'outcome': 'ok',
                        'summary': "давняя запись"}])
            table = Journal.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update([table.date],
                    [dt.datetime(2020, 1, 1)],
                    where=table.operation == 'old'))
            Journal.purge(days=30)
            self.assertFalse(Journal.search([('operation', '=', 'old')]))
            self.assertTrue(Journal.search([('outbox', '=', message)]))

    def age(self, model, ids, when):
        "Pretend the records and their journal entries are from `when`"
        Model = self.pool.get(model)
        Journal = self.pool.get('hub_sync.journal')
        cursor = Transaction().connection.cursor()
        table, journal = Model.__table__(), Journal.__table__()
        cursor.execute(*table.update(
                [table.create_date, table.write_date, table.done_date],
                [when, when, when], where=table.id.in_(ids)))
        column = journal.outbox if model == 'hub_sync.outbox' else journal.inbox
        cursor.execute(*journal.update([journal.date], [when],
                where=column.in_(ids)))

    def test_finished_messages_purged_with_their_journal(self):
        """Done messages and events older than the retention go with their
        entries; a failing one stays for a person, and so does a done one
        whose journal is recent"""
        self.shop.refusal = "Не указан телефон покупателя"
        failed = self.enqueue(self.new_order())
        self.process(failed)
        self.shop.refusal = None
        done, recent = (self.enqueue(self.new_order()) for _ in range(2))
        for message in (done, recent):
            self.process(message)
        with self.transaction():
            Inbox_ = self.pool.get('hub_sync.inbox')
            event, _ = Inbox_.receive(CODE, 'evt-old', 'payment',
                {'status': 'succeeded'})
            event = event.id
        self.process(event, 'hub_sync.inbox')
        self.assertEqual(self.read(failed)[0], 'failed')
        self.assertEqual(self.read(event, 'hub_sync.inbox')[0], 'done')
        long_ago = dt.datetime(2020, 1, 1)
        with self.transaction():
            self.age('hub_sync.outbox', [failed, done], long_ago)
            self.age('hub_sync.inbox', [event], long_ago)
            self.age('hub_sync.outbox', [recent], long_ago)
            # the message is old but its journal entry is not
            Outbox_ = self.pool.get('hub_sync.outbox')
            Journal = self.pool.get('hub_sync.journal')
            journal = Journal.__table__()
            Transaction().connection.cursor().execute(*journal.update(
                    [journal.date], [utcnow()],
                    where=journal.outbox == recent))

            Journal.purge(days=30)

            Inbox_ = self.pool.get('hub_sync.inbox')
            self.assertEqual(
                sorted(m.id for m in Outbox_.search([])
                    if m.id in {failed, done, recent}),
                sorted([failed, recent]))
            self.assertFalse(Inbox_.search([('id', '=', event)]))
            self.assertFalse(Journal.search([('outbox', '=', done)]))
            # the failed one's old entries go, the message waits for a person
            self.assertEqual(Outbox_(failed).state, 'failed')
            self.assertTrue(Journal.search([('outbox', '=', recent)]))
        # an event purged is no longer known: the same id is new again
        with self.transaction():
            _, created = self.pool.get('hub_sync.inbox').receive(
                CODE, 'evt-old', 'payment', {'status': 'succeeded'})
            self.assertTrue(created)
            Transaction().rollback()

    # -- connections ---------------------------------------------------------
    def test_system_get(self):
        with self.transaction():
            System = self.pool.get('hub_sync.system')
            self.assertEqual(System.get(CODE).id, self.system)
            with self.assertRaises(UserError) as cm:
                System.get('nothing')
            self.assertIn("Нет активного подключения к «nothing»",
                cm.exception.message)

    def test_secrets_for_admins_only(self):
        with self.transaction():
            System = self.pool.get('hub_sync.system')
            manager = create_user('hub_sync_manager', ['group_manager'])
            admin = create_user('hub_sync_admin', ['group_admin'])
            for user, allowed in [(manager, False), (admin, True)]:
                with Transaction().set_user(user.id), \
                        Transaction().set_context(_check_access=True):
                    read = lambda: System.read([self.system], ['password'])
                    if allowed:
                        self.assertEqual(read()[0]['password'], 's3cret')
                    else:
                        self.assertRaises(AccessError, read)
            Transaction().rollback()

    # -- inbox ---------------------------------------------------------------
    def test_inbox_duplicate_ignored_replay_same_state(self):
        with self.transaction():
            Inbox_ = self.pool.get('hub_sync.inbox')
            event, created = Inbox_.receive(
                CODE, 'evt-1', 'payment', {'status': 'succeeded'})
            again, created_again = Inbox_.receive(
                CODE, 'evt-1', 'payment', '{"status": "canceled"}')
            self.assertEqual((created, created_again), (True, False))
            self.assertEqual(again, event)
            self.assertEqual(
                Inbox_.search_count([('event_id', '=', 'evt-1')]), 1)
            event_id = event.id
        self.process(event_id, 'hub_sync.inbox')
        self.assertEqual(APPLIED['evt-1'], 'succeeded')
        with self.transaction():
            Inbox_ = self.pool.get('hub_sync.inbox')
            Inbox_.replay([Inbox_(event_id)])
        self.process(event_id, 'hub_sync.inbox')
        state, attempts, _, result, _, _, journal = self.read(
            event_id, 'hub_sync.inbox')
        self.assertEqual((state, attempts, result), ('done', 1, 'succeeded'))
        self.assertEqual([j[0] for j in journal], ['ok', 'ok'])
        self.assertEqual(APPLIED['evt-1'], 'succeeded')


del HubTestCase
