"""Codes per unit against the Chestny Znak simulator over real HTTP:
entered in every form, checked, validated through the outbox (the registry
down: kept pending, retried), from photos, relabeled, reported in
documents, and carried into the YooKassa receipts."""
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.marking.parser import GS
from trytond.pool import Pool

from .photos import photos
from .samples import code, spellings
from .tools import MILK_EAN, SHOES_EAN, MarkingScenario

SHOES_GTIN = '0' + SHOES_EAN


class MarkingCodesTestCase(MarkingScenario):
    "Codes entered, checked, validated"

    def test_codes_in_every_form_validated(self):
        texts = self.seed('shoes', 3)
        order_id = self.new_order([(self.marked, 3)])
        line_id = self.line_of(order_id)
        forms = [spellings(texts[0])['angle'],
            spellings(texts[1])['brackets'],
            spellings(texts[2])['no_separators']]
        ids = self.add_codes(line_id, forms)
        codes = self.codes(ids)
        self.assertEqual([c['code'] for c in codes], texts)
        self.assertEqual({c['state'] for c in codes}, {'pending'})
        self.run_queue()
        codes = self.codes(ids)
        self.assertEqual({c['state'] for c in codes}, {'valid'},
            [c['validation'] for c in codes])
        self.assertEqual({c['registry_status'] for c in codes},
            {'INTRODUCED'})

        def marking_codes():
            return Pool().get('order_hub.order.line')(line_id).marking_codes()
        self.assertEqual(self.step(marking_codes), texts)

    def test_milk_code_with_short_tail(self):
        text, = self.seed('milk')
        order_id = self.new_order([(self.milk, 1)])
        ids = self.add_codes(self.line_of(order_id), [text.replace(GS,
                    '\\x1d')])
        self.run_queue()
        code_, = self.codes(ids)
        self.assertEqual((code_['code'], code_['state']), (text, 'valid'))

    def assert_refused(self, line_id, text, unit=1, fragment=''):
        with self.assertRaises(UserError) as caught:
            self.add_codes(line_id, [text], unit)
        if fragment:
            self.assertIn(fragment, caught.exception.message)
        return caught.exception.message

    def test_bad_codes_refused_and_nothing_stored(self):
        good, = self.seed('shoes')
        order_id = self.new_order([(self.marked, 2), (self.plain, 1)])
        line_id, plain_id = (self.line_of(order_id, 0),
            self.line_of(order_id, 1))
        gtin = good[2:16]
        wrong_check = gtin[:-1] + str((int(gtin[-1]) + 1) % 10)
        message = self.assert_refused(line_id, good[:40])
        self.assertIn('Единица 1', message)
        self.assert_refused(line_id, '01' + wrong_check + good[16:],
            fragment='контрольн')
        self.assert_refused(line_id, good.replace(good[20], 'Ж', 1),
            fragment='Ж')
        other_product = code('shoes', self.rng)
        self.assert_refused(line_id, other_product, fragment=SHOES_GTIN)
        self.assert_refused(line_id, code('milk', self.rng,
                '0' + MILK_EAN))
        self.assert_refused(line_id, good, unit=3, fragment='3')
        self.assert_refused(plain_id, good, fragment='Носки')
        self.add_codes(line_id, [good])
        self.assert_refused(line_id, good, unit=2, fragment='уже')
        other_order = self.new_order([(self.marked, 1)])
        self.assert_refused(self.line_of(other_order), good,
            fragment='уже')
        self.assert_refused(line_id, self.seed('shoes')[0], unit=1,
            fragment='уже')

        def count():
            return Pool().get('marking.code').search_count([])
        self.assertEqual(self.step(count), 1)

    def test_registry_verdicts(self):
        unknown = code('shoes', self.rng, '0' + SHOES_EAN)
        retired, = self.seed('shoes', status='RETIRED',
            withdrawal_action='DISTANCE')
        foreign, = self.seed('shoes', owner_inn='7700000002')
        waiting, = self.seed('shoes', status_ex='WAIT_SHIPMENT')
        order_id = self.new_order([(self.marked, 4)])
        ids = self.add_codes(self.line_of(order_id),
            [unknown, retired, foreign, waiting])
        self.run_queue()
        codes = self.codes(ids)
        self.assertEqual({c['state'] for c in codes}, {'rejected'})
        messages = [c['validation'] for c in codes]
        self.assertIn('не знает', messages[0])
        self.assertIn('выбыл из оборота', messages[1])
        self.assertIn('другому участнику', messages[2])
        self.assertIn('WAIT_SHIPMENT', messages[3])

        def marking_codes():
            return Pool().get('order_hub.order')(order_id).lines[
                0].marking_codes()
        self.assertEqual(self.step(marking_codes), [])

    def test_registry_down_kept_pending_and_retried(self):
        text, = self.seed('shoes')
        order_id = self.new_order([(self.marked, 1)])
        self.cz.faults.add(kind='down', endpoint='/api/v3/true-api/*')
        ids = self.add_codes(self.line_of(order_id), [text])
        self.run_queue(rounds=1)
        self.assertEqual(self.codes(ids)[0]['state'], 'pending')
        (state, attempts, error), = self.outbox('marking_check', ids)
        self.assertEqual((state, attempts), ('pending', 1))
        self.assertTrue(error)
        self.cz.faults.clear()
        self.cz.faults.add(kind='error', endpoint='/api/v3/true-api/cises/*',
            status=503, count=1)
        self.make_all_due()
        self.run_queue(rounds=1)
        self.assertEqual(self.codes(ids)[0]['state'], 'pending')
        self.assertEqual(self.outbox('marking_check', ids)[0][:2],
            ('pending', 2))
        self.make_all_due()
        self.run_queue()
        self.assertEqual(self.codes(ids)[0]['state'], 'valid')
        self.assertEqual(self.outbox('marking_check', ids)[0][0], 'done')


