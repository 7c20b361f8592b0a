"Append-only rows (action log, movement log) written in bulk."
from .bulk import insert_rows


def append_rows(Model, vlist):
    """Insert rows of an append-only log with one statement per batch.

    The values are made by our own code and the rows are never changed, so
    the ORM's per-record work (validation, caches, triggers) is skipped: a
    reservation of a few lines writes dozens of log rows."""
    insert_rows(Model, vlist)
