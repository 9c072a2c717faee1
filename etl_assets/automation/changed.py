"""What `etl-assets run --changed` runs: the partitions Dagster sees as unsynced, and what
depends on them.

Dagster's own staleness (`CachingStaleStatusResolver`, what the UI shows as "Unsynced")
decides: a materialized partition is stale when an upstream data version changed since it
was materialized (a landing file observed with another SHA-256 than at bronze's
materialization) or when its code version differs from the one it recorded (a declaration
edit). A bronze partition never materialized whose landing file is observed counts too (a
new day). Every partition downstream of those, by the graph's partition mappings, follows
(silver D-1 reads bronze D's late rows, the whole-history marts read every day).

The plan is a list of runs in graph order: one per graph level and stretch of consecutive
partitions, each a single-run backfill of its assets over its days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.loader import LoadingContextForTest

from etl_assets.io.partitions import consecutive_stretches as _stretches

DATA_VERSION_TAG = "dagster/data_version"


@dataclass(frozen=True)
class PlannedRun:
    assets: tuple[dg.AssetKey, ...]
    days: tuple[str, ...]  # consecutive partition keys; () for unpartitioned assets

    def describe(self) -> str:
        names = ", ".join(k.to_user_string() for k in self.assets)
        when = f"{self.days[0]} .. {self.days[-1]}" if self.days else "unpartitioned"
        return f"{when}: {names}"


@dataclass
class ChangePlan:
    causes: dict[AssetKeyPartitionKey, list[str]]  # the roots, with Dagster's reasons
    targets: dict[dg.AssetKey, set[str | None]]  # roots and everything downstream
    runs: list[PlannedRun]

    def summary(self) -> str:
        if not self.runs:
            return "nothing changed: every partition is in sync with its landing data and code"
        count = sum(len(parts) for parts in self.targets.values())
        return (
            f"{len(self.causes)} changed partition(s), {count} asset partition(s) to "
            f"materialize in {len(self.runs)} run(s)"
        )


def _resolver(instance: dg.DagsterInstance, graph) -> CachingStaleStatusResolver:
    # A plain loading context: outside the webserver there is no request context to share.
    return CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))


def changed_roots(
    defs: dg.Definitions, instance: dg.DagsterInstance
) -> dict[AssetKeyPartitionKey, list[str]]:
    """Materializable (asset, partition)s that are stale, or a bronze day never materialized
    whose landing file has been observed, with the reasons."""
    graph = defs.resolve_asset_graph()
    resolver = _resolver(instance, graph)
    roots: dict[AssetKeyPartitionKey, list[str]] = {}
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        if not node.is_partitioned:
            candidates: list[str | None] = [None]
        else:
            existing = set(node.partitions_def.get_partition_keys())
            candidates = sorted(existing & instance.get_materialized_partitions(key))
            candidates += _observed_but_missing(instance, graph, key, existing, candidates)
        for partition in candidates:
            status = resolver.get_status(key, partition)
            if status == StaleStatus.STALE:
                causes = resolver.get_stale_root_causes(key, partition)
                roots[AssetKeyPartitionKey(key, partition)] = [_cause_text(c) for c in causes]
            elif status == StaleStatus.MISSING and partition is not None:
                roots[AssetKeyPartitionKey(key, partition)] = ["never materialized; file landed"]
    return roots


def _observed_but_missing(instance, graph, key, existing, materialized) -> list[str]:
    """A daily asset's partitions whose observed parent has a version, but which never ran."""
    observed_parents = [p for p in graph.get(key).parent_keys if graph.get(p).is_observable]
    if not observed_parents:
        return []
    found: set[str] = set()
    for parent in observed_parents:  # one query: the latest observation of each partition
        latest = instance.event_log_storage.get_latest_tags_by_partition(
            parent, dg.DagsterEventType.ASSET_OBSERVATION, [DATA_VERSION_TAG]
        )
        found |= {partition for partition in latest if partition in existing}
    return sorted(found - set(materialized))


def _cause_text(cause) -> str:
    dependency = cause.dependency
    where = f" ({dependency.asset_key.to_user_string()}" if dependency else ""
    if dependency and dependency.partition_key:
        where += f" {dependency.partition_key}"
    subject = cause.key.asset_key.to_user_string()
    if cause.key.partition_key:
        subject += f" {cause.key.partition_key}"
    return f"{subject} {cause.reason}{where + ')' if where else ''}"


def plan_changed(defs: dg.Definitions, instance: dg.DagsterInstance) -> ChangePlan:
    graph = defs.resolve_asset_graph()
    roots = changed_roots(defs, instance)
    targets: dict[dg.AssetKey, set[str | None]] = defaultdict(set)
    queue = list(roots)
    while queue:
        item = queue.pop()
        if item.partition_key in targets[item.asset_key]:
            continue
        targets[item.asset_key].add(item.partition_key)
        # An asset that cannot run alone (silver with its quarantine) takes its siblings.
        for sibling in graph.get(item.asset_key).execution_set_asset_keys:
            if sibling != item.asset_key:
                queue.append(AssetKeyPartitionKey(sibling, item.partition_key))
        for child in graph.get_children_partitions(item.asset_key, item.partition_key):
            if graph.get(child.asset_key).is_materializable:
                queue.append(child)
    return ChangePlan(roots, dict(targets), _runs(graph, targets))


def _runs(graph, targets: dict[dg.AssetKey, set[str | None]]) -> list[PlannedRun]:
    runs: list[PlannedRun] = []
    for level in graph.toposorted_asset_keys_by_level:
        by_days: dict[tuple, list[dg.AssetKey]] = defaultdict(list)
        for key in sorted(k for k in level if k in targets):
            node = graph.get(key)
            keys = node.partitions_def.get_partition_keys() if node.is_partitioned else []
            for stretch in _stretches(sorted(p for p in targets[key] if p), keys):
                by_days[tuple(stretch)].append(key)
            if None in targets[key]:
                by_days[()].append(key)
        for days, keys in by_days.items():
            runs.append(PlannedRun(tuple(keys), days))
    return runs
