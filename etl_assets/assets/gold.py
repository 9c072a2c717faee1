"""Gold assets built from the marts' registry (etl_assets/marts): the functions of
transforms/gold compute them; this module loads silver, times the call and attaches metadata.

A daily mart is one asset, read and written a day at a time; so is a daily aggregate
(`gold/customer_daily`, `gold/product_daily`: a day of silver reduced to what the
whole-history marts need). The whole-history marts are one multi-asset: it folds every day of
their daily aggregates a group of days at a time into each mart's partial result (the mart's
`Fold`, so memory follows a group, not the history), reads the silver inputs no aggregate
reduces (the catalogue) once, and finishes each mart; each can still be materialized alone.
"""

from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd

from etl_assets.assets import retries
from etl_assets.assets.common import (
    ALLOW_MISSING_ASSET,
    ALLOW_MISSING_PARTITIONS,
    column_lineage,
    frame_schema,
    stopwatch,
    table_schema,
)
from etl_assets.assets.gold_fold import FoldedMart, fold_aggregates
from etl_assets.io.daily_frames import CATEGORIES, COLUMNS, GROUP_ROWS, DailyFrames, LakePartitions
from etl_assets.io.partitions import first_keys
from etl_assets.marts.spec import DailyAggregate, MartInput, MartSpec, aggregates_of, step_name
from etl_assets.resource_keys import LAKE_DAY_BY_DAY, LAKE_IO_MANAGER

GOLD_OWNERS = ["team:analytics"]
# Rows of a daily aggregate folded at a time: a few tens of MB, whatever the history.
AGGREGATE_GROUP_ROWS = 100_000


def _key(path: Sequence[str]) -> dg.AssetKey:
    return dg.AssetKey(list(path))


def _lineage(mart: MartSpec | DailyAggregate) -> dict[str, list[tuple[dg.AssetKey, str]]]:
    """The mart's column lineage with asset keys (dagster/column_lineage)."""
    return {
        column: [(_key(MartInput(source).asset), c) for source, c in sources]
        for column, sources in mart.lineage.items()
    }


def _gold_output(mart: MartSpec | DailyAggregate, frame: pd.DataFrame, seconds: float) -> dg.Output:
    return dg.Output(
        frame,
        metadata={
            "dagster/column_schema": frame_schema(frame, mart.column_descriptions),
            "dagster/column_lineage": column_lineage(_lineage(mart)),
            "seconds": seconds,
        },
    )


def _require_rows(mart: MartSpec, frames: Mapping[str, pd.DataFrame]) -> None:
    for read, frame in zip(mart.others(), frames.values(), strict=True):
        if not len(frame.columns):
            name = "/".join(read.asset)
            raise dg.Failure(
                description=f"gold/{mart.name} needs {name}, which has not been "
                f"materialized: materialize {name} first.",
                allow_retries=False,
            )


def _name(read: MartInput | DailyAggregate) -> str:
    """The input's name in the whole-history step."""
    return read.name if isinstance(read, DailyAggregate) else read.source


def _silver_reads(marts: Sequence[MartSpec], source: str) -> list[MartInput]:
    """The reads of silver/<source> that no aggregate replaces."""
    return [r for m in marts for r in m.reads() if isinstance(r, MartInput) and r.source == source]


def _read_columns(marts: Sequence[MartSpec], source: str) -> list[str] | None:
    """The columns of silver/<source> that `marts` read (None: all of them)."""
    reads = _silver_reads(marts, source)
    if any(i.columns is None for i in reads):
        return None
    return sorted({c for i in reads for c in i.columns or ()})


def _input(marts: Sequence[MartSpec], source: str) -> dg.AssetIn:
    """One read of silver/<source> for all `marts`, every day of it (missing days skipped).
    Never materialized, it is an empty frame: a subset of the marts that does not read it
    still runs, one that does says what to materialize (`_require_rows`)."""
    columns = _read_columns(marts, source)
    categories = _categories(marts, source)
    metadata: dict[str, object] = {**ALLOW_MISSING_PARTITIONS, **ALLOW_MISSING_ASSET}
    if columns is not None:
        metadata[COLUMNS] = columns
    if categories:
        metadata[CATEGORIES] = categories
    return dg.AssetIn(
        key=_key(MartInput(source).asset), metadata=metadata, dagster_type=pd.DataFrame
    )


def _categories(marts: Sequence[MartSpec], source: str) -> list[str]:
    reads = _silver_reads(marts, source)
    return list(dict.fromkeys(c for i in reads for c in i.categories))


def _aggregate_input(aggregate: DailyAggregate) -> dg.AssetIn:
    """Every day of a daily aggregate (missing days skipped), read a group of days at a time."""
    metadata: dict[str, object] = {**ALLOW_MISSING_PARTITIONS}
    if aggregate.categories:
        metadata[CATEGORIES] = list(aggregate.categories)
    return dg.AssetIn(
        key=_key(aggregate.asset),
        metadata=metadata,
        input_manager_key=LAKE_DAY_BY_DAY,
        dagster_type=LakePartitions,
    )


