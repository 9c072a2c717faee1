"""Run a suite with great_expectations 1.x on every partition of a frame, exactly and fast.

great_expectations decides what is unexpected; this module decides what it is shown, so that
a partition of a million rows costs a few small validations instead of a pass per
expectation over every row (measured in bench/bench_checks.py):

- ``values`` rules (see sources/expectation_spec.py) run on the distinct values of their
  column, once for all the partitions of the frame; each verdict is then weighted by how many
  rows of each partition hold the value. Nulls are one distinct value like any other, so
  great_expectations applies its own null semantics.
- ``unique`` rules run on one integer key per row (the key columns' codes, partition
  included), so duplicates only count within a partition. A row whose key columns are all
  null gets a null key: ignored, as great_expectations ignores it by default.
- ``rows`` rules run on their columns' rows, once for all partitions.
- ``table`` rules (row count) run once on the column of the partitions' row counts.

Success is then computed per partition the way great_expectations computes it (`mostly` on
the share of non-missing rows, vacuously true without any), and the equivalence with a plain
great_expectations run on each partition is asserted by the tests.

great_expectations is imported on first use (it takes seconds) and one ephemeral context,
with analytics and progress bars off, serves the whole process.

One module over the ~400-line guide because it is one algorithm: the four scopes' compact
frames, the weighting of each verdict back to rows per partition and the success rule must
agree with each other (and with great_expectations) line by line; split, each half would be
read only with the other open.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from etl_assets.quality.engine import gx_patches
from etl_assets.sources.expectation_spec import Expectation

SAMPLE_SIZE = 5  # unexpected values shown per expectation and partition
KEY_COLUMN = "_key"
COUNT_COLUMN = "_rows"


@dataclass(frozen=True)
class Outcome:
    """One expectation on one partition, in row terms."""

    expectation: Expectation
    success: bool
    element_count: int
    unexpected_count: int | None = None  # None for table rules
    missing_count: int | None = None  # rows ignored as null, when the rule ignores nulls
    observed_value: Any = None  # table rules: the observed number
    sample: tuple[tuple[Any, int], ...] = ()  # (unexpected value, rows), most frequent first
    exception: str | None = None  # great_expectations could not evaluate the rule

    @property
    def considered_count(self) -> int:
        return self.element_count - (self.missing_count or 0)

    @property
    def unexpected_percent(self) -> float | None:
        """Percent of the considered rows (great_expectations' `unexpected_percent`)."""
        if self.unexpected_count is None or self.considered_count == 0:
            return None
        return 100.0 * self.unexpected_count / self.considered_count

    @property
    def conformance(self) -> float:
        """Share of considered rows that conform; 1 or 0 for table rules."""
        percent = self.unexpected_percent
        if percent is None:
            return 1.0 if self.success else 0.0
        return 1.0 - percent / 100.0

    def ge_result(self) -> dict[str, Any]:
        """The result in great_expectations' format (SUMMARY), for Data Docs."""
        if self.unexpected_count is None:
            return {"observed_value": self.observed_value}
        result: dict[str, Any] = {
            "element_count": self.element_count,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "partial_unexpected_list": [value for value, _ in self.sample],
            "partial_unexpected_counts": [{"value": v, "count": n} for v, n in self.sample],
        }
        if self.missing_count is not None:
            total = self.element_count
            result["missing_count"] = self.missing_count
            result["missing_percent"] = 100.0 * self.missing_count / total if total else None
            result["unexpected_percent_total"] = (
                100.0 * self.unexpected_count / total if total else None
            )
            result["unexpected_percent_nonmissing"] = self.unexpected_percent
        return result


@dataclass
class Partitions:
    """Which partition each row of a frame belongs to (0..count-1)."""

    of_row: np.ndarray
    count: int
    rows: np.ndarray = field(init=False)  # rows per partition

    def __post_init__(self) -> None:
        self.of_row = np.asarray(self.of_row, dtype=np.int64)
        self.rows = np.bincount(self.of_row, minlength=self.count)

    @classmethod
    def single(cls, rows: int) -> Partitions:
        return cls(np.zeros(rows, dtype=np.int64), 1)

    def count_rows(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.of_row[mask], minlength=self.count)


# ----------------------------------------------------------------- great_expectations


class _Runtime:
    """great_expectations, its ephemeral context and one reusable batch definition."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        gx_patches.install()
        self.gx = gx
        self.context = gx.get_context(
            mode="ephemeral",
            project_config=DataContextConfig(
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False),
                store_backend_defaults=InMemoryStoreBackendDefaults(),
            ),
        )
        asset = self.context.data_sources.add_pandas("etl_assets").add_dataframe_asset("frame")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
        self.lock = threading.Lock()  # one validation at a time: the context is not thread-safe

    def expectation(self, rule: Expectation, **overrides: Any):
        """The great_expectations object of a rule (severity and check name kept in meta)."""
        from great_expectations.expectations.metadata_types import FailureSeverity

        arguments = {**rule.arguments, **overrides}
        if rule.kind.takes_mostly:
            arguments["mostly"] = rule.mostly
        return getattr(self.gx.expectations, rule.kind.ge_class)(
            **arguments,
            severity=FailureSeverity.CRITICAL if rule.blocking else FailureSeverity.WARNING,
            meta={"check": rule.name},
        )

    def validate(self, frame: pd.DataFrame, expectations: list) -> dict[str, Any]:
        """Validate `frame` (RangeIndex) against the expectations; results by check name."""
        suite = self.gx.ExpectationSuite(name="etl_assets", expectations=expectations)
        with self.lock, gx_patches.memoized_configurations():
            batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
            result = batch.validate(
                suite,
                result_format={
                    "result_format": "COMPLETE",
                    "partial_unexpected_count": 0,
                    "return_unexpected_index_query": False,
                },
            )
        return {r.expectation_config.meta["check"]: r for r in result.results}


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


def runtime() -> _Runtime:
    """The process's great_expectations runtime, created on first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = _Runtime()
        return _runtime


def _raised(result) -> str | None:
    """Why great_expectations could not evaluate a rule, or None. Its exception_info is
    either one entry or one entry per metric that failed."""
    info = result.exception_info or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "great_expectations raised an exception")
    if not result.success and not result.result:
        return "great_expectations returned no result"
    return None


