"""Materialize every asset over the runnable days in one headless run, and summarise it.

The run is a single-run backfill of the day range (every daily asset has a single-run
backfill policy), so bronze, silver, checks and gold execute once each, in graph order,
on a persistent SQLite instance: `make dev` then shows these runs in the UI. When no
source is daily, the run materializes the (then all undated) assets once.
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
from etl_assets.io.partitions import consecutive_stretches as _stretches
from etl_assets.settings import Settings
from etl_assets.sources import SourceSpec, default_sources_dir, load_sources

LAYERS = ("bronze", "silver", "gold")


class CannotRun(RuntimeError):
    """The run cannot start; the message says what is missing, where, and what to do."""


class NothingToRun(CannotRun):
    """No day to run: nothing landed, no complete day yet, or none in the days asked for."""


class DaysMissingFiles(CannotRun):
    """Days inside the run's range lack the landing file of a daily files source."""


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
        what = (
            f"{self.days} day{'s' if self.days > 1 else ''} ({self.first_day} .. {self.last_day})"
            if self.days
            else "no daily source, every asset once"
        )
        lines = [
            f"run {self.run_id}: {'SUCCESS' if self.success else 'FAILURE'} - {what} "
            f"in {self.seconds:.1f} s",
            f"{'layer':<8}{'assets':>8}{'partitions':>12}{'rows':>12}{'rejected':>10}"
            f"{'seconds':>9}{'rows/s':>11}",
        ]
        for name in LAYERS:
            layer = self.layers.get(name, LayerSummary())
            rate = layer.rows / layer.seconds if layer.seconds else 0.0
            lines.append(
                f"{name:<8}{len(layer.assets):>8}{self.days or '-':>12}{layer.rows:>12,}"
                f"{layer.rejected:>10,}{layer.seconds:>9.1f}{rate:>11,.0f}"
            )
        if self.failed_checks:
            lines.append("failed checks: " + ", ".join(self.failed_checks))
        return "\n".join(lines)


def daily_sources(settings: Settings) -> list[SourceSpec]:
    specs = load_sources(settings.sources_dir, urls=settings.source_urls).values()
    return [spec for spec in specs if spec.is_daily]


def _file_sources(specs: list[SourceSpec]) -> list[SourceSpec]:
    return [spec for spec in specs if spec.connector == "files"]


def landed_days(settings: Settings, files: list[SourceSpec] | None = None) -> list[str]:
    """Days for which every daily source read from files (`files`, default: those declared)
    has a landing file."""
    landing = LandingFiles(base_dir=str(settings.landing_dir))
    if files is None:
        files = _file_sources(daily_sources(settings))
    day_sets = [{day for day, _ in landing.list_files(spec.path)} for spec in files]
    return sorted(set.intersection(*day_sets)) if day_sets else []


def days_to_run(
    defs: dg.Definitions,
    settings: Settings,
    first_day: str | None = None,
    last_day: str | None = None,
) -> list[str]:
    """The days `etl-assets run` runs as one range; [] when no asset is partitioned.

    A day needs the landing file of every daily files source (without one its bronze
    fails). Daily HTTP sources fetch any day on demand, so alone they run every day of the
    partitions: ETL_PARTITIONS_START .. the last complete day in ETL_TIMEZONE. With both
    kinds, the landed days run and the HTTP sources are fetched for them. `first_day` and
    `last_day` (YYYY-MM-DD, either may be None) narrow those days.
    """
    partitions_def = defs.resolve_job_def(MEDALLION_JOB).partitions_def
    if partitions_def is None:
        if first_day or last_day:
            raise NothingToRun(
                f"--from/--to choose days, but no source declared in {_sources_dir(settings)} "
                "is daily: run without them to materialize every asset once."
            )
        return []
    if first_day and last_day and first_day > last_day:
        raise NothingToRun(f"--from {first_day} is after --to {last_day}: swap them.")
    # Keys the partitions definition says exist now: no day before the start, none unfinished.
    existing = partitions_def.get_partition_keys()
    files = _file_sources(daily_sources(settings))
    candidates = existing
    if files:
        landed = set(landed_days(settings, files))
        candidates = [day for day in existing if day in landed]
    if not candidates:
        raise NothingToRun(_no_day_reason(settings, files, existing))
    days = [
        day
        for day in candidates
        if (not first_day or day >= first_day) and (not last_day or day <= last_day)
    ]
    if not days:
        raise NothingToRun(
            f"no day to run from {first_day or 'the first'} to {last_day or 'the last'}: the "
            f"runnable days are {_span(candidates)}. Choose --from/--to among them."
        )
    _refuse_gaps(settings, files, days, existing)
    return days


