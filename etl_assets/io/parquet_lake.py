"""The Parquet lake: one Parquet file per asset, or per partition of a partitioned asset.

Layout under ``base_path`` (a local directory or any fsspec URL)::

    <base>/<asset key path>.parquet                  e.g. lake/gold/customer_rfm.parquet
    <base>/<asset key path>/<partition key>.parquet  e.g. lake/bronze/orders/2024-01-05.parquet

Why not Dagster's ``UPathIOManager``: it refuses an output that covers several partitions,
so a single-run backfill could not be stored. This manager splits such an output into one
file per partition with the asset's ``partition_expr`` column.

Guarantees:
- a file is replaced atomically (temporary file + rename): a crash leaves the old file or the
  new one, never half of one;
- the same frame always gives the same bytes (no timestamps in the file);
- pandas dtypes round-trip, including nullable and pyarrow-backed ones.
"""

import concurrent.futures
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field
from upath import UPath

from etl_assets.io.daily_frames import CATEGORIES, COLUMNS, DailyFrames, LakePartitions
from etl_assets.io.partitions import (
    PARTITION_EXPR,
    describe,
    distinct_days,
    first_keys,
    partition_stamps,
    require_asset_key,
    require_frame,
)

SUFFIX = ".parquet"
ALLOW_MISSING_PARTITIONS = "allow_missing_partitions"  # AssetIn metadata: skip missing files
MISSING_PARTITIONS_ATTR = "missing_partitions"  # df.attrs key listing the skipped partitions

_LOCAL_PROTOCOLS = ("", "file", "local")
_PYARROW_STRING = pd.StringDtype("pyarrow")  # "string[pyarrow]"
_READ_THREADS = 8


# ----------------------------------------------------------------------------- paths


def lake_path(
    base_path: str | os.PathLike,
    asset_key: dg.AssetKey | str | Sequence[str],
    partition_key: str | None = None,
) -> UPath:
    """Where the lake stores an asset (``partition_key=None``) or one partition of it.

    ``asset_key`` may be an ``AssetKey``, a list of path components or a ``"a/b"`` string.
    """
    components = _asset_key(asset_key).path
    if partition_key is None:
        *folders, name = components
        return UPath(base_path).joinpath(*map(_path_segment, folders), _path_segment(name) + SUFFIX)
    return _asset_directory(base_path, asset_key) / (_path_segment(partition_key) + SUFFIX)


def _asset_directory(base_path: str | os.PathLike, asset_key) -> UPath:
    return UPath(base_path).joinpath(*map(_path_segment, _asset_key(asset_key).path))


def _asset_key(asset_key: dg.AssetKey | str | Sequence[str]) -> dg.AssetKey:
    if isinstance(asset_key, str):
        return dg.AssetKey.from_user_string(asset_key)
    return dg.AssetKey.from_coercible(asset_key)


def _path_segment(text: str) -> str:
    # A key must stay one path segment inside its parent: escape separators and dot-dirs.
    segment = text.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")
    return {".": "%2E", "..": "%2E%2E"}.get(segment, segment)


def _is_local(path: UPath) -> bool:
    return path.protocol in _LOCAL_PROTOCOLS


