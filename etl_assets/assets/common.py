"""What every asset factory shares: partitions, column schemas, column lineage, timing,
the days of a run."""

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import dagster as dg
import pandas as pd

OWNERS_DEFAULT = ("team:data-platform",)
# Input metadata read by the lake IO manager: skip partitions never materialized.
ALLOW_MISSING_PARTITIONS = {"allow_missing_partitions": True}
# ... and of an unpartitioned input: a missing asset is an empty frame (the step says so)
ALLOW_MISSING_ASSET = {"allow_missing_asset": True}


def daily_partitions(start_date: str, timezone: str = "UTC") -> dg.DailyPartitionsDefinition:
    # A day ends at midnight in `timezone`; the 02:00 schedule runs in the same timezone.
    return dg.DailyPartitionsDefinition(start_date=start_date, timezone=timezone)


def partition_days(context: dg.AssetExecutionContext) -> list[pd.Timestamp]:
    """The days this run computes: one partition or the range of a single-run backfill."""
    window = context.partition_time_window
    return list(
        pd.date_range(
            pd.Timestamp(window.start).tz_localize(None),
            pd.Timestamp(window.end).tz_localize(None),
            freq="D",
            inclusive="left",
        )
    )


def table_schema(
    dtypes: Mapping[str, object], descriptions: Mapping[str, str] | None = None
) -> dg.TableSchema:
    """Each column's name, dtype and (when known and not empty) its description."""
    described = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=str(dtype), description=described.get(name) or None)
            for name, dtype in dtypes.items()
        ]
    )


def frame_schema(
    frame: pd.DataFrame, descriptions: Mapping[str, str] | None = None
) -> dg.TableSchema:
    return table_schema(frame.dtypes.to_dict(), descriptions)


def column_lineage(deps: Mapping[str, Sequence[tuple[dg.AssetKey, str]]]) -> dg.TableColumnLineage:
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=key, column_name=name) for key, name in sources]
            for column, sources in deps.items()
        }
    )


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """Measures the body; the elapsed seconds land in the yielded dict under 'seconds'."""
    timing: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield timing
    finally:
        timing["seconds"] = round(time.perf_counter() - started, 3)
