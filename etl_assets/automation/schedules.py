"""The daily schedule: at 02:00 in ETL_TIMEZONE, the whole medallion for yesterday.

The partitions are days in the same timezone, so "yesterday" is the partition that ended
two hours before. The run key is the day: a tick is never launched twice. When yesterday's
file has not landed, the run fails naming the file and the failure alert says so; the
landing sensor runs the day as soon as the file arrives.

When no source is daily there is no partition: the schedule then runs every (undated)
asset at the same hour, so a catalogue read from an API, which no landing file announces,
is still refreshed once a day.
"""

from __future__ import annotations

import dagster as dg

DAILY_SCHEDULE = "medallion_daily"
HOUR = 2  # 02:00 in ETL_TIMEZONE, partitioned or not


def build_daily_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    default_status: dg.DefaultScheduleStatus,
    *,
    partitioned: bool = True,
    timezone: str = "UTC",
    partitions_start: str | None = None,
) -> dg.UnresolvedPartitionedAssetScheduleDefinition | dg.ScheduleDefinition:
    if partitioned:  # the timezone is the partitions' own
        # Dagster's schedule page shows "Partition set: None" for a schedule of an asset job:
        # the description and metadata name it (the job's partition set, as Dagster names it).
        partition_set = f"{job.name}_partition_set"
        days = f"daily partitions from {partitions_start} in {timezone}"
        return dg.build_schedule_from_partitioned_job(
            job,
            name=DAILY_SCHEDULE,
            hour_of_day=HOUR,
            minute_of_hour=0,
            default_status=default_status,
            description="Every layer with its checks for yesterday's partition, at 02:00 in "
            f"the partitions' timezone (ETL_TIMEZONE). Partition set: {partition_set} ({days}).",
            metadata={"partition_set": partition_set, "partitions": days},
        )

    @dg.schedule(
        name=DAILY_SCHEDULE,
        job=job,
        cron_schedule=f"0 {HOUR} * * *",
        execution_timezone=timezone,
        default_status=default_status,
        description="Every asset with its checks (no source is daily), at 02:00 in ETL_TIMEZONE.",
    )
    def medallion_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        tick = context.scheduled_execution_time
        return dg.RunRequest(run_key=tick.date().isoformat() if tick else None)

    return medallion_daily


OBSERVATION_SCHEDULE = "landing_observations"
OBSERVATION_CRON = "*/15 * * * *"  # cheap: only new or changed files are read


def build_observation_schedule(
    job: dg.UnresolvedAssetJobDefinition, default_status: dg.DefaultScheduleStatus, timezone: str
) -> dg.ScheduleDefinition:
    """Every 15 minutes, observes every `landing/<source>` (the job `landing_observations`)."""
    return dg.ScheduleDefinition(
        name=OBSERVATION_SCHEDULE,
        job=job,
        cron_schedule=OBSERVATION_CRON,
        execution_timezone=timezone,
        default_status=default_status,
        description="Every 15 minutes: observe every source's landing data (files' SHA-256, an "
        "API's first page, a table's watermark and row count), so the UI shows unsynced days.",
    )
