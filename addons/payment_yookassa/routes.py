"""YooKassa's HTTP notifications: checked, stored, acknowledged.

No signature exists: the sender's address must be in the connection's list
(«Уведомления с адресов»), and the handler re-reads the object from the API
before believing it.  The same body twice is stored once (YooKassa repeats
a notification until it gets 200)."""
import hashlib
import logging
from http import HTTPStatus

from trytond.protocols.wrappers import (
    Response, abort, with_pool, with_transaction)
from trytond.wsgi import app

from .system import SYSTEM

logger = logging.getLogger(__name__)


@app.route('/<database_name>/payment_yookassa/notifications',
    methods={'POST'})
@with_pool
@with_transaction(user=0)
def notification(request, pool):
    System = pool.get('hub_sync.system')
    Inbox = pool.get('hub_sync.inbox')
    system = System.get(SYSTEM)
    if not system.yookassa_allows(request.remote_addr):
        logger.warning('YooKassa notification from %s refused',
            request.remote_addr)
        abort(HTTPStatus.FORBIDDEN)
    body = request.get_data(as_text=True)
    data = request.get_json(silent=True) or {}
    event = data.get('event')
    obj = data.get('object') or {}
    if data.get('type') != 'notification' or not event or not obj.get('id'):
        abort(HTTPStatus.BAD_REQUEST)
    digest = hashlib.sha1(body.encode('utf-8')).hexdigest()[:16]
    Inbox.receive(SYSTEM, f"{event}:{obj['id']}:{digest}", event, body)
    return Response(status=HTTPStatus.OK)
