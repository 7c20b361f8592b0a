"""The Chestny Znak connection: URL (the stand, up to /api), INN as the
login, the signing secret; the outbox's marking messages."""
import base64
import hashlib
import hmac

from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .client import ChestnyZnakClient

SANDBOX_SECRET = 'sandbox-chestny-znak-secret'
SANDBOX_INN = '7701234567'


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append(('chestny_znak', "Chestny Znak"))

    @classmethod
    def marking_client(cls):
        system = cls.get('chestny_znak')
        return ChestnyZnakClient(system.base_url, system.timeout,
            system.login, system.marking_sign_attached,
            system.marking_sign_detached)

    # A real stand wants a GOST УКЭП (CAdES, attached for the sign-in,
    # detached for documents): a deployment overrides these two methods
    # with its signing service (CryptoPro).  Here: the sandbox's TEST
    # scheme, HMAC-SHA256 with the connection's secret.
    def marking_sign_attached(self, data):
        content = data.encode()
        mac = hmac.new(self.secret.encode(), content, hashlib.sha256)
        return base64.b64encode(content + b'.' + mac.hexdigest().encode()
            ).decode()

    def marking_sign_detached(self, content):
        mac = hmac.new(self.secret.encode(), content, hashlib.sha256)
        return base64.b64encode(mac.hexdigest().encode()).decode()

    @classmethod
    def marking_configure_sandbox(cls, url, inn=SANDBOX_INN,
            secret=SANDBOX_SECRET):
        "Point the chestny_znak connection at the sandbox's simulator"
        values = {'base_url': url.rstrip('/'), 'login': inn,
            'secret': secret}
        with without_check_access():
            systems = cls.search([('code', '=', 'chestny_znak')], limit=1)
            if systems:
                cls.write(systems, values)
            else:
                cls.create([{'code': 'chestny_znak', 'environment': 'test',
                            'name': "Честный знак (песочница)", **values}])


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            'marking_check': 'marking.msg_operation_check',
            'marking_document': 'marking.msg_operation_document',
            'marking_document_status': 'marking.msg_operation_document_status',
            }

    def send_marking_check(self):
        return self.record.marking_check(self)

    def send_marking_document(self):
        return self.record.marking_send(self)

    def send_marking_document_status(self):
        return self.record.marking_poll(self)
