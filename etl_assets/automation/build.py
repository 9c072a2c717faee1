"""Everything that makes runs happen, assembled from the settings in one call.

| what | name | default (local / prod) |
|---|---|---|
| job: every layer with its checks, for a day or a range | `medallion` | - |
| schedule: yesterday at 02:00, ETL_TIMEZONE | `medallion_daily` | stopped / running |
| job: observe every `landing/<source>` (data versions) | `landing_observations` | - |
| schedule: that job every 15 minutes | `landing_observations` | stopped / running |
| sensor: landing files, new or changed by checksum | `landing_files` | stopped / running |
| sensor: automation conditions (silver and gold) | `medallion_automation` | stopped / running |
| sensor: run failures to the log and the webhook | `run_failure_alert` | running / running |
| sensor: a failed range run's good days run again | `failed_range_days` | running / running |

Locally nothing runs by itself until an operator switches it on (in the UI, or
`dagster schedule start` / `dagster sensor start`); in prod everything starts running.
Failure alerts are on everywhere: a failure nobody hears of helps no one. So is
`failed_range_days`: it only completes a range someone launched (range_follow_up.py).

Without a daily source (only undated sources: a catalogue, a Postgres table) the job is
unpartitioned and `medallion_daily` runs every asset at 02:00; without a source read
from landing files there is no landing sensor (it would watch nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from etl_assets.assets.landing import landing_key, observable_sources
from etl_assets.automation.alerts import build_failure_alert_sensor
from etl_assets.automation.conditions import build_automation_sensor, with_automation_conditions
from etl_assets.automation.executors import build_executor, with_backfill_policies
from etl_assets.automation.jobs import landing_observation_job, medallion_job
from etl_assets.automation.range_follow_up import build_follow_up_sensor
from etl_assets.automation.schedules import build_daily_schedule, build_observation_schedule
from etl_assets.automation.sensors import build_landing_sensor, watched_sources
from etl_assets.settings import Settings
from etl_assets.sources import SourceSpec


@dataclass(frozen=True)
class Automation:
    jobs: list[dg.UnresolvedAssetJobDefinition]
    schedules: list
    sensors: list[dg.SensorDefinition]
    # Runs launched from the UI and the daemon execute their steps in the run's own process
    # by default: a process per step would import dagster, pandas and the code location
    # (3-5 s) for steps that mostly take under a second, on two cores that two runs already
    # share. ETL_EXECUTOR picks another (executors.py, docs/scale-out.md).
    executor: dg.ExecutorDefinition = dg.in_process_executor
    settings: Settings | None = None

    def attach_conditions(self, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
        """Automation conditions, and the profile's backfill policy on the daily assets."""
        assets = with_automation_conditions(assets)
        return with_backfill_policies(assets, self.settings) if self.settings else assets


def build_automation(
    settings: Settings,
    specs: Sequence[SourceSpec],
    partitions_def: dg.TimeWindowPartitionsDefinition,
) -> Automation:
    on_by_default = settings.env == "prod"
    sensor_status = (
        dg.DefaultSensorStatus.RUNNING if on_by_default else dg.DefaultSensorStatus.STOPPED
    )
    schedule_status = (
        dg.DefaultScheduleStatus.RUNNING if on_by_default else dg.DefaultScheduleStatus.STOPPED
    )
    # Dagster needs a partitioned job for a partitioned schedule: only daily sources give one.
    partitioned = any(spec.is_daily for spec in specs)
    job = medallion_job(partitioned)
    landing_sensor = []
    if watched_sources(specs):
        landing_sensor.append(
            build_landing_sensor(
                specs,
                job,
                partitions_def,
                minimum_interval_seconds=settings.landing_sensor_interval_seconds,
                default_status=sensor_status,
            )
        )
    jobs, schedules = (
        [job],
        [
            build_daily_schedule(
                job,
                schedule_status,
                partitioned=partitioned,
                timezone=settings.timezone,
                partitions_start=settings.partitions_start,
            )
        ],
    )
    observed = [landing_key(spec) for spec in observable_sources(specs)]
    if observed:
        observe = landing_observation_job(observed)
        jobs.append(observe)
        schedules.append(build_observation_schedule(observe, schedule_status, settings.timezone))
    return Automation(
        jobs=jobs,
        schedules=schedules,
        sensors=[
            *landing_sensor,
            build_automation_sensor(sensor_status),
            build_failure_alert_sensor(dg.DefaultSensorStatus.RUNNING),
            *([build_follow_up_sensor(job, dg.DefaultSensorStatus.RUNNING)] if partitioned else []),
        ],
        executor=build_executor(settings),
        settings=settings,
    )
