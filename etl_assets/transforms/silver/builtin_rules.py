"""Built-in row rules: read errors, the column rules a declaration implies (required, type,
minimum) and the late-arrival window, checked in a fixed order on every row; the first
failing rule is the row's reject reason.

The rules a declaration lists under `rules:` (and the silver hook) run after cleaning, on
typed silver rows: see `declared_rules.py` beside this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl_assets.sources import ColumnSpec, SourceSpec
from etl_assets.sources.reserved_columns import (
    BELOW_MINIMUM,
    DATE_OUTSIDE_LATE_WINDOW,
    MISSING,
    READ_ERROR_REASONS,
    UNPARSEABLE,
)
from etl_assets.transforms.silver.bronze_rows import BronzeRows
from etl_assets.transforms.silver.casting import CastColumn
from etl_assets.transforms.silver.days import DayAssignment
from etl_assets.transforms.standardise import STRING_DTYPE, map_unique

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


def rule_reasons(spec: SourceSpec) -> list[str]:
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


@dataclass(frozen=True)
class Rule:
    reason: str
    failing: np.ndarray  # bool per run row
    describe: Callable[[np.ndarray], pd.Series]  # run positions -> detail text per row


def _repeat(text: str, times: int) -> pd.Series:
    return pd.Series(pd.array([text], dtype=STRING_DTYPE).take(np.zeros(times, dtype=np.int64)))


def _quote(name: str, raw: pd.Series, problem: str) -> pd.Series:
    return f"{name}='" + raw + f"' {problem}"


def row_rules(
    bronze: BronzeRows, spec: SourceSpec, casts: dict[str, CastColumn], days: DayAssignment
) -> list[Rule]:
    """Every row-level rule with its failing rows, in `rule_reasons` order."""
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
    return [rules[reason] for reason in rule_reasons(spec)]


def _column_rules(bronze: BronzeRows, column: ColumnSpec, cast: CastColumn) -> dict[str, Rule]:
    name = column.name

    def describe_missing(positions: np.ndarray) -> pd.Series:
        raw = bronze.column(name, positions)
        absent = _repeat(f"{name} is required but missing", len(raw))
        return _quote(name, raw, "is required but empty").fillna(absent)

    def describe_unparseable(positions: np.ndarray) -> pd.Series:
        problem = TYPE_PROBLEMS[column.type]
        if column.formats:
            tried = ", ".join(f"'{fmt}'" for fmt in column.formats)
            problem += f" in format {tried}" if len(column.formats) == 1 else f" (tried {tried})"
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


def first_failing(rules: list[Rule], n: int) -> np.ndarray:
    """Index into `rules` of the first rule each row fails; -1 for rows passing all."""
    reason = np.full(n, -1, dtype=np.int16)
    for i, rule in enumerate(rules):
        reason[(reason < 0) & rule.failing] = i
    return reason
