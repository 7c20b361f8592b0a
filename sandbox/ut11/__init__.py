"""Simulator of 1C:Управление торговлей 11 through its standard OData interface.

Follows /work/shared/docs/external/ut11.md: ``/<publication>/odata/
standard.odata/<EntitySet>`` with Cyrillic entity names, HTTP Basic auth,
``guid'…'`` keys, ``DataVersion``, ``Post``/``Unpost`` bound actions and
``odata.error`` bodies.  Stock is kept in a small ledger so that posting
documents moves it: customer orders reserve, transfers move, sales write
off and release the reserve, returns put stock back.  See notes/ut11.md.

One module per resource: ``service`` (HTTP, OData reads and writes),
``catalogue``, ``stock`` (ledger, Balance, Turnovers), ``documents``
(posting), ``control`` (control actions); ``odata`` is the protocol,
``metadata`` what the base publishes, ``storage`` rows and identifiers.
"""
from .catalogue import demo_dataset
from .odata import EMPTY_DATE, EMPTY_REF
from .simulator import UT11Simulator
from .storage import new_ref, stable_ref

__all__ = ['UT11Simulator', 'demo_dataset', 'stable_ref', 'new_ref',
    'EMPTY_REF', 'EMPTY_DATE']
