"""Silver: bronze strings cast to the declared schema, checked, deduplicated and given a day.

`clean_source` is driven only by the source's declaration (`SourceSpec`). Every bronze row
assigned to the requested days ends in exactly one place: the clean frame, the quarantine
(with one reason), or the count of duplicates removed.

Duplicates: for most sources the first row of a business key (in file order) is kept, a
later equal row is removed and a later different one is a conflict. A source read by a
watermark (connector postgres) logs every version of a row in bronze: there the latest
version wins (`find_versions`), older ones are removed as superseded, and only two rows
with the same key, watermark and batch that differ conflict.

How it stays fast on ten million rows: each column is dictionary-encoded once (Arrow), all
standardising, casting and rule checks run on its distinct values, and rows only carry
integer codes until an output is materialized. Rules, days and duplicates are numpy masks
over those codes; no Python runs per row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl_assets.sources import ColumnSpec, SourceSpec
from etl_assets.transforms.pii import hmac_hex
from etl_assets.transforms.standardise import (
    STRING_DTYPE,
    as_strings,
    empty_to_null,
    map_unique,
    standardise,
)

LINEAGE_COLUMNS = ("_source_file", "_batch_id", "_row_number", "_landing_date")
READ_ERROR_COLUMN = "_read_error"
REJECT_REASON_COLUMN = "_reject_reason"
REJECT_DETAIL_COLUMN = "_reject_detail"

# The closed set of reject reasons: two read errors, three per-column prefixes, two more.
READ_ERROR_REASONS = ("invalid_encoding", "malformed_line")
MISSING, UNPARSEABLE, BELOW_MINIMUM = "missing_", "unparseable_", "below_minimum_"
REJECT_REASON_PREFIXES = (MISSING, UNPARSEABLE, BELOW_MINIMUM)
DATE_OUTSIDE_LATE_WINDOW = "date_outside_late_window"
CONFLICTING_DUPLICATE_KEY = "conflicting_duplicate_key"

DATETIME_DTYPE = "datetime64[ns]"
SILVER_DTYPES = {
    "string": STRING_DTYPE,
    "int": "Int64",
    "float": "Float64",
    "datetime": DATETIME_DTYPE,
    "bool": "boolean",
}
DERIVED_DTYPES = {"starts_with": "boolean", "in": "boolean", "product": "Float64"}
LINEAGE_DTYPES = {
    "_source_file": STRING_DTYPE,
    "_batch_id": STRING_DTYPE,
    "_row_number": "int64",
    "_landing_date": DATETIME_DTYPE,
}

# Integers may carry a zero fraction ("17850.0"); 18 significant digits always fit int64.
INT_PATTERN = r"^[+-]?0*\d{1,18}(\.0+)?$"
FLOAT_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)$"
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
TYPE_PROBLEMS = {
    "int": "is not an integer",
    "float": "is not a number",
    "datetime": "is not a datetime",
    "bool": "is not a boolean (true/false/1/0/yes/no)",
}
READ_ERROR_DETAILS = {
    "invalid_encoding": "the line is not valid UTF-8; its bytes were read as latin-1",
    "malformed_line": "the line does not have the declared number of fields",
}
NS_PER_DAY = 86_400 * 10**9
NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds


@dataclass(frozen=True)
class SilverResult:
    clean: pd.DataFrame  # typed silver rows
    quarantine: pd.DataFrame  # rejected rows
    rows_in: int  # bronze rows assigned to the requested days
    duplicates_removed: int
    reject_counts: dict[str, int]  # reason -> rows, for every reason the spec can produce
    late_rows: int  # rows assigned to a day earlier than their landing file's day
    # Daily sources: rows_in and duplicates_removed per assigned day (midnight), so that
    # a range of days can be accounted for one day at a time.
    rows_in_by_day: dict[pd.Timestamp, int] = field(default_factory=dict)
    duplicates_by_day: dict[pd.Timestamp, int] = field(default_factory=dict)
    # Of duplicates_removed: older versions of a key that a later one replaced (sources
    # read by a watermark, see `versioned_by`); the rest are exact duplicates.
    superseded: int = 0


# --------------------------------------------------------------------------- schemas


def reject_reasons(spec: SourceSpec) -> list[str]:
    """Every reject reason this source can produce, in the order the rules are checked."""
    reasons = _rule_reasons(spec)
    if _can_conflict(spec):
        reasons.append(CONFLICTING_DUPLICATE_KEY)
    # Declared rules of severity error, then the hook's reasons: applied after cleaning,
    # by transforms/rules.py.
    reasons.extend(rule.name for rule in spec.rules if rule.blocking)
    if spec.silver_hook is not None:
        reasons.extend(spec.silver_hook.reasons)
    return reasons


def silver_schema(spec: SourceSpec) -> dict[str, str]:
    """Column -> dtype of `SilverResult.clean`, in column order."""
    schema = {c.target: SILVER_DTYPES[c.type] for c in spec.columns}
    schema.update({d.name: DERIVED_DTYPES[d.kind] for d in spec.derived})
    if spec.is_daily:
        schema[spec.partition_column] = DATETIME_DTYPE
    schema.update(LINEAGE_DTYPES)
    return schema


def quarantine_schema(spec: SourceSpec) -> dict[str, str]:
    """Column -> dtype of `SilverResult.quarantine`, in column order."""
    schema = dict.fromkeys(spec.raw_columns, STRING_DTYPE)
    schema[REJECT_REASON_COLUMN] = STRING_DTYPE
    schema[REJECT_DETAIL_COLUMN] = STRING_DTYPE
    if spec.is_daily:
        schema[spec.partition_column] = DATETIME_DTYPE
    schema.update(LINEAGE_DTYPES)
    schema[READ_ERROR_COLUMN] = STRING_DTYPE
    return schema


def _rule_reasons(spec: SourceSpec) -> list[str]:
    """The row-level rules in checking order (the first failing one is the reason)."""
    reasons = list(READ_ERROR_REASONS)
    for column in spec.columns:
        if column.required:
            reasons.append(MISSING + column.target)
        if column.type != "string":
            reasons.append(UNPARSEABLE + column.target)
        if column.minimum is not None:
            reasons.append(BELOW_MINIMUM + column.target)
    if spec.is_daily and spec.date_column:
        reasons.append(DATE_OUTSIDE_LATE_WINDOW)
    return reasons


def _can_conflict(spec: SourceSpec) -> bool:
    # With every column in the key, two rows sharing it are equal: only exact duplicates.
    return bool(spec.business_key) and set(spec.business_key) != set(spec.target_columns)


def _in_threads(function: Callable, items: Sequence) -> list:
    """`function` over independent columns, side by side: Arrow and numpy release the GIL
    in their kernels, so this uses the machine's cores. Results keep the items' order."""
    items = list(items)
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def _take(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """The values at `positions` with a fresh positional index (array-level: no index work)."""
    return pd.Series(values.array.take(positions))


# --------------------------------------------------------------------------- casting


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
        return _take(self.values, self.codes[positions])

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


def _parse_datetime(text: pd.Series, column: ColumnSpec) -> pd.Series:
    parsed = pd.to_datetime(text, format=column.format or "mixed", errors="coerce")
    if parsed.dt.tz is not None:  # silver datetimes are naive UTC
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype(DATETIME_DTYPE)


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


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class BronzeRows:
    """The bronze frame (declared raw columns and lineage) and the rows this run works on.

    `rows` are positions in `frame`; every per-row array of the run is aligned with them,
    and string columns are only taken at the positions an output needs.
    """

    frame: pd.DataFrame
    read_error: np.ndarray  # per frame row: index into READ_ERROR_REASONS, -1 when clean
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str, positions: np.ndarray) -> pd.Series:
        return _take(self.frame[name], self.rows[positions])

    def numbers(self, name: str) -> np.ndarray:
        """A numeric or datetime lineage column over the run's rows, as int64."""
        return self.frame[name].to_numpy().view(np.int64)[self.rows]

    def select(self, positions: np.ndarray) -> BronzeRows:
        return BronzeRows(self.frame, self.read_error, self.rows[positions])


