"""Casting: a declared column's raw bronze strings to its silver type, with the results of
its built-in rules (missing, unparseable, below minimum).

Each column is factorized once; standardising, parsing and the rules run on its distinct
values, and rows carry only integer codes until an output is materialized.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl_assets.sources import ColumnSpec
from etl_assets.transforms.standardise import STRING_DTYPE, as_strings, empty_to_null, standardise

DATETIME_DTYPE = "datetime64[ns]"
SILVER_DTYPES = {
    "string": STRING_DTYPE,
    "int": "Int64",
    "float": "Float64",
    "datetime": DATETIME_DTYPE,
    "bool": "boolean",
}

# Integers may carry a zero fraction ("17850.0"); 18 significant digits always fit int64.
INT_PATTERN = r"^[+-]?0*\d{1,18}(\.0+)?$"
FLOAT_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)$"
# A time followed by an offset or Z: "2024-01-03T08:26:00Z", "... 08:26+01:00", "... 08:26 UTC"
OFFSET_PATTERN = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)$"
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


def take_positions(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """The values at `positions` with a fresh positional index (array-level: no index work)."""
    return pd.Series(values.array.take(positions))


@dataclass(frozen=True)
class DistinctCast:
    """A column's distinct raw values cast to the silver type, with their rule results."""

    values: pd.Series  # typed value; null where missing or unparseable
    failing: dict[str, np.ndarray]  # rule ("missing", ...) -> bool per distinct raw value


@dataclass(frozen=True)
class CastColumn:
    """A declared column cast to its silver type: its distinct silver values plus a code per
    row. Rows are materialized only at the positions an output needs."""

    values: pd.Series  # distinct silver values (a null at most once)
    codes: np.ndarray  # per row: index into values; equal codes <=> equal silver values
    failing_rows: dict[str, np.ndarray]  # rule -> bool per row, for the rules that apply

    def values_at(self, positions: np.ndarray) -> pd.Series:
        return take_positions(self.values, self.codes[positions])

    def failing(self, rule: str) -> np.ndarray:
        if rule in self.failing_rows:
            return self.failing_rows[rule]
        return np.zeros(len(self.codes), dtype=bool)

    def take(self, positions: np.ndarray) -> CastColumn:
        failing_rows = {rule: rows[positions] for rule, rows in self.failing_rows.items()}
        return CastColumn(self.values, self.codes[positions], failing_rows)

    def with_values(self, values: pd.Series) -> CastColumn:
        """The same column with its distinct values replaced one for one (e.g. hashed)."""
        return CastColumn(values, self.codes, self.failing_rows)


def cast_column(raw: pd.Series, column: ColumnSpec) -> CastColumn:
    """Standardise (strings) or strip (other types), cast, and evaluate the column's rules,
    once per distinct raw value; rows keep only integer codes."""
    raw_codes, distinct_raw = pd.factorize(as_strings(raw), use_na_sentinel=False)
    cast = cast_distinct(pd.Series(distinct_raw, dtype=STRING_DTYPE), column)
    # distinct raw values can standardise to one silver value ("UK", " uk ")
    silver_codes, silver_values = pd.factorize(cast.values, use_na_sentinel=False)
    code_type = np.int32 if len(silver_values) < 2**31 else np.int64  # half the memory
    codes = silver_codes.astype(code_type)[raw_codes]
    failing_rows = {rule: failing[raw_codes] for rule, failing in cast.failing.items()}
    return CastColumn(pd.Series(silver_values.array), codes, failing_rows)


def cast_distinct(raw: pd.Series, column: ColumnSpec) -> DistinctCast:
    raw = raw.reset_index(drop=True)
    if column.type == "string":
        text = standardise(raw, column.standardise)
        values = text
    else:
        text = empty_to_null(raw.str.strip())
        values = PARSERS[column.type](text, column)
    is_null = text.isna().to_numpy()
    failing = {}
    if column.required:
        failing["missing"] = is_null
    if column.type != "string":
        failing["unparseable"] = ~is_null & values.isna().to_numpy()
    if column.minimum is not None:
        failing["below_minimum"] = (values < column.minimum).fillna(False).to_numpy(bool)
    return DistinctCast(values, failing)


