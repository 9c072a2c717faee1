"""The expectation suite of every bronze, silver and quarantine asset of a declared source.

A suite is what the declaration already promises (derived rules: required columns are never
null, minimums hold, the business key is unique, reject reasons come from the closed set)
plus the rules declared under `expectations:` in the source's YAML. Derived rules are
error-level: silver breaking its own contract is a bug that must not reach gold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from etl_assets.sources import SourceSpec
from etl_assets.sources.expectation_spec import ERROR, WARN, Expectation
from etl_assets.sources.reserved_columns import LINEAGE_COLUMNS as BRONZE_LINEAGE
from etl_assets.sources.reserved_columns import REJECT_REASON_COLUMN
from etl_assets.sources.spec import SourceDeclarationError
from etl_assets.transforms.silver import quarantine_schema, reject_reasons, silver_schema
from etl_assets.transforms.standardise import COUNTRY_SPELLINGS

HISTORY_COLUMNS = ("valid_from", "valid_to", "is_current")


@dataclass(frozen=True)
class Suite:
    """The rules of one asset, and what its checks need to know about the asset."""

    asset: tuple[str, ...]  # asset key path, e.g. ("silver", "orders")
    expectations: tuple[Expectation, ...]
    pii_columns: frozenset[str] = frozenset()  # sample values of these are masked
    partition_column: str | None = None  # the column that says a row's partition day

    @property
    def name(self) -> str:
        return "/".join(self.asset)


@dataclass(frozen=True)
class SourceSuites:
    bronze: Suite
    silver: Suite
    quarantine: Suite


def _rule(name: str, type_: str, origin: str, severity: str = ERROR, **arguments) -> Expectation:
    return Expectation(name, type_, arguments, severity, origin=origin)


def _not_null(column: str, origin: str) -> Expectation:
    name = f"{column.lstrip('_')}_not_null"
    return _rule(name, "expect_column_values_to_not_be_null", origin, column=column)


def _unique(columns: Sequence[str], origin: str, name: str) -> Expectation:
    if len(columns) == 1:
        return _rule(name, "expect_column_values_to_be_unique", origin, column=columns[0])
    return _rule(name, "expect_compound_columns_to_be_unique", origin, column_list=list(columns))


def silver_columns(spec: SourceSpec) -> list[str]:
    if not spec.is_history:
        return list(silver_schema(spec))
    tracked = [c for c in spec.history_tracked or () if c not in spec.business_key]
    return [*spec.business_key, *tracked, *HISTORY_COLUMNS]


def _derived_silver(spec: SourceSpec) -> list[Expectation]:
    """Rules the declaration implies and nothing else enforces. (Required columns are never
    null: silver's typed boundary fails the step before such a frame is stored.)"""
    columns = set(silver_columns(spec))
    rules: list[Expectation] = []
    for i, column in enumerate(spec.columns):
        if column.target not in columns:
            continue
        where = f"columns[{i}]"
        if column.minimum is not None:
            rules.append(
                _rule(
                    f"{column.target}_at_least_minimum",
                    "expect_column_values_to_be_between",
                    f"{where}.min",
                    column=column.target,
                    min_value=column.minimum,
                )
            )
        if "country" in column.standardise:
            # An unknown country is kept (title case) but may be a new alias: worth a look.
            rules.append(
                _rule(
                    f"{column.target}_known",
                    "expect_column_values_to_be_in_set",
                    f"{where}.standardise: country",
                    severity=WARN,
                    column=column.target,
                    value_set=sorted(set(COUNTRY_SPELLINGS.values())),
                )
            )
    if spec.business_key:
        key = list(spec.business_key) + (["valid_from"] if spec.is_history else [])
        rules.append(_unique(key, "business_key", "business_key_unique"))
    return rules


def known_reject_reasons(spec: SourceSpec) -> list[str]:
    """The closed set: the silver transform's own reasons, then the names of the declared
    error rules (`rules:`) and the reasons the silver hook declares it may return."""
    reasons = list(reject_reasons(spec))
    reasons += [rule.name for rule in spec.rules if rule.blocking]
    if spec.silver_hook is not None:
        reasons += list(spec.silver_hook.reasons)
    return list(dict.fromkeys(reasons))


def _derived_quarantine(spec: SourceSpec) -> list[Expectation]:
    """Every quarantined row says why, with a reason of the closed set. (Its identity, file
    and row number, is checked by silver's row accounting.)"""
    return [
        _not_null(REJECT_REASON_COLUMN, "silver rules"),
        _rule(
            "reject_reason_known",
            "expect_column_values_to_be_in_set",
            "the closed set of reject reasons",
            column=REJECT_REASON_COLUMN,
            value_set=known_reject_reasons(spec),
        ),
    ]


def _checked(
    spec: SourceSpec, layer: str, rules: Iterable[Expectation], columns: Sequence[str]
) -> tuple[Expectation, ...]:
    """The layer's rules, with declared ones checked against the layer's columns and names."""
    known = set(columns)
    names: set[str] = set()
    fields = spec.expectations.fields
    result = []
    for rule in rules:
        where = fields.get(f"{layer}:{rule.name}", "expectations")
        absent = [c for c in rule.columns if c not in known]
        if absent:
            raise SourceDeclarationError(
                spec.file,
                where,
                f"column {absent[0]!r} is not a column of {layer}/{spec.name}; "
                f"columns: {', '.join(columns)}",
            )
        if rule.name in names:
            raise SourceDeclarationError(
                spec.file,
                f"{where}.name",
                f"{rule.name!r} is already a check of {layer}/{spec.name}; give this one a name",
            )
        names.add(rule.name)
        result.append(rule)
    return tuple(result)


def source_suites(spec: SourceSpec) -> SourceSuites:
    """The three suites of a source; a declared rule that does not fit fails with its field."""
    declared = spec.expectations
    pii_raw = frozenset(c.name for c in spec.columns if c.pii)
    pii_silver = frozenset(c.target for c in spec.columns if c.pii)
    daily_rows = spec.is_daily and not spec.is_history
    bronze_columns = [*spec.raw_columns, *BRONZE_LINEAGE]
    quarantine_columns = list(quarantine_schema(spec))
    return SourceSuites(
        bronze=Suite(
            ("bronze", spec.name),
            _checked(spec, "bronze", declared.bronze, bronze_columns),
            pii_raw,
            "_landing_date" if spec.is_daily else None,
        ),
        silver=Suite(
            ("silver", spec.name),
            _checked(
                spec, "silver", [*_derived_silver(spec), *declared.silver], silver_columns(spec)
            ),
            pii_silver,
            spec.partition_column if daily_rows else None,
        ),
        quarantine=Suite(
            ("silver", f"{spec.name}_quarantine"),
            _checked(
                spec,
                "quarantine",
                [*_derived_quarantine(spec), *declared.quarantine],
                quarantine_columns,
            ),
            pii_raw,
            spec.partition_column if daily_rows else None,
        ),
    )
