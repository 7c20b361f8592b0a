from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class PaymentError(UserError):
    pass


class RefundError(UserError):
    pass


class ReceiptError(UserError):
    pass


class PaymentReadOnly(AccessError):
    pass