def _fold_aggregates(
    context: dg.AssetExecutionContext,
    marts: Sequence[MartSpec],
    inputs: Mapping[str, LakePartitions],
) -> dict[str, FoldedMart]:
    """Each folding mart's partial result of every day of its aggregate (gold_fold.py), the
    days before the current month resumed from the mart's checkpoint in the lake."""
    for aggregate in aggregates_of(marts):
        if not inputs[aggregate.name].existing:
            raise dg.Failure(
                description=f"{_described(marts, aggregate)} need gold/{aggregate.name}, which "
                f"has no materialized partition: materialize gold/{aggregate.name} first.",
                allow_retries=False,
            )
    lake = getattr(context.resources, LAKE_IO_MANAGER, None)
    checkpoints = lake.checkpoints() if hasattr(lake, "checkpoints") else None
    return fold_aggregates(context, marts, inputs, checkpoints, AGGREGATE_GROUP_ROWS)


def _coverage(days: LakePartitions) -> dict[str, object]:
    """Which days the mart combined, and the days between its first and last with no aggregate
    (not landed, or failed and so not built): they are not in the mart, and its
    materialization says so. Days after the last are only not there yet."""
    existing = set(days.existing)
    spans = [i for i, key in enumerate(days.keys) if key in existing]
    inside = days.keys[spans[0] : spans[-1] + 1] if spans else []
    gaps = [key for key in inside if key not in existing]
    coverage: dict[str, object] = {"days_combined": len(existing), "days_missing": len(gaps)}
    if gaps:
        coverage["missing_days"] = first_keys(gaps)
    return coverage


def _described(marts: Sequence[MartSpec], aggregate: DailyAggregate) -> str:
    return ", ".join(f"gold/{m.name}" for m in marts if aggregate in m.aggregates)


def _whole_history_marts(marts: Sequence[MartSpec]) -> dg.AssetsDefinition:
    """The whole-history marts over every day of their daily aggregates, folded a group of
    days at a time, and the silver inputs no aggregate reduces (the catalogue), each read
    once; each mart can still be materialized alone."""
    step = step_name(marts)  # gold__customer_rfm__product_performance__cohort_retention
    reads = {_name(r): r for m in marts for r in m.reads()}
    ins = {
        name: _aggregate_input(r) if isinstance(r, DailyAggregate) else _input(marts, r.source)
        for name, r in reads.items()
    }

    @dg.multi_asset(
        name=step,
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
        ins=ins,
        internal_asset_deps={mart.name: {_key(r.asset) for r in mart.reads()} for mart in marts},
        can_subset=True,
        retry_policy=retries.PUBLISH_RETRY,
        required_resource_keys={LAKE_IO_MANAGER},  # the checkpoints of the folds
    )
    def _marts(context: dg.AssetExecutionContext, **inputs):
        selected = [m for m in marts if _key(m.asset) in context.selected_asset_keys]
        frames = {n: f for n, f in inputs.items() if not isinstance(reads[n], DailyAggregate)}
        # The lake reads them as categoricals (a no-op here); an IO manager that ignores
        # CATEGORIES gives strings.
        for name, frame in frames.items():
            for column in [c for c in _categories(marts, name) if c in frame]:
                frame[column] = frame[column].astype("category")
        others_of = {m.name: {_name(r): frames[_name(r)] for r in m.others()} for m in selected}
        for mart in selected:  # before the fold: say what is missing first
            _require_rows(mart, others_of[mart.name])
        with stopwatch() as folding:
            folded = _fold_aggregates(context, [m for m in selected if m.fold], inputs)
        for mart in selected:
            others = others_of.pop(mart.name)
            with stopwatch() as timing:
                if mart.fold is not None:
                    frame = mart.fold.finish(folded[mart.name].partial, *others.values())
                else:
                    frame = mart.compute(*others.values())
            # the shared fold's time is counted in each mart that took part in it
            seconds = timing["seconds"] + (folding["seconds"] if mart.fold else 0.0)
            output = _gold_output(mart, frame, round(seconds, 3))
            coverage = {}
            if mart.fold:
                coverage = {
                    **_coverage(inputs[mart.aggregates[0].name]),
                    **folded.pop(mart.name).metadata(),
                }
            yield dg.Output(frame, output_name=mart.name, metadata={**output.metadata, **coverage})

    return _marts


def _daily_mart(
    mart: MartSpec | DailyAggregate, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """A daily mart or aggregate, computed a day at a time from its inputs' same days."""

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
                reads = [
                    inputs[i.source].read(group, categories=list(i.categories)) for i in mart.inputs
                ]
                frame = mart.compute(*reads)
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
    """The assets of `marts` (a domain's registry): one per daily mart and per daily aggregate,
    one multi-asset for the whole-history ones."""
    daily = [mart for mart in marts if mart.is_daily] + list(aggregates_of(marts))
    assets = [_daily_mart(mart, partitions_def) for mart in daily]
    whole_history = [mart for mart in marts if not mart.is_daily]
    if whole_history:
        assets.append(_whole_history_marts(whole_history))
    return assets