def _unexpected_positions(result, size: int) -> np.ndarray:
    flagged = np.zeros(size, dtype=bool)
    positions = result.result.get("unexpected_index_list") or []
    flagged[np.asarray(positions, dtype=np.int64)] = True
    return flagged


# ------------------------------------------------------------------------ the engine


def validate_partitions(
    frame: pd.DataFrame, rules: Sequence[Expectation], partitions: Partitions
) -> list[list[Outcome]]:
    """Outcomes of every rule on every partition: `result[partition][rule index]`."""
    columns = _Columns(frame)
    by_rule: dict[int, list[Outcome]] = {}
    value_rules: dict[str, list[int]] = {}
    for i, rule in enumerate(rules):
        missing = [c for c in rule.columns if c not in frame.columns]
        if missing:
            by_rule[i] = [_absent_columns(rule, missing, int(n)) for n in partitions.rows]
        elif rule.kind.scope == "values":
            value_rules.setdefault(rule.columns[0], []).append(i)
        elif rule.kind.scope == "unique":
            by_rule[i] = _unique_rule(columns, rule, partitions)
        elif rule.kind.scope == "rows":
            by_rule[i] = _row_rule(frame, rule, partitions)
        else:
            by_rule[i] = _table_rule(rule, partitions)
    for column, indices in value_rules.items():
        outcomes = _value_rules(columns, column, [rules[i] for i in indices], partitions)
        by_rule.update(zip(indices, outcomes, strict=True))
    return [[by_rule[i][p] for i in range(len(rules))] for p in range(partitions.count)]


def _errored(rule: Expectation, error: str, partitions: Partitions) -> list[Outcome]:
    return [Outcome(rule, False, int(n), exception=error) for n in partitions.rows]


def _absent_columns(rule: Expectation, missing: list[str], rows: int) -> Outcome:
    return Outcome(rule, False, rows, exception=f"column(s) {', '.join(missing)} not in the data")


@dataclass(frozen=True)
class _Distinct:
    """A column as distinct values (null last, at most once) and a code per row."""

    values: pd.Series
    codes: np.ndarray
    null_code: int | None