def _as_arrow(values: pd.Series) -> pa.ChunkedArray:
    return pa.chunked_array(pa.array(values))


def _parse_int(text: pd.Series, column: ColumnSpec) -> pd.Series:
    valid = text.str.fullmatch(INT_PATTERN).fillna(False).to_numpy(dtype=bool)
    # Arrow parses plain digits only: drop the sign "+" and the zero fraction first.
    digits = text.where(valid).str.replace(r"^\+|\.0+$", "", regex=True)
    parsed = pc.cast(_as_arrow(digits), pa.int64())
    return pd.Series(pd.Int64Dtype().__from_arrow__(parsed))


def _parse_float(text: pd.Series, column: ColumnSpec) -> pd.Series:
    valid = text.str.fullmatch(FLOAT_PATTERN).fillna(False).to_numpy(dtype=bool)
    digits = text.where(valid).str.lstrip("+")
    parsed = pc.cast(_as_arrow(digits), pa.float64())
    # Hundreds of digits parse to infinity: that is not a plain decimal number.
    finite = pc.if_else(pc.is_finite(parsed), parsed, pa.scalar(None, pa.float64()))
    return pd.Series(pd.Float64Dtype().__from_arrow__(finite))


def partition_timezone() -> str:
    """The zone of the daily partitions (ETL_TIMEZONE): silver datetimes are its wall time."""
    from etl_assets.settings import get_settings

    return get_settings().timezone


def _parse_datetime(text: pd.Series, column: ColumnSpec) -> pd.Series:
    """Each value by the first of the column's formats that reads it (pandas' `mixed`
    without formats), as naive wall time of the partitions' zone: a value with an offset
    (`Z`, `+01:00`) is converted to it, a naive one is taken in the column's `timezone`
    (converted from it) or, without one, as already in the partitions' zone."""
    target = partition_timezone()
    parsed = np.full(len(text), np.datetime64("NaT"), dtype=DATETIME_DTYPE)
    has_offset = text.str.contains(OFFSET_PATTERN, regex=True).fillna(False).to_numpy(bool)
    for aware in (False, True):
        pending = (has_offset == aware) & text.notna().to_numpy(bool)
        for fmt in column.formats or ("mixed",):
            rows = np.flatnonzero(pending)
            if not rows.size:
                break
            found = _wall_times(text.iloc[rows], fmt, aware, column.timezone, target)
            ok = ~np.isnat(found)
            parsed[rows[ok]] = found[ok]
            pending[rows[ok]] = False
    return pd.Series(parsed, dtype=DATETIME_DTYPE)


def _wall_times(
    text: pd.Series, fmt: str, aware: bool, naive_zone: str | None, target: str
) -> np.ndarray:
    """`text` read with one format, as naive wall time in `target` (NaT where it fails)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # mixed offsets: utc=True below
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=aware)
    if parsed.dtype == object:  # offsets the pattern did not see, mixed: read them as UTC
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    if parsed.dt.tz is None and naive_zone is not None and naive_zone != target:
        parsed = parsed.dt.tz_localize(naive_zone, ambiguous="NaT", nonexistent="NaT")
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert(target).dt.tz_localize(None)
    return parsed.to_numpy(dtype=DATETIME_DTYPE)


def _parse_bool(text: pd.Series, column: ColumnSpec) -> pd.Series:
    words = text.str.lower()
    is_true = words.isin(TRUE_WORDS).to_numpy(dtype=bool)
    is_false = words.isin(FALSE_WORDS).to_numpy(dtype=bool)
    return pd.Series(pd.arrays.BooleanArray(is_true, mask=~(is_true | is_false)))


PARSERS: dict[str, Callable[[pd.Series, ColumnSpec], pd.Series]] = {
    "int": _parse_int,
    "float": _parse_float,
    "datetime": _parse_datetime,
    "bool": _parse_bool,
}
