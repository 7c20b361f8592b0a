"""Small helpers every module of the hub shares; no models.

A module of its own so that the business modules (``order_hub``…) and the
integration infrastructure (``hub_sync``) can share them without depending on
each other."""
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool

__all__ = ['utcnow', 'model_selection', 'is_whole_positive']


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
