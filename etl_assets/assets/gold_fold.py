"""The whole-history step's fold: each mart's partial result of every day of its daily
aggregate, read a group of days at a time, resumed from a checkpoint of the days before the
current month.

Without a checkpoint a daily run would read every day of the aggregates, so its cost would
grow with the history. Each folding mart keeps its partial result of every day before the
month of the latest day in the lake (`LakeCheckpoints`, saved once a month: when the step
first folds a day of a new month), and the next runs fold only the days after it.

A checkpoint is used only while it still holds what a rebuild would read:
- the mart's code version is the one it was made with (a new fold or finish recomputes);
- the aggregate's days up to its last day are the ones it folded (none added or removed);
- Dagster recorded no materialization of any of those days after the storage id it noted
  (`materialized_since`, as silver/customers' history does): a reprocessed past day is
  re-read.
Otherwise the step folds every day again, which is what a rebuild does, and saves a new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from etl_assets.assets.materializations import latest_storage_id, materialized_since
from etl_assets.io.daily_frames import LakePartitions
from etl_assets.io.lake import LakeCheckpoints, UnreadableCheckpoint
from etl_assets.io.read_ahead import read_groups
from etl_assets.marts.spec import DailyAggregate, MartSpec, aggregates_of


@dataclass
class FoldedMart:
    """A mart's partial result of every day, and how it was reached (its metadata)."""

    partial: Any
    resumed_through: str = ""  # the last day of the checkpoint it started from
    discarded: str = ""  # why a checkpoint found was not used
    saved_through: str = ""  # the last day of the checkpoint it saved
    days_folded: int = 0  # aggregate days read this run

    def metadata(self) -> dict[str, object]:
        return {
            "checkpoint_resumed_through": self.resumed_through,
            "checkpoint_discarded": self.discarded,
            "checkpoint_saved_through": self.saved_through,
            "days_folded": self.days_folded,
        }


@dataclass(frozen=True)
class _Start:
    partial: Any = None
    through: str | None = None  # last day the partial holds
    discarded: str = ""  # why the checkpoint found was not used


def _digest(days: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(days).encode()).hexdigest()[:16]


def _month_start(day: str) -> pd.Timestamp:
    return pd.Timestamp(day).to_period("M").start_time


def fold_aggregates(
    context: dg.AssetExecutionContext,
    marts: Sequence[MartSpec],
    inputs: Mapping[str, LakePartitions],
    checkpoints: LakeCheckpoints | None,
    group_rows: int,
) -> dict[str, FoldedMart]:
    """Each folding mart's partial result of every day of its aggregate. Each aggregate is
    read once, a group of days at a time, from the earliest day a mart needs; every mart
    folding it takes the groups after its checkpoint."""
    folded: dict[str, FoldedMart] = {}
    for aggregate in aggregates_of(marts):
        folding = [m for m in marts if aggregate in m.aggregates]
        folded.update(
            _fold_one(context, aggregate, folding, inputs[aggregate.name], checkpoints, group_rows)
        )
    return folded


def _fold_one(
    context: dg.AssetExecutionContext,
    aggregate: DailyAggregate,
    marts: Sequence[MartSpec],
    days: LakePartitions,
    checkpoints: LakeCheckpoints | None,
    group_rows: int,
) -> dict[str, FoldedMart]:
    existing = days.existing
    boundary = _month_start(existing[-1])
    # the days a checkpoint made now holds: every day before the latest day's month
    keep_through = next((d for d in reversed(existing) if pd.Timestamp(d) < boundary), None)
    key = dg.AssetKey(list(aggregate.asset))
    noted = latest_storage_id(context.instance, key)  # before any day is read
    starts = {m.name: _start(context, m, key, existing, checkpoints) for m in marts}
    folded = {
        name: FoldedMart(start.partial, start.through or "", start.discarded)
        for name, start in starts.items()
    }
    cuts = {s.through for s in starts.values()} | {keep_through}
    earliest = min((s.through or "" for s in starts.values()), default="")
    groups = _groups(days, [d for d in existing if d > earliest], cuts, group_rows)
    frames = read_groups(days, groups, categories=list(aggregate.categories))
    for group, frame in zip(groups, frames, strict=True):
        for mart in marts:
            through = starts[mart.name].through
            if through is None or group[0] > through:
                state = folded[mart.name]
                state.partial = mart.fold.add(state.partial, frame)
                state.days_folded += len(group)
                if group[-1] == keep_through and checkpoints is not None:
                    facts = _facts(context, mart, key, existing, keep_through, noted)
                    if checkpoints.save(_key(mart), facts, mart.fold.to_tables(state.partial)):
                        state.saved_through = keep_through
        del frame  # before the group after the next is read
    return folded


