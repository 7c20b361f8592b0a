"""A remote shop for the tests: a sandbox simulator and its client.

It creates one order per idempotency key, and refuses with a reason on
demand; the sandbox's faults make it fail, slow down or drop connections.
"""
from flask import jsonify, request

from sandbox.core import Simulator
from trytond.modules.hub_sync.http import HttpClient

CODE = 'test_shop'


class ShopSimulator(Simulator):
    name = CODE

    def init_state(self):
        self.orders = {}
        self.refusal = None

    def register(self, app):
        @app.post('/orders')
        def create_order():
            if self.refusal:
                return jsonify({'error': self.refusal}), 422
            key = request.headers['Idempotency-Key']
            with self.lock:
                number = self.orders.setdefault(
                    key, f'R-{len(self.orders) + 1}')
            return jsonify({'id': number}), 201

        @app.get('/limited')
        def limited():
            return jsonify({'error': 'slow down'}), 429, {'Retry-After': '120'}


class ShopClient(HttpClient):

    def reason(self, response):
        try:
            return response.json()['error']
        except (ValueError, KeyError, TypeError):
            return super().reason(response)

    def create_order(self, key, payload):
        response = self.request('POST', '/orders', json=payload,
            headers={'Idempotency-Key': key})
        return response.json()['id']

