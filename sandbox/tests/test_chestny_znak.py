"""Chestny Znak True API simulator, driven with requests."""
import base64
import json
import unittest

import requests

from sandbox.chestny_znak import (ChestnyZnakSimulator, sign_attached,
    sign_detached)
from sandbox.clock import MSK, FakeClock
from sandbox.control import SandboxControl


class ChestnyZnakTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # one server for the class: stopping one costs ~0.5 s of polling
        cls.clock = FakeClock()
        cls.sim = ChestnyZnakSimulator(clock=cls.clock)
        cls.url = cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        cls.control = SandboxControl(cls.url)
        cls.v3 = cls.url + '/api/v3/true-api'
        cls.v4 = cls.url + '/api/v4/true-api'

    def setUp(self):
        self.sim.reset()
        self.creds = self.control.action('credentials')
        self.token = self.sign_in()

    # -- helpers ------------------------------------------------------------
    def sign_in(self, **extra):
        key = requests.get(self.v3 + '/auth/key', timeout=5).json()
        response = requests.post(self.v3 + '/auth/simpleSignIn', json={
                'uuid': key['uuid'],
                'data': sign_attached(key['data'], self.creds['secret']),
                **extra}, timeout=5)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()['token']

    def headers(self, token=None):
        return {'Authorization': 'Bearer ' + (token or self.token),
            'Accept': '*/*'}

    def info(self, codes, token=None):
        return requests.post(self.v3 + '/cises/info', json=codes,
            headers=self.headers(token), timeout=5)

    def codes(self, status='INTRODUCED', pg='shoes'):
        return [c for c in self.control.action('codes', status=status, pg=pg)
            if c['ownerInn'] == self.creds['inn'] and c['statusEx'] == 'EMPTY']

    def create(self, doc_type, document, pg='shoes', signature=None):
        raw = json.dumps(document, ensure_ascii=False).encode()
        return requests.post(self.v3 + '/lk/documents/create',
            params={'pg': pg} if pg else None, headers=self.headers(),
            json={'document_format': 'MANUAL', 'type': doc_type,
                'product_document': base64.b64encode(raw).decode(),
                'signature': signature or sign_detached(raw,
                    self.creds['secret'])}, timeout=5)

    def withdrawal(self, codes, action='DISTANCE'):
        return {'inn': self.creds['inn'], 'action': action,
            'action_date': self.clock.now(MSK).date().isoformat(),
            'products': [{'cis': c, 'product_cost': 499000} for c in codes]}

    def doc_status(self, doc_id):
        response = requests.get(f'{self.v4}/doc/{doc_id}/info',
            params={'pg': 'shoes'}, headers=self.headers(), timeout=5)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()[0]

    def status_of(self, code):
        return self.info([code]).json()[0]['cisInfo']['status']

    # -- authentication -----------------------------------------------------
    def test_auth_key_shape(self):
        key = requests.get(self.v3 + '/auth/key', timeout=5).json()
        self.assertEqual(set(key), {'uuid', 'data'})
        self.assertEqual(len(key['uuid']), 36)

    def test_sign_in_errors(self):
        key = requests.get(self.v3 + '/auth/key', timeout=5).json()
        cases = [
            ({}, 'Тело запроса не может быть пустым'),
            ({'data': 'x'}, 'В запросе отсутствует идентификатор авторизации '
                '(UUID)'),
            ({'uuid': key['uuid']}, 'В запросе отсутствует параметр data'),
            ({'uuid': key['uuid'], 'data': sign_attached(key['data'],
                        'wrong secret')}, 'Подпись не валидна'),
            ({'uuid': key['uuid'], 'data': '%%%'},
                'Ошибка при проверке подписи'),
            ({'uuid': 'a63ff582-b723-4da7-958b-453da27a6c62', 'data': 'eA=='},
                'UUID не найден в хранилище ключей. UUID = '
                'a63ff582-b723-4da7-958b-453da27a6c62'),
            ]
        for body, message in cases:
            response = requests.post(self.v3 + '/auth/simpleSignIn',
                json=body, timeout=5)
            self.assertEqual((response.status_code, response.json()),
                (400, {'error_message': message}))

    def test_challenge_is_single_use(self):
        key = requests.get(self.v3 + '/auth/key', timeout=5).json()
        body = {'uuid': key['uuid'],
            'data': sign_attached(key['data'], self.creds['secret'])}
        first = requests.post(self.v3 + '/auth/simpleSignIn', json=body,
            timeout=5)
        again = requests.post(self.v3 + '/auth/simpleSignIn', json=body,
            timeout=5)
        self.assertEqual((first.status_code, again.status_code), (200, 400))

    def test_united_token(self):
        key = requests.get(self.v3 + '/auth/key', timeout=5).json()
        answer = requests.post(self.v3 + '/auth/simpleSignIn', json={
                'uuid': key['uuid'], 'unitedToken': True,
                'data': sign_attached(key['data'], self.creds['secret'])},
            timeout=5).json()
        self.assertEqual(set(answer), {'token', 'uuidToken', 'expireDate'})
        code = self.codes()[0]['code']
        self.assertEqual(self.info([code], answer['uuidToken']).status_code,
            200)

    def test_foreign_inn_forbidden(self):
        key = requests.get(self.v3 + '/auth/key', timeout=5).json()
        response = requests.post(self.v3 + '/auth/simpleSignIn', json={
                'uuid': key['uuid'], 'inn': '7700000002',
                'data': sign_attached(key['data'], self.creds['secret'])},
            timeout=5)
        self.assertEqual(response.status_code, 403)

    def test_missing_token_is_xml_401(self):
        response = requests.post(self.v3 + '/cises/info', json=['x' * 31],
            timeout=5)
        self.assertEqual(response.status_code, 401)
        self.assertIn('xml', response.headers['Content-Type'])
        self.assertIn('<UnauthorizedException>', response.text)

    def test_expired_token(self):
        self.control.action('expire_tokens')
        response = self.info([self.codes()[0]['code']])
        self.assertEqual(response.status_code, 401)
        self.assertIn('Токен не действителен',
            response.json()['error_message'])
        response = self.create('LK_RECEIPT', self.withdrawal(['x' * 31]))
        self.assertEqual(response.status_code, 401)
        self.assertIn('Проверьте токен', response.json()['error_message'])

    # -- codes --------------------------------------------------------------
    def test_cises_info_full_code_and_mixed_result(self):
        code = self.codes()[0]
        unknown = '010460000000000021LLLLLLLLLLLLL'
        response = self.info([code['code'], unknown])
        self.assertEqual(response.status_code, 200)
        found, missing = response.json()
        self.assertEqual(found['cisInfo']['cis'], code['cis'])
        self.assertEqual(found['cisInfo']['requestedCis'], code['code'])
        self.assertEqual(found['cisInfo']['status'], 'INTRODUCED')
        self.assertEqual(found['cisInfo']['statusEx'], 'EMPTY')
        self.assertEqual(found['cisInfo']['productGroup'], 'shoes')
        self.assertEqual(missing['errorCode'], '404')
        self.assertEqual(missing['errorMessage'], 'КИ не найден')
        self.assertEqual(self.info([unknown]).status_code, 404)

    def test_short_crypto_tail_and_code_without_gs(self):
        milk = self.codes(pg='milk')[0]
        self.assertEqual(self.info([milk['code']]).json()[0]['cisInfo']['cis'],
            milk['cis'])
        shoes = self.codes()[0]
        scanned = shoes['code'].replace('\x1d', '')  # scanner dropped GS
        self.assertEqual(
            self.info([scanned]).json()[0]['cisInfo']['cis'], shoes['cis'])

    def test_cises_info_validation(self):
        for body, status in (([], 400), ('not json', 400)):
            response = requests.post(self.v3 + '/cises/info',
                data=json.dumps(body) if body == [] else body,
                headers=self.headers(), timeout=5)
            self.assertEqual(response.status_code, status)
            self.assertIn('error_message', response.json())

    def test_seed_and_set_status(self):
        seeded = self.control.action('seed_codes', count=2, pg='lp',
            status='APPLIED')
        self.assertEqual([c['status'] for c in seeded], ['APPLIED'] * 2)
        self.control.action('set_code_status', cis=seeded[0]['cis'],
            status='INTRODUCED')
        self.assertEqual(self.status_of(seeded[0]['code']), 'INTRODUCED')
        explicit = self.control.action('seed_codes',
            codes=['010468888888888821lBEtVuGyhA0HO'])
        self.assertEqual(explicit[0]['cis'], '010468888888888821lBEtVuGyhA0HO')

    # -- documents ----------------------------------------------------------
    def test_withdrawal_then_return(self):
        code = self.codes()[0]
        response = self.create('LK_RECEIPT', self.withdrawal([code['cis']]))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers['Content-Type'].startswith(
                'text/plain'))
        doc_id = response.text
        self.assertEqual(self.doc_status(doc_id)['status'], 'IN_PROGRESS')
        self.assertEqual(self.status_of(code['code']), 'INTRODUCED')
        self.control.action('process_documents')
        self.assertEqual(self.doc_status(doc_id)['status'], 'CHECKED_OK')
        self.assertEqual(self.status_of(code['code']), 'RETIRED')

        doc_id = self.create('LP_RETURN', {
                'trade_participant_inn': self.creds['inn'],
                'return_type': 'REMOTE_SALE_RETURN', 'paid': False,
                'products_list': [{'ki': code['cis']}]}).text
        self.control.action('process_documents')
        self.assertEqual(self.doc_status(doc_id)['status'], 'CHECKED_OK')
        self.assertEqual(self.status_of(code['code']), 'INTRODUCED')

    def test_processing_is_asynchronous(self):
        self.control.action('configure', processing_delay=5)
        code = self.codes()[0]
        doc_id = self.create('LK_RECEIPT', self.withdrawal([code['cis']])).text
        self.assertEqual(self.doc_status(doc_id)['status'], 'IN_PROGRESS')
        self.clock.advance(4)
        self.assertEqual(self.doc_status(doc_id)['status'], 'IN_PROGRESS')
        self.clock.advance(1)
        self.assertEqual(self.doc_status(doc_id)['status'], 'CHECKED_OK')

    def test_withdrawing_twice_is_rejected(self):
        code = self.codes()[0]['cis']
        self.create('LK_RECEIPT', self.withdrawal([code]))
        second = self.create('LK_RECEIPT', self.withdrawal([code])).text
        self.control.action('process_documents')
        doc = self.doc_status(second)
        self.assertEqual(doc['status'], 'CHECKED_NOT_OK')
        self.assertIn('RETIRED', doc['errors'][0])

    def test_bad_codes_reject_whole_document(self):
        good = self.codes()[0]['cis']
        applied = self.codes(status='APPLIED')[0]['cis']
        doc_id = self.create('LK_RECEIPT', self.withdrawal([good, applied]))
        self.control.action('process_documents')
        doc = self.doc_status(doc_id.text)
        self.assertEqual(doc['status'], 'CHECKED_NOT_OK')
        self.assertEqual(self.status_of(good), 'INTRODUCED')

    def test_return_type_must_match_withdrawal(self):
        retired = self.codes(status='RETIRED')[0]  # withdrawn as DISTANCE
        doc_id = self.create('LP_RETURN', {
                'trade_participant_inn': self.creds['inn'],
                'return_type': 'OWN_USE_RETURN',
                'products_list': [{'ki': retired['cis']}]}).text
        self.control.action('process_documents')
        doc = self.doc_status(doc_id)
        self.assertEqual(doc['status'], 'CHECKED_NOT_OK')
        self.assertIn('OWN_USE_RETURN', doc['errors'][0])

    def test_document_request_errors(self):
        code = self.codes()[0]['cis']
        missing_pg = self.create('LK_RECEIPT', self.withdrawal([code]),
            pg=None)
        self.assertEqual(missing_pg.json(), {'error_message':
                'Отсутствует обязательный параметр: pg'})
        missing_cost = self.withdrawal([code])
        del missing_cost['products'][0]['product_cost']
        response = self.create('LK_RECEIPT', missing_cost)
        self.assertEqual(response.status_code, 400)
        self.assertTrue(response.json()['error_message'].endswith(
                'products[0].product_cost'))
        bad_signature = self.create('LK_RECEIPT', self.withdrawal([code]),
            signature=base64.b64encode(b'nope').decode())
        self.assertEqual(bad_signature.status_code, 400)
        no_field = requests.post(self.v3 + '/lk/documents/create?pg=shoes',
            json={'document_format': 'MANUAL', 'type': 'LK_RECEIPT'},
            headers=self.headers(), timeout=5)
        self.assertEqual(no_field.json(), {'error_message':
                'Отсутствует обязательное поле: product_document'})
        view_only = self.create('RECEIPT', self.withdrawal([code]))
        self.assertEqual(view_only.status_code, 400)

    def test_document_list(self):
        code = self.codes()[0]['cis']
        doc_id = self.create('LK_RECEIPT', self.withdrawal([code])).text
        listing = requests.get(self.v4 + '/doc/list',
            params={'documentType': 'LK_RECEIPT'}, headers=self.headers(),
            timeout=5).json()
        self.assertEqual([d['number'] for d in listing['results']], [doc_id])
        self.assertFalse(listing['nextPage'])

    # -- faults -------------------------------------------------------------
    def test_injected_faults_use_true_api_bodies(self):
        self.control.fault('error', '/api/v3/true-api/cises/info', count=1,
            status=503)
        response = self.info([self.codes()[0]['code']])
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json(), {'error_message':
                'Внутренняя ошибка сервиса'})
        self.control.fault('rate_limit', '/api/v3/true-api/*', count=1)
        response = self.info([self.codes()[0]['code']])
        self.assertEqual(response.status_code, 429)
        self.assertEqual(self.info([self.codes()[0]['code']]).status_code,
            200)

    # -- matches the reference field by field --------------------------------
    def test_cis_info_carries_the_real_fields(self):
        shoes = self.info([self.codes()[0]['code']]).json()[0]['cisInfo']
        for field in ('certDoc', 'licences', 'ogvs', 'productWeightGr',
                'isVarQuantity', 'expirationDate', 'maxRetailPrice',
                'withdrawReason', 'tnVedEaes', 'tnVedEaesGroup', 'child',
                'markWithdraw', 'generalPackageType'):
            self.assertIn(field, shoes)
        self.assertEqual(set(shoes['certDoc'][0]), {'type', 'number', 'date',
                'wellNumber', 'indx'})
        milk = self.info([self.codes(pg='milk')[0]['code']]).json()[0][
            'cisInfo']
        self.assertEqual(milk['productWeightGr'], 1000)
        self.assertIs(milk['isVarQuantity'], False)
        self.assertTrue(milk['expirationDate'])
        self.assertEqual(milk['tnVedEaes'][:4], milk['tnVedEaesGroup'])
        tobacco = self.info([self.codes(pg='tobacco')[0]['code']]).json()[0][
            'cisInfo']
        self.assertEqual(tobacco['maxRetailPrice'], 21900)
        self.assertEqual(set(tobacco['licences'][0]),
            {'licenceNumber', 'licenceDate'})

    def test_gtins_have_valid_check_digits(self):
        for code in self.control.action('codes'):
            digits = [int(c) for c in code['cis'][2:16]]
            total = sum(d * (3 if i % 2 == 0 else 1)
                for i, d in enumerate(reversed(digits[:-1])))
            self.assertEqual((10 - total % 10) % 10, digits[-1], code)

    def create_xml(self, doc_type, xml, pg='shoes'):
        raw = xml.encode()
        return requests.post(self.v3 + '/lk/documents/create',
            params={'pg': pg}, headers=self.headers(),
            json={'document_format': 'XML', 'type': doc_type,
                'product_document': base64.b64encode(raw).decode(),
                'signature': sign_detached(raw, self.creds['secret'])},
            timeout=5)

    def test_withdrawal_and_return_in_xml_form(self):
        code = self.codes()[0]
        today = self.clock.now(MSK).date().isoformat()
        cis = code['cis'].replace('&', '&amp;').replace('<', '&lt;')
        response = self.create_xml('LK_RECEIPT_XML',
            '<?xml version="1.0" encoding="UTF-8"?><lk_receipt>'
            f'<inn>{self.creds["inn"]}</inn><action>DISTANCE</action>'
            f'<action_date>{today}</action_date><products><product>'
            f'<cis>{cis}</cis><product_cost>499000</product_cost>'
            '</product></products></lk_receipt>')
        self.assertEqual(response.status_code, 200, response.text)
        self.control.action('process_documents')
        document = self.doc_status(response.text)
        self.assertEqual((document['type'], document['status']),
            ('LK_RECEIPT_XML', 'CHECKED_OK'))
        self.assertEqual(self.status_of(code['code']), 'RETIRED')
        response = self.create_xml('LP_RETURN_XML',
            '<?xml version="1.0" encoding="UTF-8"?><lp_return>'
            f'<trade_participant_inn>{self.creds["inn"]}'
            '</trade_participant_inn>'
            '<return_type>REMOTE_SALE_RETURN</return_type><paid>false</paid>'
            f'<products_list><product><ki>{cis}</ki></product>'
            '</products_list></lp_return>')
        self.assertEqual(response.status_code, 200, response.text)
        self.control.action('process_documents')
        self.assertEqual(self.doc_status(response.text)['status'],
            'CHECKED_OK')
        self.assertEqual(self.status_of(code['code']), 'INTRODUCED')

    def test_xml_form_errors(self):
        self.assertEqual(self.create_xml('LP_RETURN_XML', '<lp_return>').json(),
            {'error_message': 'Ошибка валидации запроса – некорректное '
                'значение параметра product_document'})
        response = self.create_xml('LP_RETURN_XML', '<lp_return>'
            f'<trade_participant_inn>{self.creds["inn"]}'
            '</trade_participant_inn><return_type>REMOTE_SALE_RETURN'
            '</return_type><products_list/></lp_return>')
        self.assertEqual(response.status_code, 400)
        self.assertIn('paid', response.json()['error_message'])


if __name__ == '__main__':
    unittest.main()
