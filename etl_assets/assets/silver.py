"""Silver assets, generated from the declarations: typed, standardised, deduplicated rows
beside a quarantine of every rejected row with its reason.

This module defines the assets and runs the step over a whole source; the range run of a
daily source is in silver_daily.py, the keys, metadata and warn-rule check in
silver_outputs.py. The work itself is in transforms/silver/."""

from pathlib import Path

import dagster as dg
import pandas as pd

from etl_assets.assets.bronze import bronze_key
from etl_assets.assets.column_docs import silver_descriptions
from etl_assets.assets.common import (
    ALLOW_MISSING_PARTITIONS,
    frame_schema,
    stopwatch,
)
from etl_assets.assets.day_figures import quarantine_figures
from etl_assets.assets.silver_daily import silver_day_by_day
from etl_assets.assets.silver_history import applies_snapshots, silver_history
from etl_assets.assets.silver_outputs import (
    operator_metadata,
    quarantine_key,
    quarantine_output,
    silver_key,
    silver_lineage,
    warn_rule_result,
    warn_rule_specs,
)
from etl_assets.connectors.pii_key import PiiKey
from etl_assets.io.daily_frames import LakePartitions
from etl_assets.quality.checks import reject_gate
from etl_assets.quality.checks.accounting import accounting_events
from etl_assets.quality.checks.frame_types import dataframe_type
from etl_assets.quality.checks.partition_results import check_result
from etl_assets.resource_keys import LAKE_DAY_BY_DAY, LAKE_IO_MANAGER, PII
from etl_assets.sources import SourceSpec
from etl_assets.sources.hooks import resolve_hook
from etl_assets.transforms.silver import (
    apply_row_rules,
    clean_source,
    quarantine_schema,
    silver_schema,
)
from etl_assets.transforms.silver.scd2 import history_of, history_schema


def build_silver_assets(
    spec: SourceSpec, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """silver/<source> and silver/<source>_quarantine, with a blocking row-accounting check."""
    daily_rows = spec.is_daily and not spec.is_history
    clean_schema = history_schema(spec) if spec.is_history else silver_schema(spec)
    required = [c.target for c in spec.columns if c.required and c.target in clean_schema]
    if daily_rows:
        required.append(spec.partition_column)
        mapping = dg.TimeWindowPartitionMapping(
            start_offset=0,
            end_offset=spec.late_arrival_days,
            allow_nonexistent_upstream_partitions=True,
        )
        bronze_in = dg.AssetIn(
            key=bronze_key(spec),
            partition_mapping=mapping,
            metadata=ALLOW_MISSING_PARTITIONS,
            input_manager_key=LAKE_DAY_BY_DAY,  # read a day at a time
        )
    else:
        # Unpartitioned silver reads every bronze day that has been materialized (a history of
        # snapshots reads them on demand: only the days that changed, silver_history.py).
        bronze_in = dg.AssetIn(
            key=bronze_key(spec),
            metadata=ALLOW_MISSING_PARTITIONS,
            input_manager_key=LAKE_DAY_BY_DAY if applies_snapshots(spec) else None,
        )
    common = {
        "is_required": True,
        "io_manager_key": LAKE_IO_MANAGER,
        "owners": list(spec.owners),
        "group_name": "silver",
        "kinds": {"pandas", "parquet"},
        "metadata": {"partition_expr": spec.partition_column} if daily_rows else {},
    }
    silver_out = dg.AssetOut(
        key=silver_key(spec),
        description=spec.description,
        dagster_type=dataframe_type(f"silver_{spec.name}", clean_schema, required),
        tags={"layer": "silver", "source": spec.name},
        **common,
    )
    # Resolved when the code location loads, so a broken hook fails there, not mid-run.
    hook = resolve_hook(spec.silver_hook.function, Path(spec.file)) if spec.silver_hook else None
    quarantine_out = dg.AssetOut(
        key=quarantine_key(spec),
        description=(
            f"Rows of bronze/{spec.name} rejected by a rule, with the original values, "
            "_reject_reason and _reject_detail."
        ),
        dagster_type=dataframe_type(f"quarantine_{spec.name}", quarantine_schema(spec)),
        tags={"layer": "silver", "source": spec.name, "quarantine": "true"},
        **common,
    )

    # Daily rows read bronze day by day (a range run holds one day); the others read all of it.
    BronzeInput = (  # noqa: N806
        LakePartitions if daily_rows or applies_snapshots(spec) else pd.DataFrame
    )

    @dg.multi_asset(
        name=f"silver__{spec.name}",  # layer__asset, as Dagster names bronze__orders
        outs={"silver": silver_out, "quarantine": quarantine_out},
        ins={"bronze": bronze_in},
        partitions_def=partitions_def if daily_rows else None,
        # a history of snapshots reads its own last output from the lake
        required_resource_keys={PII, *([LAKE_IO_MANAGER] if applies_snapshots(spec) else [])},
        backfill_policy=dg.BackfillPolicy.single_run() if daily_rows else None,
        check_specs=[
            dg.AssetCheckSpec(
                "row_accounting",
                asset=silver_key(spec),
                blocking=True,
                description="bronze rows = silver rows + quarantined rows + duplicates removed",
                partitions_def=partitions_def if daily_rows else None,  # one verdict per day
            ),
            reject_gate.check_spec(
                silver_key(spec), spec.max_reject_rate, partitions_def if daily_rows else None
            ),
            *warn_rule_specs(spec),
        ],
    )
    def _silver(context: dg.AssetExecutionContext, bronze: BronzeInput):
        pii: PiiKey = getattr(context.resources, PII)
        pii_key = pii.key_bytes(context.log) if any(c.pii for c in spec.columns) else None
        if daily_rows:
            yield from silver_day_by_day(context, spec, bronze, pii_key, hook)
            return
        if applies_snapshots(spec):
            lake = getattr(context.resources, LAKE_IO_MANAGER)
            yield from silver_history(context, spec, bronze, pii_key, hook, lake)
            return
        if bronze.empty and not len(bronze.columns):
            raise dg.Failure(description=f"bronze/{spec.name} has never been materialized.")
        with stopwatch() as timing:
            outcome = apply_row_rules(
                clean_source(bronze, spec, pii_key=pii_key), bronze, spec, hook
            )
            result = outcome.result
            clean = result.clean
            if spec.is_history:
                clean = history_of(spec, result.clean)
        metadata = operator_metadata(result, timing["seconds"])
        if spec.is_history:
            metadata["versions"] = len(clean)
            metadata["current_rows"] = int(clean["is_current"].sum())
        yield dg.Output(
            clean,
            output_name="silver",
            metadata={
                **metadata,
                "dagster/column_schema": frame_schema(clean, silver_descriptions(spec)),
                "dagster/column_lineage": silver_lineage(spec, list(clean.columns)),
            },
        )
        yield quarantine_output(spec, result, quarantine_figures(spec, result.quarantine))
        yield from accounting_events(
            context, silver_key(spec), bronze, result, day_column=None, days=None
        )
        gate = reject_gate.whole_source_gate(result, len(clean), spec.max_reject_rate)
        yield check_result(silver_key(spec), gate)
        if outcome.warnings:
            yield warn_rule_result(spec, outcome.warnings)

    return _silver