def _conform_bronze(
    bronze: pd.DataFrame, spec: SourceSpec, raw_columns: Sequence[str] | None = None
) -> BronzeRows:
    """The declared raw columns (or those of `raw_columns`) and lineage with their bronze
    dtypes, positionally indexed."""
    absent = [c for c in (*LINEAGE_COLUMNS, READ_ERROR_COLUMN) if c not in bronze.columns]
    if absent:
        raise ValueError(
            f"bronze frame for source {spec.name!r} lacks the lineage columns {absent}; "
            "build it with the bronze transform"
        )
    columns: dict[str, pd.Series] = {}
    for name in spec.raw_columns if raw_columns is None else raw_columns:
        if name in bronze.columns:
            columns[name] = pd.Series(as_strings(bronze[name]).array)
        else:  # a column absent from the file is all null, as bronze records it
            columns[name] = pd.Series(pd.NA, index=pd.RangeIndex(len(bronze)), dtype=STRING_DTYPE)
    for name, dtype in LINEAGE_DTYPES.items():
        values = bronze[name]
        if values.dtype != dtype:
            values = values.astype(dtype)
        columns[name] = pd.Series(values.array)
    frame = pd.DataFrame(columns, copy=False)
    read_error = _read_error_codes(as_strings(bronze[READ_ERROR_COLUMN]), spec)
    return BronzeRows(frame, read_error, np.arange(len(frame)))


