"""The daily schedule: at 02:00 in ETL_TIMEZONE, the whole medallion for yesterday.

The partitions are days in the same timezone, so "yesterday" is the partition that ended
two hours before. The run key is the day: a tick is never launched twice. When yesterday's
file has not landed, the run fails naming the file and the failure alert says so; the
landing sensor runs the day as soon as the file arrives.
"""

from __future__ import annotations

import dagster as dg

DAILY_SCHEDULE = "medallion_daily"


def build_daily_schedule(
    job: dg.UnresolvedAssetJobDefinition, default_status: dg.DefaultScheduleStatus
) -> dg.UnresolvedPartitionedAssetScheduleDefinition:
    return dg.build_schedule_from_partitioned_job(
        job,
        name=DAILY_SCHEDULE,
        hour_of_day=2,
        minute_of_hour=0,
        default_status=default_status,
        description="Every layer with its checks for yesterday's partition, at 02:00 in the "
        "partitions' timezone (ETL_TIMEZONE).",
    )
