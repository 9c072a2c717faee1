"""Declared row rules (`rules:`) and the custom silver hook, applied after cleaning.

`apply_row_rules` takes the result of `clean_source` and moves the rows that fail a rule
of severity `error`, or that the hook rejects, from silver to the quarantine with the
rule's name as `_reject_reason`; rules of severity `warn` keep their rows and are
counted. Rows are moved, never dropped: row accounting still balances.

Order: the built-in rules (builtin_rules.py) and deduplication first (in `clean_source`),
then the declared rules in declaration order (the first failing one names the reason),
then the hook on the rows still kept. Pure pandas: no dagster import here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from etl_assets.sources import SourceSpec
from etl_assets.sources.reserved_columns import (
    READ_ERROR,
    REJECT_DETAIL_COLUMN,
    REJECT_REASON_COLUMN,
    SILVER_LINEAGE_COLUMNS,
)
from etl_assets.sources.rule_spec import RuleSpec
from etl_assets.transforms.silver.clean import SilverResult
from etl_assets.transforms.silver.quarantine import quarantine_schema
from etl_assets.transforms.standardise import STRING_DTYPE

IDENTITY = ["_source_file", "_row_number"]  # one bronze row


class HookContractError(ValueError):
    """A silver hook returned something other than one reason (or null) per row."""


@dataclass(frozen=True)
class RuleOutcome:
    result: SilverResult  # rows moved, reject counts updated
    warnings: dict[str, int]  # warn-severity rule -> rows failing it (kept in silver)


def rule_failures(frame: pd.DataFrame, rule: RuleSpec, spec: SourceSpec) -> np.ndarray:
    """True for each row of `frame` whose value fails `rule` (a null fails only not_null)."""
    values = frame[rule.column]
    if rule.kind == "not_null":
        return values.isna().to_numpy(bool)
    if rule.kind == "min":
        failing = values < rule.value
    elif rule.kind == "max":
        failing = values > rule.value
    elif rule.kind == "between":
        low, high = rule.value
        failing = (values < low) | (values > high)
    elif rule.kind == "in":
        members = list(rule.value)
        column_type = spec.column(rule.column).type
        if column_type == "string":
            members = [str(m) for m in members]  # YAML reads 1 or 2.5 as numbers
        elif column_type == "datetime":
            members = [pd.Timestamp(str(m)) for m in members]
        failing = ~values.isin(members) & values.notna()
    else:  # matches: the whole value
        failing = ~values.str.fullmatch(rule.value).astype("boolean")
    return pd.array(failing, dtype="boolean").fillna(False).to_numpy(bool)


def describe_rule(rule: RuleSpec) -> str:
    texts = {
        "min": lambda v: f"is below {v}",
        "max": lambda v: f"is above {v}",
        "between": lambda v: f"is outside [{v[0]}, {v[1]}]",
        "in": lambda v: f"is not one of {', '.join(map(str, v))}",
        "matches": lambda v: f"does not match {v}",
        "not_null": lambda v: "is null",
    }
    return texts[rule.kind](rule.value)


def apply_row_rules(
    result: SilverResult,
    bronze: pd.DataFrame,
    spec: SourceSpec,
    hook: Callable[[pd.DataFrame], pd.Series] | None = None,
) -> RuleOutcome:
    """`result` with the rows failing an error rule or rejected by `hook` quarantined."""
    if not spec.rules and hook is None:
        return RuleOutcome(result, {})
    clean = result.clean
    errors = [rule for rule in spec.rules if rule.blocking]
    reasons = pd.Series(pd.NA, index=clean.index, dtype=STRING_DTYPE)
    details = pd.Series(pd.NA, index=clean.index, dtype=STRING_DTYPE)
    for rule in errors:
        failing = rule_failures(clean, rule, spec) & reasons.isna().to_numpy(bool)
        if failing.any():
            reasons[failing] = rule.name
            shown = clean.loc[failing, rule.column].astype(STRING_DTYPE).fillna("<null>")
            details[failing] = f"{rule.column}='" + shown + f"' {describe_rule(rule)}"
    if hook is not None:
        kept = reasons.isna().to_numpy(bool)
        rejected = _hook_reasons(hook, clean[kept].reset_index(drop=True), spec)
        positions = np.flatnonzero(kept)[rejected.notna().to_numpy(bool)]
        reasons.iloc[positions] = rejected.dropna().to_numpy()
        details.iloc[positions] = f"rejected by silver_hook {spec.silver_hook.function}"

    moving = reasons.notna().to_numpy(bool)
    kept_rows = clean[~moving].reset_index(drop=True)
    warnings = {
        rule.name: int(rule_failures(kept_rows, rule, spec).sum())
        for rule in spec.rules
        if not rule.blocking
    }
    if not moving.any():
        counts = {**dict.fromkeys((r.name for r in errors), 0), **result.reject_counts}
        return RuleOutcome(replace(result, reject_counts=counts), warnings)
    moved = _quarantine_rows(clean[moving], reasons[moving], details[moving], bronze, spec)
    quarantine = pd.concat([result.quarantine, moved], ignore_index=True)
    counts = dict(result.reject_counts)
    for rule in errors:
        counts.setdefault(rule.name, 0)
    for reason, count in reasons[moving].value_counts().items():
        counts[str(reason)] = counts.get(str(reason), 0) + int(count)
    return RuleOutcome(
        replace(result, clean=kept_rows, quarantine=quarantine, reject_counts=counts), warnings
    )


def _hook_reasons(hook: Callable, frame: pd.DataFrame, spec: SourceSpec) -> pd.Series:
    """The hook's answer, checked: one reason (lower_snake_case) or null per row."""
    answer = hook(frame.copy())  # a copy: the hook decides, it does not edit silver
    where = f"silver_hook {spec.silver_hook.function if spec.silver_hook else '?'} of {spec.file}"
    if not isinstance(answer, pd.Series) or len(answer) != len(frame):
        raise HookContractError(
            f"{where} must return a pandas Series with one reason (or null) per row of the "
            f"{len(frame)} it was given; it returned {type(answer).__name__}"
            + (f" of length {len(answer)}" if hasattr(answer, "__len__") else "")
        )
    answer = answer.reset_index(drop=True).astype(STRING_DTYPE)
    declared = set(spec.silver_hook.reasons) if spec.silver_hook else set()
    undeclared = sorted(set(answer.dropna().unique()) - declared)
    if undeclared:
        raise HookContractError(
            f"{where} returned reason(s) {undeclared[:3]} that silver_hook.reasons does not "
            f"list ({', '.join(sorted(declared))}): declare every reason the hook may return"
        )
    return answer