def _read_error_codes(read_error: pd.Series, spec: SourceSpec) -> np.ndarray:
    codes = np.full(len(read_error), -1, dtype=np.int8)
    flagged = np.flatnonzero(read_error.notna().to_numpy())
    if len(flagged) == 0:
        return codes
    values = empty_to_null(_take(read_error, flagged))
    unknown = set(values.dropna().unique()) - set(READ_ERROR_REASONS)
    if unknown:
        raise ValueError(
            f"bronze frame for source {spec.name!r} has unknown {READ_ERROR_COLUMN} values "
            f"{sorted(unknown)}; expected null or one of {list(READ_ERROR_REASONS)}"
        )
    for i, reason in enumerate(READ_ERROR_REASONS):
        codes[flagged[(values == reason).fillna(False).to_numpy(dtype=bool)]] = i
    return codes


def _check_pii(spec: SourceSpec, pii_key: bytes | None) -> None:
    pii_columns = [c for c in spec.columns if c.pii]
    for column in pii_columns:
        if column.type != "string":
            raise ValueError(
                f"source {spec.name!r}: column {column.name!r} has pii: {column.pii} but type "
                f"{column.type}; PII hashing is supported on string columns only"
            )
    if pii_columns and pii_key is None:
        names = [c.name for c in pii_columns]
        raise ValueError(
            f"source {spec.name!r} declares PII columns {names} (pii: hmac) but no pii_key "
            "was given; pass the HMAC key (the ETL_PII_HASH_KEY secret)"
        )


def _requested_days(days: Sequence[pd.Timestamp], spec: SourceSpec) -> np.ndarray:
    if not spec.is_daily:
        raise ValueError(f"source {spec.name!r} is not partitioned by day; pass days=None")
    wanted = pd.DatetimeIndex(pd.to_datetime(list(days)))
    if wanted.tz is not None:
        wanted = wanted.tz_localize(None)
    return wanted.normalize().as_unit("ns").asi8


# --------------------------------------------------------------------------- days


@dataclass(frozen=True)
class DayAssignment:
    """The partition day of every row, and which rows are dated outside the late window."""

    day: np.ndarray | None  # int64 ns of midnight; None for unpartitioned sources
    landing_day: np.ndarray | None  # the same for the row's landing file
    outside_window: np.ndarray

    def take(self, positions: np.ndarray) -> DayAssignment:
        if self.day is None:
            return DayAssignment(None, None, self.outside_window[positions])
        return DayAssignment(
            self.day[positions], self.landing_day[positions], self.outside_window[positions]
        )

    def late_rows(self) -> int:
        """Rows assigned to a day before the day of their landing file."""
        return 0 if self.day is None else int((self.day < self.landing_day).sum())


def _midnight(ns: np.ndarray) -> np.ndarray:
    """Each timestamp's day (int64 ns). Landing days are few: work on the distinct ones."""
    codes, distinct = pd.factorize(ns)
    return (distinct - distinct % NS_PER_DAY)[codes]  # numpy's % floors: pre-1970 works


def assign_days(
    bronze: BronzeRows, spec: SourceSpec, casts: dict[str, CastColumn]
) -> DayAssignment:
    """A row's day is its date's day when the line read cleanly and the date lies within
    [landing day - late_arrival_days, landing day]; otherwise its landing day."""
    no_rows = np.zeros(len(bronze), dtype=bool)
    if not spec.is_daily:
        return DayAssignment(None, None, no_rows)
    landing = bronze.numbers("_landing_date")
    if (landing == NAT).any():
        raise ValueError(
            f"source {spec.name!r} is daily but some bronze rows have no _landing_date; "
            "every bronze row of a daily source must come from a landing day"
        )
    landing = _midnight(landing)
    if spec.date_column is None:  # snapshots belong to the day of their file
        return DayAssignment(landing, landing, no_rows)
    date = casts[spec.date_column]
    date_day = date.values.dt.normalize().to_numpy().view(np.int64)[date.codes]
    parsed = date_day != NAT
    earliest = landing - spec.late_arrival_days * NS_PER_DAY
    in_window = parsed & (date_day >= earliest) & (date_day <= landing)
    # A line with a read error cannot be trusted to carry its own date.
    trusted = bronze.read_error[bronze.rows] < 0
    day = np.where(in_window & trusted, date_day, landing)
    return DayAssignment(day, landing, parsed & ~in_window)


