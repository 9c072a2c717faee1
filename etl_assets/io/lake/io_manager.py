"""The Parquet lake IO manager: one Parquet file per asset, or per partition of a
partitioned asset (layout in ``paths.py``).

Why not Dagster's ``UPathIOManager``: it refuses an output that covers several partitions,
so a single-run backfill could not be stored. This manager splits such an output into one
file per partition with the asset's ``partition_expr`` column (``split.py``), writes files
atomically, all or none (``writing.py``), and reads them back with their pandas dtypes
(``reading.py``); ``DailyFrames`` outputs and ``LakePartitions`` inputs go a day at a time.
"""

import concurrent.futures
import contextlib
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import Field
from upath import UPath

from etl_assets.io.daily_frames import CATEGORIES, COLUMNS, DailyFrames, LakePartitions
from etl_assets.io.lake.checkpoints import LakeCheckpoints
from etl_assets.io.lake.commit_log import AssetFiles, asset_write, commit_all, recover_if_needed
from etl_assets.io.lake.partition_metadata import each_partition_its_own
from etl_assets.io.lake.paths import (
    SUFFIX,
    asset_directory,
    existing_partitions,
    is_local,
    lake_path,
    partition_paths,
)
from etl_assets.io.lake.reading import non_null_rows, read_frame, read_partitions, row_counts
from etl_assets.io.lake.split import split_output
from etl_assets.io.lake.writing import (
    StagedFile,
    frame_to_table,
    remove_quietly,
    stage_all,
)
from etl_assets.io.partitions import (
    PARTITION_EXPR,
    describe,
    first_keys,
    require_asset_key,
    require_frame,
)

ALLOW_MISSING_PARTITIONS = "allow_missing_partitions"  # AssetIn metadata: skip missing files
# AssetIn metadata: an unpartitioned asset never materialized loads as an empty frame (no
# columns), for a step that needs it only for some of its outputs and says so itself
ALLOW_MISSING_ASSET = "allow_missing_asset"
MISSING_PARTITIONS_ATTR = "missing_partitions"  # df.attrs key listing the skipped partitions

_MANAGER = "ParquetLakeIOManager"
_STORE = "the Parquet lake"
_STORE_ADVICE = "Return a DataFrame, or annotate the asset '-> None' if it stores nothing."


