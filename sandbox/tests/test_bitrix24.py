"""Bitrix24 REST simulator, seen from a REST client."""
import threading
import time
import unittest

import requests
from flask import request

from sandbox.bitrix24 import Bitrix24Simulator
from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.core import Simulator, route


class Receiver(Simulator):
    "Collects the form-encoded event POSTs"
    name = 'receiver'

    @route('/b24/<path:name>', methods=['POST'])
    def hook(self, name):
        self.received.append((name, request.form.to_dict()))
        return '', 200

    def init_state(self):
        self.received = []


SIM = RECEIVER = None


def setUpModule():
    # one server per module, reset before each test: starting and stopping
    # a werkzeug server costs ~0.5 s
    global SIM, RECEIVER
    SIM, RECEIVER = Bitrix24Simulator(clock=FakeClock()), Receiver()
    SIM.start()
    RECEIVER.start()


def tearDownModule():
    SIM.stop()
    RECEIVER.stop()


class Bitrix24Case(unittest.TestCase):
    def setUp(self):
        SIM.webhooks.wait_idle()
        SIM.reset()
        RECEIVER.reset()
        self.sim, self.url = SIM, SIM.base_url
        self.control = SandboxControl(self.url)
        self.hook = self.control.action('webhook')['url']

    def call(self, method, payload=None, form=False, status=200):
        kwargs = {'data': payload} if form else {'json': payload or {}}
        response = requests.post(self.hook + method + '.json', timeout=5,
            **kwargs)
        self.assertEqual(response.status_code, status, response.text)
        return response.json()

    def result(self, method, payload=None, **kwargs):
        return self.call(method, payload, **kwargs)['result']


class TransportTest(Bitrix24Case):
    def test_envelope_and_string_typing(self):
        body = self.call('crm.deal.add', {'fields': {'TITLE': 'Заказ 1001',
            'OPPORTUNITY': 2590.5, 'ORIGINATOR_ID': 'hub',
            'ORIGIN_ID': '1001'}})
        self.assertIsInstance(body['result'], int)
        for key in ('start', 'finish', 'duration', 'processing', 'date_start',
                'date_finish', 'operating_reset_at', 'operating'):
            self.assertIn(key, body['time'])
        self.assertNotIn('total', body)
        deal = self.result('crm.deal.get', {'id': body['result']})
        self.assertEqual(deal['ID'], str(body['result']))
        self.assertEqual(deal['OPPORTUNITY'], '2590.50')
        self.assertEqual((deal['STAGE_ID'], deal['STAGE_SEMANTIC_ID'],
            deal['CATEGORY_ID'], deal['CLOSED']), ('NEW', 'P', '0', 'N'))
        self.assertEqual(deal['ORIGIN_ID'], '1001')

    def test_deal_contacts(self):
        contact_id = self.result('crm.contact.add', {'fields': {'NAME': 'Ян'}})
        deal_id = self.result('crm.deal.add', {'fields': {
            'CONTACT_IDS': [contact_id]}})
        self.assertEqual(self.result('crm.deal.get', {'id': deal_id})
            ['CONTACT_ID'], str(contact_id))
        items = self.result('crm.deal.contact.items.get', {'id': deal_id})
        self.assertEqual(items[0]['CONTACT_ID'], contact_id)

    def test_wrong_webhook_code_and_unknown_method(self):
        response = requests.post(self.url + '/rest/1/wrongcode/crm.deal.list',
            timeout=5)
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json(), {'error': 'NO_AUTH_FOUND',
            'error_description': 'Wrong authorization data'})
        body = self.call('crm.deal.sing', status=404)
        self.assertEqual(body['error'], 'ERROR_METHOD_NOT_FOUND')

    def test_webhook_can_be_set(self):
        self.control.action('webhook', user_id=12, code='abc123')
        response = requests.get(self.url + '/rest/12/abc123/crm.deal.list',
            timeout=5)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(requests.get(self.hook + 'crm.deal.list', timeout=5)
            .status_code, 401)

    def test_crm_errors_have_empty_code(self):
        body = self.call('crm.deal.get', {'id': 999}, status=400)
        self.assertEqual(body, {'error': '', 'error_description': 'Not found'})
        body = self.call('crm.deal.add', {'fields': 'x'}, status=400)
        self.assertEqual(body['error_description'],
            "Parameter 'fields' must be array.")
        body = self.call('crm.deal.update', {'fields': {}}, status=400)
        self.assertEqual(body['error_description'],
            'ID is not defined or invalid.')

    def test_form_body_with_php_keys_and_multifields(self):
        contact_id = self.result('crm.contact.add', [
            ('FIELDS[NAME]', 'Анна'), ('FIELDS[LAST_NAME]', 'Петрова'),
            ('FIELDS[PHONE][0][VALUE]', '+79161234567'),
            ('FIELDS[PHONE][0][VALUE_TYPE]', 'MOBILE'),
            ('FIELDS[EMAIL][0][VALUE]', 'anna@example.ru')], form=True)
        contact = self.result('crm.contact.get', {'ID': contact_id})
        self.assertEqual(contact['NAME'], 'Анна')
        self.assertEqual(contact['HAS_PHONE'], 'Y')
        phone = contact['PHONE'][0]
        self.assertEqual((phone['VALUE'], phone['VALUE_TYPE'],
            phone['TYPE_ID']), ('+79161234567', 'MOBILE', 'PHONE'))
        # items with ID change that value, items without ID are appended
        self.result('crm.contact.update', {'id': contact_id, 'fields': {
            'PHONE': [{'ID': phone['ID'], 'VALUE': '+79160000000'},
                {'VALUE': '+74950000000', 'VALUE_TYPE': 'WORK'}],
            'EMAIL': [{'ID': contact['EMAIL'][0]['ID'], 'DELETE': 'Y'}]}})
        contact = self.result('crm.contact.get', {'id': contact_id})
        self.assertEqual([p['VALUE'] for p in contact['PHONE']],
            ['+79160000000', '+74950000000'])
        self.assertEqual((contact['EMAIL'], contact['HAS_EMAIL']), ([], 'N'))
        # multifield filter is exact; multifields come back only if selected
        found = self.result('crm.contact.list', {
            'filter': {'PHONE': '+74950000000'}, 'select': ['ID', 'NAME']})
        self.assertEqual(found, [{'ID': str(contact_id), 'NAME': 'Анна'}])
        found = self.result('crm.contact.list', {
            'filter': {'PHONE': '+7495'}, 'select': ['ID', 'PHONE']})
        self.assertEqual(found, [])

    def test_get_with_query_string(self):
        deal_id = self.result('crm.deal.add', {'fields': {'TITLE': 'x'}})
        response = requests.get(self.hook + f'crm.deal.get?ID={deal_id}',
            timeout=5)
        self.assertEqual(response.json()['result']['TITLE'], 'x')


