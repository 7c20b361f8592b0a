"""Rows written with plain SQL, in batches.

For data our own code makes and checks: append-only logs (the action and
movement logs) and what 1C UT11 owns (a full load writes hundreds of
thousands of products and millions of stock rows).  The ORM's per-record
work — validation, read-back, caches — costs more than the write itself
there.  Whoever calls these owns the checks the ORM would have made.
"""
from itertools import chain, groupby, islice

from sql import Column, Literal
from sql.conditionals import Case
from sql.operators import Any

from trytond import backend

from trytond.model import dualmethod
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from trytond.modules.hub_common import utcnow

# SQLite binds at most 32766 parameters per statement
MAX_PARAMETERS = 30000
# fewer rows go in as one INSERT on PostgreSQL: COPY costs a round trip more
COPY_FROM = 100


def _now():
    return utcnow()


def batched(iterable, size):
    """Lists of up to size items, without reading iterable ahead
    (grouped_slice makes a list of all of it first)"""
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def in_(column, values):
    """column IN values; on PostgreSQL = ANY(array): one parameter, where a
    list of thousands costs more to parse and plan than to run"""
    values = list(values)
    if backend.Database.has_array():
        return column == Any(values)
    return column.in_(values)


def insert_rows(Model, vlist, returning=None):
    """Insert vlist (dicts with the same keys) into Model's table.

    create_uid and create_date are filled in.  With returning (a unique
    column), returns [(id, value of that column)] of the new rows."""
    if not vlist:
        return []
    columns = sorted(vlist[0])
    insert_values(Model, columns, ([v[c] for c in columns] for v in vlist))
    if not returning:
        return []
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    result = []
    key = Column(table, returning)
    for batch in grouped_slice([v[returning] for v in vlist],
            MAX_PARAMETERS):
        cursor.execute(*table.select(table.id, key,
                where=in_(key, batch)))
        result.extend(cursor)
    return result


def insert_values(Model, columns, rows):
    """Insert rows (sequences of values in the order of columns).

    PostgreSQL takes them through COPY, SQLite as one prepared statement
    executed many times (a statement of many rows costs more to parse than
    to run); a few rows (a reservation's log) go in as one INSERT.
    create_uid and create_date are filled in."""
    table = Model.__table__()
    user, now = Transaction().user, _now()
    rows = iter(rows)
    head = [[*row, user, now] for row in islice(rows, COPY_FROM)]
    if not head:
        return
    cursor = Transaction().connection.cursor()
    columns = [Column(table, c) for c in columns] + [
        table.create_uid, table.create_date]
    if backend.name == 'postgresql':
        if len(head) < COPY_FROM:
            insert_unnest(Model, [c.name for c in columns], head)
            return
        # COPY: several times faster than any INSERT for thousands of rows
        names = ', '.join(f'"{c.name}"' for c in columns)
        with cursor.copy(
                f'COPY "{Model._table}" ({names}) FROM STDIN') as copy:
            for row in chain(head, ([*row, user, now] for row in rows)):
                copy.write_row(row)
    else:
        query, _ = tuple(table.insert(columns,
                [[Literal(None)] * len(columns)]))
        cursor.executemany(query, chain(head,
                ([*row, user, now] for row in rows)))


def insert_unnest(Model, columns, rows, returning=()):
    """PostgreSQL: insert rows with INSERT … SELECT FROM unnest(one array
    per column); returns the rows of returning (column names).

    The statement's text does not depend on the number of rows, so psycopg
    and PostgreSQL parse and plan it once per connection instead of once
    per call (a VALUES list of a few dozen rows costs more to parse and
    plan than to insert)."""
    names = ', '.join(f'"{c}"' for c in columns)
    arrays = ', '.join(f'%s::{Model._fields[c].sql_type().base}[]'
        for c in columns)
    query = (f'INSERT INTO "{Model._table}" ({names}) '
        f'SELECT * FROM unnest({arrays})')
    if returning:
        query += ' RETURNING ' + ', '.join(f'"{c}"' for c in returning)
    cursor = Transaction().connection.cursor()
    cursor.execute(query, [list(column) for column in zip(*rows)])
    return cursor.fetchall() if returning else []


