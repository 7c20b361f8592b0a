"""Chestny Znak True API client (plain Python, no Tryton): sign-in for a
Bearer token, code information, documents (withdrawal, return)."""
import base64
import json
import threading
import time

from trytond.modules.hub_sync.errors import PermanentError, TransientError
from trytond.modules.hub_sync.http import HttpClient

V3 = '/api/v3/true-api'
V4 = '/api/v4/true-api'
TOKEN_MARGIN = 600      # seconds: a token is renewed this long before expiry
TOKEN_LIFETIME = 10 * 3600
# (base URL, INN) -> (token, monotonic expiry): one sign-in per 10 hours
_tokens = {}
_tokens_lock = threading.Lock()


class ChestnyZnakClient(HttpClient):
    """signer(data: str) -> base64 attached signature of the data;
    detached(content: bytes) -> base64 detached signature of a document"""

    def __init__(self, base_url, timeout, inn, signer, detached):
        super().__init__(base_url, timeout, headers={'Accept': '*/*'})
        self.inn = inn
        self.signer = signer
        self.detached = detached

    def reason(self, response):
        "error_message of a JSON body; 401 comes as XML"
        try:
            body = response.json()
        except ValueError:
            return super().reason(response)
        if isinstance(body, dict) and body.get('error_message'):
            return body['error_message']
        return super().reason(response)

    # -- authentication ------------------------------------------------------
    def token(self, renew=False):
        key = (self.base_url, self.inn)
        with _tokens_lock:
            token, expires = _tokens.get(key, (None, 0))
            if renew or not token or expires <= time.monotonic():
                token = self.sign_in()
                _tokens[key] = (token, time.monotonic() + TOKEN_LIFETIME
                    - TOKEN_MARGIN)
        return token

    def sign_in(self):
        challenge = self.request('GET', V3 + '/auth/key').json()
        answer = self.request('POST', V3 + '/auth/simpleSignIn', json={
                'uuid': challenge['uuid'],
                'data': self.signer(challenge['data'])}).json()
        return answer['token']

    def authorized(self, method, path, **kwargs):
        "A call with the Bearer token; a stale token is renewed once"
        for renew in (False, True):
            headers = {'Authorization': f'Bearer {self.token(renew)}'}
            try:
                return self.request(method, path, headers=headers, **kwargs)
            except PermanentError as error:
                if error.status != 401 or renew:
                    raise

    # -- calls ---------------------------------------------------------------
    def cises_info(self, codes, group=None):
        """[{'cisInfo': {...}, 'errorCode'?: ..., 'errorMessage'?: ...}]
        per code; «not found» for every code is an answer, not an error"""
        params = {'pg': group} if group else None
        try:
            response = self.authorized('POST', V3 + '/cises/info',
                params=params, json=list(codes))
        except PermanentError as error:
            if error.status == 404 and error.body.strip().startswith('['):
                return json.loads(error.body)
            raise
        return response.json()

    def create_document(self, group, doc_type, document):
        "Send a JSON document; returns the registry's document id"
        content = json.dumps(document, ensure_ascii=False).encode()
        response = self.authorized('POST', V3 + '/lk/documents/create',
            params={'pg': group}, json={
                'document_format': 'MANUAL',
                'product_document': base64.b64encode(content).decode(),
                'type': doc_type,
                'signature': self.detached(content)})
        return response.text.strip().strip('"')

    def document_info(self, doc_id, group):
        "The document's {'status', 'errors', …}"
        body = self.authorized('GET', V4 + f'/doc/{doc_id}/info',
            params={'pg': group}).json()
        document = body[0] if isinstance(body, list) else body
        if not isinstance(document, dict) or 'status' not in document:
            raise TransientError('Честный знак вернул документ без статуса')
        return document
