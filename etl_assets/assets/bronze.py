"""Bronze assets, generated from the source declarations: every record of a source as read.

The declaration's connector picks the reader: `files` reads a landing file (CSV, JSON or
Parquet), `http` every page of a JSON API. Each gives the same frame: the declared columns
as strings plus lineage.
"""

import dagster as dg
import pandas as pd

from etl_assets.assets import retries
from etl_assets.assets.bronze_postgres import postgres_bronze
from etl_assets.assets.bronze_reading import (
    failing_bad_landing,
    frame_batch,
    naming_the_day,
    read_records,
)
from etl_assets.assets.column_docs import bronze_descriptions
from etl_assets.assets.common import partition_days, stopwatch, table_schema
from etl_assets.assets.landing import record_ingested
from etl_assets.assets.landing_remote import api_token, source_url
from etl_assets.connectors.files import LandingFiles
from etl_assets.connectors.http import HttpJsonApi, display_url
from etl_assets.io.daily_frames import DailyFrames
from etl_assets.resource_keys import CONNECTOR_RESOURCES, LAKE_IO_MANAGER
from etl_assets.sources import SourceSpec
from etl_assets.transforms.bronze import LandingRead
from etl_assets.transforms.csv_reader import csv_options, read_landing_csv
from etl_assets.transforms.readers import read_landing_json, read_landing_parquet


def bronze_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["bronze", spec.name])


def _read_file(
    landing: LandingFiles, spec: SourceSpec, day: pd.Timestamp | None
) -> tuple[str, LandingRead]:
    relative = landing.path_for(spec.path, day.strftime("%Y-%m-%d") if day is not None else None)
    with failing_bad_landing():
        data = landing.read_bytes(relative)
        read = _read_landing(data, relative, spec)
        if any(c not in read.frame.columns for c in read.unexpected_columns):
            # Undeclared columns are kept in bronze as read (nothing is dropped); silver ignores
            # them until they are declared, and the landing_columns check names them (warn).
            # JSON keeps them on the first read; CSV and Parquet read again keeping them.
            read = _read_landing(data, relative, spec, keep=read.unexpected_columns)
    return relative, read


def _read_landing(
    data: bytes, relative: str, spec: SourceSpec, keep: tuple[str, ...] = ()
) -> LandingRead:
    if spec.format == "json":
        return read_landing_json(
            data,
            source_file=relative,
            expected_columns=spec.raw_columns,
            declaration=spec.file,
            ignore_fields=spec.ignore_fields,
        )
    reader = read_landing_parquet if spec.format == "parquet" else read_landing_csv
    return reader(
        data,
        source_file=relative,
        expected_columns=(*spec.raw_columns, *keep),
        required_columns=spec.required_raw_columns,
        **(csv_options(spec) if spec.format == "csv" else {}),
    )


def _read_api(
    api: HttpJsonApi, spec: SourceSpec, day: pd.Timestamp | None, log
) -> tuple[str, LandingRead, dict]:
    """Every page first, then the frame: a failure mid-pagination returns nothing."""
    url = source_url(spec, day.strftime("%Y-%m-%d") if day is not None else None)
    fetched = api.read(spec.http, url, token=api_token(spec), log=log)
    read = read_records(
        spec,
        fetched.pages,
        source_file=fetched.url,
        sha256=fetched.sha256,
        size_bytes=fetched.size_bytes,
    )
    traffic = {
        "pages": len(fetched.pages),
        "requests": fetched.requests,
        "retries": fetched.retries,
    }
    return fetched.url, read, traffic


def _source_label(spec: SourceSpec) -> str:
    if spec.connector == "http":
        return display_url(spec.http.url)
    if spec.connector == "postgres":
        return f"Postgres table {spec.postgres.qualified_table} (incrementally)"
    return f"landing/{spec.path}"


def _file_row(relative: str, read: LandingRead) -> dict:
    return {
        "file": relative,
        "rows": len(read.frame),
        "bytes": read.size_bytes,
        "sha256": read.sha256,
        "encoding": read.encoding,  # as declared, or found (BOM, encoding: auto)
        "invalid_encoding_rows": read.invalid_encoding_rows,
        "malformed_rows": read.malformed_rows,
    }


