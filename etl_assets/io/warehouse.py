"""The Postgres warehouse: pandas DataFrames published as tables, one table per asset.

Asset ``["gold", "daily_sales"]`` is the table ``gold.daily_sales`` (``schema_prefix`` is put
before the schema; a longer key joins the rest with ``__``). Why our own: Dagster's ecosystem
has no maintained pandas IO manager for Postgres.

Writing:
- the table is created from the frame's dtypes on the first write; a new column is added with
  ``ALTER TABLE ... ADD COLUMN``; a column whose type changed fails the step, naming both types;
- rows travel with ``COPY ... FROM STDIN`` in CSV, written batch by batch by pyarrow (in a
  thread, one batch ahead of the network) and streamed: a few batches of text in memory;
- a partitioned asset (metadata ``partition_expr`` = its timestamp column) replaces the run's
  time window — one partition or a single-run backfill range — by ``DELETE`` then ``COPY``
  in one transaction;
- an unpartitioned asset is loaded into a stage table that replaces the old one by
  drop + rename, in the same transaction.
Either way readers see the old rows or the new ones, a re-run never duplicates rows, and a
crash mid-load (even SIGKILL) leaves the old rows: Postgres rolls the transaction back.

Reading: ``COPY (SELECT ...) TO STDOUT`` parsed by pyarrow, with the dtypes restored from the
column types (bigint -> Int64, double precision -> Float64, text -> string[pyarrow], ...).

Every name goes through ``psycopg2.sql.Identifier``; names longer than Postgres's 63 bytes
are refused rather than silently truncated by the server.
"""

import datetime as dt
import io
import queue
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg2 import errors as pg_errors
from psycopg2 import sql
from pydantic import Field

from etl_assets.connectors.postgres import PostgresWarehouse
from etl_assets.io.partitions import (
    PARTITION_EXPR,
    describe,
    distinct_days,
    first_keys,
    partition_stamps,
    require_asset_key,
    require_frame,
)

MAX_IDENTIFIER_BYTES = 63  # Postgres's NAMEDATALEN - 1: longer names are cut silently
COPY_BATCH_ROWS = 50_000  # rows per CSV chunk: a few MB of text in memory at a time
_COPY_READ_BYTES = 1 << 20  # what copy_expert asks per read(); one network message each
# How long DDL (ADD COLUMN, the swap's DROP) waits for readers' locks before the step fails
# (and is retried): while it waits, new readers of the table queue behind it.
LOCK_TIMEOUT_SECONDS = 30.0
# Definition metadata naming the table ("schema.table") when it is not the one the asset key
# gives: the publish asset ["warehouse", "daily_sales"] writes gold.daily_sales.
TABLE_METADATA = "warehouse_table"

# Postgres column type (as format_type spells it) for each Arrow type family.
TIMESTAMP = "timestamp without time zone"
TIMESTAMPTZ = "timestamp with time zone"
_FIXED_TYPES: dict[pa.DataType, str] = {
    pa.int8(): "smallint",
    pa.int16(): "smallint",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.uint8(): "smallint",
    pa.uint16(): "integer",
    pa.uint32(): "bigint",
    pa.float16(): "real",
    pa.float32(): "real",
    pa.float64(): "double precision",
    pa.bool_(): "boolean",
    pa.string(): "text",
    pa.large_string(): "text",
    pa.string_view(): "text",
    pa.date32(): "date",
    pa.date64(): "date",
}
# A frame column of the key's type may be loaded into a column of these (wider) types.
_FITS_INTO: dict[str, set[str]] = {
    "smallint": {"integer", "bigint", "double precision"},
    "integer": {"bigint", "double precision"},
    "real": {"double precision"},
    "date": {TIMESTAMP},  # date-like partition columns may stay timestamp
}
# How a column comes back: the Arrow type pyarrow parses it as, and the pandas dtype.
_READ_TYPES: dict[str, tuple[pa.DataType, object]] = {
    "smallint": (pa.int16(), pd.Int16Dtype()),
    "integer": (pa.int32(), pd.Int32Dtype()),
    "bigint": (pa.int64(), pd.Int64Dtype()),
    "real": (pa.float32(), pd.Float32Dtype()),
    "double precision": (pa.float64(), pd.Float64Dtype()),
    "boolean": (pa.bool_(), pd.BooleanDtype()),
    "text": (pa.string(), pd.StringDtype("pyarrow")),
    "date": (pa.date32(), None),
    TIMESTAMP: (pa.timestamp("ns"), None),
    TIMESTAMPTZ: (pa.timestamp("ns", tz="UTC"), None),
}
_TEXT_READ = _READ_TYPES["text"]  # any other type (varchar, numeric, ...) comes back as text
_GRANTABLE = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}


