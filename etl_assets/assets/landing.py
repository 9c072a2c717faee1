"""`landing/<source>`: the landing data in the asset graph, as observable source assets.

An observation records, per partition (a day; none for an undated source), a data version
equal to the SHA-256 of the landing file, plus its size and when it last changed. It is
cheap: a file whose fingerprint (size, modification and change times, inode) is the one of
its last observation is not read again, and nothing is recorded for it; only new or changed
files are hashed and observed. `bronze/<source>` depends on `landing/<source>` and records
the SHA-256 it ingested per partition (`landing_sha256`), so Dagster's staleness ("unsynced:
has a new dependency data version") and `etl-assets run --changed` compare like with like.

Observations happen here (the UI's "Observe", the `landing_observations` schedule), in the
landing sensor's tick and at the start of `etl-assets run`: all call `observe_source`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from etl_assets.connectors.files import LandingFiles
from etl_assets.connectors.landing_scan import LandingDirectoryMissing, LandingEntry
from etl_assets.resource_keys import CONNECTOR_RESOURCES
from etl_assets.resource_keys import LANDING as LANDING_FILES
from etl_assets.sources import SourceSpec

LANDING_GROUP = "landing"
DATA_VERSION_TAG = "dagster/data_version"
FINGERPRINT_TAG = "etl/landing_fingerprint"
INGESTED_METADATA = "landing_sha256"  # on bronze: what it read, per partition


def landing_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey([LANDING_GROUP, spec.name])


def file_sources(specs: Iterable[SourceSpec]) -> list[SourceSpec]:
    """The sources read from landing files (the landing sensor watches these)."""
    return [spec for spec in specs if spec.connector == "files" and spec.path]


def observable_sources(specs: Iterable[SourceSpec]) -> list[SourceSpec]:
    """Every source with a `landing/<source>` asset: files, HTTP and Postgres."""
    return [spec for spec in specs if spec.connector in ("http", "postgres") or spec.path]


@dataclass(frozen=True)
class FileVersion:
    """One partition's landing file as last seen: its data version and fingerprint."""

    partition: str | None
    relative: str
    sha256: str
    fingerprint: str
    stable: bool  # the previous observation saw the same fingerprint (nobody is writing)


@dataclass
class Observed:
    """What one look at a source's landing files found."""

    versions: dict[str | None, FileVersion]  # partition -> current version (every file)
    events: list[dg.AssetObservation]  # only the new or changed partitions


def observe_source(
    spec: SourceSpec,
    landing: LandingFiles,
    instance: dg.DagsterInstance,
    partition_keys: Sequence[str] | None,
    entries: Sequence[LandingEntry] | None = None,
) -> Observed:
    """The source's files for `partition_keys` (None: an undated source), hashed only when
    their fingerprint differs from their last observation. `entries`: a scan already made."""
    key = landing_key(spec)
    by_path = {e.relative: e for e in (entries if entries is not None else landing.scan())}
    wanted = {
        landing.path_for(spec.path, day): day
        for day in (partition_keys if partition_keys is not None else [None])
    }
    present = {relative: day for relative, day in wanted.items() if relative in by_path}
    previous = _previous_observations(instance, key, [d for d in present.values() if d])
    observed = Observed(versions={}, events=[])
    for relative, day in present.items():
        entry = by_path[relative]
        if entry.outside_target is not None:
            continue  # a link out of the landing directory is never read (the sensor says so)
        last = previous.get(day, {})
        fingerprint = _tag_value(entry.fingerprint)
        if last.get(FINGERPRINT_TAG) == fingerprint and last.get(DATA_VERSION_TAG):
            observed.versions[day] = FileVersion(
                day, relative, last[DATA_VERSION_TAG], fingerprint, stable=True
            )
            continue
        try:
            sha256 = landing.sha256_of(relative)
        except FileNotFoundError:
            continue  # removed since the scan
        observed.versions[day] = FileVersion(day, relative, sha256, fingerprint, stable=False)
        observed.events.append(_observation(key, day, relative, sha256, entry))
    return observed


