"""The quarantine: every reject reason a source can produce, the quarantine's schema, and
the quarantine frame (original bronze strings, reason, detail, lineage) of rejected rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl_assets.sources import SourceSpec
from etl_assets.sources.reserved_columns import (
    CONFLICTING_DUPLICATE_KEY,
    READ_ERROR,
    READ_ERROR_REASONS,
    REJECT_DETAIL_COLUMN,
    REJECT_REASON_COLUMN,
    SILVER_LINEAGE_COLUMNS,
)
from etl_assets.transforms.silver.bronze_rows import LINEAGE_DTYPES, BronzeRows
from etl_assets.transforms.silver.builtin_rules import Rule, rule_reasons
from etl_assets.transforms.silver.casting import DATETIME_DTYPE, CastColumn, take_positions
from etl_assets.transforms.silver.days import as_days
from etl_assets.transforms.silver.duplicates import can_conflict
from etl_assets.transforms.standardise import STRING_DTYPE


def reject_reasons(spec: SourceSpec) -> list[str]:
    """Every reject reason this source can produce, in the order the rules are checked."""
    reasons = rule_reasons(spec)
    if can_conflict(spec):
        reasons.append(CONFLICTING_DUPLICATE_KEY)
    # Declared rules of severity error, then the hook's reasons: applied after cleaning,
    # by declared_rules.py.
    reasons.extend(rule.name for rule in spec.rules if rule.blocking)
    if spec.silver_hook is not None:
        reasons.extend(spec.silver_hook.reasons)
    return reasons


def quarantine_schema(spec: SourceSpec) -> dict[str, str]:
    """Column -> dtype of `SilverResult.quarantine`, in column order."""
    schema = dict.fromkeys(spec.raw_columns, STRING_DTYPE)
    schema[REJECT_REASON_COLUMN] = STRING_DTYPE
    schema[REJECT_DETAIL_COLUMN] = STRING_DTYPE
    if spec.is_daily:
        schema[spec.partition_column] = DATETIME_DTYPE
    schema.update(LINEAGE_DTYPES)
    schema[READ_ERROR] = STRING_DTYPE
    return schema


def quarantine_frame(
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
        columns[spec.partition_column] = pd.Series(as_days(day[positions]))
    for name in SILVER_LINEAGE_COLUMNS:
        columns[name] = bronze.column(name, positions)
    # code -1 (a clean line) takes the trailing null
    read_errors = pd.array([*READ_ERROR_REASONS, None], dtype=STRING_DTYPE)
    read_error_codes = bronze.read_error[bronze.rows[positions]]
    columns[READ_ERROR] = pd.Series(read_errors.take(read_error_codes))
    return pd.DataFrame(columns, copy=False)


def quarantine_texts(
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
    return reasons, take_positions(details, by_slot)