class ListTest(Bitrix24Case):
    def test_pagination(self):
        self.control.action('seed_deals', count=120)
        first = self.call('crm.deal.list', {'select': ['ID', 'TITLE']})
        self.assertEqual((len(first['result']), first['total'], first['next']),
            (50, 120, 50))
        self.assertEqual(set(first['result'][0]), {'ID', 'TITLE'})
        last = self.call('crm.deal.list', {'start': 100})
        self.assertEqual((len(last['result']), last['total']), (20, 120))
        self.assertNotIn('next', last)
        # the large-export recipe: >ID, ID ASC, start=-1 -> total 0
        fast = self.call('crm.deal.list', {'filter': {'>ID': 60},
            'order': {'ID': 'ASC'}, 'start': -1, 'select': ['ID']})
        self.assertEqual(fast['total'], 0)
        self.assertEqual(fast['result'][0]['ID'], '61')
        self.assertNotIn('next', fast)

    def test_filter_prefixes_and_order(self):
        self.control.action('seed_deals', count=5)
        self.result('crm.deal.update', {'id': 2, 'fields': {'STAGE_ID': 'WON'}})
        self.result('crm.deal.update', {'id': 4,
            'fields': {'STAGE_ID': 'EXECUTING'}})
        rows = self.result('crm.deal.list', {
            'filter': {'@STAGE_ID': ['WON', 'EXECUTING']},
            'order': {'ID': 'DESC'}, 'select': ['ID', 'STAGE_SEMANTIC_ID']})
        self.assertEqual(rows, [{'ID': '4', 'STAGE_SEMANTIC_ID': 'P'},
            {'ID': '2', 'STAGE_SEMANTIC_ID': 'S'}])
        rows = self.result('crm.deal.list', {'filter': {'!STAGE_ID': 'NEW',
            '>=OPPORTUNITY': 1003}, 'select': ['ID']})
        self.assertEqual(rows, [{'ID': '4'}])
        rows = self.result('crm.deal.list', {'filter': {'%TITLE': '№3'},
            'select': ['ID']})
        self.assertEqual(rows, [{'ID': '3'}])

    def test_stages_seeded_in_russian(self):
        stages = self.result('crm.status.list',
            {'filter': {'ENTITY_ID': 'DEAL_STAGE'}})
        self.assertEqual([s['STATUS_ID'] for s in stages], ['NEW',
            'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE',
            'WON', 'LOSE', 'APOLOGY'])
        self.assertEqual(stages[0]['NAME'], 'Новая')
        self.assertEqual(stages[5]['SEMANTICS'], 'S')
        shop = self.result('crm.status.list',
            {'filter': {'ENTITY_ID': 'DEAL_STAGE_1'}})
        self.assertTrue(all(s['STATUS_ID'].startswith('C1:') for s in shop))
        categories = self.result('crm.category.list', {'entityTypeId': 2})
        self.assertEqual([c['id'] for c in categories['categories']], [0, 1])

    def test_stage_must_exist_and_category_is_immutable(self):
        deal_id = self.result('crm.deal.add', {'fields': {'CATEGORY_ID': 1,
            'STAGE_ID': 'C1:UC_PAYWAIT'}})
        self.call('crm.deal.update', {'id': deal_id,
            'fields': {'STAGE_ID': 'WON'}}, status=400)
        self.result('crm.deal.update', {'id': deal_id,
            'fields': {'CATEGORY_ID': 0, 'STAGE_ID': 'C1:WON'}})
        deal = self.result('crm.deal.get', {'id': deal_id})
        self.assertEqual((deal['CATEGORY_ID'], deal['STAGE_ID'],
            deal['CLOSED']), ('1', 'C1:WON', 'Y'))

    def test_deal_fields(self):
        fields = self.result('crm.deal.fields')
        self.assertEqual(fields['STAGE_ID']['statusType'], 'DEAL_STAGE')
        self.assertTrue(fields['CATEGORY_ID']['isImmutable'])
        self.assertTrue(fields['ID']['isReadOnly'])


