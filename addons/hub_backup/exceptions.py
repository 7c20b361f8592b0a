from trytond.exceptions import UserError


class RestoreRefused(UserError):
    pass
