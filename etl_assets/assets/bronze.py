"""Bronze assets, generated from the source declarations: every line of a landing file as read."""

import dagster as dg
import pandas as pd

from etl_assets.assets.common import LAKE_IO_MANAGER, frame_schema, partition_days, stopwatch
from etl_assets.connectors.files import LandingFiles
from etl_assets.sources import SourceSpec
from etl_assets.transforms.bronze import LandingRead, frame_bronze, read_landing_csv


def bronze_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["bronze", spec.name])


def _read_file(
    landing: LandingFiles, spec: SourceSpec, day: pd.Timestamp | None
) -> tuple[str, LandingRead]:
    relative = landing.path_for(spec.path, day.strftime("%Y-%m-%d") if day is not None else None)
    read = read_landing_csv(
        landing.read_bytes(relative),
        source_file=relative,
        expected_columns=spec.raw_columns,
        required_columns=spec.required_raw_columns,
    )
    if read.unexpected_columns:
        # Dropping a column would lose data silently; the declaration must say what it is.
        raise dg.Failure(
            description=(
                f"{relative}: the header has columns the declaration of '{spec.name}' does not "
                f"know: {', '.join(read.unexpected_columns)}. Declare them in {spec.file} "
                "(columns:) or remove them from the file, then re-materialize this partition."
            )
        )
    return relative, read


def _file_row(relative: str, read: LandingRead) -> dict:
    return {
        "file": relative,
        "rows": len(read.frame),
        "bytes": read.size_bytes,
        "sha256": read.sha256,
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
    table = pd.DataFrame(files)[["file", "rows", "bytes", "sha256"]]
    metadata["landing_files"] = dg.MetadataValue.md(table.to_markdown(index=False))
    empty = [f["file"] for f in files if f["rows"] == 0]
    if empty:
        metadata["warning"] = f"empty landing file(s), zero rows ingested: {', '.join(empty)}"
    return metadata


def build_bronze_asset(
    spec: SourceSpec, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    daily = spec.is_daily

    @dg.asset(
        key=bronze_key(spec),
        group_name="bronze",
        description=f"Raw '{spec.name}' as read from landing/{spec.path}. {spec.description}",
        owners=list(spec.owners),
        kinds={"pandas", "parquet", spec.format},
        tags={"layer": "bronze", "source": spec.name},
        partitions_def=partitions_def if daily else None,
        backfill_policy=dg.BackfillPolicy.single_run() if daily else None,
        metadata={"partition_expr": "_landing_date", "declaration": spec.file},
        io_manager_key=LAKE_IO_MANAGER,
    )
    def _bronze(context: dg.AssetExecutionContext, landing: LandingFiles) -> dg.Output:
        days: list[pd.Timestamp | None] = partition_days(context) if daily else [None]
        ingested_at = pd.Timestamp.now(tz="UTC")
        frames, files = [], []
        with stopwatch() as timing:
            for day in days:
                relative, read = _read_file(landing, spec, day)
                frames.append(
                    frame_bronze(
                        read,
                        source_file=relative,
                        batch_id=f"{spec.name}:{relative}:{read.sha256[:16]}",
                        ingested_at=ingested_at,
                        landing_date=day,
                    )
                )
                files.append(_file_row(relative, read))
            bronze = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        metadata = _files_metadata(files)
        if "warning" in metadata:
            context.log.warning(metadata["warning"])
        return dg.Output(
            bronze,
            metadata={
                **metadata,
                "dagster/column_schema": frame_schema(bronze),
                "seconds": timing["seconds"],
            },
        )

    return _bronze
