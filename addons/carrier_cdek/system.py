"""The CDEK connection: Account as the login, Secure password as the
password, the API root with its version as the base URL; the webhook
subscription (the connection's Secret is the token in the webhook's path:
CDEK signs nothing)."""
import secrets
from urllib.parse import quote

from trytond.config import config
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from trytond.modules.hub_sync.errors import SyncError

from .client import API_URL, CdekClient

SYSTEM = 'cdek'
WEBHOOK_TYPES = ('ORDER_STATUS', 'PRINT_FORM')


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append((SYSTEM, "CDEK"))
        cls._buttons.update({
                'cdek_subscribe': {
                    'invisible': Eval('code') != SYSTEM,
                    'depends': ['code'],
                    },
                })

    def cdek_client(self):
        "The API v2 client of this connection (tokens shared in the process)"
        return CdekClient(self.base_url or API_URL, self.login,
            self.password, timeout=self.timeout or 10)

    @classmethod
    def cdek_hub_url(cls):
        """Where CDEK reaches this hub: ``[carrier_cdek] hub_url`` of
        trytond.conf (the public address of the Tryton server), else the
        address the server listens on"""
        url = config.get('carrier_cdek', 'hub_url', default=None)
        if not url:
            listen = config.get('web', 'listen', default='localhost:8000')
            url = 'http://' + listen.replace('0.0.0.0', '127.0.0.1')
        return url.rstrip('/')

    def cdek_webhook_url(self, hub_url=None):
        "The webhook address: the database and the secret token in the path"
        database = Transaction().database.name
        return (f'{(hub_url or self.cdek_hub_url()).rstrip("/")}/'
            f'{quote(database)}/carrier_cdek/webhook/{self.secret}')

    @classmethod
    @ModelView.button
    def cdek_subscribe(cls, systems, hub_url=None):
        """«Подписаться на уведомления СДЭК»: exactly one subscription per
        type pointing at this hub (a secret token made when missing)"""
        for system in systems:
            if system.code != SYSTEM:
                continue
            if not system.secret:
                with without_check_access():
                    cls.write([system], {'secret': secrets.token_urlsafe(24)})
                system = cls(system.id)
            url = system.cdek_webhook_url(hub_url)
            try:
                client = system.cdek_client()
                for kind in WEBHOOK_TYPES:
                    client.ensure_webhook(kind, url)
            except SyncError as error:
                raise UserError(gettext('carrier_cdek.msg_cdek_unavailable',
                        error=str(error))) from error

    @classmethod
    def cdek_configure_sandbox(cls, cdek_url, client_id, client_secret,
            hub_url=None):
        """Point the cdek connection at the sandbox's simulator
        (``cdek_url`` its base URL, http://127.0.0.1:8101) with the account
        it accepts (its ``credentials`` control action tells); with
        ``hub_url`` its webhooks are subscribed too"""
        values = {'name': "СДЭК (песочница)", 'environment': 'test',
            'base_url': cdek_url.rstrip('/') + '/v2', 'login': client_id,
            'password': client_secret}
        with without_check_access():
            systems = cls.search([('code', '=', SYSTEM)], limit=1)
            if systems:
                cls.write(systems, values)
            else:
                systems = cls.create([{'code': SYSTEM, **values}])
            if hub_url:
                cls.cdek_subscribe(systems, hub_url)
