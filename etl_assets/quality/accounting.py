"""Row accounting: every bronze row lands exactly once in silver, quarantine or duplicates."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pandas as pd

IDENTITY = ["_source_file", "_row_number"]


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
    known = outputs.merge(
        bronze[IDENTITY].drop_duplicates(), on=IDENTITY, how="left", indicator=True
    )
    return Accounting(
        bronze_rows=bronze_rows,
        silver_rows=len(silver),
        quarantined_rows=len(quarantine),
        duplicates_removed=duplicates_removed,
        rows_seen_twice=int(outputs.duplicated().sum()),
        rows_not_in_bronze=int((known["_merge"] == "left_only").sum()),
    )


def accounting_check_result(asset_key: dg.AssetKey, accounting: Accounting) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="row_accounting",
        passed=accounting.balanced,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "bronze rows = silver rows + quarantined rows + duplicates removed"
            if accounting.balanced
            else f"rows do not add up: {accounting}"
        ),
        metadata={
            "bronze_rows": accounting.bronze_rows,
            "silver_rows": accounting.silver_rows,
            "quarantined_rows": accounting.quarantined_rows,
            "duplicates_removed": accounting.duplicates_removed,
            "difference": accounting.difference,
            "rows_seen_twice": accounting.rows_seen_twice,
            "rows_not_in_bronze": accounting.rows_not_in_bronze,
        },
    )