def update_column(Model, column, values):
    """Set column to values {id: value}, nothing else (no write_date):
    on PostgreSQL one UPDATE … FROM unnest, the same text for any number
    of rows; elsewhere one UPDATE with a CASE per batch"""
    if not values:
        return
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    if backend.name == 'postgresql':
        type_ = Model._fields[column].sql_type().base
        cursor.execute(f'UPDATE "{Model._table}" AS t SET "{column}" = v.value '
            f'FROM unnest(%s::INT4[], %s::{type_}[]) AS v (id, value) '
            'WHERE t.id = v.id', [list(values), list(values.values())])
        return
    target = Column(table, column)
    for part in batched(values.items(), 300):
        cursor.execute(*table.update([target],
                [Case(*((table.id == id_, value) for id_, value in part),
                        else_=target)],
                where=table.id.in_([id_ for id_, _ in part])))


def update_rows(Model, columns, rows):
    """Set columns for rows [(id, [value per column])]; write_uid and
    write_date are filled in.

    PostgreSQL: one UPDATE … FROM unnest(one array per column) per batch
    of rows (a full stock refresh rewrites hundreds of thousands of
    levels); SQLite: one prepared statement executed many times."""
    if not rows:
        return
    table = Model.__table__()
    user, now = Transaction().user, _now()
    cursor = Transaction().connection.cursor()
    if backend.name == 'postgresql':
        names = ['id', *columns]
        types = ['INT4'] + [Model._fields[c].sql_type().base for c in columns]
        sets = ', '.join(f'"{c}" = v."{c}"' for c in columns)
        query = (f'UPDATE "{Model._table}" AS t SET {sets}, '
            '"write_uid" = %s, "write_date" = %s '
            'FROM unnest(' + ', '.join(f'%s::{t}[]' for t in types) + ') '
            'AS v (' + ', '.join(f'"{c}"' for c in names) + ') '
            'WHERE t.id = v.id')
        # one value per row, the last, as statements run in turn would
        for part in batched(dict(rows).items(), 10000):
            arrays = [[id_ for id_, _ in part]] + [list(column)
                for column in zip(*(values for _, values in part))]
            cursor.execute(query, [user, now, *arrays])
        return
    query, _ = tuple(table.update(
            [Column(table, c) for c in columns]
            + [table.write_uid, table.write_date],
            [Literal(None)] * (len(columns) + 2),
            where=table.id == Literal(0)))
    cursor.executemany(query, [
            (*values, user, now, id_) for id_, values in rows])


def clear_cache(Model, ids=None):
    """Drop what the transaction cached of Model's records (all when None);
    records already instantiated re-read too, as after an ORM write"""
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        cached = cache.get(Model.__name__)
        if cached is None:
            continue
        if ids is None:
            cached.clear()
        else:
            for id_ in ids:
                cached.pop(id_, None)


class ModelLogInBulk:
    """The model's ir.model.log rows (transitions, buttons, logged writes)
    written with one INSERT when they happen, like the hub's own logs.

    Tryton keeps them in the transaction and creates them through the ORM
    at commit, which reads and access-checks every record they name again:
    for an order's transition, several queries and more time than the
    commit itself.  The rows are the same."""
    __slots__ = ()

    @dualmethod
    def log(cls, records, event, target=None, user=None, **extra):
        if not cls._log or not records:
            return
        Log = Pool().get('ir.model.log')
        columns = ['resource', 'event', 'target', 'user', *extra]
        for transaction, part in groupby(records, lambda r: r._transaction):
            with Transaction().set_current_transaction(transaction):
                who = transaction.user if user is None else user
                insert_values(Log, columns, [
                        [str(r), event, target, who, *extra.values()]
                        for r in part if r.id >= 0])
