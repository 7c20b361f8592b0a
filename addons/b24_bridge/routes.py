"""Bitrix24's outgoing events (an outgoing webhook or an application's
event.bind): verified by the application token, stored, acknowledged.

An event names only the deal (``data[FIELDS][ID]``); the handler reads the
deal again, so duplicated or reordered events apply the same latest state.
The same body twice is stored once; if that one was already applied, it is
applied again (a second change in the same second sends the same body)."""
import hashlib
import json
import logging
from http import HTTPStatus

from trytond.protocols.wrappers import (
    Response, abort, with_pool, with_transaction)
from trytond.wsgi import app

from .system import SYSTEM

logger = logging.getLogger(__name__)


@app.route('/<database_name>/b24_bridge/events', methods={'POST'})
@with_pool
@with_transaction(user=0)
def events(request, pool):
    System = pool.get('hub_sync.system')
    Inbox = pool.get('hub_sync.inbox')
    system = System.get(SYSTEM)
    form = request.form.to_dict()
    if not system.b24_event_allowed(form):
        logger.warning('Bitrix24 event with a wrong application token '
            'from %s refused', request.remote_addr)
        abort(HTTPStatus.UNAUTHORIZED)
    event = (form.get('event') or '').lower()
    deal = form.get('data[FIELDS][ID]')
    if not event or not deal:
        abort(HTTPStatus.BAD_REQUEST)
    # the tokens of auth[] are not kept: the hub calls with its own
    data = {k: v for k, v in form.items() if not k.startswith('auth[')}
    body = json.dumps(data, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha1(body.encode('utf-8')).hexdigest()[:16]
    stored, created = Inbox.receive(SYSTEM, f'{event}:{deal}:{digest}',
        event, body)
    if not created and stored.state == 'done':
        Inbox.replay([stored])
    return Response(status=HTTPStatus.OK)
