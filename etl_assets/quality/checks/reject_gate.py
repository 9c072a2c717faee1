"""The reject-rate gate: a partition that quarantines more than its source allows, or whose
silver is empty although its bronze is not, fails a blocking error check, so its gold is
not built (dbt's `error_if`, Databricks' `expect_or_fail`).

One verdict per partition day, computed in the silver step from the counts row accounting
already has; `max_rate` is the declaration's `quarantine.max_rate` (5 % by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd

from etl_assets.quality.checks.partition_results import ERROR, PartitionCheck

CHECK_NAME = "reject_rate"
REASON_COLUMN = "_reject_reason"


def check_spec(asset_key: dg.AssetKey, max_rate: float, partitions_def) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CHECK_NAME,
        asset=asset_key,
        blocking=True,
        description=f"at most {percent(max_rate)} of a partition's rows quarantined "
        "(quarantine.max_rate), and no empty silver partition from a non-empty bronze one",
        partitions_def=partitions_def,
    )


def percent(share: float) -> str:
    return f"{share * 100:g} %"


def _reasons_text(reasons: Mapping[str, int]) -> str:
    top = sorted(((n, r) for r, n in reasons.items() if n), reverse=True)
    shown = ", ".join(f"{reason} {n:,}" for n, reason in top[:3])
    return shown + (f", {len(top) - 3} more" if len(top) > 3 else "")


def gate_check(
    partition: str | None,
    *,
    rows_in: int,
    rejected: int,
    silver_rows: int,
    bronze_rows: int,
    reasons: Mapping[str, int],
    max_rate: float,
) -> PartitionCheck:
    """The verdict on one partition. `rows_in`: bronze rows assigned to it; `bronze_rows`:
    the rows of its own bronze partition (its landing file)."""
    rate = rejected / rows_in if rows_in else 0.0
    if rate > max_rate:
        reason = (
            f"{rate * 100:.1f} % of {rows_in:,} rows rejected ({_reasons_text(reasons)}), "
            f"{percent(max_rate)} allowed"
        )
    elif bronze_rows and not silver_rows:
        reason = (
            f"silver is empty although bronze has {bronze_rows:,} rows ({rows_in:,} assigned "
            f"to this day, {rejected:,} rejected): check the date column, its format and timezone"
        )
    else:
        reason = ""
    where = f" on {partition}" if partition else ""
    return PartitionCheck(
        check_name=CHECK_NAME,
        partition=partition,
        passed=not reason,
        severity=ERROR,
        description=reason or f"{rate * 100:.2f} % rejected{where}, {percent(max_rate)} allowed",
        metadata={
            "reject_rate": dg.MetadataValue.float(round(rate, 6)),
            "max_rate": dg.MetadataValue.float(max_rate),
            "rows_in": rows_in,
            "rows_rejected": rejected,
            "silver_rows": silver_rows,
            "bronze_rows": bronze_rows,
            "reject_reasons": dg.MetadataValue.json({r: n for r, n in reasons.items() if n}),
            **({"reason": reason} if reason else {}),
        },
    )


def reasons_by_day(quarantine: pd.DataFrame, day_column: str) -> dict[pd.Timestamp, dict]:
    """Per day, the rejected rows of each reason."""
    if quarantine.empty:
        return {}
    counts = quarantine.groupby([day_column, REASON_COLUMN], observed=True).size()
    by_day: dict[pd.Timestamp, dict] = {}
    for (day, reason), n in counts.items():
        by_day.setdefault(pd.Timestamp(day), {})[str(reason)] = int(n)
    return by_day


def gate_checks(
    accounts: Mapping[pd.Timestamp, object],
    quarantine: pd.DataFrame,
    *,
    day_column: str,
    days: Sequence[pd.Timestamp],
    keys: Sequence[str],
    bronze_rows: Mapping[str, int],
    max_rate: float,
) -> list[PartitionCheck]:
    """The gate on each day of a range, from the days' row accounting (`Accounting`)."""
    reasons = reasons_by_day(quarantine, day_column)
    return [
        gate_check(
            key,
            rows_in=accounts[day].bronze_rows,
            rejected=accounts[day].quarantined_rows,
            silver_rows=accounts[day].silver_rows,
            bronze_rows=int(bronze_rows.get(key, 0)),
            reasons=reasons.get(day, {}),
            max_rate=max_rate,
        )
        for day, key in zip(days, keys, strict=True)
    ]


def whole_source_gate(result, silver_rows: int, max_rate: float) -> PartitionCheck:
    """The gate on an unpartitioned silver step (`result`: its `SilverResult`)."""
    return gate_check(
        None,
        rows_in=result.rows_in,
        rejected=len(result.quarantine),
        silver_rows=silver_rows,
        bronze_rows=result.rows_in,
        reasons=result.reject_counts,
        max_rate=max_rate,
    )