# ----------------------------------------------------------------------- names


@dataclass(frozen=True)
class TableRef:
    """A warehouse table: schema and name, unquoted."""

    schema: str
    name: str

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def table_for(asset_key: dg.AssetKey, schema_prefix: str = "") -> TableRef:
    """``["gold", "daily_sales"]`` -> gold.daily_sales; a one-part key goes to ``public``."""
    *layer, name = asset_key.path
    schema = schema_prefix + (layer[0] if layer else "public")
    ref = TableRef(schema=schema, name="__".join([*layer[1:], name]))
    check_identifier(ref.schema, f"the schema of {describe(asset_key)}")
    check_identifier(ref.name, f"the table of {describe(asset_key)}")
    return ref


def table_for_context(
    context: dg.InputContext | dg.OutputContext, asset_key: dg.AssetKey, schema_prefix: str = ""
) -> TableRef:
    """The asset's table: its ``warehouse_table`` metadata ("schema.table"), else its key."""
    output = context.upstream_output if isinstance(context, dg.InputContext) else context
    named = ((output.definition_metadata if output else None) or {}).get(TABLE_METADATA)
    if not named:
        return table_for(asset_key, schema_prefix)
    schema, _, name = str(named).partition(".")
    ref = TableRef(schema=schema_prefix + schema, name=name)
    check_identifier(ref.schema, f"the schema of {describe(asset_key)}")
    check_identifier(ref.name, f"the table of {describe(asset_key)}")
    return ref


def check_identifier(name: str, what: str) -> None:
    """Refuse what Postgres would truncate or reject; quoting makes everything else safe."""
    size = len(name.encode("utf-8"))
    if not name or "\x00" in name or size > MAX_IDENTIFIER_BYTES:
        raise dg.Failure(
            description=(
                f"{what} is named {name!r} ({size} bytes): Postgres names must be 1 to "
                f"{MAX_IDENTIFIER_BYTES} bytes without NUL characters (longer ones are "
                "truncated and would collide). Rename it."
            ),
            allow_retries=False,
        )


# ----------------------------------------------------------------------- types


def frame_to_arrow(frame: pd.DataFrame, what: str) -> pa.Table:
    """The frame as an Arrow table, its column names checked for Postgres."""
    names = list(frame.columns)
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        raise dg.Failure(
            description=(
                f"{what} has column names that are not distinct strings: {names[:20]}. "
                "Give every column a distinct text name."
            ),
            allow_retries=False,
        )
    for name in names:
        check_identifier(name, f"a column of {what}")
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise dg.Failure(
            description=(
                f"{what} cannot be converted for the warehouse: {error}. A column mixes "
                "types (e.g. numbers and text in one object column); cast it first."
            ),
            allow_retries=False,
        ) from error


def pg_type(arrow_type: pa.DataType, column: str, what: str) -> str | None:
    """The Postgres type for an Arrow column; None for an all-null column of no type."""
    if pa.types.is_dictionary(arrow_type):  # categoricals are stored as their values
        arrow_type = arrow_type.value_type
    if pa.types.is_null(arrow_type):
        return None
    if pa.types.is_timestamp(arrow_type):
        return TIMESTAMPTZ if arrow_type.tz else TIMESTAMP
    if arrow_type in _FIXED_TYPES:
        return _FIXED_TYPES[arrow_type]
    raise dg.Failure(
        description=(
            f"{what}: column '{column}' has type {arrow_type}, which the warehouse does not "
            "store. Cast it to Int64, Float64, boolean, string or datetime64 first."
        ),
        allow_retries=False,
    )


def column_types(table: pa.Table, what: str) -> dict[str, str | None]:
    return {field.name: pg_type(field.type, field.name, what) for field in table.schema}


def _fits(frame_type: str | None, column_type: str) -> bool:
    return frame_type in (None, column_type) or column_type in _FITS_INTO.get(frame_type, ())


