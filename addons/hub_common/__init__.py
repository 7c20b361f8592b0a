"""Small helpers every module of the hub shares; no models.

A module of its own so that the business modules (``order_hub``…) and the
integration infrastructure (``hub_sync``) can share them without depending on
each other."""
import datetime as dt
import re
from decimal import Decimal

from trytond.pool import Pool

__all__ = ['utcnow', 'model_selection', 'is_whole_positive',
    'normalise_phone']


def utcnow():
    "Now in UTC, naive, as Tryton stores DateTime fields"
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def model_selection():
    "The selection of a Reference field that may point at any model"
    return [(None, '')] + Pool().get('ir.model').get_name_items()


def is_whole_positive(quantity):
    "A quantity of pieces: a whole number above zero"
    return quantity is not None and quantity > 0 and (
        Decimal(quantity) == int(quantity))


def normalise_phone(phone):
    """A phone number as +<digits>, Russian numbers with +7: «8 (916)
    123-45-67», «+7 916 1234567» and «9161234567» are all «+79161234567»;
    None without a digit.  What telephony, the CRM and the order search
    compare."""
    digits = re.sub(r'\D', '', phone or '')
    if len(digits) == 11 and digits[0] in '78':
        digits = '7' + digits[1:]
    elif len(digits) == 10:
        digits = '7' + digits
    return '+' + digits if digits else None
