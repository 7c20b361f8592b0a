"""SMS gateway simulator: the hub's provider-neutral SMS contract.

``POST /v1/messages`` with ``Authorization: Bearer <token>``, an optional
``Idempotency-Key`` and ``{"to": "79161234567", "text": "…", "sender":
"Shop"}`` → 200 ``{"id", "status": "accepted", "to", "parts"}``; the same
key again returns the first answer and sends nothing more.  ``GET
/v1/messages/<id>`` → the message with ``status`` ``delivered``.  Errors:
``{"error": {"code", "message"}}`` with 401 (token), 400 (bad number or
text).  Control: ``messages`` lists what was sent (a phone's inbox).
See sandbox/notes/sms.md.
"""
import re
import uuid

from flask import jsonify, request

from sandbox.core import Simulator, control, route

PHONE_RE = re.compile(r'^\d{11,15}$')
PART = 70        # characters of a Cyrillic SMS part (UCS-2)


def error(status, code, message):
    return jsonify({'error': {'code': code, 'message': message}}), status


class SmsSimulator(Simulator):
    name = 'sms'
    default_port = 8108
    title = 'SMS-шлюз (симулятор)'

    def init_state(self):
        self.token = 'test_sms_token'
        self.messages = []
        self.keys = {}

    def _authorized(self):
        return request.headers.get('Authorization') == f'Bearer {self.token}'

    @route('/v1/messages', methods=['POST'])
    def _send(self):
        if not self._authorized():
            return error(401, 'unauthorized', 'Invalid token')
        data = request.get_json(silent=True) or {}
        key = request.headers.get('Idempotency-Key')
        with self.lock:
            if key and key in self.keys:
                return jsonify(self.keys[key])
            to, text = str(data.get('to') or ''), data.get('text')
            if not PHONE_RE.match(to):
                return error(400, 'invalid_phone',
                    'Phone must be digits with the country code')
            if not isinstance(text, str) or not text.strip():
                return error(400, 'empty_text', 'Text is empty')
            message = {'id': uuid.uuid4().hex, 'to': to, 'text': text,
                'sender': data.get('sender'), 'status': 'accepted',
                'parts': -(-len(text) // PART)}
            self.messages.append(message)
            if key:
                self.keys[key] = message
            return jsonify(message)

    @route('/v1/messages/<mid>')
    def _get(self, mid):
        if not self._authorized():
            return error(401, 'unauthorized', 'Invalid token')
        with self.lock:
            for message in self.messages:
                if message['id'] == mid:
                    return jsonify(dict(message, status='delivered'))
        return error(404, 'not_found', 'No such message')

    @control('messages')
    def list_messages(self, to=None):
        "What was sent, oldest first (to: one phone's inbox)"
        with self.lock:
            return [m for m in self.messages if to is None or m['to'] == to]