# ------------------------------------------------------------- table structure


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
        if name in existing and not _fits(wanted[name], existing[name])
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
    _limit_lock_wait(cursor, lock_timeout)
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


def _limit_lock_wait(cursor, seconds: float) -> None:
    # set_config(..., true) is SET LOCAL: it ends with the transaction.
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", (f"{int(seconds * 1000)}ms",))


@contextmanager
def _lock_timeout_as_failure(ref: TableRef, seconds: float) -> Iterator[None]:
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


# ------------------------------------------------------------------ COPY in


def csv_chunks(table: pa.Table, batch_rows: int = COPY_BATCH_ROWS) -> Iterator[bytes]:
    """The table as headerless CSV, ``batch_rows`` rows per chunk.

    pyarrow writes a null as an empty field and an empty string as ``""``, which is how
    Postgres's CSV format tells NULL from ''.
    """
    options = pa_csv.WriteOptions(include_header=False)
    for batch in table.to_batches(max_chunksize=batch_rows):
        sink = io.BytesIO()
        pa_csv.write_csv(batch, sink, options)
        yield sink.getvalue()


def produced_ahead(chunks: Iterator[bytes], depth: int = 2) -> Iterator[bytes]:
    """Yield ``chunks`` while a thread already builds the next ones.

    pyarrow writes CSV and psycopg2 sends it without holding the GIL, so the next chunk is
    made while the server parses the current one. An error in the thread is raised here;
    closing this generator early stops the thread.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                if not _put_unless_stopped(ready, chunk, stop):
                    return
            _put_unless_stopped(ready, _END, stop)
        except BaseException as error:  # handed to the consumer, raised there
            _put_unless_stopped(ready, error, stop)

    worker = threading.Thread(target=produce, name="warehouse-csv", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


_END = object()  # the producer's "no more chunks"


def _put_unless_stopped(ready: queue.Queue, item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class ChunkStream:
    """A read()-able file over an iterator of byte chunks: what copy_expert pulls from."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = memoryview(chunk)
        piece = self._pending if size < 0 else self._pending[:size]
        self._pending = self._pending[len(piece) :]
        return bytes(piece)


def copy_into(cursor, target: sql.Composable, table: pa.Table, freeze: bool = False) -> None:
    """Stream ``table`` into ``target`` (its columns by name) with COPY FROM STDIN."""
    if table.num_rows == 0:
        return  # nothing to send; a frame without columns could not even name a column list
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in table.column_names)
    # FREEZE writes rows already frozen (no later vacuum pass); only for a table created in
    # this transaction, i.e. the stage table.
    options = sql.SQL("FORMAT csv, FREEZE" if freeze else "FORMAT csv")
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH ({})").format(target, columns, options)
    stream = produced_ahead(csv_chunks(table))
    try:
        cursor.copy_expert(statement, ChunkStream(stream), size=_COPY_READ_BYTES)
    finally:
        stream.close()  # the COPY may stop early (server error): stop the producer too


# --------------------------------------------------------------------- writes


@dataclass(frozen=True)
class WriteResult:
    table: TableRef
    rows_written: int
    rows_deleted: int
    columns_added: list[str]


def _window_bound(moment: dt.datetime, column_type: str) -> dt.datetime:
    # A timestamptz column compares instants; a timestamp/date column holds the wall-clock
    # time of the partitions' timezone, which is what the window's bounds are in.
    stamp = pd.Timestamp(moment)
    if column_type == TIMESTAMPTZ:
        return stamp.to_pydatetime()
    return stamp.tz_localize(None).to_pydatetime()


def _window_condition(column: str, column_type: str, window: dg.TimeWindow) -> sql.Composed:
    # Bounds as literals, not %s parameters: with parameters psycopg2 would read a '%' in a
    # (quoted) column name as a placeholder.
    return sql.SQL("{column} >= {start} AND {column} < {end}").format(
        column=sql.Identifier(column),
        start=sql.Literal(_window_bound(window.start, column_type)),
        end=sql.Literal(_window_bound(window.end, column_type)),
    )


