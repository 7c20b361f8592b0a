"""The CDEK connection: Account as the login, Secure password as the
password, the API root with its version as the base URL."""
from trytond.pool import PoolMeta
from trytond.transaction import without_check_access

from .client import API_URL, CdekClient

SYSTEM = 'cdek'


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append((SYSTEM, "CDEK"))

    def cdek_client(self):
        "The API v2 client of this connection (tokens shared in the process)"
        return CdekClient(self.base_url or API_URL, self.login,
            self.password, timeout=self.timeout or 10)

    @classmethod
    def cdek_configure_sandbox(cls, cdek_url, client_id, client_secret):
        """Point the cdek connection at the sandbox's simulator
        (``cdek_url`` its base URL, http://127.0.0.1:8101) with the account
        it accepts (its ``credentials`` control action tells)"""
        values = {'name': "СДЭК (песочница)", 'environment': 'test',
            'base_url': cdek_url.rstrip('/') + '/v2', 'login': client_id,
            'password': client_secret}
        with without_check_access():
            systems = cls.search([('code', '=', SYSTEM)], limit=1)
            if systems:
                cls.write(systems, values)
            else:
                cls.create([{'code': SYSTEM, **values}])
