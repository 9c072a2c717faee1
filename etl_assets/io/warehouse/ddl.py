"""Table structure: create a table from an output's column types, add the columns it
gains, and refuse a column whose type no longer fits. Plus the lock wait that every
DDL statement here is bounded by.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
from psycopg2 import errors as pg_errors
from psycopg2 import sql

from etl_assets.io.warehouse.sql_types import fits
from etl_assets.io.warehouse.tables import TableRef

# How long DDL (ADD COLUMN, the swap's DROP) waits for readers' locks before the step fails
# (and is retried): while it waits, new readers of the table queue behind it.
LOCK_TIMEOUT_SECONDS = 30.0


def existing_columns(cursor, ref: TableRef) -> dict[str, str] | None:
    """Column name -> type of the table, in table order; None when there is no table."""
    cursor.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (ref.schema, ref.name),
    )
    rows = cursor.fetchall()
    return dict(rows) if rows else None


def new_columns(
    ref: TableRef, existing: Mapping[str, str], wanted: Mapping[str, str | None]
) -> dict[str, str]:
    """The frame's columns the table lacks; a Failure when a column's type no longer fits."""
    clashes = [
        f"'{name}' is {existing[name]} in the table but {wanted[name]} in the output"
        for name in wanted
        if name in existing and not fits(wanted[name], existing[name])
    ]
    if clashes:
        raise dg.Failure(
            description=(
                f"Table {ref} cannot take this output: column {'; column '.join(clashes)}. "
                "The warehouse never changes a column's type by itself: cast the column back "
                "in the asset, or migrate the table (ALTER TABLE ... TYPE) and re-run."
            ),
            metadata={"table": str(ref), "columns": [c.split("'")[1] for c in clashes]},
            allow_retries=False,
        )
    return {name: kind or "text" for name, kind in wanted.items() if name not in existing}


def _column_definitions(columns: Mapping[str, str]) -> sql.Composable:
    # Type names come from our own mappings, never from the frame: safe as SQL.
    return sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
        for name, kind in columns.items()
    )


def ensure_table(
    cursor,
    ref: TableRef,
    wanted: Mapping[str, str | None],
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> list[str]:
    """Create the table, or add the frame's new columns; return the names of added columns.

    Concurrent writers of one schema take turns (advisory lock), so two runs adding the
    same column do not collide.
    """
    existing = existing_columns(cursor, ref)
    if existing is not None and not new_columns(ref, existing, wanted):
        return []
    limit_lock_wait(cursor, lock_timeout)
    cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (ref.schema,))
    cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(ref.schema)))
    existing = existing_columns(cursor, ref)  # again: another writer may have just changed it
    if existing is None:
        columns = {name: kind or "text" for name, kind in wanted.items()}
        cursor.execute(
            sql.SQL("CREATE TABLE {} ({})").format(ref.identifier, _column_definitions(columns))
        )
        return []
    added = new_columns(ref, existing, wanted)
    for name, kind in added.items():
        cursor.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {}").format(
                ref.identifier, _column_definitions({name: kind})
            )
        )
    return list(added)


def limit_lock_wait(cursor, seconds: float) -> None:
    # set_config(..., true) is SET LOCAL: it ends with the transaction.
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", (f"{int(seconds * 1000)}ms",))


@contextmanager
def lock_timeout_as_failure(ref: TableRef, seconds: float) -> Iterator[None]:
    try:
        yield
    except pg_errors.LockNotAvailable:
        pass
    else:
        return
    raise dg.Failure(
        description=(
            f"Waited {seconds:g} s for a lock on {ref}: other sessions (long queries, open "
            "transactions) hold it. Nothing was changed; the step is retried. If it keeps "
            "happening, look for idle-in-transaction sessions in pg_stat_activity."
        ),
        metadata={"table": str(ref)},
        allow_retries=True,
    )
