"Connections to external systems: one record per system, with credentials"
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import without_check_access

from .exceptions import SystemDuplicate, SystemMissing


class System(DeactivableMixin, ModelSQL, ModelView):
    "External System"
    __name__ = 'hub_sync.system'

    # Bridges append their code in __setup__ (see README.md)
    code = fields.Selection([], "System", required=True)
    name = fields.Char("Name", required=True)
    environment = fields.Selection([
            ('test', "Test"),
            ('production', "Production"),
            ], "Environment", required=True)
    base_url = fields.Char("Base URL")
    login = fields.Char("Login")
    password = fields.Char("Password")
    token = fields.Char("Token")
    secret = fields.Char("Secret",
        help="Shared secret of the webhooks or of the signature.")
    timeout = fields.Integer("Timeout", required=True,
        domain=[('timeout', '>', 0)], help="In seconds.")
    max_attempts = fields.Integer("Attempts", required=True,
        domain=[('max_attempts', '>', 0)],
        help="After that many failed attempts a message is given up and "
        "flagged for attention in the sync journal; replay it by hand once "
        "the cause is fixed.")

    @staticmethod
    def default_environment():
        return 'test'

    @staticmethod
    def default_timeout():
        return 10

    @staticmethod
    def default_max_attempts():
        return 10

    @classmethod
    def get(cls, code):
        "The active connection of system code, credentials loaded"
        with without_check_access():
            systems = cls.search([('code', '=', code)], limit=1)
            if not systems:
                raise SystemMissing(gettext('hub_sync.msg_system_missing',
                        system=cls.label(code)))
            system, = systems
            # Load the secrets now: the caller may run with access checks
            system.password
        return system

    @classmethod
    def label(cls, code):
        "The name of a system code as the user reads it"
        return dict(cls.codes()).get(code, code)

    @classmethod
    def codes(cls):
        "The translated selection of codes, for the other models' fields"
        with without_check_access():
            return cls.fields_get(['code'])['code']['selection']

    @classmethod
    def validate(cls, systems):
        super().validate(systems)
        for system in systems:
            system.check_unique_active()

    def check_unique_active(self):
        if not self.active:
            return
        others = self.search([
                ('code', '=', self.code), ('id', '!=', self.id)], limit=1)
        if others:
            raise SystemDuplicate(gettext('hub_sync.msg_system_duplicate',
                    system=self.label(self.code)))


class SystemMixin:
    "A system code field, for the outbox, the inbox and the journal"
    __slots__ = ()
    system = fields.Selection('get_systems', "System", required=True,
        readonly=True)
    system_string = system.translated('system')

    @classmethod
    def get_systems(cls):
        return Pool().get('hub_sync.system').codes()