def _distinct(values: pd.Series) -> _Distinct:
    if isinstance(values.dtype, pd.CategoricalDtype):  # the codes are there already
        codes = values.cat.codes.to_numpy().astype(np.int64)
        distinct = pd.Series(values.cat.categories)  # the lake gives them the column's dtype
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        distinct = pd.Series(uniques, dtype=values.dtype) if len(uniques) else values.iloc[:0]
        distinct = distinct.reset_index(drop=True)
    null_code = None
    if (codes < 0).any():
        null_code = len(distinct)
        null = pd.Series([None], dtype=distinct.dtype)
        distinct = pd.concat([distinct, null], ignore_index=True)
        codes = np.where(codes < 0, null_code, codes)
    return _Distinct(distinct, codes, null_code)


def _plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with categorical columns turned back into columns of their categories' dtype."""
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not categorical:
        return frame
    plain = frame.copy(deep=False)
    for column in categorical:
        plain[column] = plain[column].astype(plain[column].cat.categories.dtype)
    return plain


class _Columns:
    """The frame's columns as distinct values, each computed once for all the rules."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._distinct: dict[str, _Distinct] = {}

    def distinct(self, column: str) -> _Distinct:
        if column not in self._distinct:
            self._distinct[column] = _distinct(self.frame[column])
        return self._distinct[column]


def _value_rules(
    columns: _Columns, column: str, rules: list[Expectation], partitions: Partitions
) -> list[list[Outcome]]:
    """Every rule on one column, evaluated once on its distinct values."""
    ge = runtime()
    distinct = columns.distinct(column)
    frame = pd.DataFrame({column: distinct.values})
    results = ge.validate(frame, [ge.expectation(rule) for rule in rules])
    nulls = (
        partitions.count_rows(distinct.codes == distinct.null_code)
        if distinct.null_code is not None
        else np.zeros(partitions.count, dtype=np.int64)
    )
    outcomes = []
    for rule in rules:
        result = results[rule.name]
        error = _raised(result)
        if error:
            outcomes.append(_errored(rule, error, partitions))
            continue
        flagged = _unexpected_positions(result, len(distinct.values))[distinct.codes]
        ignores_nulls = "missing_count" in result.result
        outcomes.append(
            _map_outcomes(
                rule,
                partitions,
                flagged,
                nulls if ignores_nulls else None,
                lambda rows: _sample_values(distinct, rows),
            )
        )
    return outcomes


def _map_outcomes(
    rule: Expectation,
    partitions: Partitions,
    flagged: np.ndarray,
    nulls: np.ndarray | None,
    sample_of,
) -> list[Outcome]:
    """Per-partition outcomes of a row verdict, with great_expectations' success rule."""
    unexpected = partitions.count_rows(flagged)
    flagged_rows = np.flatnonzero(flagged)
    flagged_partition = partitions.of_row[flagged_rows]
    outcomes = []
    for p in range(partitions.count):
        element = int(partitions.rows[p])
        missing = None if nulls is None else int(nulls[p])
        considered = element - (missing or 0)
        bad = int(unexpected[p])
        success = considered == 0 or (float(considered) - bad) / float(considered) >= rule.mostly
        sample = sample_of(flagged_rows[flagged_partition == p]) if bad else ()
        outcomes.append(Outcome(rule, success, element, bad, missing, sample=sample))
    return outcomes