class ParquetLakeIOManager(dg.ConfigurableIOManager):
    """Stores pandas DataFrames in the Parquet lake, one file per asset or per partition.

    Output: a single-run backfill (several partitions in one run) is split into one file
    per partition by the column named in the asset's ``partition_expr`` metadata.
    Input: partitions are read with pyarrow and concatenated in partition order; missing
    ones fail unless the input sets ``AssetIn(metadata={"allow_missing_partitions": True})``.
    """

    base_path: str = Field(
        description="Root of the lake: a local directory or an fsspec URL (s3://bucket/lake).",
    )
    day_by_day: bool = Field(
        default=False,
        description="Give partitioned inputs as LakePartitions, read on demand (see "
        "etl_assets/io/daily_frames.py), instead of one frame of every partition.",
    )

    # ---------------------------------------------------------------- output

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | DailyFrames) -> None:
        asset_key = require_asset_key(context, _MANAGER)
        started = time.perf_counter()
        files = self._files(asset_key, context.has_asset_partitions)
        # One writer of an asset at a time; a crashed writer's commit is rolled back first.
        with asset_write(files) if files else contextlib.nullcontext():
            rows = None
            if isinstance(obj, DailyFrames):
                written = self._write_day_by_day(context, asset_key, obj)
            else:
                frame = require_frame(obj, asset_key, _STORE, _STORE_ADVICE)
                table = frame_to_table(frame)
                tables = self._tables_by_target(context, asset_key, frame, table)
                written, rows = stage_all(list(tables.values()), list(tables)), frame.shape[0]
            commit_all(files, written)
        seconds = time.perf_counter() - started

        one_file = len(written) == 1
        shown_path = written[0].target if one_file else asset_directory(self.base_path, asset_key)
        metadata: dict[str, dg.MetadataValue] = {
            "dagster/row_count": dg.MetadataValue.int(
                rows if rows is not None else sum(file.rows for file in written)
            ),
            "bytes": dg.MetadataValue.int(sum(file.size for file in written)),
            "files": dg.MetadataValue.int(len(written)),
            "path": dg.MetadataValue.path(str(shown_path)),
            "write_seconds": dg.MetadataValue.float(round(seconds, 4)),
        }
        if len(written) > 1:
            # Dagster copies this metadata onto each partition's event: say what went where.
            metadata["rows_per_partition"] = dg.MetadataValue.json(
                {file.target.name.removesuffix(SUFFIX): file.rows for file in written}
            )
        if isinstance(obj, DailyFrames):
            metadata.update(obj.summary())
        context.add_output_metadata(metadata)
        if len(written) > 1:
            each_partition_its_own(context, asset_key, written)

    def _write_day_by_day(
        self, context: dg.OutputContext, asset_key: dg.AssetKey, daily: DailyFrames
    ) -> list[StagedFile]:
        """Stage each day's file as its frame is produced (the caller then renames them all
        at once): one day in memory at a time, and still all or nothing."""
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        if list(daily.keys) != keys:
            raise dg.Failure(
                description=(
                    f"{describe(asset_key)} produced partitions {first_keys(list(daily.keys))} "
                    f"but the run covers {first_keys(keys) or 'no partition'}: return "
                    "DailyFrames over exactly the run's partition keys."
                ),
                allow_retries=False,
            )
        # Group N is encoded and written in a thread (pyarrow releases the GIL) while group
        # N+1 is computed: at most two groups in memory, and both cores busy.
        writes: list[concurrent.futures.Future] = []
        with ThreadPoolExecutor(max_workers=1) as writer:
            try:
                for group, frame in daily.frames():
                    table = frame_to_table(require_frame(frame, asset_key, _STORE, _STORE_ADVICE))
                    pieces = [table]
                    if len(keys) > 1 or (context.definition_metadata or {}).get(PARTITION_EXPR):
                        # As for a split range: a row never lands in another day's file.
                        pieces = self._split_backfill_output(
                            context, asset_key, frame, table, group
                        )
                    del frame, table
                    if writes:
                        writes[-1].result()  # one group in flight; a write error surfaces here
                    targets = [lake_path(self.base_path, asset_key, key) for key in group]
                    writes.append(writer.submit(stage_all, pieces, targets))
                staged = [file for write in writes for file in write.result()]
            except BaseException:
                concurrent.futures.wait(writes)
                for write in writes:  # stage_all removes its own files when it fails
                    if write.exception() is None:
                        for file in write.result():
                            remove_quietly(file.temporary)
                raise
        return staged

    def _tables_by_target(
        self,
        context: dg.OutputContext,
        asset_key: dg.AssetKey,
        frame: pd.DataFrame,
        table: pa.Table,
    ) -> dict[UPath, pa.Table]:
        if not context.has_asset_partitions:
            return {lake_path(self.base_path, asset_key): table}
        keys = list(context.asset_partition_keys)
        if len(keys) == 1:
            return {lake_path(self.base_path, asset_key, keys[0]): table}
        pieces = self._split_backfill_output(context, asset_key, frame, table, keys)
        return {
            lake_path(self.base_path, asset_key, key): piece
            for key, piece in zip(keys, pieces, strict=True)
        }

    @staticmethod
    def _split_backfill_output(
        context: dg.OutputContext,
        asset_key: dg.AssetKey,
        frame: pd.DataFrame,
        table: pa.Table,
        keys: list[str],
    ) -> list[pa.Table]:
        column = (context.definition_metadata or {}).get(PARTITION_EXPR)
        return split_output(frame, table, keys, column, context.asset_partitions_def, asset_key)

    def _files(self, asset_key: dg.AssetKey, partitioned: bool) -> AssetFiles | None:
        """The asset's lock and commit log; None for an object store (no rename there)."""
        if not is_local(asset_directory(self.base_path, asset_key)):
            return None
        return AssetFiles.of_asset(self.base_path, asset_key, partitioned)

    # ----------------------------------------------------------------- input

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | LakePartitions:
        asset_key = require_asset_key(context, _MANAGER)
        files = self._files(asset_key, context.has_asset_partitions)
        if files:
            recover_if_needed(files)  # never read what a crashed writer half-renamed
        metadata = context.definition_metadata or {}
        columns = metadata.get(COLUMNS)
        categories = metadata.get(CATEGORIES, False)
        if not context.has_asset_partitions:
            if (
                metadata.get(ALLOW_MISSING_ASSET)
                and not lake_path(self.base_path, asset_key).exists()
            ):
                context.log.info(f"{describe(asset_key)} has not been materialized: empty frame.")
                return pd.DataFrame()
            return self._load_whole_asset(asset_key, columns, categories)
        keys, missing = self._partitions_to_read(context, asset_key)
        if self.day_by_day:
            return LakePartitions(
                keys,
                missing,
                read=lambda wanted, wanted_columns, wanted_categories: self._read_partitions(
                    asset_key,
                    wanted,
                    wanted_columns if wanted_columns is not None else columns,
                    wanted_categories or categories,
                ),
                rows=lambda wanted: row_counts(self._paths(asset_key, wanted), asset_key),
                non_null_rows=lambda wanted: non_null_rows(
                    self._paths(asset_key, wanted), asset_key
                ),
            )
        existing = [k for k in keys if k not in missing]
        frame = self._read_partitions(asset_key, existing, columns, categories)
        if metadata.get(ALLOW_MISSING_PARTITIONS):
            frame.attrs[MISSING_PARTITIONS_ATTR] = missing
        return frame

    def checkpoints(self) -> LakeCheckpoints:
        """Where a step keeps its own state between runs, in this lake (checkpoints.py)."""
        return LakeCheckpoints(self.base_path)

    def load_previous(self, asset_key: dg.AssetKey) -> pd.DataFrame | None:
        """An unpartitioned asset's stored frame, or None when it was never written: for an
        asset that extends its own last output (an incrementally extracted source)."""
        files = self._files(asset_key, partitioned=False)
        if files:
            recover_if_needed(files)
        if not lake_path(self.base_path, asset_key).exists():
            return None
        return self._load_whole_asset(asset_key)

    def _load_whole_asset(
        self,
        asset_key: dg.AssetKey,
        columns: Sequence[str] | None = None,
        categories: bool | Sequence[str] = False,
    ) -> pd.DataFrame:
        path = lake_path(self.base_path, asset_key)
        if not path.exists():
            name = describe(asset_key)
            raise dg.Failure(
                description=(
                    f"{name} has not been materialized: no file at {path}. "
                    f"Materialize {name} first."
                ),
                allow_retries=False,
            )
        return read_frame(path, asset_key, columns, categories)

    def _paths(self, asset_key: dg.AssetKey, keys: Sequence[str]) -> dict[str, UPath]:
        return partition_paths(self.base_path, asset_key, keys)

    def _partitions_to_read(
        self, context: dg.InputContext, asset_key: dg.AssetKey
    ) -> tuple[list[str], list[str]]:
        """The step's partitions of the input (in order) and those with no file; missing
        ones fail unless the input allows them."""
        keys = list(context.asset_partition_keys)  # in partition order
        existing = existing_partitions(self.base_path, asset_key, keys)
        missing = [key for key in keys if key not in existing]
        allow_missing = bool((context.definition_metadata or {}).get(ALLOW_MISSING_PARTITIONS))
        if missing and not allow_missing:
            example = lake_path(self.base_path, asset_key, missing[0])
            raise self._missing_partitions_failure(asset_key, missing, example)
        if missing:
            # Expected for readers of every day (most days never land); the reader decides.
            context.log.info(
                f"{describe(asset_key)}: {len(missing)} of {len(keys)} partitions have no file "
                f"and were skipped ({first_keys(missing)}); "
                f"see df.attrs['{MISSING_PARTITIONS_ATTR}']."
            )
        return keys, missing

    def _read_partitions(
        self,
        asset_key: dg.AssetKey,
        keys: Sequence[str],
        columns: Sequence[str] | None,
        categories: bool | Sequence[str] = False,
    ) -> pd.DataFrame:
        return read_partitions(self._paths(asset_key, keys), asset_key, columns, categories)

    @staticmethod
    def _missing_partitions_failure(
        asset_key: dg.AssetKey, missing: list[str], example_path: UPath
    ) -> dg.Failure:
        name = describe(asset_key)
        return dg.Failure(
            description=(
                f"{name} is missing {len(missing)} partition(s) this step needs: "
                f"{first_keys(missing)} (expected e.g. {example_path}). Materialize {name} for "
                "these partitions first, or, if the asset can work without them, set "
                f"AssetIn(metadata={{'{ALLOW_MISSING_PARTITIONS}': True}}) on the input."
            ),
            metadata={"missing_partitions": missing[:100], "missing_count": len(missing)},
            allow_retries=False,
        )
