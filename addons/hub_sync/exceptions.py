from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class SystemMissing(UserError):
    pass


class SystemDuplicate(ValidationError):
    pass


class JournalReadOnly(AccessError):
    pass
