"""The silver step of a daily snapshot source kept as a type-2 history (`history:` declared,
daily partitions, e.g. silver/customers): it applies the bronze days that changed since its
last materialization to the history it stored then, instead of rebuilding from every snapshot.

Which days changed is Dagster's own record: the bronze partitions materialized after the
storage id this asset noted in its last materialization's metadata (`bronze_applied_through`).
The earliest of them is the first day to redo: the stored history is cut back to before it
(`transforms/history.history_before`) and the snapshots from that day on are applied in order
(`apply_snapshots`); the quarantine keeps its rows of earlier days. A day re-landed in the past
so recomputes the history from that day; a new day reads that day alone. With no stored
history (or quarantine), or none of that bookkeeping, every bronze day is read: a rebuild.
Both give the same frames (etl_assets_tests/test_reprocess_a_day.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from etl_assets.assets.bronze import bronze_key
from etl_assets.assets.column_docs import quarantine_descriptions, silver_descriptions
from etl_assets.assets.common import frame_schema, stopwatch
from etl_assets.assets.materializations import materialized_since
from etl_assets.assets.silver_outputs import (
    operator_metadata,
    quarantine_key,
    silver_key,
    silver_lineage,
    warn_rule_result,
)
from etl_assets.io.daily_frames import LakePartitions
from etl_assets.quality.checks.accounting import accounting_events
from etl_assets.quality.checks.partition_results import check_result
from etl_assets.quality.checks.reject_gate import whole_source_gate
from etl_assets.sources import SourceSpec
from etl_assets.transforms.history import apply_snapshots
from etl_assets.transforms.silver import apply_row_rules, clean_source

APPLIED_THROUGH = "bronze_applied_through"  # metadata: last bronze storage id applied
LANDING_DATE = "_landing_date"  # a bronze row's file day: the quarantine's day of origin


def applies_snapshots(spec: SourceSpec) -> bool:
    """A history of daily snapshots (not of versions read by a watermark)."""
    return spec.is_history and spec.is_daily


def _applied_through(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(APPLIED_THROUGH)
    return int(value.value) if value is not None else None


def silver_history(
    context: dg.AssetExecutionContext,
    spec: SourceSpec,
    bronze: LakePartitions,
    pii_key: bytes | None,
    hook,
    lake,
) -> Iterator:
    """The outputs and row-accounting events of the history step (see the module)."""
    key, q_key = silver_key(spec), quarantine_key(spec)
    history, quarantine = lake.load_previous(key), lake.load_previous(q_key)
    after = _applied_through(context.instance, key)
    rebuild = history is None or quarantine is None or after is None
    changed, latest = materialized_since(
        context.instance, bronze_key(spec), None if rebuild else after
    )
    existing = bronze.existing
    if not existing:  # before anything is read
        raise dg.Failure(description=f"bronze/{spec.name} has never been materialized.")
    # Nothing changed: the last day is redone (one day), which keeps one path through here.
    first = existing[0] if rebuild else min(changed, default=existing[-1])
    days = [day for day in existing if day >= first]
    with stopwatch() as timing:
        frame = bronze.read(days)
        outcome = apply_row_rules(clean_source(frame, spec, pii_key=pii_key), frame, spec, hook)
        result = outcome.result
        since = pd.Timestamp(first)
        if rebuild:
            history, kept = None, result.quarantine.iloc[:0]
        else:
            earlier = (quarantine[LANDING_DATE] < since).to_numpy(dtype=bool)
            kept = quarantine[earlier]
        clean = apply_snapshots(
            history,
            result.clean,
            key=spec.business_key,
            tracked=spec.history_tracked,
            day_column=spec.partition_column,
            since=since,
        )
        rejected = pd.concat([kept, result.quarantine], ignore_index=True)
    context.log.info(
        f"silver/{spec.name}: applied {len(days)} bronze day(s) "
        f"({'a rebuild' if rebuild else f'from {first} on'})."
    )
    metadata = operator_metadata(result, timing["seconds"])
    metadata["versions"] = len(clean)
    metadata["current_rows"] = int(clean["is_current"].sum())
    metadata["days_applied"] = len(days)
    yield dg.Output(
        clean,
        output_name="silver",
        metadata={
            **metadata,
            APPLIED_THROUGH: dg.MetadataValue.int(latest or 0),
            "dagster/column_schema": frame_schema(clean, silver_descriptions(spec)),
            "dagster/column_lineage": silver_lineage(spec, list(clean.columns)),
        },
    )
    yield dg.Output(
        rejected,
        output_name="quarantine",
        metadata={
            "reject_reasons": metadata["reject_reasons"],
            "dagster/column_schema": frame_schema(rejected, quarantine_descriptions(spec)),
        },
    )
    yield from accounting_events(context, key, frame, result, day_column=None, days=None)
    # The reject-rate gate judges the days applied now (the kept history was judged before).
    yield check_result(key, whole_source_gate(result, len(result.clean), spec.max_reject_rate))
    if outcome.warnings:
        yield warn_rule_result(spec, outcome.warnings)
