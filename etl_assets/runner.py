"""Materialize every asset over the runnable days in one headless run, and summarise it.

The run is a single-run backfill of the day range (every daily asset has a single-run
backfill policy), so bronze, silver, checks and gold execute once each, in graph order,
on a persistent SQLite instance: `make dev` then shows these runs in the UI. When no
source is daily, the run materializes the (then all undated) assets once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.automation.range_split import Cause, fails_a_day, follow_ups, outcome_of
from etl_assets.automation.run_plan import plan_runs
from etl_assets.connectors.files import LandingFiles
from etl_assets.instance_guard import process_tags
from etl_assets.quality.checks.run_lines import check_lines, day_groups
from etl_assets.settings import Settings
from etl_assets.sources import SourceSpec, default_sources_dir, load_sources

LAYERS = ("bronze", "silver", "gold")


class CannotRun(RuntimeError):
    """The run cannot start; the message says what is missing, where, and what to do."""


class NothingToRun(CannotRun):
    """No day to run: nothing landed, no complete day yet, or none in the days asked for."""


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
    runs: list[str] = field(default_factory=list)  # every run, the follow-ups included
    failed_days: dict[str, list[Cause]] = field(default_factory=dict)  # day -> why
    check_lines: list[str] = field(default_factory=list)  # other failed and warning checks
    failures: list[str] = field(default_factory=list)  # failures of no particular day
    not_run: list[str] = field(default_factory=list)  # sources without a file on a day

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
        if len(self.runs) > 1:
            lines.append(f"runs: {', '.join(self.runs)}")
        lines += [f"not landed: {line}" for line in self.not_run]
        for day, causes in sorted(self.failed_days.items()):  # one line per day and cause
            lines += [f"FAILED {cause.line(day)}" for cause in causes]
        if self.failed_days:
            lines.append("(a failed day's gold is not built; what was published before stays)")
        lines += self.check_lines
        lines += [f"FAILED: {why}" for why in self.failures]
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
    select: Sequence[str] | None = None,
) -> list[str]:
    """The days `etl-assets run` runs; [] when no asset is partitioned.

    Each daily files source runs the days it has landed (run_plan.py runs every source on
    its own days), so these are the days any of them has landed. Daily HTTP sources fetch
    any day on demand, so alone they run every day of the partitions: ETL_PARTITIONS_START ..
    the last complete day in ETL_TIMEZONE. `first_day` and `last_day` (YYYY-MM-DD, either
    may be None) narrow those days; `select` (source names) counts only those sources.
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
    specs = selected_sources(settings, select)
    daily = [spec for spec in specs if spec.is_daily]
    if select and not daily:
        return []  # only undated sources selected: they run once
    files = _file_sources(daily)
    candidates = existing
    if files:  # the landed days; daily HTTP sources are fetched for them
        landing = LandingFiles(base_dir=str(settings.landing_dir))
        landed = {day for spec in files for day, _ in landing.list_files(spec.path)}
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
    return days


def selected_sources(settings: Settings, select: Sequence[str] | None) -> list[SourceSpec]:
    """The declared sources, or those named by `--select` (an unknown name is refused)."""
    specs = load_sources(settings.sources_dir, urls=settings.source_urls)
    if not select:
        return list(specs.values())
    unknown = [name for name in select if name not in specs]
    if unknown:
        raise CannotRun(
            f"--select {', '.join(unknown)}: no such source in {_sources_dir(settings)}; "
            f"sources: {', '.join(sorted(specs))}."
        )
    return [specs[name] for name in select]


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
        f"no landed day is within the partitions, under "
        f"{settings.landing_dir} ({found}); {bounds} ({_span(existing)}). Land the missing "
        "files, or correct ETL_PARTITIONS_START."
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
    results: Sequence[dg.ExecuteInProcessResult],
    instance: dg.DagsterInstance,
    days: list[str],
    seconds: float,
) -> RunSummary:
    """One summary of the runs of `etl-assets run` (one run, unless sources landed different
    days or a bad day was split off)."""
    layers: dict[str, LayerSummary] = defaultdict(LayerSummary)
    for result in results:
        _add_layers(layers, result, instance)
    outcomes = [outcome_of(result.all_events) for result in results]
    failed_days: dict[str, list[Cause]] = {}
    for outcome in outcomes:
        for day, causes in outcome.bad_days.items():
            known = failed_days.setdefault(day, [])
            known += [cause for cause in causes if cause not in known]
    evaluations = [e for result in results for e in result.get_asset_check_evaluations()]
    failures = [why for outcome in outcomes for why in outcome.unattributed]
    return RunSummary(
        run_id=results[0].run_id,
        success=all(result.success for result in results),
        first_day=days[0] if days else "",
        last_day=days[-1] if days else "",
        days=len(days),
        seconds=seconds,
        layers=dict(layers),
        failed_checks=list(
            dict.fromkeys(
                f"{check.asset_key.to_user_string()}:{check.check_name}"
                for check in evaluations
                if not check.passed
            )
        ),
        runs=[result.run_id for result in results],
        failed_days=failed_days,
        check_lines=check_lines(e for e in evaluations if not fails_a_day(e)),
        failures=failures,
    )