class MarkingPhotosTestCase(MarkingScenario):
    "Photos of codes uploaded to a unit"

    def upload(self, line_id, data, unit=1):
        def create():
            Code = Pool().get('marking.code')
            code_, = Code.create([{'line': line_id, 'unit': unit,
                        'photo': data, 'photo_name': 'code.jpg'}])
            return code_.id
        return self.step(create)

    def test_photos_decoded_and_validated(self):
        texts = self.seed('shoes', 2)
        order_id = self.new_order([(self.marked, 2)])
        line_id = self.line_of(order_id)
        pictures = photos(texts, seed=21)
        ids = [self.upload(line_id, p, i + 1)
            for i, p in enumerate(pictures)]
        self.run_queue()
        codes = self.codes(ids)
        self.assertEqual([c['photo_decoded'] for c in codes], texts)
        self.assertEqual([c['code'] for c in codes], texts)
        self.assertEqual({c['state'] for c in codes}, {'valid'})
        self.assertTrue(all(c['photo'] for c in codes))

    def test_undecodable_photo_kept_for_typing(self):
        text, = self.seed('shoes')
        order_id = self.new_order([(self.marked, 1)])
        blurred, = photos([text], seed=3, blur=9)
        code_id = self.upload(self.line_of(order_id), blurred)
        code_, = self.codes([code_id])
        self.assertEqual(code_['state'], 'unreadable')
        self.assertIn('введите код', code_['validation'])
        self.assertTrue(code_['photo'])
        self.assertEqual(self.outbox('marking_check', [code_id]), [])

        def type_code():
            Code = Pool().get('marking.code')
            Code.write([Code(code_id)], {'code': text})
        self.step(type_code)
        self.run_queue()
        code_, = self.codes([code_id])
        self.assertEqual((code_['state'], code_['code']), ('valid', text))
        self.assertTrue(code_['photo'])


