"""Replacing what an output covers, atomically: a partitioned asset's time window
(``DELETE`` then ``COPY`` in one transaction), or an unpartitioned asset's whole table
(``COPY`` into a stage table that replaces the old one by drop + rename, in the same
transaction). Readers see the old rows or the new ones, a re-run never duplicates rows,
and a crash mid-load (even SIGKILL) leaves the old rows: Postgres rolls the transaction back.
"""

import uuid
from dataclasses import dataclass

import dagster as dg
import pyarrow as pa
from psycopg2 import errors as pg_errors
from psycopg2 import sql

from etl_assets.connectors.postgres import PostgresWarehouse
from etl_assets.io.warehouse.copy import copy_into
from etl_assets.io.warehouse.ddl import (
    LOCK_TIMEOUT_SECONDS,
    ensure_table,
    existing_columns,
    limit_lock_wait,
    lock_timeout_as_failure,
)
from etl_assets.io.warehouse.sql_types import column_types, window_condition
from etl_assets.io.warehouse.tables import TableRef

_GRANTABLE = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}


@dataclass(frozen=True)
class WriteResult:
    table: TableRef
    rows_written: int
    rows_deleted: int
    columns_added: list[str]


def _prepare_table(
    warehouse: PostgresWarehouse, ref: TableRef, table: pa.Table, lock_timeout: float
) -> list[str]:
    """Create the table or add the output's new columns, in a transaction of its own;
    return the added columns."""
    wanted = column_types(table, str(ref))
    with lock_timeout_as_failure(ref, lock_timeout):
        with warehouse.connection() as conn, conn.cursor() as cursor:
            return ensure_table(cursor, ref, wanted, lock_timeout)


def replace_window(
    warehouse: PostgresWarehouse,
    ref: TableRef,
    table: pa.Table,
    column: str,
    window: dg.TimeWindow,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> WriteResult:
    """Replace the rows whose ``column`` falls in ``window`` by ``table``, atomically."""
    added = _prepare_table(warehouse, ref, table, lock_timeout)
    with warehouse.connection() as conn, conn.cursor() as cursor:
        column_type = existing_columns(cursor, ref)[column]
        condition = window_condition(column, column_type, window)
        cursor.execute(sql.SQL("DELETE FROM {} WHERE {}").format(ref.identifier, condition))
        deleted = cursor.rowcount
        copy_into(cursor, ref.identifier, table)
    return WriteResult(ref, table.num_rows, deleted, added)


def replace_table(
    warehouse: PostgresWarehouse,
    ref: TableRef,
    table: pa.Table,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> WriteResult:
    """Replace the whole table by ``table``: COPY into a stage table, then swap, atomically."""
    added = _prepare_table(warehouse, ref, table, lock_timeout)
    stage = TableRef(ref.schema, f"_stage_{uuid.uuid4().hex[:16]}")
    with (
        lock_timeout_as_failure(ref, lock_timeout),
        warehouse.connection() as conn,
        conn.cursor() as cursor,
    ):
        # LIKE ... INCLUDING ALL keeps what an operator added: defaults, indexes, comments.
        cursor.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                stage.identifier, ref.identifier
            )
        )
        copy_into(cursor, stage.identifier, table, freeze=True)
        _copy_privileges(cursor, ref, stage)
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(ref.identifier))
        deleted = cursor.fetchone()[0]
        limit_lock_wait(cursor, lock_timeout)  # DROP waits for every reader to finish
        _drop_for_swap(cursor, ref)
        cursor.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                stage.identifier, sql.Identifier(ref.name)
            )
        )
    return WriteResult(ref, table.num_rows, deleted, added)


def _copy_privileges(cursor, source: TableRef, target: TableRef) -> None:
    """Grant on ``target`` what is granted on ``source``: readers keep access after a swap."""
    cursor.execute(
        """
        SELECT CASE WHEN acl.grantee = 0 THEN NULL ELSE pg_get_userbyid(acl.grantee) END,
               acl.privilege_type, acl.is_grantable
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) acl
        WHERE c.oid = %s::regclass
        """,
        (source.identifier.as_string(cursor),),
    )
    for grantee, privilege, grantable in cursor.fetchall():
        if privilege not in _GRANTABLE:
            continue
        cursor.execute(
            sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege),
                target.identifier,
                sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            )
        )


def _drop_for_swap(cursor, ref: TableRef) -> None:
    try:
        cursor.execute(sql.SQL("DROP TABLE {}").format(ref.identifier))
    except pg_errors.DependentObjectsStillExist as error:
        detail = " ".join(str(error).split())
        raise dg.Failure(
            description=(
                f"Cannot replace table {ref}: other objects depend on it ({detail}). An "
                "unpartitioned asset is published by swapping in a new table, which would "
                "drop them. Drop or recreate those views around the run, or make them read "
                "another table. The old rows are intact."
            ),
            metadata={"table": str(ref)},
            allow_retries=False,
        ) from None