def _output_order(bronze: BronzeRows, day: np.ndarray | None) -> np.ndarray:
    """Run positions sorted by (day, _landing_date, _row_number, _source_file)."""
    file_codes, _ = pd.factorize(bronze.frame["_source_file"], sort=True)
    keys = [file_codes[bronze.rows], bronze.numbers("_row_number"), bronze.numbers("_landing_date")]
    if day is not None:
        keys.append(day)
    return np.lexsort(keys)  # the last key sorts first


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    reason: str
    failing: np.ndarray  # bool per run row
    describe: Callable[[np.ndarray], pd.Series]  # run positions -> detail text per row


def _repeat(text: str, times: int) -> pd.Series:
    return pd.Series(pd.array([text], dtype=STRING_DTYPE).take(np.zeros(times, dtype=np.int64)))


def _quote(name: str, raw: pd.Series, problem: str) -> pd.Series:
    return f"{name}='" + raw + f"' {problem}"


def _rules(
    bronze: BronzeRows, spec: SourceSpec, casts: dict[str, CastColumn], days: DayAssignment
) -> list[Rule]:
    """Every row-level rule with its failing rows, in `_rule_reasons` order."""
    rules = {}
    read_error = bronze.read_error[bronze.rows]
    for i, reason in enumerate(READ_ERROR_REASONS):
        text = READ_ERROR_DETAILS[reason]
        rules[reason] = Rule(
            reason, read_error == i, lambda positions, text=text: _repeat(text, len(positions))
        )
    for column in spec.columns:
        rules.update(_column_rules(bronze, column, casts[column.target]))
    if spec.is_daily and spec.date_column:
        rules[DATE_OUTSIDE_LATE_WINDOW] = _late_window_rule(bronze, spec, days)
    return [rules[reason] for reason in _rule_reasons(spec)]


def _column_rules(bronze: BronzeRows, column: ColumnSpec, cast: CastColumn) -> dict[str, Rule]:
    name = column.name

    def describe_missing(positions: np.ndarray) -> pd.Series:
        raw = bronze.column(name, positions)
        absent = _repeat(f"{name} is required but missing", len(raw))
        return _quote(name, raw, "is required but empty").fillna(absent)

    def describe_unparseable(positions: np.ndarray) -> pd.Series:
        problem = TYPE_PROBLEMS[column.type]
        if column.format:
            problem += f" in format '{column.format}'"
        return _quote(name, bronze.column(name, positions), problem)

    def describe_below_minimum(positions: np.ndarray) -> pd.Series:
        problem = f"is below the minimum {column.minimum}"
        return _quote(name, bronze.column(name, positions), problem)

    checks = {
        MISSING: ("missing", describe_missing),
        UNPARSEABLE: ("unparseable", describe_unparseable),
        BELOW_MINIMUM: ("below_minimum", describe_below_minimum),
    }
    return {
        prefix + column.target: Rule(prefix + column.target, cast.failing(rule), describe)
        for prefix, (rule, describe) in checks.items()
    }


def _late_window_rule(bronze: BronzeRows, spec: SourceSpec, days: DayAssignment) -> Rule:
    name = spec.column(spec.date_column).name
    late = pd.Timedelta(days=spec.late_arrival_days)

    def window_text(landing_days: pd.Index) -> list[str]:
        return [
            f"is outside the late-arrival window [{(d - late).date()}, {d.date()}] "
            "of its landing day"
            for d in landing_days.normalize()
        ]

    def describe(positions: np.ndarray) -> pd.Series:
        landing = bronze.column("_landing_date", positions)
        raw = bronze.column(name, positions)
        return f"{name}='" + raw + "' " + map_unique(landing, window_text, STRING_DTYPE)

    return Rule(DATE_OUTSIDE_LATE_WINDOW, days.outside_window, describe)


def _first_failing(rules: list[Rule], n: int) -> np.ndarray:
    """Index into `rules` of the first rule each row fails; -1 for rows passing all."""
    reason = np.full(n, -1, dtype=np.int16)
    for i, rule in enumerate(rules):
        reason[(reason < 0) & rule.failing] = i
    return reason


# --------------------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class Duplicates:
    removed: np.ndarray  # run positions dropped: exact duplicates (or superseded versions)
    conflicting: np.ndarray  # run positions sharing a kept row's key with other values
    kept_for_conflicting: np.ndarray  # the kept row each conflicting row collides with
    superseded: int = 0  # of `removed`: older versions of a key (sources read by watermark)


HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd, so the mixing loses no information


