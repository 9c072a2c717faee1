"""The landing sensor: a new or changed landing file asks for a run of its day.

Each ready file (landing_watch.py says when) becomes one run of the medallion job: for a
dated file, its day's partition of the file's bronze asset and of the silver and gold
assets below it; for the undated catalogue, its unpartitioned assets. Each tick observes
`landing/<source>` (assets/landing.py) and a ready file runs only when its SHA-256 differs
from the one bronze ingested for its partition, whatever the cursor says. The run key is
`<file>@<sha256>~<sha256 it replaces>`: one change is never launched twice. What reaches across days
(silver D-1's late rows, histories and whole-history marts) follows through the automation
sensor (conditions.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg

from etl_assets.assets.landing import (
    FileVersion,
    file_sources,
    ingested_versions,
    observe_source,
)
from etl_assets.automation.landing_watch import (
    PartitionBounds,
    ReadyFile,
    TickInputs,
    TickPlan,
    WatchedSource,
    WatchState,
    plan_tick,
)
from etl_assets.connectors.files import LandingFiles
from etl_assets.connectors.landing_scan import LandingDirectoryMissing
from etl_assets.sources import SourceSpec

LANDING_SENSOR = "landing_files"
LANDING_FILE_TAG = "etl/landing_file"
LANDING_SHA_TAG = "etl/landing_sha256"
# Files turned into runs per tick: bounds a tick's reading and the runs it queues at once.
MAX_RUNS_PER_TICK = 50
_SHOWN = 10  # waiting files named in a tick's log line


def watched_sources(specs: Sequence[SourceSpec]) -> list[WatchedSource]:
    """The sources that land as files, with the bronze asset each one feeds."""
    return [
        WatchedSource.of(spec.name, spec.path, ("bronze", spec.name))
        for spec in specs
        if spec.connector == "files" and spec.path
    ]


def build_landing_sensor(
    specs: Sequence[SourceSpec],
    job: dg.UnresolvedAssetJobDefinition,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    *,
    minimum_interval_seconds: int,
    default_status: dg.DefaultSensorStatus,
) -> dg.SensorDefinition:
    sources = watched_sources(specs)
    files_specs = file_sources(specs)

    @dg.sensor(
        name=LANDING_SENSOR,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            "Runs a day's partition when a landing file for it is new or changed (by SHA-256). "
            "Waits while a file is being written; skips, with a logged reason, names outside "
            f"the sources' patterns ({', '.join(s.pattern for s in sources)}) and links that "
            "resolve outside the landing directory."
        ),
    )
    def landing_files(context: dg.SensorEvaluationContext, landing: LandingFiles):
        previous = WatchState.decode(context.cursor)
        started_ns = time.time_ns()
        try:
            entries = landing.scan()
        except LandingDirectoryMissing as missing:
            # Keep the cursor: when the directory comes back, known files stay known.
            context.log.warning(f"{missing}; nothing to do, the cursor is kept.")
            return dg.SkipReason(
                f"{missing}: check ETL_DATA_DIR and the mount; the sensor resumes when it is back."
            )
        # The tick's look is also an observation of landing/<source>: data versions first.
        versions = observe_for_tick(files_specs, landing, context.instance, partitions_def, entries)
        inputs = TickInputs(
            sources=sources,
            bounds=_bounds(partitions_def),
            checksum=versions.checksum,
            max_ready=MAX_RUNS_PER_TICK,
            now_ns=started_ns,
            clock_margin_ns=landing.clock_margin_ns(),
            ingested=versions.ingested,
            observed_stable=versions.observed_stable,
        )
        plan = plan_tick(sorted(entries, key=lambda e: e.relative), previous, inputs)
        _log_plan(context, plan)
        graph = context.repository_def.asset_graph
        return dg.SensorResult(
            run_requests=[_run_request(ready, graph) for ready in plan.ready],
            skip_reason=None if plan.ready else _skip_text(plan),
            cursor=plan.state.encode(),
            asset_events=versions.events,
        )

    return landing_files


def _bounds(partitions_def: dg.TimeWindowPartitionsDefinition) -> PartitionBounds:
    return PartitionBounds(
        first=partitions_def.get_first_partition_key(),
        last=partitions_def.get_last_partition_key(),
    )


@dataclass
class TickVersions:
    """The tick's observation: every file's data version, and what bronze ingested."""

    events: list[dg.AssetObservation]
    by_path: dict[str, FileVersion]
    ingested_by_source: dict[tuple[str, ...], dict[str | None, str]]
    fallback: Callable[[str], str]

    def checksum(self, relative: str) -> str:
        version = self.by_path.get(relative)
        return version.sha256 if version else self.fallback(relative)

    def observed_stable(self, relative: str) -> bool:
        version = self.by_path.get(relative)
        return version is not None and version.stable

    def ingested(self, source: WatchedSource, day: str | None) -> str | None:
        return self.ingested_by_source.get(source.bronze_key, {}).get(day)


def observe_for_tick(specs, landing: LandingFiles, instance, partitions_def, entries):
    """Observe the sources' files (hashing only new or changed ones) and read, per
    partition, the SHA-256 bronze recorded when it ingested it (one query per source)."""
    events: list[dg.AssetObservation] = []
    by_path: dict[str, FileVersion] = {}
    ingested: dict[tuple[str, ...], dict[str | None, str]] = {}
    keys = partitions_def.get_partition_keys()
    for spec in specs:
        observed = observe_source(spec, landing, instance, keys if spec.is_daily else None, entries)
        events.extend(observed.events)
        by_path.update({v.relative: v for v in observed.versions.values()})
        days = sorted(d for d in observed.versions if d) if spec.is_daily else None
        bronze = ("bronze", spec.name)
        ingested[bronze] = ingested_versions(instance, dg.AssetKey(bronze), days)
    return TickVersions(events, by_path, ingested, landing.sha256_of)


def _run_request(ready: ReadyFile, graph) -> dg.RunRequest:
    """The file's bronze asset and what is downstream of it with the same partitioning.

    A dated file runs its day: bronze D, silver D, gold D; the catalogue runs bronze and
    silver products. Assets that mix daily and undated parents (silver/customers' history,
    the RFM, product and cohort marts read every day) are left to the automation sensor,
    like silver D-1: they would otherwise run once per landed file, and fail on a fresh
    landing zone while the catalogue's or the first day's run has not finished yet.
    """
    downstream = dg.AssetSelection.assets(dg.AssetKey(ready.source.bronze_key)).downstream()
    dated = ready.day is not None

    def same_partitioning(key: dg.AssetKey) -> bool:
        node = graph.get(key)
        parents = [graph.get(parent) for parent in node.parent_keys]
        return all(n.is_partitioned == dated for n in (node, *parents))

    keys = [key for key in downstream.resolve(graph) if same_partitioning(key)]
    # The version it replaces is part of the key: a file put back to an earlier content
    # (A, B, then A again) runs again; the same change is never launched twice.
    after = f"~{ready.ingested[:16]}" if ready.ingested else ""
    return dg.RunRequest(
        run_key=f"{ready.relative}@{ready.sha256}{after}",
        partition_key=ready.day,
        asset_selection=sorted(keys, key=dg.AssetKey.to_user_string),
        tags={LANDING_FILE_TAG: ready.relative, LANDING_SHA_TAG: ready.sha256},
    )


def _log_plan(context: dg.SensorEvaluationContext, plan: TickPlan) -> None:
    for relative, reason in plan.newly_skipped:
        context.log.warning(f"skipped {relative}: {reason}")
    for ready in plan.ready:
        day = f"partition {ready.day}" if ready.day else "no partition"
        context.log.info(f"{ready.relative} (sha256 {ready.sha256[:12]}...): run for {day}")
    if plan.waiting:
        context.log.info(_waiting_text(plan))


def _waiting_text(plan: TickPlan) -> str:
    by_reason: dict[str, list[str]] = {}
    for relative, why in plan.waiting:
        by_reason.setdefault(why, []).append(relative)
    groups = []
    for why, names in by_reason.items():
        more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        groups.append(f"{why}: {', '.join(names[:_SHOWN])}{more}")
    return f"{len(plan.waiting)} file(s) waiting - " + "; ".join(groups)


def _skip_text(plan: TickPlan) -> str:
    text = f"no new or changed landing file ({plan.known} known)"
    if plan.waiting:
        text += f"; {_waiting_text(plan)}"
    if plan.newly_skipped:
        text += f"; {len(plan.newly_skipped)} file(s) skipped (see the tick's log)"
    return text