def observe_remote(
    spec: SourceSpec,
    connection,
    instance: dg.DagsterInstance,
    partition_keys: Sequence[str] | None,
    log=None,
) -> Observed:
    """An HTTP or Postgres source's data versions (landing_remote.py), observed only where
    they differ from the partition's last observation."""
    from etl_assets.assets.landing_remote import remote_versions

    key = landing_key(spec)
    current = remote_versions(spec, connection, partition_keys, log)
    previous = _previous_observations(instance, key, [d for d in current if d])
    observed = Observed(versions={}, events=[])
    for day, (version, metadata) in current.items():
        label = str(metadata.get("url") or metadata.get("source_table"))
        unchanged = previous.get(day, {}).get(DATA_VERSION_TAG) == version
        observed.versions[day] = FileVersion(day, label, version, "", stable=unchanged)
        if not unchanged:
            observed.events.append(
                dg.AssetObservation(
                    asset_key=key,
                    partition=day,
                    tags={DATA_VERSION_TAG: version},
                    metadata={**metadata, "data_version": version},
                )
            )
    return observed


def _observe(spec, connection, instance, partition_keys, log=None) -> Observed:
    if spec.connector == "files":
        return observe_source(spec, connection, instance, partition_keys)
    return observe_remote(spec, connection, instance, partition_keys, log)


def _observation(
    key: dg.AssetKey, day: str | None, relative: str, sha256: str, entry: LandingEntry
) -> dg.AssetObservation:
    metadata: dict = {"file": relative, "size_bytes": entry.size, "sha256": sha256}
    if entry.changed_ns is not None:
        metadata["modified"] = dg.MetadataValue.timestamp(entry.changed_ns / 1e9)
    return dg.AssetObservation(
        asset_key=key,
        partition=day,
        tags={DATA_VERSION_TAG: sha256, FINGERPRINT_TAG: _tag_value(entry.fingerprint)},
        metadata=metadata,
    )


def _tag_value(fingerprint: str) -> str:
    """A fingerprint as a tag value (Dagster allows [A-Za-z0-9_.-], at most 63 characters)."""
    return hashlib.blake2b(fingerprint.encode(), digest_size=16).hexdigest()


def _previous_observations(
    instance: dg.DagsterInstance, key: dg.AssetKey, days: list[str]
) -> Mapping[str | None, Mapping[str, str]]:
    """partition -> the tags of its latest observation (one paged query)."""
    if not days:
        record = instance.get_latest_data_version_record(key, True)
        return {None: record.event_log_entry.tags or {}} if record else {}
    latest = _latest_by_partition(instance.fetch_observations, key, days)
    return {day: record.event_log_entry.tags or {} for day, record in latest.items()}


def _latest_by_partition(fetch, key: dg.AssetKey, partitions: Sequence[str]) -> dict:
    """partition -> its latest event record, from `instance.fetch_materializations` or
    `fetch_observations`, paging newest first until every partition is found."""
    found: dict[str, object] = {}
    cursor = None
    while len(found) < len(partitions):
        missing = sorted(set(partitions) - found.keys())
        result = fetch(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=missing),
            limit=1000,
            cursor=cursor,
        )
        for record in result.records:
            found.setdefault(record.partition_key, record)
        if not result.has_more:
            break
        cursor = result.cursor
    return found


def ingested_versions(
    instance: dg.DagsterInstance, bronze: dg.AssetKey, partitions: Sequence[str] | None
) -> dict[str | None, str]:
    """partition -> the SHA-256 bronze recorded for it at its latest materialization
    (`partitions` None: the undated source's one version). A partition absent was never
    ingested (or before bronze recorded it)."""
    if partitions is None:
        event = instance.get_latest_materialization_event(bronze)
        materializations = {None: event.asset_materialization if event else None}
    else:
        latest = _latest_by_partition(instance.fetch_materializations, bronze, partitions)
        materializations = {day: r.asset_materialization for day, r in latest.items()}
    versions: dict[str | None, str] = {}
    for day, materialization in materializations.items():
        value = materialization.metadata.get(INGESTED_METADATA) if materialization else None
        if value is not None:
            versions[day] = str(value.value)
    return versions


