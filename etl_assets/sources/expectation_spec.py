"""The expectations a suite may hold, and their declared form.

No great_expectations or dagster import here: source declarations are validated against this
catalogue when the code location loads, and great_expectations is only imported when a check
runs (see `quality/engine/validation.py`).

Each supported expectation has a *scope* that says how it can be evaluated fast and exactly:

- ``values``: the verdict on a row depends only on that row's value in one column, so the
  expectation runs on the column's distinct values and every verdict is weighted by how many
  rows hold the value;
- ``unique``: duplicates within a partition; runs on one key per row;
- ``rows``: a verdict per row from several of its columns; runs on those columns;
- ``table``: one observed number per partition (its row count).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ERROR, WARN = "error", "warn"
SEVERITIES = (ERROR, WARN)
CHECK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Argument:
    kind: str  # column | columns | number | integer | bool | regex | values
    required: bool = False


@dataclass(frozen=True)
class Kind:
    """One supported great_expectations expectation."""

    ge_class: str  # class name in great_expectations.expectations
    scope: str  # values | unique | rows | table
    short: str  # used in default check names
    arguments: Mapping[str, Argument]
    one_of: tuple[str, ...] = ()  # at least one of these arguments is needed

    @property
    def takes_mostly(self) -> bool:
        return self.scope != "table"


_COLUMN = {"column": Argument("column", required=True)}
_BOUNDS = {"min_value": Argument("number"), "max_value": Argument("number")}

CATALOGUE: dict[str, Kind] = {
    "expect_column_values_to_not_be_null": Kind(
        "ExpectColumnValuesToNotBeNull", "values", "not_null", _COLUMN
    ),
    "expect_column_values_to_be_null": Kind(
        "ExpectColumnValuesToBeNull", "values", "null", _COLUMN
    ),
    "expect_column_values_to_be_in_set": Kind(
        "ExpectColumnValuesToBeInSet",
        "values",
        "in_set",
        {**_COLUMN, "value_set": Argument("values", required=True)},
    ),
    "expect_column_values_to_not_be_in_set": Kind(
        "ExpectColumnValuesToNotBeInSet",
        "values",
        "not_in_set",
        {**_COLUMN, "value_set": Argument("values", required=True)},
    ),
    "expect_column_values_to_be_between": Kind(
        "ExpectColumnValuesToBeBetween",
        "values",
        "between",
        {**_COLUMN, **_BOUNDS, "strict_min": Argument("bool"), "strict_max": Argument("bool")},
        one_of=("min_value", "max_value"),
    ),
    "expect_column_values_to_match_regex": Kind(
        "ExpectColumnValuesToMatchRegex",
        "values",
        "matches",
        {**_COLUMN, "regex": Argument("regex", required=True)},
    ),
    "expect_column_values_to_not_match_regex": Kind(
        "ExpectColumnValuesToNotMatchRegex",
        "values",
        "not_matching",
        {**_COLUMN, "regex": Argument("regex", required=True)},
    ),
    "expect_column_value_lengths_to_be_between": Kind(
        "ExpectColumnValueLengthsToBeBetween",
        "values",
        "length",
        {**_COLUMN, "min_value": Argument("integer"), "max_value": Argument("integer")},
        one_of=("min_value", "max_value"),
    ),
    "expect_column_values_to_be_unique": Kind(
        "ExpectColumnValuesToBeUnique", "unique", "unique", _COLUMN
    ),
    "expect_compound_columns_to_be_unique": Kind(
        "ExpectCompoundColumnsToBeUnique",
        "unique",
        "unique",
        {"column_list": Argument("columns", required=True)},
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": Kind(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "rows",
        "greater_than",
        {
            "column_A": Argument("column", required=True),
            "column_B": Argument("column", required=True),
            "or_equal": Argument("bool"),
        },
    ),
    "expect_table_row_count_to_be_between": Kind(
        "ExpectTableRowCountToBeBetween",
        "table",
        "row_count",
        {"min_value": Argument("integer"), "max_value": Argument("integer")},
        one_of=("min_value", "max_value"),
    ),
}


@dataclass(frozen=True)
class Expectation:
    """One rule of a suite; it becomes one asset check named `name`."""

    name: str
    type: str  # a key of CATALOGUE
    arguments: Mapping[str, Any]  # great_expectations keyword arguments, without `mostly`
    severity: str  # error (blocking) or warn
    mostly: float = 1.0
    description: str = ""
    origin: str = "declared"  # or what in the declaration it is derived from

    @property
    def kind(self) -> Kind:
        return CATALOGUE[self.type]

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the rule reads, in argument order."""
        found: list[str] = []
        for name, argument in self.kind.arguments.items():
            value = self.arguments.get(name)
            if argument.kind == "column" and value is not None:
                found.append(value)
            elif argument.kind == "columns" and value is not None:
                found.extend(value)
        return tuple(found)

    @property
    def blocking(self) -> bool:
        return self.severity == ERROR

    def summary(self) -> str:
        """`type(arg=value, ...)`, as an operator reads it in the UI."""
        shown = {**self.arguments, **({"mostly": self.mostly} if self.mostly < 1 else {})}
        arguments = ", ".join(f"{k}={_short_repr(v)}" for k, v in shown.items())
        return f"{self.type}({arguments})"


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class SuiteDeclaration:
    """The `expectations:` section of a source declaration."""

    bronze: tuple[Expectation, ...] = ()
    silver: tuple[Expectation, ...] = ()
    quarantine: tuple[Expectation, ...] = ()
    # where each rule was declared ("expectations.silver[2]"), for load-time errors
    fields: Mapping[str, str] = field(default_factory=dict)


