"""Shared machinery of the integrations: connections, outbox, inbox, journal.

See README.md for the API used by the bridges."""
