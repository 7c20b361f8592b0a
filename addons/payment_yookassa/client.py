"""YooKassa API v3 through the official SDK (``yookassa``), no Tryton.

The SDK keeps its credentials in a process-wide ``Configuration`` and sends
requests without a timeout; ``HubApiClient`` takes the connection's
credentials per instance, applies the timeout and turns failures into the
errors of ``hub_sync.errors`` (202, 429, 5xx and the network: transient;
other 4xx: a refusal with YooKassa's description).  Requests are validated
by the SDK's request models before they leave.
"""
import requests
from yookassa.client import ApiClient
from yookassa.domain.common import HttpVerb, UserAgent
from yookassa.domain.request import (
    CapturePaymentRequest, PaymentRequest, ReceiptRequest, RefundRequest)

from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)
from trytond.modules.hub_sync.http import excerpt, retry_after

API_URL = 'https://api.yookassa.ru/v3'


class HubApiClient(ApiClient):
    "The SDK's client with per-instance credentials and a timeout"

    def __init__(self, api_url, shop_id, secret_key, timeout):
        self.endpoint = api_url.rstrip('/')
        self.shop_id = shop_id
        self.shop_password = secret_key
        self.auth_token = None
        self.timeout = timeout
        self.max_attempts = 1
        self.user_agent = UserAgent()
        self.verify = True

    def request(self, method='', path='', query_params=None, headers=None,
            body=None):
        if body is not None and not isinstance(body, dict):
            try:
                body.validate()
            except ValueError as error:
                # our data breaks YooKassa's rules: refused as YooKassa would
                raise PermanentError(f'{error}',
                    detail=f'{method} {path}: {error}') from error
            body = dict(body)
        url = self.endpoint + path
        try:
            response = requests.request(method, url, params=query_params,
                headers=self.prepare_request_headers(headers), json=body,
                timeout=self.timeout)
        except (requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL) as error:
            raise ConfigurationError(f'{method} {url}: {error}') from error
        except requests.RequestException as error:
            raise TransientError(
                f'ЮKassa не ответила: {method} {url} ({excerpt(str(error), 200)})',
                detail=f'{method} {url}\n{error}') from error
        self.check(response, method, url, body)
        return response.json()

    @staticmethod
    def check(response, method, url, body):
        status = response.status_code
        if status == 200:
            return
        try:
            data = response.json()
        except ValueError:
            data = {}
        reason = data.get('description') or f'HTTP {status}'
        if data.get('parameter'):
            reason += f" ({data['parameter']})"
        detail = (f'{method} {url}\n{excerpt(str(body))}\n-> {status}\n'
            f'{excerpt(response.text)}')
        values = {'status': status, 'body': response.text, 'detail': detail}
        if status == 202 or status == 429 or status >= 500:
            # the outcome is unknown: the same key and body later
            wait = data.get('retry_after')
            raise TransientError(f'ЮKassa: {reason}',
                retry_after=(wait / 1000 if wait else retry_after(response)),
                **values)
        raise PermanentError(reason, **values)


class YooKassaClient:
    "One method per call the hub makes; answers are the API's JSON objects"

    def __init__(self, api_url, shop_id, secret_key, timeout=10):
        self.api = HubApiClient(api_url or API_URL, shop_id, secret_key,
            timeout)

    def _post(self, path, key, body=None):
        return self.api.request(HttpVerb.POST, path,
            headers={'Idempotence-Key': key}, body=body)

    def _get(self, path, params=None):
        return self.api.request(HttpVerb.GET, path, query_params=params)

    def create_payment(self, key, data):
        return self._post('/payments', key, PaymentRequest(data))

    def get_payment(self, payment_id):
        return self._get(f'/payments/{payment_id}')

    def capture_payment(self, payment_id, key, data=None):
        body = CapturePaymentRequest(data) if data else None
        return self._post(f'/payments/{payment_id}/capture', key, body)

    def cancel_payment(self, payment_id, key):
        return self._post(f'/payments/{payment_id}/cancel', key)

    def create_refund(self, key, data):
        return self._post('/refunds', key, RefundRequest(data))

    def get_refund(self, refund_id):
        return self._get(f'/refunds/{refund_id}')

    def create_receipt(self, key, data):
        return self._post('/receipts', key, ReceiptRequest(data))

    def get_receipt(self, receipt_id):
        return self._get(f'/receipts/{receipt_id}')

    def list_receipts(self, payment_id=None, refund_id=None):
        params = {'payment_id': payment_id} if payment_id else {
            'refund_id': refund_id}
        return self._get('/receipts', params)['items']
