"""Every quality check of the code location: the suites of each declared source's bronze,
silver and quarantine, the suites of the gold marts the registry builds, and column schema
change checks. Row accounting runs inside the silver asset (accounting.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg

from etl_assets.marts.retail import retail_marts
from etl_assets.marts.spec import MartSpec
from etl_assets.quality.checks.schema_drift import column_schema_change_checks
from etl_assets.quality.checks.suite_checks import ExtraRules, SuiteCheck, suite_checks
from etl_assets.quality.suites.gold_suites import gold_suites
from etl_assets.quality.suites.reconciliation import (
    RECONCILED_MART,
    RECONCILIATION,
    RECONCILIATION_COLUMNS,
    SILVER_INPUT,
    reconciliation_frame,
)
from etl_assets.quality.suites.source_suites import source_suites
from etl_assets.sources import SourceSpec


def _source_checks(
    spec: SourceSpec, partitions_def: dg.PartitionsDefinition
) -> tuple[list[dg.AssetChecksDefinition], dg.AssetKey]:
    """A source's bronze check op and its silver one; and the silver asset's key."""
    suites = source_suites(spec)
    daily = partitions_def if spec.is_daily else None
    daily_rows = partitions_def if spec.is_daily and not spec.is_history else None
    bronze = SuiteCheck(suites.bronze, landing_columns=spec.raw_columns)
    # silver and its quarantine are materialized together: one op checks both
    silver = [SuiteCheck(suites.silver), SuiteCheck(suites.quarantine)]
    checks = [
        suite_checks(f"bronze__{spec.name}__checks", [bronze], daily),
        suite_checks(f"silver__{spec.name}__checks", silver, daily_rows),
    ]
    return checks, dg.AssetKey(suites.silver.asset)


def _reconciliation(mart: MartSpec) -> ExtraRules | None:
    if mart.name != RECONCILED_MART.name:
        return None
    return ExtraRules(
        (RECONCILIATION,),
        {SILVER_INPUT: dg.AssetKey(["silver", SILVER_INPUT])},
        reconciliation_frame,
        input_columns={SILVER_INPUT: RECONCILIATION_COLUMNS},
    )


def _mart_checks(
    marts: Sequence[MartSpec], partitions_def: dg.PartitionsDefinition
) -> tuple[list[dg.AssetChecksDefinition], list[dg.AssetKey]]:
    """One check op per mart. Not one for the whole-history marts although one step computes
    them: a backfill materializes each when its own inputs are ready, in runs of its own, and
    an op's inputs are all loaded, so a shared op would read a mart not yet materialized."""
    suites = gold_suites(marts)
    checks = [
        suite_checks(
            f"gold__{m.name}__checks",
            [SuiteCheck(suites[m.name], extra=_reconciliation(m))],
            partitions_def if m.is_daily else None,
        )
        for m in marts
    ]
    return checks, [dg.AssetKey(m.asset) for m in marts]


def build_quality_checks(
    sources: Mapping[str, SourceSpec], partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetChecksDefinition]:
    """Every quality check of the code location. They need the `quality` resource
    (engine/resource.py)."""
    checks: list[dg.AssetChecksDefinition] = []
    watched: list[dg.AssetKey] = []
    for spec in sources.values():
        source_checks, silver = _source_checks(spec, partitions_def)
        checks.extend(source_checks)
        watched.append(silver)
    mart_checks, marts = _mart_checks(retail_marts(sources), partitions_def)
    checks.extend(mart_checks)
    watched.extend(marts)
    checks.extend(column_schema_change_checks(watched))
    return checks