def _top(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The most frequent codes and their counts (ties: lowest code first)."""
    found, counts = np.unique(codes, return_counts=True)
    order = np.lexsort((found, -counts))[:SAMPLE_SIZE]
    return found[order], counts[order]


def _sample_values(distinct: _Distinct, rows: np.ndarray) -> tuple[tuple[Any, int], ...]:
    codes, counts = _top(distinct.codes[rows])
    return tuple(
        (_plain(distinct.values.iloc[int(c)]), int(n)) for c, n in zip(codes, counts, strict=True)
    )


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy, pandas NA and timestamps made plain)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _key_codes(
    columns: _Columns, names: Sequence[str], partitions: Partitions
) -> tuple[np.ndarray, np.ndarray]:
    """One int64 per distinct combination of the columns and the partition (a null is a
    value of its own; duplicates only count within a partition), and whether all of the
    columns are null on the row."""
    rows = len(columns.frame)
    ids = np.zeros(rows, dtype=np.int64)
    all_null = np.ones(rows, dtype=bool)
    width_so_far = 1
    parts = [(partitions.of_row, partitions.count)]
    for name in names:
        distinct = columns.distinct(name)
        all_null &= distinct.codes == (-1 if distinct.null_code is None else distinct.null_code)
        parts.append((distinct.codes, max(len(distinct.values), 1)))
    for codes, width in parts:
        if width_so_far * width >= 2**62:  # renumber before the combined id can overflow
            ids, seen = pd.factorize(ids)
            width_so_far = max(len(seen), 1)
        ids = ids * width + codes
        width_so_far *= width
    return ids, all_null


def _unique_rule(columns: _Columns, rule: Expectation, partitions: Partitions) -> list[Outcome]:
    ge = runtime()
    frame = columns.frame
    ids, all_null = _key_codes(columns, rule.columns, partitions)
    keys = ids  # int64 when no key is all null (faster in great_expectations)
    if all_null.any():  # else floats with NaN: renumbered first, so each id is exact as a float
        keys = np.where(all_null, np.nan, pd.factorize(ids)[0].astype(np.float64))
    key_rule = Expectation(rule.name, "expect_column_values_to_be_unique", {}, rule.severity)
    result = ge.validate(
        pd.DataFrame({KEY_COLUMN: keys}),
        [ge.expectation(key_rule, column=KEY_COLUMN, mostly=rule.mostly)],
    )[rule.name]
    error = _raised(result)
    if error:
        return _errored(rule, error, partitions)
    flagged = _unexpected_positions(result, len(frame))
    nulls = partitions.count_rows(all_null)

    def sample_of(rows: np.ndarray) -> tuple[tuple[Any, int], ...]:
        found, counts = _top(ids[rows])
        first_row = {int(key): int(rows[np.argmax(ids[rows] == key)]) for key in found}
        return tuple(
            (_row_values(frame, rule.columns, first_row[int(key)]), int(n))
            for key, n in zip(found, counts, strict=True)
        )

    return _map_outcomes(rule, partitions, flagged, nulls, sample_of)


def _row_values(frame: pd.DataFrame, columns: Sequence[str], row: int) -> Any:
    values = tuple(_plain(frame[c].iloc[row]) for c in columns)
    return values[0] if len(values) == 1 else list(values)


def _row_rule(frame: pd.DataFrame, rule: Expectation, partitions: Partitions) -> list[Outcome]:
    ge = runtime()
    columns = list(dict.fromkeys(rule.columns))
    rows = _plain_columns(frame[columns].reset_index(drop=True))
    result = ge.validate(rows, [ge.expectation(rule)])[rule.name]
    error = _raised(result)
    if error:
        return _errored(rule, error, partitions)
    flagged = _unexpected_positions(result, len(frame))
    # great_expectations ignores a row whose pair is all null (its default ignore_row_if)
    nulls = partitions.count_rows(rows.isna().all(axis=1).to_numpy())

    def sample_of(positions: np.ndarray) -> tuple[tuple[Any, int], ...]:
        return tuple((_row_values(frame, columns, int(r)), 1) for r in positions[:SAMPLE_SIZE])

    return _map_outcomes(rule, partitions, flagged, nulls, sample_of)


def _table_rule(rule: Expectation, partitions: Partitions) -> list[Outcome]:
    """Row count: great_expectations judges every partition's count in one call (the bounds
    of expect_table_row_count_to_be_between, applied to a column of the counts)."""
    ge = runtime()
    counts = pd.DataFrame({COUNT_COLUMN: partitions.rows.astype(np.int64)})
    bounds = Expectation(rule.name, "expect_column_values_to_be_between", {}, rule.severity)
    result = ge.validate(counts, [ge.expectation(bounds, column=COUNT_COLUMN, **rule.arguments)])[
        rule.name
    ]
    error = _raised(result)
    if error:
        return _errored(rule, error, partitions)
    flagged = _unexpected_positions(result, partitions.count)
    return [
        Outcome(rule, not flagged[p], int(n), observed_value=int(n))
        for p, n in enumerate(partitions.rows)
    ]
