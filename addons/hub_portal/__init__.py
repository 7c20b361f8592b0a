"""The shop's portal: phone pages served by the hub (see README.md)."""
from . import routes  # noqa: F401 (registers the routes)
