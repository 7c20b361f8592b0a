"The SMS gateway simulator"
import uuid

import requests

from sandbox.sms import SmsSimulator


def test_send_once_per_key_and_read_back():
    sim = SmsSimulator()
    url = sim.start()
    try:
        auth = {'Authorization': f'Bearer {sim.token}'}
        key = uuid.uuid4().hex
        body = {'to': '79161234567', 'text': 'Заказ №1: к оплате 100 ₽',
            'sender': 'Shop'}
        first = requests.post(url + '/v1/messages', json=body,
            headers={**auth, 'Idempotency-Key': key}, timeout=5).json()
        again = requests.post(url + '/v1/messages', json=body,
            headers={**auth, 'Idempotency-Key': key}, timeout=5).json()
        assert first == again and first['status'] == 'accepted'
        assert sim.list_messages(to='79161234567') == [first]
        read = requests.get(f"{url}/v1/messages/{first['id']}",
            headers=auth, timeout=5).json()
        assert read['status'] == 'delivered'
        bad = requests.post(url + '/v1/messages', json={'to': '+7 916',
                'text': 'x'}, headers=auth, timeout=5)
        assert bad.status_code == 400
        assert bad.json()['error']['code'] == 'invalid_phone'
        unauthorized = requests.post(url + '/v1/messages', json=body,
            timeout=5)
        assert unauthorized.status_code == 401
    finally:
        sim.stop()