def record_ingested(context: dg.AssetExecutionContext, day, sha256: str) -> None:
    """Bronze's record of what it read for a partition (`day`, a Timestamp; None for an
    undated source): a range run records every day's own."""
    if day is None:
        context.add_output_metadata({INGESTED_METADATA: sha256})
    else:
        context.add_asset_metadata({INGESTED_METADATA: sha256}, partition_key=f"{day:%Y-%m-%d}")


def observe_all(
    specs: Iterable[SourceSpec],
    connections: Mapping[str, object],
    instance: dg.DagsterInstance,
    partitions_def: dg.PartitionsDefinition | None,
) -> dict[str, Observed | Exception]:
    """Observe every source once (the landing directory scanned once), recording the new or
    changed versions on `instance` (outside any run, as `etl-assets run` does before it
    starts). `connections`: resource key -> resource. A source that cannot be observed (an
    API down) maps to its error: the run that follows says what is wrong when it reads."""
    landing: LandingFiles = connections[LANDING_FILES]
    specs = observable_sources(specs)
    entries = None
    if any(spec.connector == "files" for spec in specs):
        try:
            entries = landing.scan()
        except LandingDirectoryMissing:
            specs = [spec for spec in specs if spec.connector != "files"]
    found: dict[str, Observed | Exception] = {}
    for spec in specs:
        keys = None
        if spec.is_daily and partitions_def is not None:
            keys = partitions_def.get_partition_keys()
        try:
            if spec.connector == "files":
                observed = observe_source(spec, landing, instance, keys, entries)
            else:
                connection = connections[CONNECTOR_RESOURCES[spec.connector]]
                observed = observe_remote(spec, connection, instance, keys)
        except Exception as error:  # noqa: BLE001 (reported; the run's read fails clearly)
            found[spec.name] = error
            continue
        for event in observed.events:
            instance.report_runless_asset_event(event)
        found[spec.name] = observed
    return found


def build_landing_asset(
    spec: SourceSpec, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    daily = spec.is_daily
    resource_key = CONNECTOR_RESOURCES[spec.connector]

    @dg.observable_source_asset(
        key=landing_key(spec),
        group_name=LANDING_GROUP,
        description=_DESCRIPTIONS[spec.connector].format(spec=spec),
        partitions_def=partitions_def if daily else None,
        required_resource_keys={resource_key},
        metadata={"declaration": spec.file},
    )
    def _landing(context):
        connection = getattr(context.resources, resource_key)
        keys = partitions_def.get_partition_keys() if daily else None
        observed = _observe(spec, connection, context.instance, keys, context.log)
        context.log.info(
            f"{len(observed.events)} new or changed of {len(observed.versions)} data versions"
        )
        if not daily:  # Dagster records the one observation an undated asset returns
            return _undated_result(observed)
        for event in observed.events:  # with their fingerprints and metadata
            context.log_event(event)
        return dg.DataVersionsByPartition({})

    return _landing


def _undated_result(observed: Observed) -> dg.ObserveResult:
    """An undated source's observation: the new version with its metadata, or the same
    version again (with its fingerprint, so the next look still needs no read)."""
    if observed.events:
        event = observed.events[0]
        tags = dict(event.tags or {})
        version = tags.pop(DATA_VERSION_TAG)
        return dg.ObserveResult(
            data_version=dg.DataVersion(version), metadata=event.metadata, tags=tags
        )
    current = observed.versions.get(None)
    if current is None:  # no file landed yet: nothing to version
        return dg.ObserveResult(metadata={"note": "nothing to observe yet"})
    tags = {FINGERPRINT_TAG: current.fingerprint} if current.fingerprint else None
    return dg.ObserveResult(data_version=dg.DataVersion(current.sha256), tags=tags)


_DESCRIPTIONS = {
    "files": "The landing files of '{spec.name}' (landing/{spec.path}), observed: per "
    "partition, a data version (the file's SHA-256), its size and when it changed. Only new "
    "or changed files are read.",
    "http": "The API of '{spec.name}', observed: the SHA-256 of its first page (per day, "
    "for the latest days), one request each; never a full read.",
    "postgres": "The table of '{spec.name}', observed: its greatest watermark and row count "
    "(one aggregate query); the data version is their SHA-256.",
}