# ------------------------------------------------------------------ pandas <-> arrow


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """Convert a frame to Arrow, recording what pyarrow forgets about string storage."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return _remember_pyarrow_string_storage(table, frame)


def _remember_pyarrow_string_storage(table: pa.Table, frame: pd.DataFrame) -> pa.Table:
    # pyarrow records both string[python] and string[pyarrow] as "string", which reads back
    # as string[python]. Naming the storage in the pandas metadata makes it round-trip.
    pyarrow_strings = {name for name, dtype in frame.dtypes.items() if dtype == _PYARROW_STRING}
    if not pyarrow_strings or not table.schema.metadata or b"pandas" not in table.schema.metadata:
        return table
    pandas_metadata = json.loads(table.schema.metadata[b"pandas"])
    for column in pandas_metadata["columns"]:
        if column["name"] in pyarrow_strings:
            column["numpy_type"] = "string[pyarrow]"
    metadata = {**table.schema.metadata, b"pandas": json.dumps(pandas_metadata).encode()}
    return table.replace_schema_metadata(metadata)


def write_parquet(table: pa.Table, sink) -> None:
    """Serialize ``table`` into an open binary file with fixed options (deterministic bytes)."""
    pq.write_table(
        table,
        sink,
        compression="zstd",
        version="2.6",
        data_page_version="1.0",
        use_dictionary=True,
        write_statistics=True,
    )


# ------------------------------------------------------------------- atomic writes


@dataclass(frozen=True)
class _StagedFile:
    temporary: UPath
    target: UPath
    size: int
    rows: int


def _stage(table: pa.Table, target: UPath) -> _StagedFile:
    """Write ``table`` next to ``target`` under a hidden temporary name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        if _is_local(temporary):
            with open(temporary.path, "wb") as sink:
                write_parquet(table, sink)
                size = sink.tell()
                sink.flush()
                os.fsync(sink.fileno())  # the bytes are on disk before the rename exposes them
        else:
            with temporary.open("wb") as sink:
                write_parquet(table, sink)
                size = sink.tell()
    except BaseException:
        _remove_quietly(temporary)
        raise
    return _StagedFile(temporary=temporary, target=target, size=size, rows=table.num_rows)


def _commit(staged: _StagedFile) -> None:
    """Move a staged file over its target: atomic locally, best-effort elsewhere."""
    if _is_local(staged.target):
        os.replace(staged.temporary.path, staged.target.path)
        _fsync_directory(staged.target.parent.path)
    else:
        # Object stores have no rename: mv is copy + delete. Each object appears whole,
        # but a crash between the two steps can leave the hidden temporary behind.
        staged.target.fs.mv(staged.temporary.path, staged.target.path)


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; not possible on every platform, hence best-effort.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove_quietly(path: UPath) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _stage_all(tables: Sequence[pa.Table], targets: Sequence[UPath]) -> list[_StagedFile]:
    """Stage each table at its target; on a failure, remove what was staged and raise."""
    staged: list[_StagedFile] = []
    try:
        for table, target in zip(tables, targets, strict=True):
            staged.append(_stage(table, target))
    except BaseException:
        for file in staged:
            _remove_quietly(file.temporary)
        raise
    return staged


def _write_all(tables_by_target: Mapping[UPath, pa.Table]) -> list[_StagedFile]:
    """Stage every file first, then rename them all: a failure while writing changes nothing."""
    staged = _stage_all(list(tables_by_target.values()), list(tables_by_target))
    for file in staged:
        _commit(file)
    return staged


# ------------------------------------------------------- splitting a backfill output


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


# ------------------------------------------------------------------ reading files


def _open(path: UPath, **options) -> pq.ParquetFile:
    if _is_local(path):
        return pq.ParquetFile(path.path, **options)
    return pq.ParquetFile(path.path, filesystem=path.fs, **options)


def _string_columns(schema: pa.Schema, columns: Sequence[str]) -> list[str]:
    types = [(c, schema.field(c).type) for c in columns]
    return [c for c, t in types if pa.types.is_string(t) or pa.types.is_large_string(t)]


