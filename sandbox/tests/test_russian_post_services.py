"""Russian Post simulator: normalisation, post offices, print forms, the
tracking quotas, tickets held back and histories moving with the clock."""
import unittest

import requests
import zeep

from sandbox.clock import FakeClock
from sandbox.control import SandboxControl
from sandbox.russian_post import (
    GOOD_QUALITY, GOOD_VALIDATION, LIMIT_REACHED, RussianPostSimulator)

from .test_russian_post import OTPRAVKA_HEADERS, TRACKING_AUTH, order


class ServicesTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clock = FakeClock()
        cls.sim = RussianPostSimulator(clock=cls.clock)
        cls.url = cls.sim.start()
        cls.control = SandboxControl(cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.control.reset()

    def call(self, method, path, **kwargs):
        return requests.request(method, self.url + path,
            headers=OTPRAVKA_HEADERS, timeout=5, **kwargs)


class CleaningTest(ServicesTestCase):
    def clean(self, *addresses):
        response = self.call('POST', '/1.0/clean/address', json=[
                {'id': str(n), 'original-address': a}
                for n, a in enumerate(addresses)])
        self.assertEqual(response.status_code, 200, response.text)
        return {r['id']: r for r in response.json()}

    def deliverable(self, answer):
        return (answer['quality-code'] in GOOD_QUALITY
            and answer['validation-code'] in GOOD_VALIDATION)

    def test_addresses(self):
        answers = self.clean(
            '630099, г. Новосибирск, ул. Ленина, д. 5, кв. 12',
            'Москва, Ленинский пр-кт 32 к 2',
            'Казань, а/я 15',
            'абырвалг',
            'Пермь, ул. Ленина',
            'Тверь, ул. Советская, 5, возле магазина')
        first = answers['0']
        self.assertEqual((first['index'], first['region'], first['place'],
                first['street'], first['house'], first['room']),
            ('630099', 'обл. Новосибирская', 'г. Новосибирск', 'ул. Ленина',
                '5', '12'))
        self.assertEqual(first['quality-code'], 'GOOD')
        second = answers['1']
        self.assertEqual((second['house'], second['corpus'],
                second['quality-code'], second['index']),
            ('32', '2', 'UNDEF_05', '101000'))
        self.assertEqual((answers['2']['address-type'],
                answers['2']['quality-code']), ('PO_BOX', 'POSTAL_BOX'))
        self.assertEqual(answers['3']['quality-code'], 'UNDEF_01')
        self.assertNotIn('index', answers['3'])
        self.assertEqual(answers['4']['quality-code'], 'UNDEF_04')
        self.assertEqual(answers['5']['validation-code'],
            'NOT_VALIDATED_HAS_UNPARSED_PARTS')
        self.assertEqual([self.deliverable(answers[str(n)])
                for n in range(6)],
            [True, True, True, False, False, False])

    def test_answers_are_matched_by_id_not_order(self):
        response = self.call('POST', '/1.0/clean/address', json=[
                {'id': 'a', 'original-address': 'Москва'},
                {'id': 'b', 'original-address': 'Тула'}])
        self.assertEqual([r['id'] for r in response.json()], ['b', 'a'])

    def test_bad_bodies(self):
        self.assertEqual(self.call('POST', '/1.0/clean/address',
                json={'id': '1'}).status_code, 400)
        self.assertEqual(self.call('POST', '/1.0/clean/address',
                json=[{'original-address': 'x'}]).status_code, 400)

    def test_names_and_phones(self):
        [fio] = self.call('POST', '/1.0/clean/physical', json=[
                {'id': '1', 'original-fio': 'иванов иван иванович'}]).json()
        self.assertEqual((fio['surname'], fio['name'], fio['middle-name'],
                fio['quality-code']), ('Иванов', 'Иван', 'Иванович',
                'EDITED'))
        phones = {p['id']: p for p in self.call('POST', '/1.0/clean/phone',
                json=[{'id': '1', 'original-phone': '8 (926) 011-23-67'},
                    {'id': '2', 'original-phone': '12'}]).json()}
        self.assertEqual((phones['1']['phone-city-code'],
                phones['1']['phone-number'], phones['1']['quality-code']),
            ('926', '0112367', 'GOOD'))
        self.assertEqual(phones['2']['quality-code'], 'GARBAGE')


class OfficeAndFormsTest(ServicesTestCase):
    def test_post_office(self):
        office = self.call('GET', '/postoffice/1.0/630099').json()
        self.assertEqual((office['postal-code'], office['settlement'],
                office['is-closed']), ('630099', 'Новосибирск', False))
        self.assertTrue(office['working-hours'])
        self.control.action('set_office', index='630099',
            temporary_closed=True)
        self.assertTrue(self.call('GET', '/postoffice/1.0/630099').json()[
                'is-temporary-closed'])
        self.assertEqual(self.call('GET', '/postoffice/1.0/999999')
            .status_code, 404)
        # the same two headers as the rest of Otpravka
        self.assertEqual(requests.get(self.url + '/postoffice/1.0/630099',
                timeout=5).status_code, 401)

    def create(self, **values):
        [order_id] = self.call('PUT', '/1.0/user/backlog',
            json=[order(**values)]).json()['result-ids']
        return order_id

    def test_forms_are_pdf(self):
        cod = self.create(payment=150000, **{'insr-value': 200000,
                'mail-category': 'WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY'})
        plain = self.create(**{'order-num': 'SO-2002'})
        backlog = self.call('GET', f'/1.0/forms/backlog/{cod}/forms')
        self.assertEqual(backlog.headers['Content-Type'], 'application/pdf')
        self.assertTrue(backlog.content.startswith(b'%PDF-1.4'))
        self.assertIn(b'/Count 2', backlog.content)     # label + Ф112ЭК
        self.assertTrue(backlog.content.rstrip().endswith(b'%%EOF'))
        # Ф7п/Ф112 of a single order only once it is in a batch
        self.assertEqual(self.call('GET', f'/1.0/forms/{cod}/f7pdf')
            .status_code, 404)
        self.call('POST', '/1.0/user/shipment', json=[cod, plain])
        label = self.call('GET', f'/1.0/forms/{cod}/f7pdf')
        self.assertIn(b'/Count 1', label.content)
        self.assertIn('attachment', label.headers['Content-Disposition'])
        self.assertEqual(self.call('GET', f'/1.0/forms/{cod}/f112pdf')
            .status_code, 200)
        self.assertEqual(self.call('GET', f'/1.0/forms/{plain}/f112pdf')
            .status_code, 400)
        # a batched order is found again by the shop's number
        found = self.call('GET', '/1.0/shipment/search',
            params={'query': 'SO-2002'}).json()
        self.assertEqual([o['id'] for o in found], [plain])


class QuotaAndClockTest(ServicesTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.single = zeep.Client(cls.url + '/rtm34?wsdl')
        cls.batch = zeep.Client(cls.url + '/fc?wsdl')

    def history(self, barcode):
        return self.single.service.getOperationHistory(
            OperationHistoryRequest={'Barcode': barcode, 'MessageType': 0,
                'Language': 'RUS'}, AuthorizationHeader=TRACKING_AUTH)

    def ticket(self, *barcodes):
        return self.batch.service.getTicket(request={'Item': [
                    {'Barcode': b} for b in barcodes]}, language='RUS',
            **TRACKING_AUTH)

    def test_batch_limit_is_in_band(self):
        self.control.action('settings', batch_daily_limit=1)
        self.assertTrue(self.ticket('RA123456789RU').value)
        response = requests.post(self.url + '/fc', data=(
                '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org'
                '/soap/envelope/" xmlns:pos="http://fclient.russianpost.org/'
                'postserver" xmlns:fcl="http://fclient.russianpost.org">'
                '<soapenv:Body><pos:ticketRequest><request><fcl:Item '
                'Barcode="RA123456789RU"/></request><login>sandbox-tracking'
                '</login><password>sandbox-tracking-password</password>'
                '</pos:ticketRequest></soapenv:Body></soapenv:Envelope>'
                ).encode(), headers={'Content-Type': 'text/xml'}, timeout=5)
        self.assertEqual(response.status_code, 200)
        self.assertIn('ErrorTypeID="3"', response.text)
        self.assertIn(LIMIT_REACHED, response.text)
        # the quota comes back the next Moscow day
        self.clock.advance(24 * 3600)
        self.assertTrue(self.ticket('RA123456789RU').value)

    def test_exhaust_and_hold(self):
        self.assertFalse(self.history('RA123456789RU'))
        self.control.action('exhaust_quota', service='single')
        with self.assertRaises(zeep.exceptions.Fault) as caught:
            self.history('RA123456789RU')
        self.assertIn('Превышен лимит', zeep_detail(caught.exception))
        self.assertEqual(self.control.action('quota')['single_limit'], 1)
        ticket = self.ticket('RA123456789RU').value
        self.clock.advance(900)
        self.control.action('hold_tickets', seconds=600)
        answer = self.batch.service.getResponseByTicket(ticket=ticket,
            **TRACKING_AUTH)
        self.assertEqual(answer.error.ErrorTypeID, 6)
        self.clock.advance(600)
        answer = self.batch.service.getResponseByTicket(ticket=ticket,
            **TRACKING_AUTH)
        self.assertEqual(answer.value.Item[0].Error[0].ErrorTypeID, 12)

    def test_histories_move_with_the_clock(self):
        barcode = self.control.action('seed_parcel', index_from='109012',
            index_to='630099')['barcode']
        self.control.action('settings', auto_advance=3600)
        self.assertFalse(self.history(barcode))
        self.clock.advance(3 * 3600 + 10)
        records = self.history(barcode)
        self.assertEqual(len(records), 3)
        dates = [r.OperationParameters.OperDate for r in records]
        self.assertEqual(dates, sorted(dates))
        # dated when due, not when read
        self.assertEqual((dates[1] - dates[0]).total_seconds(), 3600)
        self.clock.advance(30 * 3600)
        records = self.history(barcode)
        last = records[-1].OperationParameters
        self.assertEqual((last.OperType.Id, last.OperAttr.Id), (2, 1))
        self.assertEqual(len(records), 8)

    def test_finance_only_when_known(self):
        [order_id] = self.call('PUT', '/1.0/user/backlog', json=[order(
                    payment=150000, **{'insr-value': 200000, 'mail-category':
                        'WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY'})]).json()[
            'result-ids']
        barcode = self.call('GET', f'/1.0/backlog/{order_id}').json()[
            'barcode']
        self.control.action('advance_parcel', barcode=barcode)
        [record] = self.history(barcode)
        finance = record.FinanceParameters
        self.assertEqual((finance.Payment, finance.Value, finance.AirRate,
                finance.CustomDuty), (150000, 200000, None, 0))
        self.assertGreater(finance.MassRate, 0)


def zeep_detail(fault):
    return ''.join(fault.detail.itertext()) if fault.detail is not None else (
        fault.message)


if __name__ == '__main__':
    unittest.main()
