"""Each partition's own size in a range run.

Dagster copies an output's metadata onto the materialization of every partition the step
covers, so `dagster/row_count` would be the range's total on each day. The lake knows each
day's file: its rows and bytes go to that partition's event through Dagster's
`add_asset_metadata(..., partition_key=...)`, which overrides the copied entries.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from etl_assets.io.lake.paths import SUFFIX


def each_partition_its_own(
    context: dg.OutputContext, asset_key: dg.AssetKey, written: Sequence
) -> None:
    """`written`: the staged files of the step (their names are the partition keys)."""
    if not context.has_asset_partitions:
        return
    step = context.step_context
    for file in written:
        step.add_asset_metadata(
            {
                "dagster/row_count": dg.MetadataValue.int(file.rows),
                "bytes": dg.MetadataValue.int(file.size),
                "path": dg.MetadataValue.path(str(file.target)),
            },
            asset_key=asset_key,
            partition_key=file.target.name.removesuffix(SUFFIX),
        )