class ProductRowsTest(Bitrix24Case):
    def test_replace_all_and_maths(self):
        deal_id = self.result('crm.deal.add', {'fields': {'TITLE': 'x'}})
        self.result('crm.deal.productrows.set', {'id': deal_id, 'rows': [
            {'PRODUCT_NAME': 'Кофемашина', 'PRICE_NETTO': 999,
                'DISCOUNT_TYPE_ID': 2, 'DISCOUNT_RATE': 10, 'QUANTITY': 2},
            {'PRODUCT_NAME': 'Доставка', 'PRICE': 300}]})
        rows = self.result('crm.deal.productrows.get', {'id': deal_id})
        self.assertEqual((rows[0]['DISCOUNT_SUM'], rows[0]['PRICE']),
            (99.9, 899.1))
        # the row's own ids are strings, the rest typed, as the real answer
        self.assertEqual((rows[0]['OWNER_TYPE'], rows[0]['OWNER_ID']),
            ('D', str(deal_id)))
        self.assertIsInstance(rows[0]['ID'], str)
        self.assertIsInstance(rows[0]['PRODUCT_ID'], int)
        self.assertIsInstance(rows[0]['QUANTITY'], float)
        deal = self.result('crm.deal.get', {'id': deal_id})
        self.assertEqual(deal['OPPORTUNITY'], '2098.20')
        self.result('crm.deal.productrows.set', {'id': deal_id,
            'rows': [{'PRODUCT_NAME': 'Фильтр', 'PRICE': 500}]})
        rows = self.result('crm.deal.productrows.get', {'id': deal_id})
        self.assertEqual([r['PRODUCT_NAME'] for r in rows], ['Фильтр'])

    def test_user_edits_rows_in_the_card(self):
        deal_id = self.result('crm.deal.add', {'fields': {'TITLE': 'x'}})
        self.control.action('outgoing_webhook',
            handler=RECEIVER.base_url + '/b24/rows', events=['ONCRMDEALUPDATE'])
        rows = self.control.action('user_edit_rows', id=deal_id,
            rows=[{'PRODUCT_NAME': 'a', 'PRICE': 10, 'QUANTITY': 3,
                'XML_ID': 'hub_line_1'}])
        self.assertEqual((rows[0]['QUANTITY'], rows[0]['XML_ID']),
            (3.0, 'hub_line_1'))
        self.sim.webhooks.wait_idle()
        (name, form), = RECEIVER.received
        self.assertEqual((form['event'], form['data[FIELDS][ID]']),
            ('ONCRMDEALUPDATE', str(deal_id)))
        self.assertIn('auth[application_token]', form)

    def test_discount_validation(self):
        deal_id = self.result('crm.deal.add', {'fields': {}})
        body = self.call('crm.deal.productrows.set', {'id': deal_id,
            'rows': [{'PRODUCT_NAME': 'x', 'PRICE': 10,
                'DISCOUNT_TYPE_ID': 1}]}, status=400)
        self.assertEqual(body['error'], 'ERROR_CORE')

    def test_timeline_comment_needs_lowercase_fields(self):
        deal_id = self.result('crm.deal.add', {'fields': {}})
        comment_id = self.result('crm.timeline.comment.add', {'fields': {
            'ENTITY_ID': deal_id, 'ENTITY_TYPE': 'deal',
            'COMMENT': 'Синхронизировано с 1С'}})
        self.assertIsInstance(comment_id, int)
        self.call('crm.timeline.comment.add', {'FIELDS': {
            'ENTITY_ID': deal_id, 'ENTITY_TYPE': 'deal', 'COMMENT': 'x'}},
            status=400)


