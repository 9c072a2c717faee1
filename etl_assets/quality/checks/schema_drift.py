"""Schema drift: a landing file whose columns differ from the declaration (bronze), and a
column schema that changes between materializations (silver and gold).

Bronze keeps an undeclared landing column as read (nothing is dropped) and silver ignores it
until it is declared; a declared, non-required column absent from the file is null in bronze
and silver. Both are legal, so both are warnings that name the columns. A missing *required*
column still fails bronze: every row would be rejected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg
import numpy as np
import pandas as pd

from etl_assets.quality.checks.partition_results import WARN, PartitionCheck
from etl_assets.quality.engine.validation import Partitions

LANDING_COLUMNS_CHECK = "landing_columns"


def non_null_rows(bronze: pd.DataFrame, partitions: Partitions) -> dict[str, np.ndarray]:
    """Per column, its non-null rows in each partition."""
    return {
        c: np.bincount(partitions.of_row[bronze[c].notna().to_numpy()], minlength=partitions.count)
        for c in bronze.columns
    }


def landing_column_checks(
    present: Mapping[str, Sequence[int]],
    rows_per_partition: Sequence[int],
    declared: Sequence[str],
    lineage: Sequence[str],
    keys: Sequence[str | None],
) -> list[PartitionCheck]:
    """Per partition: undeclared columns with values, declared ones null on every row.

    `present[column][p]` is the non-null rows of the column in partition p (from the
    frame, or from the Parquet footers without reading data). In bronze a value that was
    in the file is never null (an empty field is ""), so a declared column null on every
    row of a non-empty partition was not in its file.
    """
    extra = [c for c in present if c not in declared and c not in lineage]
    checks = []
    for p, key in enumerate(keys):
        rows = int(rows_per_partition[p])
        unexpected = [c for c in extra if present[c][p] > 0]
        missing = [c for c in declared if rows and (c not in present or present[c][p] == 0)]
        problems = []
        if unexpected:
            problems.append(f"undeclared column(s) kept in bronze: {', '.join(unexpected)}")
        if missing:
            problems.append(f"declared column(s) absent (null on every row): {', '.join(missing)}")
        checks.append(
            PartitionCheck(
                check_name=LANDING_COLUMNS_CHECK,
                partition=key,
                passed=not problems,
                severity=WARN,
                description="; ".join(problems)
                if problems
                else "the landing columns match the declaration",
                metadata={
                    "unexpected_columns": dg.MetadataValue.json(unexpected),
                    "missing_columns": dg.MetadataValue.json(missing),
                    "rows": rows,
                    **({"reason": "; ".join(problems)} if problems else {}),
                },
            )
        )
    return checks


def column_schema_change_checks(
    asset_keys: Sequence[dg.AssetKey],
) -> Sequence[dg.AssetChecksDefinition]:
    """Dagster's own check: the latest two materializations' `dagster/column_schema` differ
    (added, removed or retyped columns are named). Warn: downstream readers should know.
    Its step is named for what it does (Dagster names it `asset_check_<hash>`)."""
    built = dg.build_column_schema_change_checks(assets=list(asset_keys), severity=WARN)
    return [_renamed(checks, SCHEMA_CHANGE_STEP) for checks in built]


SCHEMA_CHANGE_STEP = "silver_and_gold__column_schema_change"


def _renamed(checks: dg.AssetChecksDefinition, name: str) -> dg.AssetChecksDefinition:
    """The same checks, run by a step called `name`."""
    from dagster._core.definitions.asset_checks.asset_checks_definition import (
        AssetChecksDefinition,
    )

    return AssetChecksDefinition.create(
        keys_by_input_name=checks.keys_by_input_name,
        node_def=checks.node_def.with_replaced_properties(name=name),
        check_specs_by_output_name=checks.check_specs_by_output_name,
        can_subset=True,
    )