def _add_layers(
    layers: dict[str, LayerSummary], result: dg.ExecuteInProcessResult, instance
) -> None:
    step_layer: dict[str, str] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key
        step_layer[event.step_key] = key.path[0]
        summary = layers[key.path[0]]
        summary.assets.add(key.to_user_string())
        meta = materialization.metadata  # each partition's own figures (assets/day_figures.py)
        if "quarantine" not in key.path[-1] and "dagster/row_count" in meta:
            summary.rows += int(meta["dagster/row_count"].value)
        if "rows_rejected" in meta:
            summary.rejected += int(meta["rows_rejected"].value)
    for step, seconds_of_step in step_seconds(instance, result.run_id).items():
        if step in step_layer:
            layers[step_layer[step]].seconds += seconds_of_step


def run_pipeline(
    defs: dg.Definitions,
    settings: Settings,
    instance: dg.DagsterInstance,
    days: list[str] | None = None,
    raise_on_error: bool = False,
    log_level: str = "INFO",
    select: Sequence[str] | None = None,
) -> RunSummary:
    """The medallion job over `days` (default: `days_to_run`), each source on the days it has
    landed (run_plan.py), or once when no asset is partitioned. A range run that fails on
    some days is followed by runs of the other days (range_split.py), unless
    `raise_on_error`."""
    if not defs.resolve_asset_graph().get_all_asset_keys():
        raise NothingToRun(
            f"no source is declared in {_sources_dir(settings)}: add a *.yaml declaration "
            "there (docs/add-a-source.md), or point ETL_SOURCES_DIR at the folder holding yours."
        )
    job = defs.resolve_job_def(MEDALLION_JOB)
    if job.partitions_def is None:
        if days:
            raise NothingToRun(
                f"days {days[0]} .. {days[-1]} were asked for, but no source declared in "
                f"{_sources_dir(settings)} is daily: run without days."
            )
        days = []
    else:
        days = days if days is not None else days_to_run(defs, settings, select=select)
    selected_sources(settings, select)  # an unknown name is refused
    specs = selected_sources(settings, None)
    landed = _landed_by_source(settings, specs)
    graph = defs.resolve_asset_graph()
    bronze_of = {dg.AssetKey(["bronze", spec.name]): spec.name for spec in specs}
    planned = plan_runs(graph, bronze_of, landed, days, select)
    if not planned:
        raise NothingToRun(f"nothing to run for {', '.join(select or [])} on the days asked for.")
    started = time.perf_counter()
    results = []
    queue = [(run.days, run.assets, None) for run in planned]
    while queue:
        run_days, assets, checks = queue.pop(0)
        result = _execute(job, instance, run_days, assets, checks, raise_on_error, log_level)
        results.append(result)
        if result.success or not run_days:
            continue
        planned_assets = assets if assets is not None else graph.get_all_asset_keys()
        follow = follow_ups(
            run_days,
            outcome_of(result.all_events),
            planned_assets,
            [c for c in graph.asset_check_keys if c.asset_key in planned_assets],
            {k for k in graph.get_all_asset_keys() if graph.get(k).is_partitioned},
        )
        queue += [(f.days, f.assets, f.checks) for f in follow]
    summary = summarise(results, instance, days, time.perf_counter() - started)
    summary.not_run = _not_landed(landed, days)
    return summary


def _execute(job, instance, days, assets, checks, raise_on_error, log_level):
    if assets is not None:
        job = job.get_subset(asset_selection=set(assets), asset_check_selection=checks)
    tags = process_tags()  # lets the next run tell if this process died
    if days:
        tags |= {ASSET_PARTITION_RANGE_START_TAG: days[0], ASSET_PARTITION_RANGE_END_TAG: days[-1]}
    return job.execute_in_process(
        instance=instance,
        tags=tags,
        raise_on_error=raise_on_error,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )


def _landed_by_source(settings: Settings, specs: Sequence[SourceSpec]) -> dict[str, set[str]]:
    """Per daily files source, the days it has landed (the others have every day)."""
    landing = LandingFiles(base_dir=str(settings.landing_dir))
    return {
        spec.name: {day for day, _ in landing.list_files(spec.path)}
        for spec in _file_sources([s for s in specs if s.is_daily])
    }


def _not_landed(landed: dict[str, set[str]], days: list[str]) -> list[str]:
    """`customers 2024-01-04 .. 2024-01-05 (2 days)`: days from the run's first to its last
    on which a source has no file."""
    span = []
    if days:
        first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
        span = [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    lines = []
    for source, have in sorted(landed.items()):
        missing = [day for day in span if day not in have]
        if missing:
            lines.append(f"{source} {day_groups(missing)}")
    return lines
