"""A site order after it came in, over real HTTP: the hub's changes reach the
site (status, lines, prices, totals) once each, even across an outage, and
the site's later changes reach the hub only where the site owns the data
and the hub has not taken the order over.

Each step is committed, as the cron, the queue and the web client would."""
import copy
import datetime as dt
from decimal import Decimal

from trytond.modules.order_hub.tests.tools import create_order
from trytond.pool import Pool

from .tools import HAT, SNEAKERS, SNEAKERS_43, SiteScenario

NEW_PHONE = '+79035550011'
NEW_ADDRESS = 'Невский проспект, д. 1, кв. 2'


class SiteUpdatesTestCase(SiteScenario):
    "Hub → site updates and changes of an existing site order"

    # -- helpers -------------------------------------------------------------
    def site_order(self, site_id):
        "The order as the site has it"
        with self.site.lock:
            return copy.deepcopy(self.site.orders[site_id])

    def site_calls(self, method):
        "REST calls of method the site answered"
        return [r for r in self.site.journal.list(f'/rest/*/{method}.json',
                'POST') if r['status'] == 200]

    def messages(self, order_id):
        "The site's outbox messages of the order: [(id, state, attempts)]"
        def read():
            Outbox = Pool().get('hub_sync.outbox')
            return [(m.id, m.state, m.attempts) for m in Outbox.search([
                        ('system', '=', 'site'),
                        ('record', '=', f'order_hub.order,{order_id}'),
                        ], order=[('id', 'ASC')])]
        return self.step(read)

    def push(self, order_id):
        "The queue's run of the order's due site messages; their states"
        def process():
            Outbox = Pool().get('hub_sync.outbox')
            Outbox.process(Outbox.search([('system', '=', 'site'),
                        ('record', '=', f'order_hub.order,{order_id}'),
                        ('state', '=', 'pending')]))
        self.step(process)
        return [state for _, state, _ in self.messages(order_id)]

    def call(self, order_id, method, *args):
        def run():
            Order = Pool().get('order_hub.order')
            getattr(Order, method)([Order(order_id)], *args)
        self.step(run)

    def edit_line(self, order_id, index, **values):
        def edit():
            Line = Pool().get('order_hub.order.line')
            Order = Pool().get('order_hub.order')
            line = Order(order_id).lines[index]
            if 'product' in values:
                values['product'] = self.product_id(values['product'])
            Line.write([line], values)
        self.step(edit)

    def remove_line(self, order_id, index):
        def remove():
            Order = Pool().get('order_hub.order')
            Line = Pool().get('order_hub.order.line')
            Line.delete([Order(order_id).lines[index]])
        self.step(remove)

    @staticmethod
    def product_id(key):
        Product = Pool().get('product.product')
        product, = Product.search([('template.code', '=', key[0]),
                ('hub_size', '=', key[1])])
        return product.id

    def read(self, order_id, *names):
        def read():
            order = Pool().get('order_hub.order')(order_id)
            return tuple(getattr(order, n) for n in names)
        return self.step(read)

    def log(self, order_id):
        "[(source, kind, description)] oldest first"
        def read():
            order = Pool().get('order_hub.order')(order_id)
            return [(e.source, e.kind, e.description) for e in sorted(
                    order.action_logs, key=lambda e: e.id)]
        return self.step(read)

    # -- hub → site ------------------------------------------------------------
    def test_status_changes_reach_the_site(self):
        placed, order_id = self.new_order()
        self.assertEqual(self.messages(order_id), [])   # nothing to echo
        seen = []
        for method, status in (('pay', 'P'), ('assemble', 'P'),
                ('deliver', 'DS'), ('issue', 'F')):
            self.call(order_id, method)
            self.assertEqual(self.push(order_id)[-1], 'done')
            seen.append(self.site_order(placed['id'])['status_id'])
        self.assertEqual(seen, ['P', 'P', 'DS', 'F'])
        # the site re-exports the order it was told of: the hub's own
        # changes come back and change nothing
        before = self.log(order_id)
        (_, state, result), = self.fetch()
        self.assertEqual(state, 'done')
        self.assertIn('не изменились', result)
        self.assertEqual(self.log(order_id), before)
        self.assertEqual(self.read(order_id, 'state'), ('issued',))

    def test_cancellation_reaches_the_site(self):
        placed, order_id = self.new_order()
        self.call(order_id, 'cancel')
        self.assertEqual(self.push(order_id), ['done'])
        order = self.site_order(placed['id'])
        self.assertEqual((order['canceled'], order['status_id']), ('Y', 'N'))
        self.assertIn('Отменен в хабе', order['reason_canceled'])

    def test_line_edits_and_totals_reach_the_site(self):
        placed, order_id = self.new_order()
        hat_row = placed['lines'][1]['basket_id']
        self.edit_line(order_id, 1, quantity=Decimal(3))
        self.assertEqual(self.push(order_id), ['done'])
        order = self.site_order(placed['id'])
        hat = next(l for l in order['lines'] if l['basket_id'] == hat_row)
        # ВЕСНА10 on 890: 801 a hat, as the site re-priced it
        self.assertEqual((hat['quantity'], hat['base_price'], hat['price']),
            (3, 890, 801))
        total, = self.read(order_id, 'total')
        self.assertEqual(Decimal(str(order['price'])), total)

        # another size, and the hat removed: one message, the latest state
        self.edit_line(order_id, 0, product=SNEAKERS_43)
        self.remove_line(order_id, 1)
        self.assertEqual(self.push(order_id), ['done', 'done'])
        order = self.site_order(placed['id'])
        self.assertEqual([(l['product_xml_id'], l['quantity'])
                for l in order['lines']], [(self.xml_ids[SNEAKERS_43], 1)])
        total, = self.read(order_id, 'total')
        self.assertEqual(Decimal(str(order['price'])), total)
        # the other size is a new row, added once
        self.assertEqual(len(self.site_calls('sale.basketitem.add')), 1)

    def test_unchanged_basket_is_left_alone(self):
        "The site's basket ids are JSON strings (\"255\"): rows still match"
        placed, order_id = self.new_order()
        rows = [l['basket_id'] for l in placed['lines']]
        self.site.journal.clear()
        self.call(order_id, 'pay')
        self.assertEqual(self.push(order_id), ['done'])
        self.assertEqual(self.site_calls('sale.order.update')[0]['status'], 200)
        for method in ('sale.basketitem.delete', 'sale.basketitem.add',
                'sale.basketitem.update'):
            self.assertEqual(self.site_calls(method), [], method)
        self.assertEqual([l['basket_id']
                for l in self.site_order(placed['id'])['lines']], rows)

    def test_site_down_then_back_delivers_once(self):
        placed, order_id = self.new_order()
        self.site.journal.clear()
        self.site.faults.add(kind='down', endpoint='/rest/*')
        self.call(order_id, 'pay')
        self.assertEqual(self.push(order_id), ['pending'])
        self.assertEqual(self.site_order(placed['id'])['status_id'], 'N')
        self.site.faults.clear()

        def make_due():
            Outbox = Pool().get('hub_sync.outbox')
            message, = Outbox.search([('system', '=', 'site'),
                    ('record', '=', f'order_hub.order,{order_id}')])
            self.assertGreater(message.next_try, dt.datetime.now(
                    dt.UTC).replace(tzinfo=None))   # backing off
            message.next_try = None
            message.save()
        self.step(make_due)
        self.assertEqual(self.push(order_id), ['done'])
        self.assertEqual(self.push(order_id), ['done'])    # nothing left
        self.assertEqual(self.site_order(placed['id'])['status_id'], 'P')
        self.assertEqual(len(self.site_calls('sale.order.update')), 1)

        def journal():
            Journal = Pool().get('hub_sync.journal')
            return [e.outcome for e in Journal.search([
                        ('system', '=', 'site'), ('direction', '=', 'out'),
                        ('record', '=', f'order_hub.order,{order_id}'),
                        ], order=[('id', 'ASC')])]
        self.assertEqual(self.step(journal), ['retry', 'ok'])

    def test_order_made_in_the_hub_is_not_sent(self):
        def make():
            Product = Pool().get('product.product')
            order = create_order([(Product(self.product_id(HAT)), 1)])
            order.site_number = '77777'    # typed by a manager
            order.save()
            Order = Pool().get('order_hub.order')
            Order.pay([order])
            return order.id
        order_id = self.step(make)
        self.assertEqual(self.messages(order_id), [])

    # -- site → hub ------------------------------------------------------------
    def test_same_order_delivered_twice_is_one_order(self):
        placed, order_id = self.new_order()
        before = self.log(order_id)
        with self.site.lock:    # the site's confirmation got lost
            self.site.orders[placed['id']]['updated1c'] = 'N'
        (_, state, result), = self.fetch()
        self.assertEqual(state, 'done')
        self.assertIn('не изменились', result)
        self.assertEqual(self.hub_order(placed['account_number']),
            [order_id])
        self.assertEqual(self.log(order_id), before)

    def test_site_change_before_payment_updates_the_order(self):
        placed, order_id = self.new_order()
        self.site.edit_order(placed['id'], properties={
                'PHONE': NEW_PHONE, 'ADDRESS': NEW_ADDRESS})
        (_, state, _), = self.fetch()
        self.assertEqual(state, 'done')
        phone, address = self.read(order_id, 'phone', 'delivery_address')
        self.assertEqual(phone, NEW_PHONE)
        self.assertIn(NEW_ADDRESS, address)
        changes = [d for s, k, d in self.log(order_id) if k == 'field']
        self.assertTrue(any(NEW_PHONE in d for d in changes))
        self.assertTrue(all(s == 'site' for s, k, _ in self.log(order_id)))

        # the customer pays on the site: the order is paid in the hub
        self.site.edit_order(placed['id'], paid=True)
        self.fetch()
        self.assertEqual(self.read(order_id, 'state'), ('paid',))
        # the site's own changes are not sent back to it
        self.assertEqual(self.messages(order_id), [])

    def test_site_change_after_takeover_is_logged_not_applied(self):
        placed, order_id = self.new_order()
        self.edit_line(order_id, 1, quantity=Decimal(1))   # a manager's edit
        self.assertEqual(self.push(order_id), ['done'])
        phone, = self.read(order_id, 'phone')
        self.site.edit_order(placed['id'], properties={'PHONE': NEW_PHONE})
        (_, state, result), = self.fetch()
        self.assertEqual(state, 'done')
        self.assertIn('в работе', result)
        self.assertEqual(self.read(order_id, 'phone'), (phone,))
        source, kind, text = self.log(order_id)[-1]
        self.assertEqual((source, kind), ('site', 'exchange'))
        self.assertIn('изменения не применены', text)
        self.assertIn(f'{phone} → {NEW_PHONE}', text)
        # told once: the same delivery again adds nothing
        with self.site.lock:
            self.site.orders[placed['id']]['updated1c'] = 'N'
        self.fetch()
        self.assertEqual(self.log(order_id)[-1][2], text)
        self.assertEqual(
            [d for _, _, d in self.log(order_id)].count(text), 1)

    def test_cancelled_on_the_site_before_payment_is_cancelled(self):
        placed, order_id = self.new_order()
        self.site.edit_order(placed['id'], canceled=True,
            reason="Передумал")
        (_, state, _), = self.fetch()
        self.assertEqual(state, 'done')
        self.assertEqual(self.read(order_id, 'state'), ('cancelled',))
        source, kind, text = self.log(order_id)[-1]
        self.assertEqual((source, kind), ('site', 'exchange'))
        self.assertIn("отменил заказ на сайте", text)
        self.assertIn("Передумал", text)
        # the site's own cancellation is not sent back to it
        self.assertEqual(self.messages(order_id), [])

    def test_cancelled_on_the_site_after_takeover_is_left_to_the_manager(
            self):
        placed, order_id = self.new_order()
        self.edit_line(order_id, 1, quantity=Decimal(1))   # a manager's edit
        self.assertEqual(self.push(order_id), ['done'])
        self.site.edit_order(placed['id'], canceled=True,
            reason="Передумал")
        self.fetch()
        self.assertEqual(self.read(order_id, 'state'), ('awaiting_payment',))
        _, _, text = self.log(order_id)[-1]
        self.assertIn('изменения не применены', text)
        self.assertIn("Отменён на сайте: нет → да", text)
        self.assertIn("Передумал", text)

