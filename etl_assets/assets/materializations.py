"""Dagster's record of which partitions of an asset were materialized since a point: what an
incremental step (silver/customers' history, the whole-history marts' checkpoints) reads to
know which days changed since it last computed from them."""

from __future__ import annotations

import dagster as dg


def materialized_since(
    instance: dg.DagsterInstance, key: dg.AssetKey, after: int | None
) -> tuple[set[str], int | None]:
    """The partitions of `key` materialized after storage id `after` (all of them when None),
    and the latest storage id seen (`after` when none)."""
    days: set[str] = set()
    latest, cursor = after, None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after),
            limit=1000,
            cursor=cursor,
            ascending=True,
        )
        for record in page.records:
            days.add(record.partition_key)
            latest = max(latest or 0, record.storage_id)
        if not page.has_more:
            return days, latest
        cursor = page.cursor


def latest_storage_id(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    """The storage id of the latest materialization of any partition of `key`."""
    page = instance.fetch_materializations(key, limit=1, ascending=False)
    return page.records[0].storage_id if page.records else None