def _groups(
    days: LakePartitions, keys: list[str], cuts: set[str | None], group_rows: int
) -> list[list[str]]:
    """`keys` in groups of at most `group_rows` rows, none running over a cut day (a
    checkpoint's last day), so a mart can start after one or save one at one."""
    groups, segment = [], []
    for day in keys:
        segment.append(day)
        if day in cuts:
            groups += days.chunks(group_rows, keys=segment)
            segment = []
    if segment:
        groups += days.chunks(group_rows, keys=segment)
    return groups


def _key(mart: MartSpec) -> dg.AssetKey:
    return dg.AssetKey(list(mart.asset))


def _code_version(context: dg.AssetExecutionContext, mart: MartSpec) -> str:
    spec = context.assets_def.specs_by_key.get(_key(mart))
    return (spec.code_version if spec is not None else None) or ""


def _facts(
    context: dg.AssetExecutionContext,
    mart: MartSpec,
    aggregate: dg.AssetKey,
    existing: Sequence[str],
    through: str,
    noted: int | None,
) -> dict[str, object]:
    held = [d for d in existing if d <= through]
    return {
        "aggregate": aggregate.to_user_string(),
        "code_version": _code_version(context, mart),
        "through": through,
        "days": len(held),
        "days_digest": _digest(held),
        "storage_id": noted,
    }


def _start(
    context: dg.AssetExecutionContext,
    mart: MartSpec,
    aggregate: dg.AssetKey,
    existing: Sequence[str],
    checkpoints: LakeCheckpoints | None,
) -> _Start:
    """The mart's checkpoint if it still holds what a rebuild would read, else no start."""
    if checkpoints is None:
        return _Start()
    try:
        checkpoint = checkpoints.load(_key(mart))
    except UnreadableCheckpoint as error:
        context.log.warning(f"gold/{mart.name}: {error}; every day folded again.")
        return _Start(discarded=f"unreadable: {error}")
    if checkpoint is None:
        return _Start()
    facts = checkpoint.facts
    reason = _stale(context, mart, aggregate, existing, facts)
    if reason:
        context.log.info(
            f"gold/{mart.name}: checkpoint through {facts.get('through')} unused ({reason}): "
            "every day folded again."
        )
        return _Start(discarded=reason)
    try:
        partial = mart.fold.from_tables(checkpoint.tables)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        context.log.warning(
            f"gold/{mart.name}: checkpoint unreadable ({error}): every day folded again."
        )
        return _Start(discarded=f"unreadable: {error}")
    return _Start(partial, str(facts["through"]))


def _stale(
    context: dg.AssetExecutionContext,
    mart: MartSpec,
    aggregate: dg.AssetKey,
    existing: Sequence[str],
    facts: Mapping[str, object],
) -> str | None:
    """Why the checkpoint no longer holds what a rebuild would read (None: it does)."""
    through = str(facts.get("through"))
    held = [d for d in existing if d <= through]
    if facts.get("aggregate") != aggregate.to_user_string():
        return "made from another aggregate"
    if facts.get("code_version") != _code_version(context, mart):
        return "the mart's code version changed"
    if facts.get("days") != len(held) or facts.get("days_digest") != _digest(held):
        return f"the days of {aggregate.to_user_string()} up to {through} changed"
    noted = facts.get("storage_id")
    if noted is None:
        return "it noted no materialization"
    changed, _ = materialized_since(context.instance, aggregate, int(noted))
    redone = sorted(d for d in changed if d is not None and d <= through)
    if redone:
        return f"{', '.join(redone[:3])} re-materialized since"
    return None
