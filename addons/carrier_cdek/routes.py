"""CDEK's webhooks: checked, stored, acknowledged.

CDEK signs nothing and publishes no sender addresses (cdek.md §8.2): the
only check of the source is the secret token in the URL path (the
connection's «Секрет», set when subscribing), and the handler re-reads the
order from the API before believing any status.  The inbox stores one
event per (order, status, date): CDEK repeats a webhook until it gets 200."""
import hashlib
import hmac
import logging
from http import HTTPStatus

from trytond.protocols.wrappers import (
    Response, abort, with_pool, with_transaction)
from trytond.wsgi import app

from trytond.modules.hub_sync.errors import PermanentError

from .events import load_body, text_id
from .system import SYSTEM

logger = logging.getLogger(__name__)


@app.route('/<database_name>/carrier_cdek/webhook/<token>',
    methods={'POST'})
@with_pool
@with_transaction(user=0)
def webhook(request, pool, token):
    System = pool.get('hub_sync.system')
    Inbox = pool.get('hub_sync.inbox')
    system = System.get(SYSTEM)
    if not system.secret or not hmac.compare_digest(
            token.encode('utf-8'), system.secret.encode('utf-8')):
        logger.warning('CDEK webhook with a wrong token from %s',
            request.remote_addr)
        abort(HTTPStatus.FORBIDDEN)
    body = request.get_data(as_text=True)
    try:
        data = load_body(body)
    except PermanentError:
        abort(HTTPStatus.BAD_REQUEST)
    kind = str(data.get('type') or '').strip().upper()
    if not kind:
        abort(HTTPStatus.BAD_REQUEST)
    Inbox.receive(SYSTEM, webhook_event_id(kind, data, body), kind, body)
    return Response(status=HTTPStatus.OK)


def webhook_event_id(kind, data, body):
    "One inbox event per (type, order, status, date); else per body"
    attributes = data.get('attributes')
    attributes = attributes if isinstance(attributes, dict) else {}
    parts = [kind, text_id(data.get('uuid')) or '']
    if kind == 'ORDER_STATUS':
        parts += [str(attributes.get('code') or attributes.get(
                    'status_code') or ''),
            str(attributes.get('status_date_time') or '')]
    else:
        parts.append(hashlib.sha1(body.encode('utf-8')).hexdigest()[:16])
    return ':'.join(parts)[:200]