def _categories_as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals read from Parquet dictionaries have object categories; give them the
    dtype of the plain column (`string[pyarrow]`), as `astype("category")` would."""
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.categories.dtype == object:
            categories = values.cat.categories.astype(pd.StringDtype("pyarrow"))
            frame[column] = values.cat.rename_categories(categories)
    return frame


def _read_file(
    path: UPath,
    asset_key: dg.AssetKey,
    partition_key: str | None,
    columns: Sequence[str] | None = None,
    categories: bool | Sequence[str] = False,
) -> pa.Table:
    """Read one Parquet file (or those of ``columns`` it has); an unreadable file becomes an
    actionable Failure. ``categories`` (every string column, or those named) come as
    dictionaries, decoded from the files' dictionary pages without a string per row."""
    try:
        with _open(path) as parquet_file:
            if columns is None and not categories:
                return parquet_file.read()
            # Columns the file lacks are left out, as a whole read would: the reader reports them.
            present = parquet_file.schema_arrow.names
            columns = present if columns is None else [c for c in columns if c in present]
            if not categories:
                return parquet_file.read(columns=list(columns), use_pandas_metadata=True)
            wanted = columns if categories is True else [c for c in categories if c in columns]
            strings = _string_columns(parquet_file.schema_arrow, wanted)
            metadata = parquet_file.metadata
        with _open(path, metadata=metadata, read_dictionary=strings) as parquet_file:
            return parquet_file.read(columns=list(columns), use_pandas_metadata=True)
    except (pa.ArrowException, OSError) as error:
        what = describe(asset_key)
        if partition_key is not None:
            what += f" for partition {partition_key}"
        raise dg.Failure(
            description=(
                f"Cannot read {path}: {error}. The file is corrupt or not Parquet; "
                f"re-materialize {what} to rewrite it."
            ),
            metadata={"path": dg.MetadataValue.path(str(path))},
            allow_retries=False,
        ) from error


def _read_partition_files(
    paths: Mapping[str, UPath],
    asset_key: dg.AssetKey,
    columns: Sequence[str] | None = None,
    categories: bool | Sequence[str] = False,
) -> list[pa.Table]:
    """Read the files in the mapping's order; in parallel, since object stores are slow per file."""

    def read(item: tuple[str, UPath]) -> pa.Table:
        return _read_file(item[1], asset_key, item[0], columns, categories)

    if len(paths) <= 1:
        return [read(item) for item in paths.items()]
    with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
        return list(pool.map(read, paths.items()))


def _non_null_rows(paths: Mapping[str, UPath], asset_key: dg.AssetKey) -> dict[str, dict[str, int]]:
    """Per file, each column's non-null rows, from the footer's null counts (a column
    without statistics is read)."""
    counts: dict[str, dict[str, int]] = {}
    for key, path in paths.items():
        with _open(path) as parquet_file:
            metadata = parquet_file.metadata
            columns = {}
            for index in range(metadata.num_columns):
                name = metadata.schema.column(index).path
                nulls = 0
                for group in range(metadata.num_row_groups):
                    statistics = metadata.row_group(group).column(index).statistics
                    if statistics is None or not statistics.has_null_count:
                        nulls = None
                        break
                    nulls += statistics.null_count
                if nulls is None:
                    nulls = _read_file(path, asset_key, key, [name]).column(0).null_count
                columns[name] = metadata.num_rows - nulls
            counts[key] = columns
    return counts


def _row_counts(paths: Mapping[str, UPath], asset_key: dg.AssetKey) -> dict[str, int]:
    """Rows per file, from the Parquet footers."""
    counts = {}
    for key, path in paths.items():
        try:
            with _open(path) as parquet_file:
                counts[key] = parquet_file.metadata.num_rows
        except (pa.ArrowException, OSError):
            counts[key] = _read_file(path, asset_key, key).num_rows  # fails with the advice
    return counts


def _file_names(directory: UPath) -> set[str]:
    try:
        return {child.name for child in directory.iterdir()}
    except (FileNotFoundError, NotADirectoryError):
        return set()


def _existing_partitions(base_path: str, asset_key: dg.AssetKey, keys: Sequence[str]) -> set[str]:
    """Which partitions have a file: one exists() for one key, one listing for many (a
    reader of every day asks for years of keys, most of them never written)."""
    if len(keys) == 1:
        return {key for key in keys if lake_path(base_path, asset_key, key).exists()}
    names = _file_names(_asset_directory(base_path, asset_key))
    return {key for key in keys if _path_segment(key) + SUFFIX in names}


def _concat(tables: list[pa.Table], asset_key: dg.AssetKey) -> pa.Table:
    try:
        # "permissive" unifies schemas that drifted between runs (a new column, int32->int64).
        return pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException as error:
        raise dg.Failure(
            description=(
                f"The partitions of {describe(asset_key)} have incompatible schemas: {error}. "
                "Re-materialize the older partitions with the current code."
            ),
            allow_retries=False,
        ) from error


