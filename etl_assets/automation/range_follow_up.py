"""A bad day fails alone also in the runs the daemon launches: a backfill from the UI, or
`etl-assets backfill` (`make backfill`), which launches the same backfill over GraphQL.

Such a backfill runs the daily assets over the range as one run (single-run backfill
policy), and Dagster fails that run's steps whole: one unreadable landing file fails bronze
for every day of the range. The `failed_range_days` run-failure sensor follows every failed
range run of this code location:

- it reads the run's events from the instance (`range_split.outcome_of`): the days a step
  failure or a blocking check names, and what the run did materialize;
- it asks for the runs that complete the good days (`range_split.follow_ups`): one run per
  stretch of consecutive good days, of the daily assets and checks the failed run left
  undone, tagged `etl/split_of=<failed run>` and the stretch's partition range;
- it writes what it decided on the failed run (tags `etl/split`, `etl/follow_ups`,
  `etl/failed_days`), which
  the UI shows and `etl-assets backfill --wait` prints.

It never loops, and never retries a bad day: a follow-up's days are the failed run's good
days only, so each split leaves out at least one day (the one blamed), and a range of N days
is split at most N times. A follow-up that fails on another day of its own (a second
unreadable file further in the range: bronze stops at the first) is split the same way, so
every good day still lands. Each follow-up's run key is `<failed run>:<first day>..<last
day>`: the daemon launches it once even when the sensor reads the same failure twice. A
failure no day can be blamed for (a gold step, the warehouse) is not split: the range stays
failed. Dagster's run retries would rerun the whole range, bad day included, and fail again:
they are not used for this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from etl_assets.automation.range_split import RunOutcome, follow_ups, outcome_of
from etl_assets.automation.split_tags import (
    FAILED_DAYS_TAG,
    FOLLOW_UPS_TAG,
    SPLIT_OF_TAG,
    SPLIT_TAG,
)
from etl_assets.quality.checks.run_lines import day_groups

FOLLOW_UP_SENSOR = "failed_range_days"
_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.STEP_FAILURE,
}
_MAX_EVENTS = 1_000_000


@dataclass(frozen=True)
class Decision:
    requests: list[dg.RunRequest]
    note: str  # what was decided and why, in one line
    failed_days: str = ""  # `bronze/orders 2024-01-02: ...`, one line per day and cause
    range_run: bool = True  # a range run of its own (not a follow-up): it gets the tags

    @property
    def tags(self) -> dict[str, str]:
        failed = {FAILED_DAYS_TAG: self.failed_days} if self.failed_days else {}
        if not self.range_run:
            return {}
        return {SPLIT_TAG: self.note, FOLLOW_UPS_TAG: str(len(self.requests)), **failed}


def run_events(instance: dg.DagsterInstance, run_id: str) -> Iterable[dg.DagsterEvent]:
    records = instance.get_records_for_run(run_id, of_type=_EVENTS, limit=_MAX_EVENTS).records
    for record in records:
        if record.event_log_entry.dagster_event is not None:
            yield record.event_log_entry.dagster_event


def _failed_lines(outcome: RunOutcome) -> str:
    return "\n".join(
        cause.line(day) for day, causes in sorted(outcome.bad_days.items()) for cause in causes
    )


def decide(run: dg.DagsterRun, instance: dg.DagsterInstance, graph) -> Decision:
    """The follow-up runs of a failed run (none unless it is a range run that failed on
    some of its days only)."""
    first, last = (
        run.tags.get(ASSET_PARTITION_RANGE_START_TAG),
        run.tags.get(ASSET_PARTITION_RANGE_END_TAG),
    )
    if not (first and last):
        return Decision([], "not a range run: nothing to split", range_run=False)
    daily = {key for key in graph.get_all_asset_keys() if graph.get(key).is_partitioned}
    planned = [k for k in (run.asset_selection or graph.get_all_asset_keys()) if graph.has(k)]
    partitions_def = next(graph.get(k).partitions_def for k in planned if k in daily)
    days = partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange(first, last))
    checks = (
        run.asset_check_selection
        if run.asset_check_selection is not None
        else [c for c in graph.asset_check_keys if c.asset_key in set(planned)]
    )
    outcome = outcome_of(run_events(instance, run.run_id))
    failed = _failed_lines(outcome)
    if outcome.unattributed:
        return Decision(
            [], f"not split: a failure of no particular day ({outcome.unattributed[0]})", failed
        )
    if not outcome.bad_days:
        return Decision([], "not split: no day can be blamed for the failure", failed)
    runs = [f for f in follow_ups(days, outcome, planned, checks, daily) if f.assets]
    requests = [
        dg.RunRequest(
            run_key=f"{run.run_id}:{f.days[0]}..{f.days[-1]}",
            asset_selection=sorted(f.assets, key=dg.AssetKey.to_user_string),
            asset_check_keys=sorted(f.checks, key=dg.AssetCheckKey.to_user_string),
            tags={
                SPLIT_OF_TAG: run.run_id,
                ASSET_PARTITION_RANGE_START_TAG: f.days[0],
                ASSET_PARTITION_RANGE_END_TAG: f.days[-1],
            },
        )
        for f in runs
    ]
    bad = day_groups(sorted(outcome.bad_days))
    good = day_groups([day for f in runs for day in f.days])
    note = (
        f"failed: {bad}; {len(requests)} follow-up run(s) for {good}"
        if requests
        else f"failed: {bad}; no other day left to run"
    )
    return Decision(requests, note, failed)


def build_follow_up_sensor(
    job: dg.UnresolvedAssetJobDefinition, default_status: dg.DefaultSensorStatus
) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=FOLLOW_UP_SENSOR,
        request_job=job,
        default_status=default_status,
        minimum_interval_seconds=10,
        description="A bad day fails alone: after a range run (a backfill) failed on some "
        "days, runs the other days (tags etl/split_of, etl/split; docs/operations.md).",
    )
    def failed_range_days(context: dg.RunFailureSensorContext):
        run = context.dagster_run
        decision = decide(run, context.instance, context.repository_def.asset_graph)
        context.log.info(f"run {run.run_id}: {decision.note}")
        if decision.tags and SPLIT_TAG not in run.tags:
            context.instance.add_run_tags(run.run_id, decision.tags)
        return decision.requests or dg.SkipReason(decision.note)

    return failed_range_days
