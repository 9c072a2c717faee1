"""`etl-assets run --changed`: observe the landing files, then materialize exactly the
partitions whose landing data or code changed since their last materialization, and what
depends on them (automation/changed.py plans it from Dagster's staleness)."""

from __future__ import annotations

import time

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from etl_assets.automation.changed import ChangePlan, PlannedRun, plan_changed
from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.instance_guard import process_tags
from etl_assets.runner import RunSummary, summarise

_SHOWN_CAUSES = 10


def run_changed(
    defs: dg.Definitions, instance: dg.DagsterInstance, log_level: str = "WARNING"
) -> tuple[ChangePlan, list[RunSummary]]:
    """The plan and one summary per run, in graph order; stops at the first failed run
    (what depends on it would read what it did not write)."""
    plan = plan_changed(defs, instance)
    summaries: list[RunSummary] = []
    job = defs.resolve_job_def(MEDALLION_JOB)
    for planned in plan.runs:
        summary = _execute(job, instance, planned, log_level)
        summaries.append(summary)
        if not summary.success:
            break
    return plan, summaries


def _execute(job, instance, planned: PlannedRun, log_level: str) -> RunSummary:
    tags = {"etl/changed": "true", **process_tags()}  # the next run can tell if this one died
    if planned.days:
        tags |= {
            ASSET_PARTITION_RANGE_START_TAG: planned.days[0],
            ASSET_PARTITION_RANGE_END_TAG: planned.days[-1],
        }
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        asset_selection=list(planned.assets),
        tags=tags,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    return summarise([result], instance, list(planned.days), time.perf_counter() - started)


def report(plan: ChangePlan, summaries: list[RunSummary]) -> str:
    if not plan.runs:
        return plan.summary()
    lines = [plan.summary() + ":"]
    causes = [reason for reasons in plan.causes.values() for reason in reasons]
    lines += [f"  {reason}" for reason in sorted(set(causes))[:_SHOWN_CAUSES]]
    if len(set(causes)) > _SHOWN_CAUSES:
        lines.append(f"  ... and {len(set(causes)) - _SHOWN_CAUSES} more")
    for planned, summary in zip(plan.runs, summaries, strict=False):
        lines.append(f"- {planned.describe()}")
        lines.append(summary.table())
    if len(summaries) < len(plan.runs):
        lines.append(f"{len(plan.runs) - len(summaries)} later run(s) not started: a run failed")
    return "\n".join(lines)


def observe_landing(defs: dg.Definitions, settings, instance: dg.DagsterInstance) -> None:
    """Record the sources' new or changed data versions before a run starts. A source that
    cannot be observed is named on stderr; the run goes on (its read says what is wrong)."""
    import sys

    from etl_assets.assets.landing import observe_all
    from etl_assets.sources import load_sources

    partitions_def = defs.resolve_job_def(MEDALLION_JOB).partitions_def
    specs = load_sources(settings.sources_dir, urls=settings.source_urls).values()
    if partitions_def is not None or not any(spec.is_daily for spec in specs):
        found = observe_all(specs, defs.resources, instance, partitions_def)
        for name, result in found.items():
            if isinstance(result, Exception):
                text = getattr(result, "description", None) or str(result)
                print(f"etl-assets run: landing/{name} not observed: {text}", file=sys.stderr)