# -------------------------------------------------------------------- IO manager


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
        if isinstance(obj, DailyFrames):
            written, rows = self._write_day_by_day(context, asset_key, obj), None
        else:
            frame = require_frame(obj, asset_key, _STORE, _STORE_ADVICE)
            table = frame_to_table(frame)
            written = _write_all(self._tables_by_target(context, asset_key, frame, table))
            rows = frame.shape[0]
        seconds = time.perf_counter() - started

        one_file = len(written) == 1
        shown_path = written[0].target if one_file else _asset_directory(self.base_path, asset_key)
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

    def _write_day_by_day(
        self, context: dg.OutputContext, asset_key: dg.AssetKey, daily: DailyFrames
    ) -> list[_StagedFile]:
        """Stage each day's file as its frame is produced, then rename them all: one day in
        memory at a time, and still all or nothing."""
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
                    writes.append(writer.submit(_stage_all, pieces, targets))
                staged = [file for write in writes for file in write.result()]
            except BaseException:
                concurrent.futures.wait(writes)
                for write in writes:  # _stage_all removes its own files when it fails
                    if write.exception() is None:
                        for file in write.result():
                            _remove_quietly(file.temporary)
                raise
        for file in staged:
            _commit(file)
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

    def _split_backfill_output(
        self,
        context: dg.OutputContext,
        asset_key: dg.AssetKey,
        frame: pd.DataFrame,
        table: pa.Table,
        keys: list[str],
    ) -> list[pa.Table]:
        name = describe(asset_key)
        key_range = f"{keys[0]}..{keys[-1]}"
        column = (context.definition_metadata or {}).get(PARTITION_EXPR)
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
        partitions_def = context.asset_partitions_def
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

    # ----------------------------------------------------------------- input

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | LakePartitions:
        asset_key = require_asset_key(context, _MANAGER)
        metadata = context.definition_metadata or {}
        columns = metadata.get(COLUMNS)
        categories = metadata.get(CATEGORIES, False)
        if not context.has_asset_partitions:
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
                rows=lambda wanted: _row_counts(self._paths(asset_key, wanted), asset_key),
                non_null_rows=lambda wanted: _non_null_rows(
                    self._paths(asset_key, wanted), asset_key
                ),
            )
        existing = [k for k in keys if k not in missing]
        frame = self._read_partitions(asset_key, existing, columns, categories)
        if metadata.get(ALLOW_MISSING_PARTITIONS):
            frame.attrs[MISSING_PARTITIONS_ATTR] = missing
        return frame

    def load_previous(self, asset_key: dg.AssetKey) -> pd.DataFrame | None:
        """An unpartitioned asset's stored frame, or None when it was never written: for an
        asset that extends its own last output (an incrementally extracted source)."""
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
        frame = _read_file(path, asset_key, None, columns, categories).to_pandas()
        return _categories_as_strings(frame) if categories else frame

    def _paths(self, asset_key: dg.AssetKey, keys: Sequence[str]) -> dict[str, UPath]:
        directory = _asset_directory(self.base_path, asset_key)
        return {key: directory / (_path_segment(key) + SUFFIX) for key in keys}

    def _partitions_to_read(
        self, context: dg.InputContext, asset_key: dg.AssetKey
    ) -> tuple[list[str], list[str]]:
        """The step's partitions of the input (in order) and those with no file; missing
        ones fail unless the input allows them."""
        keys = list(context.asset_partition_keys)  # in partition order
        existing = _existing_partitions(self.base_path, asset_key, keys)
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
        paths = self._paths(asset_key, keys)
        tables = _read_partition_files(paths, asset_key, columns, categories)
        if not tables:
            return pd.DataFrame()
        table = _concat(tables, asset_key)
        tables.clear()  # the concatenated table holds the only reference to the data
        # One block per column, each Arrow column released once converted: about half the
        # peak memory of a plain to_pandas() of a large read.
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
        return _categories_as_strings(frame) if categories else frame

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