def replace_window(
    warehouse: PostgresWarehouse,
    ref: TableRef,
    table: pa.Table,
    column: str,
    window: dg.TimeWindow,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> WriteResult:
    """Replace the rows whose ``column`` falls in ``window`` by ``table``, atomically."""
    wanted = column_types(table, str(ref))
    with _lock_timeout_as_failure(ref, lock_timeout):
        with warehouse.connection() as conn, conn.cursor() as cursor:
            added = ensure_table(cursor, ref, wanted, lock_timeout)
    with warehouse.connection() as conn, conn.cursor() as cursor:
        column_type = existing_columns(cursor, ref)[column]
        condition = _window_condition(column, column_type, window)
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
    wanted = column_types(table, str(ref))
    with _lock_timeout_as_failure(ref, lock_timeout):
        with warehouse.connection() as conn, conn.cursor() as cursor:
            added = ensure_table(cursor, ref, wanted, lock_timeout)
    stage = TableRef(ref.schema, f"_stage_{uuid.uuid4().hex[:16]}")
    with (
        _lock_timeout_as_failure(ref, lock_timeout),
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
        _limit_lock_wait(cursor, lock_timeout)  # DROP waits for every reader to finish
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


# ---------------------------------------------------------------------- reads


def read_table(
    warehouse: PostgresWarehouse,
    ref: TableRef,
    column: str | None = None,
    window: dg.TimeWindow | None = None,
) -> pd.DataFrame | None:
    """The table's rows (those in ``window`` when given) as a frame; None when no table."""
    with warehouse.connection() as conn, conn.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # timestamptz comes back as +00
        columns = existing_columns(cursor, ref)
        if columns is None:
            return None
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), ref.identifier
        )
        if column is not None and window is not None:
            query += sql.SQL(" WHERE {} ORDER BY {}").format(
                _window_condition(column, _column_type(columns, column, ref), window),
                sql.Identifier(column),
            )
        buffer = io.BytesIO()
        cursor.copy_expert(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query), buffer)
    return csv_to_frame(buffer.getvalue(), columns)


def _column_type(columns: Mapping[str, str], column: str, ref: TableRef) -> str:
    if column not in columns:
        raise dg.Failure(
            description=(
                f"Table {ref} has no column '{column}', the asset's '{PARTITION_EXPR}': it "
                "cannot be read by partition. Re-materialize the asset or fix its metadata."
            ),
            allow_retries=False,
        )
    return columns[column]


def csv_to_frame(data: bytes, columns: Mapping[str, str]) -> pd.DataFrame:
    """Parse Postgres CSV with pyarrow into the dtypes the column types stand for."""
    read_types = {name: _READ_TYPES.get(kind, _TEXT_READ) for name, kind in columns.items()}
    schema = pa.schema([(name, arrow) for name, (arrow, _) in read_types.items()])
    if not data:
        arrow_table = schema.empty_table()
    else:
        arrow_table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(column_names=list(columns)),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=schema,
                null_values=[""],  # unquoted empty field: NULL; quoted "" stays ''
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
    dtypes = {arrow: dtype for arrow, dtype in read_types.values() if dtype is not None}
    return arrow_table.to_pandas(types_mapper=dtypes.get)


# ------------------------------------------------------------------ IO manager


