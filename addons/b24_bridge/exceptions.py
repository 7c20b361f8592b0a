from trytond.exceptions import UserError


class EditRefused(UserError):
    "A manager's edit in Bitrix24 the hub does not accept"
