"""What a silver step emits besides its frames: the asset keys, the operator metadata and
column lineage of the silver output, the quarantine output, and the warn-rule check.
Shared by the step over a whole source (assets/silver.py) and the range run of a daily
source (assets/silver_daily.py)."""

import dagster as dg

from etl_assets.assets.bronze import bronze_key
from etl_assets.assets.column_docs import quarantine_descriptions
from etl_assets.assets.common import column_lineage, frame_schema
from etl_assets.sources import SourceSpec
from etl_assets.transforms.silver import SilverResult, describe_rule
from etl_assets.transforms.silver.lineage import bronze_sources


def silver_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["silver", spec.name])


def quarantine_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["silver", f"{spec.name}_quarantine"])


def silver_lineage(spec: SourceSpec, columns: list[str]) -> dg.TableColumnLineage:
    bronze = bronze_key(spec)
    deps = bronze_sources(spec, columns)
    return column_lineage({c: [(bronze, name) for name in names] for c, names in deps.items()})


def operator_metadata(result: SilverResult, seconds: float) -> dict:
    rejects = {reason: n for reason, n in sorted(result.reject_counts.items()) if n}
    return {
        "rows_in": result.rows_in,
        "rows_rejected": len(result.quarantine),
        "duplicates_removed": result.duplicates_removed,
        "late_rows": result.late_rows,
        "versions_superseded": result.superseded,
        "reject_reasons": dg.MetadataValue.json(rejects),
        "seconds": seconds,
    }


def quarantine_output(spec: SourceSpec, result: SilverResult, figures: dict) -> dg.Output:
    """`figures`: the counts per reason and the preview (`day_figures.quarantine_figures`);
    a range run passes none and gives each day its own instead."""
    return dg.Output(
        result.quarantine,
        output_name="quarantine",
        metadata={
            **figures,
            "dagster/column_schema": frame_schema(result.quarantine, quarantine_descriptions(spec)),
        },
    )


WARN_RULES_CHECK = "warn_rules"


def warn_rule_specs(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    """A non-blocking check for the declared rules of severity warn, if there are any."""
    warned = [f"{r.name}: {r.column} {describe_rule(r)}" for r in spec.rules if not r.blocking]
    if not warned:
        return []
    return [
        dg.AssetCheckSpec(
            WARN_RULES_CHECK,
            asset=silver_key(spec),
            blocking=False,
            description="rows failing a rule of severity warn (kept in silver): "
            + "; ".join(warned),
        )
    ]


def warn_rule_result(spec: SourceSpec, warnings: dict[str, int]) -> dg.AssetCheckResult:
    failing = {name: count for name, count in warnings.items() if count}
    return dg.AssetCheckResult(
        asset_key=silver_key(spec),
        check_name=WARN_RULES_CHECK,
        passed=not failing,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "every kept row passes the warn rules"
            if not failing
            else "kept rows failing warn rules: "
            + ", ".join(f"{name} ({count})" for name, count in failing.items())
        ),
        metadata={f"rows_failing_{name}": count for name, count in warnings.items()},
    )
