from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class ConfigurationProblem:
    """A UserError of our own configuration (not of the content): a message
    failing on it is retried, the administrator may fix it meanwhile"""


class SystemMissing(ConfigurationProblem, UserError):
    pass


class SystemDuplicate(ValidationError):
    pass


class JournalReadOnly(AccessError):
    pass
