"""Bronze of a `connector: postgres` source: the table extracted incrementally by watermark.

Each materialization reads the rows whose watermark column is later than the watermark
recorded in the asset's last materialization (metadata `watermark`), and appends them, as a
new batch, to the bronze frame stored by the previous one. Bronze therefore holds every
version of every row ever extracted, each with its batch, like the landing files of a
daily source; silver keeps the latest version of each business key (or, for a history,
every version), see `transforms.silver.duplicates.find_versions`.

- `_row_number` numbers the rows of the whole log, not of one batch: a batch's rows follow
  on from the last stored row, so (`_source_file`, `_row_number`) identifies one bronze row,
  as silver's row accounting and quarantine require;
- a re-run with nothing changed in the source reads no row and stores the same frame:
  idempotent;
- when the lake holds no bronze yet (first run, or the lake was wiped), the whole table is
  extracted, whatever the recorded watermark, so bronze is never a partial copy.
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd

from etl_assets.assets.bronze_reading import declared_env, frame_batch, read_records
from etl_assets.assets.column_docs import bronze_descriptions
from etl_assets.assets.common import frame_schema, stopwatch
from etl_assets.connectors.postgres_source import PostgresSource
from etl_assets.sources import SourceSpec
from etl_assets.sources.reserved_columns import ROW_NUMBER

WATERMARK_METADATA = "watermark"


def last_watermark(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    """The watermark recorded by the asset's latest materialization, if any."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(WATERMARK_METADATA)
    text = getattr(value, "value", None)
    return text or None


def _numbered_as_log(log: pd.DataFrame) -> pd.DataFrame:
    """The stored log with unique row numbers. A log written before numbering continued
    across batches restarts at 1 in each: renumber it once, in its (append) order."""
    if log[ROW_NUMBER].is_unique:
        return log
    return log.assign(**{ROW_NUMBER: np.arange(1, len(log) + 1, dtype=np.int64)})


def postgres_bronze(
    context: dg.AssetExecutionContext,
    spec: SourceSpec,
    key: dg.AssetKey,
    resource_key: str,
    lake_key: str,
) -> dg.Output:
    source: PostgresSource = getattr(context.resources, resource_key)
    url = declared_env(
        spec.file, "postgres.url_env", spec.postgres.url_env, "the source database's DSN"
    )
    ingested_at = pd.Timestamp.now(tz="UTC")
    with stopwatch() as timing:
        previous = getattr(context.resources, lake_key).load_previous(key)
        since = last_watermark(context.instance, key) if previous is not None else None
        extract = source.extract(spec.postgres, spec.raw_columns, since, url)
        read = read_records(
            spec,
            [extract.records],
            source_file=extract.label,
            sha256=extract.sha256,
            size_bytes=extract.size_bytes,
        )
        batch = frame_batch(
            spec,
            read,
            source_file=extract.label,
            batch=since or "full",
            ingested_at=ingested_at,
            landing_date=None,
        )
        if previous is None:
            bronze = batch
        else:
            previous = _numbered_as_log(previous)
            if len(batch):  # the batch's rows follow on from the log's last row number
                batch[ROW_NUMBER] += int(previous[ROW_NUMBER].max()) if len(previous) else 0
                bronze = pd.concat([previous[batch.columns], batch], ignore_index=True)
            else:
                bronze = previous
    context.log.info(
        f"{spec.postgres.qualified_table}: {len(batch)} rows changed since "
        f"{since or 'the beginning'}; watermark now {extract.watermark}."
    )
    return dg.Output(
        bronze,
        metadata={
            WATERMARK_METADATA: dg.MetadataValue.text(extract.watermark or ""),
            "previous_watermark": dg.MetadataValue.text(since or ""),
            "rows_extracted": len(batch),
            "source_table": extract.label,
            "source_bytes": extract.size_bytes,
            "dagster/column_schema": frame_schema(
                bronze, bronze_descriptions(spec, bronze.columns)
            ),
            "seconds": timing["seconds"],
        },
    )
