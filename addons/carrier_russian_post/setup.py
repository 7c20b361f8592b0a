"Connections for the demo: Otpravka and tracking against the sandbox"
from trytond.pool import PoolMeta
from trytond.transaction import without_check_access

from .system import SYSTEM, TRACKING


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    @classmethod
    def russian_post_configure_sandbox(cls, url, credentials,
            shipping_point='109012'):
        """Point both Russian Post connections at the simulator.

        url is the simulator's base URL (it serves Otpravka and the two
        tracking services); credentials are its ``credentials`` control's
        answer (access_token, login, password, tracking_login,
        tracking_password)."""
        with without_check_access():
            for code, name, values in (
                    (SYSTEM, "Почта России (песочница)", {
                            'token': credentials['access_token'],
                            'login': credentials['login'],
                            'password': credentials['password'],
                            'russian_post_shipping_point': shipping_point}),
                    (TRACKING, "Почта России: отслеживание (песочница)", {
                            'login': credentials['tracking_login'],
                            'password': credentials['tracking_password'],
                            'russian_post_batch': True})):
                values = {'base_url': url.rstrip('/'), **values}
                systems = cls.search([('code', '=', code)], limit=1)
                if systems:
                    cls.write(systems, values)
                else:
                    cls.create([{'code': code, 'name': name,
                                'environment': 'test', **values}])
