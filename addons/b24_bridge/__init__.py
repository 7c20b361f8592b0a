"""Bitrix24 CRM mirror: every hub order a deal, managers' edits back.
See README.md."""
from . import routes  # noqa: F401  (registers the events route)
