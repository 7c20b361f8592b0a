from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class MappingError(ValidationError):
    pass


class SiteFileError(UserError):
    pass