def _quarantine_rows(
    rows: pd.DataFrame,
    reasons: pd.Series,
    details: pd.Series,
    bronze: pd.DataFrame,
    spec: SourceSpec,
) -> pd.DataFrame:
    """Rejected silver rows as quarantine rows: the original bronze strings (the hash for
    a PII column, as everywhere past bronze), the reason, the detail, the lineage."""
    raw = [c.name for c in spec.columns if not c.pii]
    originals = rows[IDENTITY].merge(
        bronze[IDENTITY + raw].drop_duplicates(IDENTITY), on=IDENTITY, how="left"
    )
    columns: dict[str, pd.Series] = {}
    for column in spec.columns:
        source = rows[column.target] if column.pii else originals[column.name]
        columns[column.name] = pd.Series(source.to_numpy(), dtype=STRING_DTYPE)
    columns[REJECT_REASON_COLUMN] = pd.Series(reasons.to_numpy(), dtype=STRING_DTYPE)
    columns[REJECT_DETAIL_COLUMN] = pd.Series(details.to_numpy(), dtype=STRING_DTYPE)
    if spec.is_daily:
        columns[spec.partition_column] = rows[spec.partition_column].reset_index(drop=True)
    for name in SILVER_LINEAGE_COLUMNS:
        columns[name] = rows[name].reset_index(drop=True)
    columns[READ_ERROR] = pd.Series(pd.NA, index=range(len(rows)), dtype=STRING_DTYPE)
    schema = quarantine_schema(spec)
    return pd.DataFrame(columns)[list(schema)].astype(schema)
