"Append-only rows (action log, movement log) written in bulk."
import datetime as dt

from sql import Column

from trytond.tools import grouped_slice
from trytond.transaction import Transaction


def append_rows(Model, vlist):
    """Insert rows of an append-only log with one statement per batch.

    The values are made by our own code and the rows are never changed, so
    the ORM's per-record work (validation, caches, triggers) is skipped: a
    reservation of a few lines writes dozens of log rows."""
    if not vlist:
        return
    table = Model.__table__()
    columns = sorted(vlist[0])
    user = Transaction().user
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    cursor = Transaction().connection.cursor()
    # a few hundred rows per statement stay under SQLite's parameter limit
    for batch in grouped_slice(vlist, 200):
        cursor.execute(*table.insert(
                [Column(table, c) for c in columns]
                + [table.create_uid, table.create_date],
                [[v[c] for c in columns] + [user, now] for v in batch]))
