"""Check results per partition, also in a single-run backfill.

Dagster 1.13 records an `AssetCheckResult` of a partitioned check against the run's partition
key; in a run over a range of partitions (`make run`, every single-run backfill) there is no
such key and the result would be stored against no partition at all, leaving the range's
planned check rows pending. So checks here yield one `AssetCheckEvaluation` per partition,
each pointing at that partition's materialization, plus the check's output once (the output
is what downstream steps wait for). A failed blocking evaluation still fails the step: Dagster
raises after the step's events, and the downstream assets of the run do not execute.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

# Not exported by dagster; it ties an evaluation to the materialization it judged, as
# AssetCheckResult does internally.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

WARN = dg.AssetCheckSeverity.WARN
ERROR = dg.AssetCheckSeverity.ERROR


@dataclass(frozen=True)
class PartitionCheck:
    """One check's verdict on one partition (None: an unpartitioned check)."""

    check_name: str
    partition: str | None
    passed: bool
    severity: dg.AssetCheckSeverity
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def check_result(asset_key: dg.AssetKey, check: PartitionCheck) -> dg.AssetCheckResult:
    """An unpartitioned verdict as the step's `AssetCheckResult`."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check.check_name,
        passed=check.passed,
        severity=check.severity,
        description=check.description,
        metadata=check.metadata,
    )


def run_partition_keys(context, partitioned: bool) -> list[str | None]:
    """The partitions this step covers: one key, a range, or [None] when unpartitioned."""
    if not partitioned:
        return [None]
    return list(context.partition_keys)


def _target(record) -> AssetCheckEvaluationTargetMaterializationData:
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def _targets(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str | None]
) -> dict[str | None, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialization of each partition, which the evaluations judge."""
    keys = [p for p in partitions if p is not None]
    if not keys:
        records = instance.fetch_materializations(asset_key, limit=1).records
        return {None: _target(records[0])} if records else {}
    found: dict[str | None, AssetCheckEvaluationTargetMaterializationData] = {}
    # one query for the usual case, then one per partition the newest records did not reach
    newest = dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=keys)
    for record in instance.fetch_materializations(newest, limit=2 * len(keys)).records:
        found.setdefault(record.partition_key, _target(record))
    for key in (k for k in keys if k not in found):
        one = dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key])
        records = instance.fetch_materializations(one, limit=1).records
        if records:
            found[key] = _target(records[0])
    return found


def _output_names(context, asset_key: dg.AssetKey) -> dict[str, str]:
    """check name -> the step output that carries it."""
    specs = context.op_execution_context.assets_def.check_specs_by_output_name
    return {spec.name: output for output, spec in specs.items() if spec.asset_key == asset_key}


def check_events(
    context, asset_key: dg.AssetKey, results: Iterable[PartitionCheck], blocking: dict[str, bool]
) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
    """The events of a step's check results on `asset_key`, one evaluation per partition."""
    results = list(results)
    targets = _targets(context.instance, asset_key, sorted({r.partition for r in results}, key=str))
    outputs = _output_names(context, asset_key)
    for result in results:
        yield dg.AssetCheckEvaluation(
            asset_key=asset_key,
            check_name=result.check_name,
            passed=result.passed,
            metadata=result.metadata,
            target_materialization_data=targets.get(result.partition),
            severity=result.severity,
            description=result.description,
            blocking=blocking.get(result.check_name, False),
            partition=result.partition,
        )
    for name in dict.fromkeys(r.check_name for r in results):
        yield dg.Output(None, output_name=outputs[name])
