"""What every asset factory shares: partitions, column schemas, timing, partition days; and
what every bronze reader shares: declared secrets, records read, the batch framed."""

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import dagster as dg
import pandas as pd

from etl_assets.sources import SourceSpec
from etl_assets.transforms.bronze import LandingFileError, LandingRead, frame_bronze
from etl_assets.transforms.readers import read_json_records

LAKE_IO_MANAGER = "lake_io_manager"
# The same lake as an input manager that gives partitioned inputs as LakePartitions.
LAKE_DAY_BY_DAY = "lake_day_by_day"
OWNERS_DEFAULT = ("team:data-platform",)
# Input metadata read by the lake IO manager: skip partitions never materialized.
ALLOW_MISSING_PARTITIONS = {"allow_missing_partitions": True}


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


def table_schema(dtypes: Mapping[str, object]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=name, type=str(dtype)) for name, dtype in dtypes.items()]
    )


def frame_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return table_schema(frame.dtypes.to_dict())


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


# ----------------------------------------------------------------------------- bronze


def declared_env(declaration: str, field: str, variable: str, holds: str) -> str:
    """The value of the environment variable a declaration's `field` names; unset fails the
    step at once (a retry would not set it)."""
    value = dg.EnvVar(variable).get_value()
    if not value:
        raise dg.Failure(
            description=f"{declaration}: {field} names {variable}, which is not set. "
            f"Set it to {holds}, then run again.",
            allow_retries=False,
        )
    return value


@contextmanager
def failing_bad_landing() -> Iterator[None]:
    """A missing or malformed file or record stays so on retry: fail at once. Other errors
    (storage, network) are left to the step's RetryPolicy."""
    try:
        yield
    except LandingFileError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


def read_records(
    spec: SourceSpec,
    pages: Sequence[Sequence[object]],
    *,
    source_file: str,
    sha256: str,
    size_bytes: int,
) -> LandingRead:
    """`read_json_records` against the declaration; a malformed record fails at once."""
    with failing_bad_landing():
        return read_json_records(
            pages,
            source_file=source_file,
            expected_columns=spec.raw_columns,
            declaration=spec.file,
            ignore_fields=spec.ignore_fields,
            sha256=sha256,
            size_bytes=size_bytes,
        )


def frame_batch(
    spec: SourceSpec,
    read: LandingRead,
    *,
    source_file: str,
    batch: str,
    ingested_at: pd.Timestamp,
    landing_date: pd.Timestamp | None,
) -> pd.DataFrame:
    """`frame_bronze` with the batch id `source:batch:checksum`: the same data read again
    gets the same id."""
    return frame_bronze(
        read,
        source_file=source_file,
        batch_id=f"{spec.name}:{batch}:{read.sha256[:16]}",
        ingested_at=ingested_at,
        landing_date=landing_date,
    )
