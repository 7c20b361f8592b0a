# This file is part of the order hub.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""CDEK (СДЭК) for the shipments module: the API v2 client, the webhook
parser and the connection.  See README.md."""

from . import routes  # noqa: F401,E402  (registers the webhook route)