def _files_metadata(files: list[dict]) -> dict:
    metadata: dict = {
        "files": len(files),
        "source_bytes": sum(f["bytes"] for f in files),
        "invalid_encoding_rows": sum(f["invalid_encoding_rows"] for f in files),
        "malformed_rows": sum(f["malformed_rows"] for f in files),
    }
    if len(files) == 1:
        metadata["sha256"] = files[0]["sha256"]
        metadata["source_file"] = files[0]["file"]
    table = pd.DataFrame(files)[["file", "rows", "bytes", "encoding", "sha256"]]
    metadata["landing_files"] = dg.MetadataValue.md(table.to_markdown(index=False))
    empty = [f["file"] for f in files if f["rows"] == 0]
    if empty:
        metadata["warning"] = f"empty landing file(s), zero rows ingested: {', '.join(empty)}"
    return metadata


class _DayReader:
    """Reads one day (or the whole unpartitioned source) at a time, gathering the metadata
    of every file read for the output's summary."""

    def __init__(self, spec: SourceSpec, connection, log):
        self.spec, self.connection, self.log = spec, connection, log
        self.ingested_at = pd.Timestamp.now(tz="UTC")
        self.files: list[dict] = []
        self.traffic: dict[str, int] = {}
        self.schema: pd.Series | None = None
        self.seconds = 0.0
        self.on_read = lambda day, sha256: None

    def read(self, day: pd.Timestamp | None) -> pd.DataFrame:
        spec = self.spec
        with stopwatch() as timing, naming_the_day(day, f"bronze/{spec.name}"):
            if spec.connector == "http":
                relative, read, fetched = _read_api(self.connection, spec, day, self.log)
                self.traffic = {k: self.traffic.get(k, 0) + v for k, v in fetched.items()}
            else:
                relative, read = _read_file(self.connection, spec, day)
            frame = frame_batch(
                spec,
                read,
                source_file=relative,
                batch=relative,
                ingested_at=self.ingested_at,
                landing_date=day,
            )
        self.seconds += timing["seconds"]
        self.files.append(_file_row(relative, read))
        self.on_read(day, read.sha256)
        if self.schema is None or len(frame.columns) > len(self.schema):
            self.schema = frame.dtypes
        return frame

    def summary(self) -> dict:
        metadata = _files_metadata(self.files) | {f"http_{k}": v for k, v in self.traffic.items()}
        if "warning" in metadata:
            self.log.warning(metadata["warning"])
        return {
            **metadata,
            "dagster/column_schema": table_schema(
                self.schema.to_dict(), bronze_descriptions(self.spec, self.schema.index)
            ),
            "seconds": round(self.seconds, 3),
        }


def build_bronze_asset(
    spec: SourceSpec, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    daily = spec.is_daily
    resource_key = CONNECTOR_RESOURCES[spec.connector]

    @dg.asset(
        key=bronze_key(spec),
        group_name="bronze",
        description=f"Raw '{spec.name}' as read from {_source_label(spec)}. {spec.description}",
        owners=list(spec.owners),
        kinds={"pandas", "parquet", spec.format if spec.connector == "files" else spec.connector},
        tags={"layer": "bronze", "source": spec.name},
        partitions_def=partitions_def if daily else None,
        backfill_policy=dg.BackfillPolicy.single_run() if daily else None,
        metadata={"partition_expr": "_landing_date", "declaration": spec.file},
        io_manager_key=LAKE_IO_MANAGER,
        retry_policy=retries.LANDING_READ_RETRY,
        required_resource_keys={resource_key}
        | ({LAKE_IO_MANAGER} if spec.connector == "postgres" else set()),
    )
    def _bronze(context: dg.AssetExecutionContext):
        if spec.connector == "postgres":  # extends its last output by the rows changed since
            return postgres_bronze(context, spec, bronze_key(spec), resource_key, LAKE_IO_MANAGER)
        reader = _DayReader(spec, getattr(context.resources, resource_key), context.log)
        reader.on_read = lambda day, sha: record_ingested(context, day, sha)
        if not daily:
            return dg.Output(reader.read(None), metadata=reader.summary())
        days = {day.strftime("%Y-%m-%d"): day for day in partition_days(context)}
        # One day read, framed and written at a time: a range run holds one day in memory.
        return DailyFrames(list(days), lambda group: reader.read(days[group[0]]), reader.summary)

    return _bronze
