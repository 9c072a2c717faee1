"""Row accounting: every bronze row lands exactly once in silver, quarantine or duplicates,
checked for each partition on its own (also when a run covers a range of days)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import dagster as dg
import numpy as np
import pandas as pd

from etl_assets.quality.checks.partition_results import (
    ERROR,
    PartitionCheck,
    check_events,
    check_result,
    run_partition_keys,
)

IDENTITY = ["_source_file", "_row_number"]
CHECK_NAME = "row_accounting"
DESCRIPTION = "bronze rows = silver rows + quarantined rows + duplicates removed"


@dataclass(frozen=True)
class Accounting:
    bronze_rows: int  # bronze rows assigned to the partitions checked
    silver_rows: int
    quarantined_rows: int
    duplicates_removed: int
    rows_seen_twice: int  # an identity in both outputs, or twice in one
    rows_not_in_bronze: int  # an identity that bronze does not have

    @property
    def difference(self) -> int:
        return self.bronze_rows - (
            self.silver_rows + self.quarantined_rows + self.duplicates_removed
        )

    @property
    def balanced(self) -> bool:
        return self.difference == 0 and not self.rows_seen_twice and not self.rows_not_in_bronze


def _identity_problems(bronze: pd.DataFrame, outputs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per output row: is its identity seen before in the outputs, and is it absent from bronze."""
    # One int64 per identity (file code, row number): set operations on integers instead of
    # a merge on a string column.
    files, _ = pd.factorize(
        pd.concat([bronze["_source_file"], outputs["_source_file"]], ignore_index=True)
    )
    rows = np.concatenate(
        [
            bronze["_row_number"].to_numpy(dtype=np.int64, na_value=-1),
            outputs["_row_number"].to_numpy(dtype=np.int64, na_value=-1),
        ]
    )
    width = int(rows.max(initial=0)) + 2  # -1 (no row number) and 0 stay distinct
    keys = files.astype(np.int64) * width + (rows + 1)
    bronze_keys, output_keys = keys[: len(bronze)], keys[len(bronze) :]
    seen_twice = pd.Series(output_keys).duplicated().to_numpy()
    not_in_bronze = ~np.isin(output_keys, bronze_keys)
    return pd.Series(seen_twice), pd.Series(not_in_bronze)


def account_rows(
    bronze: pd.DataFrame,
    silver: pd.DataFrame,
    quarantine: pd.DataFrame,
    *,
    bronze_rows: int,
    duplicates_removed: int,
) -> Accounting:
    """Counts, and checks the identities (file, row number) of the output rows against bronze."""
    outputs = pd.concat([silver[IDENTITY], quarantine[IDENTITY]], ignore_index=True)
    seen_twice, not_in_bronze = _identity_problems(bronze, outputs)
    return Accounting(
        bronze_rows=bronze_rows,
        silver_rows=len(silver),
        quarantined_rows=len(quarantine),
        duplicates_removed=duplicates_removed,
        rows_seen_twice=int(seen_twice.sum()),
        rows_not_in_bronze=int(not_in_bronze.sum()),
    )


def account_days(
    bronze: pd.DataFrame,
    silver: pd.DataFrame,
    quarantine: pd.DataFrame,
    *,
    day_column: str,
    days: Sequence[pd.Timestamp],
    bronze_rows_by_day: Mapping[pd.Timestamp, int],
    duplicates_by_day: Mapping[pd.Timestamp, int],
) -> dict[pd.Timestamp, Accounting]:
    """The accounting of each day: the transform's counts of bronze rows and duplicates for
    the day against the output rows that carry the day."""
    outputs = pd.concat(
        [silver[[*IDENTITY, day_column]], quarantine[[*IDENTITY, day_column]]], ignore_index=True
    )
    seen_twice, not_in_bronze = _identity_problems(bronze, outputs)
    output_days = pd.Series(outputs[day_column].to_numpy(), dtype="datetime64[ns]")
    silver_days = silver[day_column].value_counts()
    quarantine_days = quarantine[day_column].value_counts()
    accounts = {}
    for day in days:
        on_day = (output_days == day).to_numpy()
        accounts[day] = Accounting(
            bronze_rows=int(bronze_rows_by_day.get(day, 0)),
            silver_rows=int(silver_days.get(day, 0)),
            quarantined_rows=int(quarantine_days.get(day, 0)),
            duplicates_removed=int(duplicates_by_day.get(day, 0)),
            rows_seen_twice=int(seen_twice[on_day].sum()),
            rows_not_in_bronze=int(not_in_bronze[on_day].sum()),
        )
    return accounts


def _figures(accounting: Accounting) -> str:
    """The day's sum in words, so the check's history reads as figures, not the rule."""
    a = accounting
    return (
        f"{a.bronze_rows:,} bronze rows = {a.silver_rows:,} silver + {a.quarantined_rows:,} "
        f"quarantined + {a.duplicates_removed:,} duplicates removed"
    )


def accounting_check(accounting: Accounting, partition: str | None) -> PartitionCheck:
    """The row_accounting verdict on one partition (error: blocks gold)."""
    return PartitionCheck(
        check_name=CHECK_NAME,
        partition=partition,
        passed=accounting.balanced,
        severity=ERROR,
        description=_figures(accounting)
        if accounting.balanced
        else f"rows do not add up: {accounting}",
        metadata={**asdict(accounting), "difference": accounting.difference},
    )


def accounting_check_result(asset_key: dg.AssetKey, accounting: Accounting) -> dg.AssetCheckResult:
    return check_result(asset_key, accounting_check(accounting, None))


def accounting_events(
    context,
    asset_key: dg.AssetKey,
    bronze: pd.DataFrame,
    result,
    *,
    day_column: str | None,
    days: Sequence[pd.Timestamp] | None,
) -> Iterator:
    """The row_accounting check events of a silver step: one verdict per partition day of a
    daily source (a range run included), one verdict for an unpartitioned source."""
    if day_column is None or days is None:
        yield accounting_check_result(
            asset_key,
            account_rows(
                bronze,
                result.clean,
                result.quarantine,
                bronze_rows=result.rows_in,
                duplicates_removed=result.duplicates_removed,
            ),
        )
        return
    accounts = account_days(
        bronze,
        result.clean,
        result.quarantine,
        day_column=day_column,
        days=days,
        bronze_rows_by_day=result.rows_in_by_day,
        duplicates_by_day=result.duplicates_by_day,
    )
    keys = run_partition_keys(context, partitioned=True)
    if len(keys) != len(days):
        raise dg.Failure(description=f"run covers partitions {keys} but days {list(days)}")
    checks = [accounting_check(accounts[day], key) for day, key in zip(days, keys, strict=True)]
    yield from check_events(context, asset_key, checks, blocking={CHECK_NAME: True})