class PipelineTest(Bitrix24Case):
    def test_status_list_has_total(self):
        body = self.call('crm.status.list',
            {'filter': {'ENTITY_ID': 'DEAL_STAGE'}})
        self.assertEqual(body['total'], len(body['result']))
        self.assertEqual(body['total'], 8)

    def test_new_pipeline_with_its_stages(self):
        category = self.result('crm.category.add', {'entityTypeId': 2,
            'fields': {'name': 'Заказы хаба', 'sort': 900}})['category']
        self.assertEqual(category['id'], 2)
        stages = self.result('crm.status.list',
            {'filter': {'ENTITY_ID': 'DEAL_STAGE_2'}})
        self.assertEqual(stages[0]['STATUS_ID'], 'C2:NEW')
        new_id = self.result('crm.status.add', {'fields': {
            'ENTITY_ID': 'DEAL_STAGE_2', 'STATUS_ID': 'C2:UC_PAID',
            'NAME': 'Оплачен', 'SORT': 15}})
        self.assertIsInstance(new_id, int)
        self.result('crm.status.update', {'id': stages[0]['ID'],
            'fields': {'NAME': 'Ожидает оплаты'}})
        names = [(s['STATUS_ID'], s['NAME']) for s in self.result(
            'crm.status.list', {'filter': {'ENTITY_ID': 'DEAL_STAGE_2'}})]
        self.assertEqual(names[:2], [('C2:NEW', 'Ожидает оплаты'),
            ('C2:UC_PAID', 'Оплачен')])
        deal_id = self.result('crm.deal.add', {'fields': {
            'CATEGORY_ID': 2}})
        self.result('crm.deal.update', {'id': deal_id,
            'fields': {'STAGE_ID': 'C2:UC_PAID'}})
        deal = self.result('crm.deal.get', {'id': deal_id})
        self.assertEqual((deal['CATEGORY_ID'], deal['STAGE_ID']),
            ('2', 'C2:UC_PAID'))
        categories = self.result('crm.category.list', {'entityTypeId': 2})
        self.assertEqual(len(categories['categories']), 3)


