"""Materialize every asset over the landed days in one headless run, and summarise it.

The run is a single-run backfill of the day range (every daily asset has a single-run
backfill policy), so bronze, silver, checks and gold execute once each, in graph order,
on a persistent SQLite instance: `make dev` then shows these runs in the UI.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.connectors.files import LandingFiles
from etl_assets.settings import Settings
from etl_assets.sources import load_sources

LAYERS = ("bronze", "silver", "gold")


class NothingToRun(RuntimeError):
    """The landing directory has no file for any daily source."""


@dataclass
class LayerSummary:
    assets: set[str] = field(default_factory=set)
    rows: int = 0
    rejected: int = 0
    seconds: float = 0.0


@dataclass
class RunSummary:
    run_id: str
    success: bool
    first_day: str
    last_day: str
    days: int
    seconds: float
    layers: dict[str, LayerSummary]
    failed_checks: list[str]

    def table(self) -> str:
        lines = [
            f"run {self.run_id}: {'SUCCESS' if self.success else 'FAILURE'} - {self.days} days "
            f"({self.first_day} .. {self.last_day}) in {self.seconds:.1f} s",
            f"{'layer':<8}{'assets':>8}{'partitions':>12}{'rows':>12}{'rejected':>10}"
            f"{'seconds':>9}{'rows/s':>11}",
        ]
        for name in LAYERS:
            layer = self.layers.get(name, LayerSummary())
            rate = layer.rows / layer.seconds if layer.seconds else 0.0
            lines.append(
                f"{name:<8}{len(layer.assets):>8}{self.days:>12}{layer.rows:>12,}"
                f"{layer.rejected:>10,}{layer.seconds:>9.1f}{rate:>11,.0f}"
            )
        if self.failed_checks:
            lines.append("failed checks: " + ", ".join(self.failed_checks))
        return "\n".join(lines)


def landed_days(settings: Settings) -> list[str]:
    """Days for which every daily source read from files has a landing file."""
    landing = LandingFiles(base_dir=str(settings.landing_dir))
    day_sets = [
        {day for day, _ in landing.list_files(spec.path)}
        for spec in load_sources(settings.sources_dir, urls=settings.source_urls).values()
        if spec.is_daily and spec.connector == "files"
    ]
    return sorted(set.intersection(*day_sets)) if day_sets else []


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Wall seconds of each step, from the timestamps of the run's event log."""
    started: dict[str, float] = {}
    seconds: dict[str, float] = defaultdict(float)
    step_events = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    # Only the step events: a run's log holds thousands of other events.
    records = instance.get_records_for_run(run_id, of_type=step_events, limit=100_000).records
    for entry in (record.event_log_entry for record in records):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds[event.step_key] += entry.timestamp - started.get(
                event.step_key, entry.timestamp
            )
    return seconds


def summarise(
    result: dg.ExecuteInProcessResult,
    instance: dg.DagsterInstance,
    days: list[str],
    seconds: float,
) -> RunSummary:
    layers: dict[str, LayerSummary] = defaultdict(LayerSummary)
    step_layer: dict[str, str] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key
        step_layer[event.step_key] = key.path[0]
        summary = layers[key.path[0]]
        if key.to_user_string() in summary.assets:
            continue  # a range run repeats the run's metadata on every partition's event
        summary.assets.add(key.to_user_string())
        meta = materialization.metadata
        if "quarantine" not in key.path[-1] and "dagster/row_count" in meta:
            summary.rows += int(meta["dagster/row_count"].value)
        if "rows_rejected" in meta:
            summary.rejected += int(meta["rows_rejected"].value)
    for step, seconds_of_step in step_seconds(instance, result.run_id).items():
        if step in step_layer:
            layers[step_layer[step]].seconds += seconds_of_step
    failed = [
        f"{check.asset_key.to_user_string()}:{check.check_name}"
        for check in result.get_asset_check_evaluations()
        if not check.passed
    ]
    return RunSummary(
        run_id=result.run_id,
        success=result.success,
        first_day=days[0],
        last_day=days[-1],
        days=len(days),
        seconds=seconds,
        layers=dict(layers),
        failed_checks=failed,
    )


def run_pipeline(
    defs: dg.Definitions,
    settings: Settings,
    instance: dg.DagsterInstance,
    days: list[str] | None = None,
    raise_on_error: bool = False,
    log_level: str = "INFO",
) -> RunSummary:
    days = days or landed_days(settings)
    if not days:
        raise NothingToRun(
            f"no landing files under {settings.landing_dir}: run `etl-assets sample --out "
            f"{settings.data_dir}` or drop files there first."
        )
    job = defs.resolve_job_def(MEDALLION_JOB)
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: days[0], ASSET_PARTITION_RANGE_END_TAG: days[-1]},
        raise_on_error=raise_on_error,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    return summarise(result, instance, days, time.perf_counter() - started)