LAYERS = ("bronze", "silver", "quarantine")


class ExpectationError(ValueError):
    """A declared expectation is wrong; `field_path` says which part."""

    def __init__(self, field_path: str, problem: str):
        self.field_path = field_path
        self.problem = problem
        super().__init__(f"{field_path}: {problem}")


def default_name(type_: str, arguments: Mapping[str, Any]) -> str:
    """`<columns>_<short>`, lower case: e.g. `invoice_no_not_null`, `row_count`."""
    kind = CATALOGUE[type_]
    columns = [arguments.get(n) for n, a in kind.arguments.items() if a.kind == "column"]
    for n, a in kind.arguments.items():
        if a.kind == "columns":
            columns.extend(arguments.get(n) or [])
    stem = "_".join(str(c) for c in columns if c)
    name = f"{stem}_{kind.short}" if stem else kind.short
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")


def parse_expectation(raw: Any, where: str) -> Expectation:
    """One declared rule: `{type: ..., severity: ..., <arguments>, [mostly, name, description]}`."""
    if not isinstance(raw, dict):
        raise ExpectationError(where, f"expected a mapping, got {type(raw).__name__}")
    type_ = raw.get("type")
    if type_ not in CATALOGUE:
        raise ExpectationError(
            f"{where}.type", f"{type_!r} is not one of: {', '.join(sorted(CATALOGUE))}"
        )
    kind = CATALOGUE[type_]
    if "severity" not in raw:
        raise ExpectationError(
            f"{where}.severity", "is required: error (blocks downstream) or warn (reports)"
        )
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise ExpectationError(f"{where}.severity", f"{severity!r} is not one of: error, warn")
    common = {"type", "severity", "name", "description", "mostly"}
    unknown = sorted(set(raw) - common - set(kind.arguments))
    if unknown:
        allowed = ", ".join(sorted(common | set(kind.arguments)))
        raise ExpectationError(f"{where}.{unknown[0]}", f"unknown field; allowed: {allowed}")
    arguments = {
        name: _argument(raw[name], argument, f"{where}.{name}")
        for name, argument in kind.arguments.items()
        if name in raw
    }
    for name, argument in kind.arguments.items():
        if argument.required and name not in arguments:
            raise ExpectationError(f"{where}.{name}", "is required but missing")
    if kind.one_of and not any(name in arguments for name in kind.one_of):
        raise ExpectationError(where, f"needs at least one of: {', '.join(kind.one_of)}")
    mostly = _mostly(raw.get("mostly", 1.0), kind, f"{where}.mostly")
    name = raw.get("name", default_name(type_, arguments))
    if not isinstance(name, str) or not CHECK_NAME.match(name):
        raise ExpectationError(
            f"{where}.name", f"{name!r} must be lower_snake_case (it names the asset check)"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ExpectationError(f"{where}.description", "expected a string")
    return Expectation(name, type_, arguments, severity, mostly, description.strip())


def _mostly(value: Any, kind: Kind, where: str) -> float:
    if value != 1.0 and not kind.takes_mostly:
        raise ExpectationError(where, "a table expectation takes no mostly")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ExpectationError(where, "expected a number in (0, 1], the share of rows to pass")
    return float(value)


def _argument(value: Any, argument: Argument, where: str) -> Any:
    kind = argument.kind
    if kind == "column":
        if not isinstance(value, str) or not value:
            raise ExpectationError(where, "expected a column name")
    elif kind == "columns":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ExpectationError(where, "expected a non-empty list of column names")
        value = list(value)
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExpectationError(where, "expected a number")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ExpectationError(where, "expected a whole number >= 0")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ExpectationError(where, "expected true or false")
    elif kind == "regex":
        if not isinstance(value, str):
            raise ExpectationError(where, "expected a regular expression")
        try:
            re.compile(value)
        except re.error as error:
            raise ExpectationError(where, f"is not a valid regular expression: {error}") from error
    elif kind == "values":
        if not isinstance(value, list) or not value:
            raise ExpectationError(where, "expected a non-empty list of values")
        value = list(value)
    return value


def parse_suite_declaration(raw: Any, where: str = "expectations") -> SuiteDeclaration:
    if raw is None:
        return SuiteDeclaration()
    if not isinstance(raw, dict):
        raise ExpectationError(where, f"expected a mapping, got {type(raw).__name__}")
    allowed = set(LAYERS)
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ExpectationError(
            f"{where}.{unknown[0]}", f"unknown field; allowed: {', '.join(sorted(allowed))}"
        )
    layers: dict[str, tuple[Expectation, ...]] = {}
    fields: dict[str, str] = {}
    for layer in LAYERS:
        items = raw.get(layer, [])
        if not isinstance(items, list):
            raise ExpectationError(f"{where}.{layer}", "expected a list of expectations")
        parsed = []
        for i, item in enumerate(items):
            expectation = parse_expectation(item, f"{where}.{layer}[{i}]")
            fields[f"{layer}:{expectation.name}"] = f"{where}.{layer}[{i}]"
            parsed.append(expectation)
        layers[layer] = tuple(parsed)
    return SuiteDeclaration(**layers, fields=fields)