class BatchTest(Bitrix24Case):
    def test_references_errors_and_totals(self):
        deal_id = self.result('crm.deal.add', {'fields': {'TITLE': 'x'}})
        self.result('crm.deal.productrows.set', {'id': deal_id,
            'rows': [{'PRODUCT_NAME': 'a', 'PRICE': 1}]})
        body = self.result('batch', {'halt': 0, 'cmd': {
            'deal': f'crm.deal.get?id={deal_id}',
            'rows': 'crm.deal.productrows.get?id=$result[deal][ID]',
            'missing': 'crm.deal.get?id=999',
            'list': 'crm.deal.list?filter[>ID]=0&select[]=ID'}})
        self.assertEqual(body['result']['deal']['ID'], str(deal_id))
        self.assertEqual(body['result']['rows'][0]['PRODUCT_NAME'], 'a')
        self.assertEqual(body['result_error']['missing']['error_description'],
            'Not found')
        self.assertEqual(body['result_total'], {'list': 1})
        self.assertEqual(body['result_next'], [])
        self.assertIn('deal', body['result_time'])

    def test_list_reference_needs_index_and_halt(self):
        self.control.action('seed_deals', count=2)
        body = self.result('batch', {'halt': 1, 'cmd': [
            'crm.deal.list?order[ID]=DESC',
            'crm.deal.get?id=$result[0][0][ID]',
            'crm.deal.get?id=0',
            'crm.deal.get?id=1']})
        self.assertEqual(body['result']['1']['ID'], '2')
        self.assertIn('2', body['result_error'])
        self.assertNotIn('3', body['result'])  # halted

    def test_limits(self):
        body = self.call('batch', {'cmd': {str(i): 'crm.deal.list'
            for i in range(51)}}, status=400)
        self.assertEqual(body['error'], 'ERROR_BATCH_LENGTH_EXCEEDED')
        body = self.result('batch', {'cmd': {'x': 'batch?cmd[0]=crm.deal.list'}})
        self.assertEqual(body['result_error']['x']['error'],
            'ERROR_BATCH_METHOD_NOT_ALLOWED')

    def test_form_encoded_batch(self):
        self.control.action('seed_deals', count=1)
        body = self.result('batch', [('halt', '0'),
            ('cmd[a]', 'crm.deal.get?id=1'),
            ('cmd[b]', 'crm.deal.update?id=$result[a][ID]'
                '&fields[TITLE]=John%26Martin')], form=True)
        self.assertIs(body['result']['b'], True)
        self.assertEqual(self.result('crm.deal.get', {'id': 1})['TITLE'],
            'John&Martin')