class PostgresWarehouseIOManager(dg.ConfigurableIOManager):
    """Publishes pandas DataFrames to the Postgres warehouse, one table per asset.

    Partitioned assets need ``metadata={"partition_expr": "<timestamp column>"}``: the run's
    time window is deleted and reloaded in one transaction. Unpartitioned assets are swapped
    in whole. Loads return the partitions asked for, or the whole table.
    """

    warehouse: dg.ResourceDependency[PostgresWarehouse]
    schema_prefix: str = Field(
        default="",
        description="Put before every schema name, e.g. 'dev_' -> dev_gold.daily_sales.",
    )
    lock_timeout_seconds: float = Field(
        default=LOCK_TIMEOUT_SECONDS,
        description="Longest wait for readers' locks when changing or swapping a table.",
    )

    # ---------------------------------------------------------------- output

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        started = time.perf_counter()
        asset_key = require_asset_key(context, "PostgresWarehouseIOManager")
        frame = require_frame(obj, asset_key, "the warehouse")
        ref = table_for_context(context, asset_key, self.schema_prefix)
        table = frame_to_arrow(frame, describe(asset_key))
        window_text = ""
        if context.has_asset_partitions:
            column, window = _partition_column_and_window(context, asset_key)
            _check_rows_in_window(frame, column, window, context, asset_key)
            result = replace_window(
                self.warehouse, ref, table, column, window, self.lock_timeout_seconds
            )
            window_text = f" for {_window_text(context)}"
        else:
            result = replace_table(self.warehouse, ref, table, self.lock_timeout_seconds)
        if result.columns_added:
            context.log.info(f"Added columns to {ref}: {', '.join(result.columns_added)}.")
        seconds = time.perf_counter() - started
        context.log.debug(
            f"Published {result.rows_written} rows to {ref}{window_text} "
            f"({result.rows_deleted} replaced) in {seconds:.2f} s."
        )
        context.add_output_metadata(self._output_metadata(result, seconds))

    def _output_metadata(self, result: WriteResult, seconds: float) -> dict[str, dg.MetadataValue]:
        return {
            "dagster/row_count": dg.MetadataValue.int(result.rows_written),
            "dagster/table_name": dg.MetadataValue.text(
                f"{self.warehouse.database}.{result.table}"
            ),
            "dagster/storage_kind": dg.MetadataValue.text("postgres"),
            "table": dg.MetadataValue.text(str(result.table)),
            "rows_deleted": dg.MetadataValue.int(result.rows_deleted),
            "seconds": dg.MetadataValue.float(round(seconds, 4)),
        }

    # ----------------------------------------------------------------- input

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        asset_key = require_asset_key(context, "PostgresWarehouseIOManager")
        ref = table_for_context(context, asset_key, self.schema_prefix)
        column = window = None
        if context.has_asset_partitions:
            column, window = _partition_column_and_window(context, asset_key)
        frame = read_table(self.warehouse, ref, column, window)
        if frame is None:
            name = describe(asset_key)
            raise dg.Failure(
                description=(
                    f"{name} has not been published to the warehouse: there is no table {ref} "
                    f"in {self.warehouse.redacted_url}. Materialize {name} first."
                ),
                allow_retries=False,
            )
        context.log.debug(f"Read {len(frame)} rows of {ref}.")
        return frame


# ---------------------------------------------------------------------- checks


def _partition_column_and_window(
    context: dg.InputContext | dg.OutputContext, asset_key: dg.AssetKey
) -> tuple[str, dg.TimeWindow]:
    """The asset's ``partition_expr`` column and the time window the context covers."""
    output = context.upstream_output if isinstance(context, dg.InputContext) else context
    column = ((output.definition_metadata if output else None) or {}).get(PARTITION_EXPR)
    name = describe(asset_key)
    if not column:
        raise dg.Failure(
            description=(
                f"{name} is partitioned but has no '{PARTITION_EXPR}' metadata, so the warehouse "
                "cannot tell which rows a partition holds. Add metadata={'partition_expr': "
                "'<timestamp column>'} to the asset."
            ),
            allow_retries=False,
        )
    if not isinstance(context.asset_partitions_def, dg.TimeWindowPartitionsDefinition):
        raise dg.Failure(
            description=(
                f"{name}: the warehouse replaces partitions by time window and supports "
                "time-window (e.g. daily) partitions only."
            ),
            allow_retries=False,
        )
    return column, context.asset_partitions_time_window


def _check_rows_in_window(
    frame: pd.DataFrame,
    column: str,
    window: dg.TimeWindow,
    context: dg.OutputContext,
    asset_key: dg.AssetKey,
) -> None:
    """Every row must fall in the window: rows outside it would never be replaced."""
    stamps = partition_stamps(frame, column, context.asset_partitions_def.timezone, asset_key)
    # Two vectorised comparisons (NaT compares False, so it counts as outside); the lake's
    # partition_positions (IntervalIndex) takes seconds per million rows.
    inside = (stamps >= pd.Timestamp(window.start)) & (stamps < pd.Timestamp(window.end))
    outside = ~np.asarray(inside)
    if outside.any():
        days = distinct_days(stamps[outside])
        raise dg.Failure(
            description=(
                f"{describe(asset_key)}: {int(outside.sum())} rows have a '{column}' value "
                f"outside this run's partitions ({_window_text(context)}), on days "
                f"{first_keys(days)}. Nothing was written. Return only rows of the run's "
                "partitions."
            ),
            metadata={"offending_days": days[:100]},
            allow_retries=False,
        )


def _window_text(context: dg.OutputContext) -> str:
    keys: Sequence[str] = list(context.asset_partition_keys)
    return keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
