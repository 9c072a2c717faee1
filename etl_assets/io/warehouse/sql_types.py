"""How frame columns map to Postgres column types, and back.

Writing: a frame becomes an Arrow table, and each Arrow type a Postgres type (Int64 ->
bigint, Float64 -> double precision, string -> text, datetime64 -> timestamp, ...); a
column may be loaded into a wider type it fits (integer into bigint). Reading: the dtype
each column type comes back as (bigint -> Int64, text -> string[pyarrow], ...). A time
window's bounds are given in the type the partition column compares them in.
"""

import datetime as dt
from collections.abc import Mapping

import dagster as dg
import pandas as pd
import pyarrow as pa
from psycopg2 import sql

from etl_assets.io.warehouse.tables import check_identifier

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
_TEXT_READ = _READ_TYPES["text"]


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


def fits(frame_type: str | None, column_type: str) -> bool:
    return frame_type in (None, column_type) or column_type in _FITS_INTO.get(frame_type, ())


def read_types(columns: Mapping[str, str]) -> dict[str, tuple[pa.DataType, object]]:
    """Per column, the Arrow type pyarrow parses it as and the pandas dtype it comes back as
    (None: pyarrow's own); any other type (varchar, numeric, ...) comes back as text."""
    return {name: _READ_TYPES.get(kind, _TEXT_READ) for name, kind in columns.items()}


def _window_bound(moment: dt.datetime, column_type: str) -> dt.datetime:
    # A timestamptz column compares instants; a timestamp/date column holds the wall-clock
    # time of the partitions' timezone, which is what the window's bounds are in.
    stamp = pd.Timestamp(moment)
    if column_type == TIMESTAMPTZ:
        return stamp.to_pydatetime()
    return stamp.tz_localize(None).to_pydatetime()


def window_condition(column: str, column_type: str, window: dg.TimeWindow) -> sql.Composed:
    # Bounds as literals, not %s parameters: with parameters psycopg2 would read a '%' in a
    # (quoted) column name as a placeholder.
    return sql.SQL("{column} >= {start} AND {column} < {end}").format(
        column=sql.Identifier(column),
        start=sql.Literal(_window_bound(window.start, column_type)),
        end=sql.Literal(_window_bound(window.end, column_type)),
    )