def _sources_dir(settings: Settings) -> str:
    return str(settings.sources_dir or default_sources_dir())


def _span(days: list[str]) -> str:
    return f"{days[0]} .. {days[-1]} ({len(days)} day{'s' if len(days) > 1 else ''})"


def _no_day_reason(settings: Settings, files: list[SourceSpec], existing: list[str]) -> str:
    bounds = (
        f"the partitions run from ETL_PARTITIONS_START={settings.partitions_start} to the last "
        f"complete day in ETL_TIMEZONE={settings.timezone}"
    )
    if not existing:
        return f"no complete day yet: {bounds}. Set ETL_PARTITIONS_START to an earlier day."
    landing = LandingFiles(base_dir=str(settings.landing_dir))
    landed = {spec.path: [day for day, _ in landing.list_files(spec.path)] for spec in files}
    if not any(landed.values()):
        patterns = ", ".join(landed)
        return (
            f"no landing files under {settings.landing_dir} for the daily sources "
            f"({patterns}): run `etl-assets sample --out {settings.data_dir}` or drop files "
            "there first."
        )
    found = "; ".join(f"{path}: {_span(days) if days else 'none'}" for path, days in landed.items())
    return (
        f"no day has a landing file for every daily source, within the partitions, under "
        f"{settings.landing_dir} ({found}); {bounds} ({_span(existing)}). Land the missing "
        "files, or correct ETL_PARTITIONS_START."
    )


def _refuse_gaps(
    settings: Settings, files: list[SourceSpec], days: list[str], existing: list[str]
) -> None:
    """One run covers days[0] .. days[-1]: a day inside without its files would fail it."""
    chosen = set(days)
    gaps = [day for day in existing if days[0] <= day <= days[-1] and day not in chosen]
    if not gaps:
        return
    landing = LandingFiles(base_dir=str(settings.landing_dir))
    missing = [
        relative
        for day in gaps
        for relative in (landing.path_for(spec.path, day) for spec in files)
        if not landing.exists(relative)
    ]
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    stretches = _stretches(days, existing)
    ranges = "; ".join(f"--from {s[0]} --to {s[-1]}" for s in stretches[:3])
    raise DaysMissingFiles(
        f"the days {days[0]} .. {days[-1]} run as one range, but {len(gaps)} day(s) inside lack "
        f"landing files under {settings.landing_dir}: {shown}. Land them, or run the landed "
        f"stretches one at a time: {ranges}{' ...' if len(stretches) > 3 else ''}."
    )


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
        first_day=days[0] if days else "",
        last_day=days[-1] if days else "",
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
    """One run of the medallion job over `days` (default: `days_to_run`), or once when no
    asset is partitioned."""
    if not defs.resolve_asset_graph().get_all_asset_keys():
        raise NothingToRun(
            f"no source is declared in {_sources_dir(settings)}: add a *.yaml declaration "
            "there (docs/add-a-source.md), or point ETL_SOURCES_DIR at the folder holding yours."
        )
    job = defs.resolve_job_def(MEDALLION_JOB)
    tags: dict[str, str] = {}
    if job.partitions_def is None:
        if days:
            raise NothingToRun(
                f"days {days[0]} .. {days[-1]} were asked for, but no source declared in "
                f"{_sources_dir(settings)} is daily: run without days."
            )
        days = []
    else:
        days = days or days_to_run(defs, settings)
        tags = {ASSET_PARTITION_RANGE_START_TAG: days[0], ASSET_PARTITION_RANGE_END_TAG: days[-1]}
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        tags=tags,
        raise_on_error=raise_on_error,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    return summarise(result, instance, days, time.perf_counter() - started)