class MarkingFlowTestCase(MarkingScenario):
    "Relabeling, documents, receipts"

    def test_relabel_keeps_both_codes(self):
        rejected, = self.seed('shoes', status='EMITTED')
        new, = self.seed('shoes')
        order_id = self.new_order([(self.marked, 1)])
        old_id, = self.add_codes(self.line_of(order_id), [rejected])
        self.run_queue()
        self.assertEqual(self.codes([old_id])[0]['state'], 'rejected')

        def relabel():
            Code = Pool().get('marking.code')
            return Code(old_id).replace_with(new).id
        new_id = self.step(relabel)
        self.run_queue()
        old, fresh = self.codes([old_id, new_id])
        self.assertEqual(old['state'], 'replaced')
        self.assertEqual((fresh['state'], fresh['unit'], fresh['code']),
            ('valid', 1, new))
        log = self.order(order_id)['log']
        entries = [l for l in log if 'Перемаркировка' in l]
        self.assertEqual(len(entries), 2)   # the rejection, the new code
        self.assertTrue(all(old['cis'] in l for l in entries))
        self.assertEqual(len([l for l in entries if fresh['cis'] in l]), 1)
        self.assertEqual(len([l for l in entries if 'отклонил' in l]), 1)

    def reserved_order(self, quantity=1):
        "An order of marked shoes reserved on a Moscow shop"
        order_id = self.new_order([(self.marked, quantity)])

        def reserve():
            pool = Pool()
            from trytond.modules.order_hub.tests.tools import (
                create_warehouse, set_stock)
            City = pool.get('order_hub.city')
            shop = create_warehouse("Магазин на Арбате", City(self.city))
            set_stock(pool.get('product.product')(self.marked), shop, 5)
            Order = pool.get('order_hub.order')
            Order.reserve([Order(order_id)])
        self.step(reserve)
        return order_id

    def items(self, order_id):
        "(item statuses, movement log descriptions) of the order"
        def read():
            pool = Pool()
            Reservation = pool.get('order_hub.reservation')
            Movement = pool.get('order_hub.item.movement')
            return ({r.status for r in Reservation.search(
                            [('order', '=', order_id)])},
                [(m.status, m.description) for m in Movement.search(
                            [('order', '=', order_id)],
                            order=[('id', 'ASC')])])
        return self.step(read)

    def test_rejected_code_sends_unit_to_relabeling(self):
        foreign, = self.seed('shoes', owner_inn='7700000002')
        new, = self.seed('shoes')
        order_id = self.reserved_order()
        self.assertNotIn('relabeling', self.items(order_id)[0])
        old_id, = self.add_codes(self.line_of(order_id), [foreign])
        self.run_queue()
        old, = self.codes([old_id])
        self.assertEqual(old['state'], 'rejected')
        statuses, movements = self.items(order_id)
        self.assertEqual(statuses, {'relabeling'})
        status, text = movements[-1]
        self.assertEqual(status, 'relabeling')
        self.assertIn('Перемаркировка', text)
        self.assertIn(old['cis'], text)
        self.assertIn('другому участнику', text)

        def relabel():
            return Pool().get('marking.code')(old_id).replace_with(new).id
        new_id = self.step(relabel)
        self.run_queue()
        fresh, = self.codes([new_id])
        self.assertEqual(fresh['state'], 'valid')
        _, movements = self.items(order_id)
        both = [t for _, t in movements
            if old['cis'] in t and fresh['cis'] in t]
        self.assertEqual(len(both), 1)

    def test_withdrawal_and_return_documents(self):
        texts = self.seed('shoes', 2)
        order_id = self.new_order([(self.marked, 2)])
        ids = self.add_codes(self.line_of(order_id), texts)
        self.run_queue()

        def withdraw():
            pool = Pool()
            Document = pool.get('marking.document')
            Code = pool.get('marking.code')
            order = pool.get('order_hub.order')(order_id)
            return [d.id for d in Document.withdraw(order, Code.browse(ids))]
        doc_ids = self.step(withdraw)
        self.run_queue()
        self.make_all_due()
        self.run_queue()
        documents = self.documents(doc_ids)
        self.assertEqual(documents, [('withdrawal', 'accepted',
                    'CHECKED_OK')])
        cis = self.codes(ids)[0]['cis']
        self.assertEqual(self.cz.codes[cis]['status'], 'RETIRED')

        def report_return():
            # what order_returns calls when the goods come back
            Line = Pool().get('order_hub.order.line')
            return [d.id for d in Line.marking_returned(
                    Pool().get('order_hub.order')(order_id).lines)]
        doc_ids = self.step(report_return)
        self.run_queue()
        self.make_all_due()
        self.run_queue()
        self.assertEqual(self.documents(doc_ids), [('return', 'accepted',
                    'CHECKED_OK')])
        self.assertEqual({self.cz.codes[c['cis']]['status']
                for c in self.codes(ids)}, {'INTRODUCED'})
        # returned already: nothing more to report
        self.assertEqual(self.step(report_return), [])
        log = self.order(order_id)['log']
        self.assertTrue(any('принял' in l for l in log), log)

        # withdrawing a retired code again: rejected with the reason
        self.cz.set_code_status(cis, 'RETIRED', withdrawal_action='DISTANCE')
        doc_ids = self.step(withdraw)
        self.run_queue()
        self.make_all_due()
        self.run_queue()
        (kind, state, status), = self.documents(doc_ids)
        self.assertEqual((state, status), ('rejected', 'CHECKED_NOT_OK'))

    def documents(self, ids):
        def read():
            Document = Pool().get('marking.document')
            return [(d.kind, d.state, d.registry_status)
                for d in Document.browse(ids)]
        return self.step(read)

    def settle(self, order_id):
        """The order paid on YooKassa, delivered, its settlement receipt
        issued: the codes the receipt carried"""
        total = self.order(order_id)['total']
        payment_id = self.site_payment(order_id, total)
        self.sim.succeed_payment(payment_id)
        self.deliver()
        self.run_queue()
        self.refresh()

        def settle():
            Order = Pool().get('order_hub.order')
            Order.issue_settlement_receipt([Order(order_id)])
        self.step(settle)
        self.run_queue()
        self.refresh()
        settlement = [r for r in self.sim.receipts.values()
            if r['payment_id'] == payment_id][-1]
        return [i for i in settlement['items'] if i.get('mark_code_info')]

    def test_codes_in_settlement_and_refund_receipts(self):
        texts = self.seed('shoes', 2)
        order_id = self.new_order([(self.marked, 2)], site_number='S-7001')
        self.add_codes(self.line_of(order_id), texts)
        self.run_queue()
        marked = self.settle(order_id)
        self.assertEqual([i['mark_code_info']['gs_1m'] for i in marked],
            texts)
        self.assertEqual({(i['mark_mode'], i['payment_subject'],
                    i['quantity']) for i in marked},
            {('0', 'marked', '1.00')})

        def refund():
            pool = Pool()
            order = pool.get('order_hub.order')(order_id)
            pool.get('order_payment.refund').request(order,
                [(order.lines[0], Decimal(1))], reason="Возврат товара")
        self.step(refund)
        self.run_queue()
        self.deliver()
        self.refresh()
        refund_receipt = [r for r in self.sim.receipts.values()
            if r['type'] == 'refund'][-1]
        marked = [i for i in refund_receipt['items']
            if i.get('mark_code_info')]
        # refunds take the last units
        self.assertEqual([i['mark_code_info']['gs_1m'] for i in marked],
            texts[1:])

    def test_pending_code_in_receipt_checked_later(self):
        text, = self.seed('shoes')
        order_id = self.new_order([(self.marked, 1)], site_number='S-7002')
        self.cz.faults.add(kind='down', endpoint='/api/v3/true-api/*')
        ids = self.add_codes(self.line_of(order_id), [text])
        marked = self.settle(order_id)
        # the registry is still down: the code goes in unchecked
        self.assertEqual(self.codes(ids)[0]['state'], 'pending')
        self.assertEqual([(i['mark_code_info']['gs_1m'],
                    i['payment_subject']) for i in marked],
            [(text, 'marked')])
        self.cz.faults.clear()
        self.make_all_due()
        self.run_queue()
        self.assertEqual(self.codes(ids)[0]['state'], 'valid')
