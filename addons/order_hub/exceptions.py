from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class OrderNotEditable(AccessError):
    pass


class OrderDeleteError(AccessError):
    pass


class ActionLogReadOnly(AccessError):
    pass


class LineValidationError(ValidationError):
    pass


class PromoCodeError(UserError):
    pass


class PricingUnavailable(UserError):
    pass


class ReservationError(UserError):
    pass


class ReservationReadOnly(AccessError):
    pass


class TransferError(UserError):
    pass
