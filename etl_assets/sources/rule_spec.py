"""The `rules:` of a declaration: row rules on silver values, each with a severity.

    rules:
      - name: magnitude_plausible    # the _reject_reason of the rows it rejects
        column: magnitude            # a silver column (the `as` name)
        between: [-2, 10]            # exactly one of: min, max, between, in, matches, not_null
        severity: error              # error (default): quarantine the row; warn: keep and report

A rule sees the typed silver value. A null passes every rule but `not_null` (a missing
value is what `required: true` and `not_null` are for). No dagster import here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from etl_assets.sources.reserved_columns import BUILT_IN_REASONS, REJECT_REASON_PREFIXES

RULE_KINDS = ("min", "max", "between", "in", "matches", "not_null")
SEVERITIES = ("error", "warn")
_ORDERED_TYPES = ("int", "float", "datetime")


@dataclass(frozen=True)
class RuleSpec:
    name: str
    column: str  # silver column
    kind: str
    value: Any  # min/max: a bound; between: (low, high); in: tuple; matches: regex; not_null: True
    severity: str = "error"

    @property
    def blocking(self) -> bool:
        return self.severity == "error"


def read_rules(reader, raw: Any, column_types: dict[str, str]) -> tuple[RuleSpec, ...]:
    """The validated `rules:` list; `column_types` maps silver columns to declared types."""
    if not isinstance(raw, list):
        raise reader.fail("rules", "expected a list of rules")
    rules: list[RuleSpec] = []
    for i, item in enumerate(raw):
        where = f"rules[{i}]"
        item = reader.mapping(item, where)
        reader.keys(item, f"{where}.", {"name", "column"}, {"severity", *RULE_KINDS})
        name = reader.identifier(item["name"], f"{where}.name")
        if name in BUILT_IN_REASONS or name.startswith(REJECT_REASON_PREFIXES):
            raise reader.fail(f"{where}.name", f"{name!r} is a reason the framework uses itself")
        if any(rule.name == name for rule in rules):
            raise reader.fail(f"{where}.name", f"{name!r} is declared twice")
        column = item["column"]
        if column not in column_types:
            raise reader.fail(
                f"{where}.column", f"{column!r} is not a column; columns: {list(column_types)}"
            )
        kinds = [k for k in RULE_KINDS if k in item]
        if len(kinds) != 1:
            raise reader.fail(where, f"needs exactly one of: {', '.join(RULE_KINDS)}")
        kind = kinds[0]
        value = _read_value(reader, kind, item[kind], column_types[column], f"{where}.{kind}")
        severity = reader.choice(item.get("severity", "error"), f"{where}.severity", SEVERITIES)
        rules.append(RuleSpec(name, column, kind, value, severity))
    return tuple(rules)


def _read_value(reader, kind: str, value: Any, column_type: str, field_path: str) -> Any:
    if kind in ("min", "max"):
        return _bound(reader, value, column_type, field_path)
    if kind == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise reader.fail(field_path, "expected [low, high]")
        low = _bound(reader, value[0], column_type, f"{field_path}[0]")
        high = _bound(reader, value[1], column_type, f"{field_path}[1]")
        if low > high:
            raise reader.fail(field_path, f"low {value[0]!r} is above high {value[1]!r}")
        return (low, high)
    if kind == "in":
        if not isinstance(value, list) or not value:
            raise reader.fail(field_path, "expected a non-empty list of allowed values")
        return tuple(value)
    if kind == "matches":
        if column_type != "string":
            raise reader.fail(field_path, "only string columns can be matched")
        pattern = reader.text(value, field_path)
        try:
            re.compile(pattern)
        except re.error as error:
            raise reader.fail(
                field_path, f"{pattern!r} is not a regular expression: {error}"
            ) from error
        return pattern
    if value is not True:
        raise reader.fail(field_path, "write not_null: true")
    return True


def _bound(reader, value: Any, column_type: str, field_path: str) -> Any:
    if column_type not in _ORDERED_TYPES:
        raise reader.fail(
            field_path, f"bounds apply to {', '.join(_ORDERED_TYPES)} columns, not {column_type}"
        )
    if column_type == "datetime":
        try:
            return pd.Timestamp(str(value))
        except ValueError:
            raise reader.fail(field_path, f"{value!r} is not a date or datetime") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise reader.fail(field_path, "expected a number")
    return value