def _key_hash(code_columns: Iterator[np.ndarray], length: int) -> np.ndarray:
    """A 64-bit polynomial hash of each row's codes (equal codes give equal hashes)."""
    hashes = np.zeros(length, dtype=np.uint64)
    for codes in code_columns:  # in place: ten million uint64 per temporary add up
        np.multiply(hashes, HASH_MULTIPLIER, out=hashes)
        # (uint64 + int64 would go through float64 and lose bits)
        np.add(hashes, codes.astype(np.uint64, copy=False), out=hashes)
        np.add(hashes, np.uint64(1), out=hashes)
    return hashes


def _exact_ids(code_columns: Iterator[np.ndarray], length: int) -> np.ndarray:
    """One int64 per distinct combination of codes, with no collisions (slower)."""
    ids = np.zeros(length, dtype=np.int64)
    distinct = 1
    for codes in code_columns:
        width = int(codes.max()) + 1 if length else 1
        if distinct * width >= 2**62:  # renumber before the combined id can overflow
            ids, seen = pd.factorize(ids)
            distinct = max(len(seen), 1)
        ids = ids * width + codes
        distinct *= width
    return ids


def _first_of_group(ids: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row with the same id.

    Most ids are unique. Sorting the bare values (fast) finds the repeated ones; only the
    rows holding those go through the slower stable sort that knows first positions. On
    ten million mostly distinct ids this beats a hash table, whose lookups miss the cache.
    """
    first = np.arange(len(ids))
    ordered = np.sort(ids)
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeats) == 0:
        return first
    candidates = np.flatnonzero(pd.Series(ids).isin(np.unique(repeats)).to_numpy())
    _, first_index, group = np.unique(ids[candidates], return_index=True, return_inverse=True)
    first[candidates] = candidates[first_index[group.reshape(-1)]]
    return first


def _differs_from_kept(codes: Iterator[np.ndarray], kept: np.ndarray) -> np.ndarray:
    """Per row: does any of the code columns differ from the row at `kept`."""
    differs = np.zeros(len(kept), dtype=bool)
    for column in codes:
        differs |= column != column[kept]
    return differs


def _first_of_key(key_codes: Callable[[], Iterator[np.ndarray]], length: int) -> np.ndarray:
    """For each row, the index of the first row with the same key codes."""
    kept_index = _first_of_group(_key_hash(key_codes(), length))
    if _differs_from_kept(key_codes(), kept_index).any():  # a hash collision: go exact
        kept_index = _first_of_group(_exact_ids(key_codes(), length))
    return kept_index


def find_duplicates(
    casts: dict[str, CastColumn], day: np.ndarray | None, passing: np.ndarray, spec: SourceSpec
) -> Duplicates:
    """Among `passing` run positions (in keep-first order), the rows whose business key (and
    day) repeats an earlier row: exact duplicates are removed, the others conflict."""
    empty = np.array([], dtype=np.int64)
    if not spec.business_key or len(passing) == 0:
        return Duplicates(empty, empty, empty)

    def key_codes() -> Iterator[np.ndarray]:
        for target in spec.business_key:
            yield casts[target].codes[passing]
        if day is not None:
            yield pd.factorize(day[passing])[0]

    kept_index = _first_of_key(key_codes, len(passing))
    is_later = kept_index != np.arange(len(passing))
    conflicting = np.zeros(len(passing), dtype=bool)
    if _can_conflict(spec):
        values = (casts[t].codes[passing] for t in spec.target_columns)
        conflicting = is_later & _differs_from_kept(values, kept_index)
    return Duplicates(
        removed=passing[is_later & ~conflicting],
        conflicting=passing[conflicting],
        kept_for_conflicting=passing[kept_index[conflicting]],
    )


# --------------------------------------------------------------------------- versions


def versioned_by(spec: SourceSpec) -> str | None:
    """The silver column ordering the versions of a business key, for a source whose bronze
    logs every version it extracted (connector postgres: its watermark); else None."""
    if spec.postgres is None or not spec.business_key:
        return None
    return next(c.target for c in spec.columns if c.name == spec.postgres.watermark)


def _latest_first(
    bronze: pd.DataFrame, rows: BronzeRows, watermark: CastColumn, positions: np.ndarray
) -> np.ndarray:
    """`positions` ordered latest version first: the later watermark (a null is the oldest),
    then the later batch (`_ingested_at`), then the later row of the log (`_row_number`)."""
    rank, _ = pd.factorize(watermark.values, sort=True)  # distinct values: rank, null -1
    ingested = pd.DatetimeIndex(pd.to_datetime(bronze["_ingested_at"], utc=True))
    keys = (
        rows.numbers("_row_number")[positions],
        ingested.as_unit("ns").asi8[rows.rows[positions]],
        rank[watermark.codes[positions]],
    )
    return positions[np.lexsort(keys)[::-1]]  # the last key sorts first; all descending


def find_versions(
    casts: dict[str, CastColumn],
    passing: np.ndarray,
    batch: np.ndarray,
    spec: SourceSpec,
    watermark: str,
) -> Duplicates:
    """Among `passing` run positions (latest version first) of a versioned source, the rows
    that a row before them supersedes: same business key, or for a history same key and
    watermark (each other version becomes a history row). A row with the superseding row's
    watermark and batch but other values is a true conflict (the source holds two rows for
    one key at one time); the others are removed: older versions and exact repeats."""
    empty = np.array([], dtype=np.int64)
    if len(passing) == 0:
        return Duplicates(empty, empty, empty)
    key = [*spec.business_key, watermark] if spec.is_history else list(spec.business_key)

    def key_codes() -> Iterator[np.ndarray]:
        for target in key:
            yield casts[target].codes[passing]

    kept_index = _first_of_key(key_codes, len(passing))
    kept = passing[kept_index]
    is_later = kept_index != np.arange(len(passing))
    values = (casts[t].codes[passing] for t in spec.target_columns)
    differs = _differs_from_kept(values, kept_index)
    stamp = casts[watermark].codes
    same_version = (stamp[passing] == stamp[kept]) & (batch[passing] == batch[kept])
    conflicting = is_later & differs & same_version
    removed = is_later & ~conflicting
    return Duplicates(
        removed=passing[removed],
        conflicting=passing[conflicting],
        kept_for_conflicting=kept[conflicting],
        superseded=int((removed & differs).sum()),
    )


def _describe_conflicts(
    bronze: BronzeRows, casts: dict[str, CastColumn], spec: SourceSpec, duplicates: Duplicates
) -> pd.Series:
    rows, kept = duplicates.conflicting, duplicates.kept_for_conflicting
    if len(rows) == 0:
        return pd.Series([], dtype=STRING_DTYPE)
    no_name = pa.scalar(None, pa.string())
    differing = []
    for target in spec.target_columns:
        if target not in spec.business_key:
            codes = casts[target].codes
            differs = pa.array(codes[rows] != codes[kept])
            differing.append(pc.if_else(differs, pa.scalar(target), no_name))
    names = pc.binary_join_element_wise(*differing, ", ", null_handling="skip")
    differs_in = pd.Series(pd.arrays.ArrowStringArray(names.cast(pa.large_string())))
    kept_file = bronze.column("_source_file", kept).fillna("?")
    kept_row = pd.Series(bronze.numbers("_row_number")[kept]).astype(STRING_DTYPE)
    key = ", ".join(spec.business_key)
    return (
        f"business key ({key}) already kept from "
        + kept_file
        + " row "
        + kept_row
        + "; differs in "
        + differs_in
    )


# --------------------------------------------------------------------------- derived


def _flags_at(
    cast: CastColumn, positions: np.ndarray, test: Callable[[pd.Series], np.ndarray]
) -> pd.arrays.BooleanArray:
    """A boolean per row from `test` run on the column's distinct values (null -> False)."""
    flags = np.asarray(test(cast.values), dtype=bool)
    return pd.array(flags[cast.codes[positions]], dtype="boolean")


def _derived_columns(
    clean: pd.DataFrame, casts: dict[str, CastColumn], positions: np.ndarray, spec: SourceSpec
) -> dict[str, pd.api.extensions.ExtensionArray | pd.Series]:
    """The declared derived columns of the clean rows at `positions`."""
    derived_columns = {}
    for derived in spec.derived:
        if derived.kind == "starts_with":
            prefix = str(derived.value)

            def starts(values: pd.Series, prefix=prefix) -> np.ndarray:
                return as_strings(values).str.startswith(prefix).fillna(False).to_numpy(bool)

            derived_columns[derived.name] = _flags_at(casts[derived.column], positions, starts)
        elif derived.kind == "in":
            members = list(derived.values)
            if spec.column(derived.column).type == "string":
                members = [str(v) for v in members]  # YAML may read 1 or 2.5 as numbers

            def within(values: pd.Series, members=members) -> np.ndarray:
                return values.isin(members).to_numpy(bool)

            derived_columns[derived.name] = _flags_at(casts[derived.column], positions, within)
        elif derived.kind == "product":
            product = clean[derived.factors[0]].astype("Float64")
            for factor in derived.factors[1:]:
                product = product * clean[factor].astype("Float64")
            derived_columns[derived.name] = product
    return derived_columns


# --------------------------------------------------------------------------- assembly


def _as_days(day_ns: np.ndarray) -> np.ndarray:
    return day_ns.view("datetime64[ns]")


def _clean_frame(
    bronze: BronzeRows,
    casts: dict[str, CastColumn],
    day: np.ndarray | None,
    spec: SourceSpec,
    positions: np.ndarray,
) -> pd.DataFrame:
    targets = list(casts)
    values = _in_threads(lambda target: casts[target].values_at(positions), targets)
    columns = dict(zip(targets, values, strict=True))
    columns.update(_derived_columns(pd.DataFrame(columns, copy=False), casts, positions, spec))
    if day is not None:
        columns[spec.partition_column] = pd.Series(_as_days(day[positions]))
    lineage = _in_threads(lambda name: bronze.column(name, positions), LINEAGE_COLUMNS)
    columns.update(zip(LINEAGE_COLUMNS, lineage, strict=True))
    return pd.DataFrame(columns, copy=False)


def _quarantine_frame(
    bronze: BronzeRows,
    casts: dict[str, CastColumn],
    day: np.ndarray | None,
    spec: SourceSpec,
    positions: np.ndarray,
    reasons: pd.Series,
    details: pd.Series,
) -> pd.DataFrame:
    columns = {}
    for column in spec.columns:
        # PII never leaves bronze in clear: the quarantine keeps the hash silver keeps.
        if column.pii:
            columns[column.name] = casts[column.target].values_at(positions)
        else:
            columns[column.name] = bronze.column(column.name, positions)
    columns[REJECT_REASON_COLUMN] = reasons
    columns[REJECT_DETAIL_COLUMN] = details
    if day is not None:
        columns[spec.partition_column] = pd.Series(_as_days(day[positions]))
    for name in LINEAGE_COLUMNS:
        columns[name] = bronze.column(name, positions)
    # code -1 (a clean line) takes the trailing null
    read_errors = pd.array([*READ_ERROR_REASONS, None], dtype=STRING_DTYPE)
    read_error_codes = bronze.read_error[bronze.rows[positions]]
    columns[READ_ERROR_COLUMN] = pd.Series(read_errors.take(read_error_codes))
    return pd.DataFrame(columns, copy=False)


def _quarantine_texts(
    rules: list[Rule],
    reason_index: np.ndarray,
    positions: np.ndarray,
    conflict_details: pd.Series,
    conflict_positions: np.ndarray,
) -> tuple[pd.Series, pd.Series]:
    """Reason and detail of each quarantined row at `positions` (in output order)."""
    slot = np.full(len(reason_index), -1, dtype=np.int64)
    slot[positions] = np.arange(len(positions))
    codes = reason_index[positions].astype(np.int64)
    detail_slots, detail_parts = [], []
    for i, rule in enumerate(rules):
        rows = positions[codes == i]
        if len(rows):
            detail_slots.append(slot[rows])
            detail_parts.append(rule.describe(rows))
    if len(conflict_positions):
        detail_slots.append(slot[conflict_positions])
        detail_parts.append(conflict_details)
    names = pd.array([r.reason for r in rules] + [CONFLICTING_DUPLICATE_KEY], STRING_DTYPE)
    reasons = pd.Series(names.take(codes))
    if not detail_parts:
        return reasons, pd.Series([], dtype=STRING_DTYPE)
    details = pd.concat(detail_parts, ignore_index=True).astype(STRING_DTYPE)
    by_slot = np.argsort(np.concatenate(detail_slots), kind="stable")
    return reasons, _take(details, by_slot)


def _check_accounting(
    spec: SourceSpec, rows_in: int, clean: int, quarantined: int, duplicates: int
) -> None:
    if rows_in != clean + quarantined + duplicates:
        raise RuntimeError(
            f"silver row accounting broken for source {spec.name!r}: {rows_in} bronze rows in, "
            f"but {clean} clean + {quarantined} quarantined + {duplicates} duplicates removed; "
            "this is a bug in etl_assets.transforms.silver"
        )


# --------------------------------------------------------------------------- entry point


def clean_source(
    bronze: pd.DataFrame,
    spec: SourceSpec,
    *,
    pii_key: bytes | None = None,
    days: Sequence[pd.Timestamp] | None = None,
) -> SilverResult:
    """Turn a bronze frame into silver rows, quarantined rows and their accounting.

    `days` (daily sources only) keeps the rows assigned to those days; rows of other days
    belong to other partitions and are not counted in this result.
    """
    _check_pii(spec, pii_key)
    rows = _conform_bronze(bronze, spec)
    cast_columns = _in_threads(lambda c: cast_column(rows.frame[c.name], c), spec.columns)
    casts = {c.target: cast for c, cast in zip(spec.columns, cast_columns, strict=True)}
    assigned = assign_days(rows, spec, casts)
    if days is not None:
        keep = np.flatnonzero(np.isin(assigned.day, _requested_days(days, spec)))
        if len(keep) < len(rows):
            rows, assigned = rows.select(keep), assigned.take(keep)
            casts = {target: cast.take(keep) for target, cast in casts.items()}
    for column in spec.columns:
        if column.pii:  # hashing the distinct values keeps codes and rule results valid
            cast = casts[column.target]
            casts[column.target] = cast.with_values(hmac_hex(cast.values, pii_key))

    rules = _rules(rows, spec, casts, assigned)
    reason_index = _first_failing(rules, len(rows))
    order = _output_order(rows, assigned.day)
    passing = order[reason_index[order] < 0]
    watermark = versioned_by(spec)
    if watermark is None:
        duplicates = find_duplicates(casts, assigned.day, passing, spec)
    else:  # bronze logs every version of a key: the latest wins, not the first read
        batch = pd.factorize(rows.frame["_batch_id"])[0][rows.rows]
        passing = _latest_first(bronze, rows, casts[watermark], passing)
        duplicates = find_versions(casts, passing, batch, spec, watermark)
    reason_index[duplicates.conflicting] = len(rules)

    dropped = np.zeros(len(rows), dtype=bool)
    dropped[duplicates.removed] = True
    rejected = reason_index >= 0
    clean_positions = order[~rejected[order] & ~dropped[order]]
    quarantine_positions = order[rejected[order]]
    reasons, details = _quarantine_texts(
        rules,
        reason_index,
        quarantine_positions,
        _describe_conflicts(rows, casts, spec, duplicates),
        duplicates.conflicting,
    )
    clean = _clean_frame(rows, casts, assigned.day, spec, clean_positions)
    quarantine = _quarantine_frame(
        rows, casts, assigned.day, spec, quarantine_positions, reasons, details
    )
    _check_accounting(spec, len(rows), len(clean), len(quarantine), len(duplicates.removed))

    reject_counts = dict.fromkeys(reject_reasons(spec), 0)
    reject_counts.update({str(k): int(v) for k, v in reasons.value_counts().items()})
    return SilverResult(
        clean=clean,
        quarantine=quarantine,
        rows_in=len(rows),
        duplicates_removed=len(duplicates.removed),
        reject_counts=reject_counts,
        late_rows=assigned.late_rows(),
        rows_in_by_day=_count_by_day(assigned.day),
        duplicates_by_day=_count_by_day(
            None if assigned.day is None else assigned.day[duplicates.removed]
        ),
        superseded=duplicates.superseded,
    )


def _count_by_day(day_ns: np.ndarray | None) -> dict[pd.Timestamp, int]:
    if day_ns is None:
        return {}
    days, counts = np.unique(day_ns, return_counts=True)
    return {pd.Timestamp(d): int(n) for d, n in zip(days, counts, strict=True)}


# ------------------------------------------------------------------ day by day


def rows_of_days(
    bronze: pd.DataFrame, spec: SourceSpec, days: Sequence[pd.Timestamp]
) -> pd.DataFrame:
    """The rows of `bronze` that `clean_source(..., days=days)` assigns to `days`, found by
    casting the date column only: a day's late rows inside a later day's file, without
    cleaning that whole file. `clean_source` of a day's file plus these rows gives the
    same result as over both files."""
    date = [c for c in spec.columns if c.target == spec.date_column]
    rows = _conform_bronze(bronze, spec, raw_columns=[c.name for c in date])
    casts = {column.target: cast_column(rows.frame[column.name], column) for column in date}
    assigned = assign_days(rows, spec, casts)
    keep = np.flatnonzero(np.isin(assigned.day, _requested_days(days, spec)))
    return bronze.iloc[keep].reset_index(drop=True)


def combine_results(results: Sequence[SilverResult]) -> SilverResult:
    """The results of disjoint sets of days as one (the clean frames are not combined:
    day-by-day runs write each day's rows as they come; pass them empty)."""
    counts: dict[str, int] = {}
    for result in results:
        for reason, n in result.reject_counts.items():
            counts[reason] = counts.get(reason, 0) + n
    return SilverResult(
        clean=pd.concat([r.clean for r in results], ignore_index=True),
        quarantine=pd.concat([r.quarantine for r in results], ignore_index=True),
        rows_in=sum(r.rows_in for r in results),
        duplicates_removed=sum(r.duplicates_removed for r in results),
        reject_counts=counts,
        late_rows=sum(r.late_rows for r in results),
        rows_in_by_day={d: n for r in results for d, n in r.rows_in_by_day.items()},
        duplicates_by_day={d: n for r in results for d, n in r.duplicates_by_day.items()},
        superseded=sum(r.superseded for r in results),
    )