class EventsTest(Bitrix24Case):
    def setUp(self):
        super().setUp()
        self.receiver, self.receiver_url = RECEIVER, RECEIVER.base_url
        self.app = self.control.action('install_app')
        self.handler = self.receiver_url + '/b24/app'

    def app_call(self, method, payload, status=200):
        response = requests.post(f'{self.url}/rest/{method}', timeout=5,
            json={**payload, 'auth': self.app['access_token']})
        self.assertEqual(response.status_code, status, response.text)
        return response.json()

    def received(self, count):
        deadline = time.monotonic() + 5
        while len(self.receiver.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        self.sim.webhooks.wait_idle()
        return self.receiver.received

    def test_bind_only_in_app_context(self):
        body = self.call('event.bind', {'event': 'ONCRMDEALUPDATE',
            'handler': self.handler}, status=403)
        self.assertEqual(body['error'], 'WRONG_AUTH_TYPE')
        body = self.app_call('event.bind', {'event': 'ONCRMNOSUCH',
            'handler': self.handler}, status=400)
        self.assertEqual(body['error'], 'ERROR_EVENT_NOT_FOUND')

    def test_hub_and_user_changes_fire_events(self):
        for event in ('onCrmDealUpdate', 'ONCRMDEALMOVETOCATEGORY'):
            self.assertIs(self.app_call('event.bind', {'event': event,
                'handler': self.handler})['result'], True)
        bound = self.app_call('event.get', {})['result']
        self.assertEqual([b['event'] for b in bound],
            ['ONCRMDEALUPDATE', 'ONCRMDEALMOVETOCATEGORY'])
        deal_id = self.result('crm.deal.add', {'fields': {'TITLE': 'x'}})
        # the hub's own write echoes back
        self.result('crm.deal.update', {'id': deal_id,
            'fields': {'STAGE_ID': 'PREPARATION'}})
        # a manager moves the deal in the UI
        edited = self.control.action('user_edit_deal', id=deal_id,
            fields={'STAGE_ID': 'EXECUTING', 'COMMENTS': 'Клиент перезвонил'})
        self.assertEqual(edited['MODIFY_BY_ID'], '7')
        self.control.action('user_edit_deal', id=deal_id,
            fields={'CATEGORY_ID': 1, 'STAGE_ID': 'C1:UC_ASSEMBLY'})
        received = self.received(3)
        self.assertEqual([form['event'] for _, form in received],
            ['ONCRMDEALUPDATE', 'ONCRMDEALUPDATE', 'ONCRMDEALMOVETOCATEGORY'])
        form = received[0][1]
        self.assertEqual(form['data[FIELDS][ID]'], str(deal_id))
        self.assertEqual(form['auth[application_token]'],
            self.app['application_token'])
        self.assertEqual(form['auth[access_token]'], self.app['access_token'])
        self.assertTrue(form['ts'].isdigit())
        self.assertIn('event_handler_id', form)
        self.assertEqual(received[2][1]['data[FIELDS][STAGE_ID]'],
            'C1:UC_ASSEMBLY')
        deliveries = self.control.webhooks()
        self.assertTrue(all(d['outcome'] == 'sent' for d in deliveries))
        # unbind: no more deliveries
        self.assertEqual(self.app_call('event.unbind', {
            'event': 'ONCRMDEALUPDATE', 'handler': self.handler})['result'],
            {'count': 1})

    def test_outgoing_webhook_carries_no_tokens(self):
        created = self.control.action('outgoing_webhook',
            handler=self.receiver_url + '/b24/out',
            events=['ONCRMCONTACTADD'])
        self.result('crm.contact.add', {'fields': {'NAME': 'Олег'}})
        name, form = self.received(1)[0]
        self.assertEqual(name, 'out')
        self.assertEqual(form['event'], 'ONCRMCONTACTADD')
        self.assertEqual(form['auth[application_token]'],
            created['application_token'])
        self.assertNotIn('auth[access_token]', form)
        self.assertIn('auth[member_id]', form)

    def test_dropped_event_is_not_retried(self):
        self.app_call('event.bind', {'event': 'ONCRMDEALADD',
            'handler': self.handler})
        self.control.fault('webhook_drop', '/b24/*', count=1)
        self.result('crm.deal.add', {'fields': {}})
        self.result('crm.deal.add', {'fields': {}})
        received = self.received(1)
        self.assertEqual([f['data[FIELDS][ID]'] for _, f in received], ['2'])

    def test_expired_token_and_refresh(self):
        self.control.action('expire_token')
        body = self.app_call('event.get', {}, status=401)
        self.assertEqual(body['error'], 'expired_token')
        response = requests.get(self.url + '/oauth/token/', timeout=5, params={
            'grant_type': 'refresh_token', 'client_id': self.app['client_id'],
            'client_secret': self.app['client_secret'],
            'refresh_token': self.app['refresh_token']})
        tokens = response.json()
        self.assertEqual(tokens['expires_in'], 3600)
        self.assertNotEqual(tokens['refresh_token'], self.app['refresh_token'])
        self.app['access_token'] = tokens['access_token']
        self.assertEqual(self.app_call('event.get', {})['result'], [])


class LimitsTest(Bitrix24Case):
    def test_rate_limit_on_by_default(self):
        config = self.control.action('set_rate_limit')
        self.assertEqual((config['enabled'], config['rate'], config['burst']),
            (True, 2.0, 50))

    def test_leaky_bucket(self):
        self.control.action('set_rate_limit', burst=5, rate=2)
        codes = [requests.post(self.hook + 'crm.deal.list', timeout=5)
            .status_code for _ in range(6)]
        self.assertEqual(codes, [200] * 5 + [503])
        body = self.call('crm.deal.list', status=503)
        self.assertEqual(body, {'error': 'QUERY_LIMIT_EXCEEDED',
            'error_description': 'Too many requests'})
        SIM.clock.advance(0.5)  # drains 2 per second: room for one
        self.call('batch', {'cmd': {str(i): 'crm.deal.list'
            for i in range(10)}})  # a batch counts once
        self.control.action('set_rate_limit', enabled=False)
        for _ in range(10):
            self.call('crm.deal.list')

    def test_parallel_burst(self):
        self.control.action('set_rate_limit', burst=10, rate=0.5)
        codes = []

        def hit():
            codes.append(requests.get(self.hook + 'crm.deal.list', timeout=5)
                .status_code)
        threads = [threading.Thread(target=hit) for _ in range(15)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(codes), [200] * 10 + [503] * 5)

    def test_injected_faults_use_bitrix_errors(self):
        self.control.fault('error', '/rest/*', count=1)
        body = self.call('crm.deal.list', status=500)
        self.assertEqual(body['error'], 'INTERNAL_SERVER_ERROR')
        self.control.fault('rate_limit', '/rest/*', count=1)
        body = self.call('crm.deal.list', status=503)
        self.assertEqual(body['error'], 'QUERY_LIMIT_EXCEEDED')
        self.call('crm.deal.list')


if __name__ == '__main__':
    unittest.main()
