from trytond.exceptions import UserError


class ShipmentError(UserError):
    pass


class CarrierError(UserError):
    pass
