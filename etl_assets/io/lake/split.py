"""Splitting one output that covers several partitions (a single-run backfill) into one
table per partition, by the asset's ``partition_expr`` column.

Dagster's ``UPathIOManager`` refuses such an output; the lake accepts it, and refuses only
what it cannot split without losing rows.
"""

from collections.abc import Sequence

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from etl_assets.io.partitions import (
    PARTITION_EXPR,
    describe,
    distinct_days,
    first_keys,
    partition_stamps,
)


def split_output(
    frame: pd.DataFrame,
    table: pa.Table,
    keys: list[str],
    column: str | None,
    partitions_def: dg.PartitionsDefinition | None,
    asset_key: dg.AssetKey,
) -> list[pa.Table]:
    """``table`` (the Arrow form of ``frame``) cut into one table per key of ``keys``, a row
    going to the partition whose time window holds its ``column`` value. A Failure, and
    nothing written, when the asset has no such column or a row falls outside every key."""
    name = describe(asset_key)
    key_range = f"{keys[0]}..{keys[-1]}"
    if not column:
        raise dg.Failure(
            description=(
                f"{name} returned one frame for {len(keys)} partitions ({key_range}), but the "
                f"asset has no '{PARTITION_EXPR}' metadata, so the lake cannot tell which rows "
                f"belong to which partition. Add metadata={{'{PARTITION_EXPR}': '<datetime "
                "column>'} to the asset, or backfill it one run per partition."
            ),
            allow_retries=False,
        )
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        raise dg.Failure(
            description=(
                f"{name} returned one frame for {len(keys)} partitions ({key_range}); the lake "
                "only splits outputs of time-window (e.g. daily) partitioned assets. "
                "Backfill it one run per partition."
            ),
            allow_retries=False,
        )
    stamps = partition_stamps(frame, column, partitions_def.timezone, asset_key)

    windows = [partitions_def.time_window_for_partition_key(key) for key in keys]
    positions = partition_positions(stamps, windows)
    outside = positions == -1
    if outside.any():
        days = distinct_days(stamps[outside])
        raise dg.Failure(
            description=(
                f"{name}: {int(outside.sum())} rows have a '{column}' value outside the "
                f"partitions of this run ({key_range}), on days {first_keys(days)}. "
                "Nothing was written: the lake never drops rows. Make the asset return only "
                "rows of the run's partitions, or backfill a range that covers these days."
            ),
            metadata={"offending_days": days[:100], "range": key_range},
            allow_retries=False,
        )
    return split_by_position(table, positions, len(keys))


def partition_positions(stamps: pd.DatetimeIndex, windows: Sequence[dg.TimeWindow]) -> np.ndarray:
    """For each row, the index of the time window holding its stamp; -1 when none does.

    ``windows`` are sorted and do not overlap (a run's partitions). One binary search per
    row on the windows' start instants: an IntervalIndex lookup took seconds per million rows.
    """
    starts = pd.DatetimeIndex([window.start for window in windows]).asi8
    ends = pd.DatetimeIndex([window.end for window in windows]).asi8
    instants = stamps.asi8  # nanoseconds since the epoch (UTC); NaT is the smallest int64
    positions = np.searchsorted(starts, instants, side="right") - 1
    inside = (positions >= 0) & (instants < ends[positions.clip(min=0)])
    inside &= ~stamps.isna()
    return np.where(inside, positions, -1)


def split_by_position(table: pa.Table, positions: np.ndarray, count: int) -> list[pa.Table]:
    """Cut ``table`` into ``count`` tables, row i going to piece ``positions[i]``.

    Rows keep their order; a piece with no rows is an empty table with the same schema.
    """
    if len(positions) and np.any(np.diff(positions) < 0):
        # One stable sort, then zero-copy slices: O(n log n) however many partitions.
        order = np.argsort(positions, kind="stable")
        table, positions = table.take(pa.array(order)), positions[order]
    counts = np.bincount(positions, minlength=count)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return [table.slice(offset, rows) for offset, rows in zip(offsets, counts, strict=True)]
