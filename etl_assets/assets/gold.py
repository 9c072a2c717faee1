"""Gold assets built from the marts' registry (etl_assets/marts): the functions of
transforms/gold compute them; this module loads silver, times the call and attaches metadata.

A daily mart is one asset, read and written a day at a time. The whole-history marts are one
multi-asset over a single read of the silver columns they use (each can still be
materialized alone).
"""

from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd

from etl_assets.assets import retries
from etl_assets.assets.common import (
    ALLOW_MISSING_PARTITIONS,
    column_lineage,
    frame_schema,
    stopwatch,
    table_schema,
)
from etl_assets.io.daily_frames import CATEGORIES, COLUMNS, GROUP_ROWS, DailyFrames, LakePartitions
from etl_assets.marts.spec import MartInput, MartSpec, step_name
from etl_assets.resource_keys import LAKE_DAY_BY_DAY, LAKE_IO_MANAGER

GOLD_OWNERS = ["team:analytics"]


def _key(path: Sequence[str]) -> dg.AssetKey:
    return dg.AssetKey(list(path))


def _lineage(mart: MartSpec) -> dict[str, list[tuple[dg.AssetKey, str]]]:
    """The mart's column lineage with asset keys (dagster/column_lineage)."""
    return {
        column: [(_key(MartInput(source).asset), c) for source, c in sources]
        for column, sources in mart.lineage.items()
    }


def _gold_output(mart: MartSpec, frame: pd.DataFrame, seconds: float) -> dg.Output:
    return dg.Output(
        frame,
        metadata={
            "dagster/column_schema": frame_schema(frame, mart.column_descriptions),
            "dagster/column_lineage": column_lineage(_lineage(mart)),
            "seconds": seconds,
        },
    )


def _require_rows(mart: MartSpec, frames: Mapping[str, pd.DataFrame]) -> None:
    for source, frame in frames.items():
        if not len(frame.columns):
            raise dg.Failure(
                description=f"gold/{mart.name} needs silver/{source}, which has no materialized "
                f"partition: materialize silver/{source} first.",
                allow_retries=False,
            )


def _read_columns(marts: Sequence[MartSpec], source: str) -> list[str] | None:
    """The columns of silver/<source> that `marts` read (None: all of them)."""
    reads = [i for m in marts for i in m.inputs if i.source == source]
    if any(i.columns is None for i in reads):
        return None
    return sorted({c for i in reads for c in i.columns or ()})


def _input(marts: Sequence[MartSpec], source: str) -> dg.AssetIn:
    """One read of silver/<source> for all `marts`, every day of it (missing days skipped)."""
    columns = _read_columns(marts, source)
    categories = _categories(marts, source)
    metadata: dict[str, object] = {**ALLOW_MISSING_PARTITIONS}
    if columns is not None:
        metadata[COLUMNS] = columns
    if categories:
        metadata[CATEGORIES] = categories
    return dg.AssetIn(
        key=_key(MartInput(source).asset), metadata=metadata, dagster_type=pd.DataFrame
    )


def _categories(marts: Sequence[MartSpec], source: str) -> list[str]:
    reads = [i for m in marts for i in m.inputs if i.source == source]
    return list(dict.fromkeys(c for i in reads for c in i.categories))


def _whole_history_marts(marts: Sequence[MartSpec]) -> dg.AssetsDefinition:
    """The whole-history marts over every day of silver, from one read of the columns they
    use (each can still be materialized alone)."""
    name = step_name(marts)  # gold__customer_rfm__product_performance__cohort_retention
    # After each mart, the columns no later mart reads are dropped (memory): the marts that
    # read the most go first, so the widest columns are freed soonest.
    marts = sorted(marts, key=lambda m: -sum(len(i.columns or ()) for i in m.inputs))
    sources = list(dict.fromkeys(i.source for m in marts for i in m.inputs))

    @dg.multi_asset(
        name=name,
        outs={
            mart.name: dg.AssetOut(
                key=list(mart.asset),
                group_name="gold",
                description=mart.description,
                owners=GOLD_OWNERS,
                kinds={"pandas", "parquet"},
                tags={"layer": "gold"},
                io_manager_key=LAKE_IO_MANAGER,
                is_required=False,
            )
            for mart in marts
        },
        ins={source: _input(marts, source) for source in sources},
        internal_asset_deps={mart.name: {_key(i.asset) for i in mart.inputs} for mart in marts},
        can_subset=True,
        retry_policy=retries.PUBLISH_RETRY,
    )
    def _marts(context: dg.AssetExecutionContext, **frames: pd.DataFrame):
        # The lake reads them as categoricals (a no-op here); an IO manager that ignores
        # CATEGORIES gives strings.
        for source, frame in frames.items():
            for column in _categories(marts, source):
                frame[column] = frame[column].astype("category")
        for index, mart in enumerate(marts):
            if _key(mart.asset) in context.selected_asset_keys:
                inputs = {i.source: frames[i.source] for i in mart.inputs}
                _require_rows(mart, inputs)
                with stopwatch() as timing:
                    frame = mart.compute(*inputs.values())
                output = _gold_output(mart, frame, timing["seconds"])
                yield dg.Output(frame, output_name=mart.name, metadata=output.metadata)
            for source, frame in frames.items():
                later = _read_columns(marts[index + 1 :], source)
                if later is None:
                    continue
                for column in [c for c in frame.columns if c not in later]:
                    del frame[column]  # in place: frees the column now, not at the step's end

    return _marts


def _daily_mart(mart: MartSpec, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """A daily mart, computed a day at a time from its inputs' same days."""

    @dg.asset(
        key=list(mart.asset),
        ins={
            i.source: dg.AssetIn(
                key=_key(i.asset),
                metadata={COLUMNS: list(i.columns)} if i.columns is not None else None,
                input_manager_key=LAKE_DAY_BY_DAY,  # a day at a time
                dagster_type=LakePartitions,
            )
            for i in mart.inputs
        },
        group_name="gold",
        description=mart.description,
        owners=GOLD_OWNERS,
        kinds={"pandas", "parquet"},
        tags={"layer": "gold"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": mart.partition_column},
        io_manager_key=LAKE_IO_MANAGER,
        retry_policy=retries.PUBLISH_RETRY,
    )
    def _asset(**inputs: LakePartitions) -> DailyFrames:
        timing = {"seconds": 0.0}
        schema = {}

        def days(group: list[str]) -> pd.DataFrame:  # a day's mart needs only its inputs' day
            with stopwatch() as took:
                frame = mart.compute(*(inputs[i.source].read(group) for i in mart.inputs))
            timing["seconds"] += took["seconds"]
            schema.update(frame.dtypes.to_dict())
            return frame

        def summary() -> dict:
            output = _gold_output(mart, pd.DataFrame(), round(timing["seconds"], 3))
            described = table_schema(schema, mart.column_descriptions)
            return {**output.metadata, "dagster/column_schema": described}

        first = inputs[mart.inputs[0].source]  # the inputs share the run's days
        groups = first.chunks(GROUP_ROWS)
        return DailyFrames(first.keys, days, summary=summary, groups=groups)

    return _asset


def build_gold_assets(
    marts: Sequence[MartSpec], partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """The assets of `marts` (a domain's registry): one per daily mart, one multi-asset for
    the whole-history ones."""
    assets = [_daily_mart(mart, partitions_def) for mart in marts if mart.is_daily]
    whole_history = [mart for mart in marts if not mart.is_daily]
    if whole_history:
        assets.append(_whole_history_marts(whole_history))
    return assets
