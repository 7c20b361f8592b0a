from trytond.exceptions import UserError


class ReturnError(UserError):
    pass
