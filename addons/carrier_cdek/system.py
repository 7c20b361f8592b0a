"""The CDEK connection: Account as the login, Secure password as the
password, the API root with its version as the base URL."""
from trytond.pool import PoolMeta

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
