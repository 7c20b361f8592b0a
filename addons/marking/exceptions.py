from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class MarkingCodeError(ValidationError):
    "A code that cannot mark its unit: nothing is stored"


class MarkingDocumentError(UserError):
    pass
