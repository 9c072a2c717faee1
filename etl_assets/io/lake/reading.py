"""Reading the lake's Parquet files back: whole or some columns, strings optionally as
categoricals decoded from the files' dictionaries, row and non-null counts from the
footers, and the partitions of a range concatenated in order.

pandas dtypes round-trip, including nullable and pyarrow-backed ones. An unreadable file
or partitions with incompatible schemas become a Failure that says what to re-materialize.
"""

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from etl_assets.io.lake.paths import is_local
from etl_assets.io.partitions import describe

_READ_THREADS = 8


def read_partitions(
    paths: Mapping[str, UPath],
    asset_key: dg.AssetKey,
    columns: Sequence[str] | None,
    categories: bool | Sequence[str] = False,
) -> pd.DataFrame:
    """The files of ``paths`` (partition key -> file) as one frame, in the mapping's order."""
    tables = read_partition_files(paths, asset_key, columns, categories)
    if not tables:
        return pd.DataFrame()
    table = concat_partitions(tables, asset_key)
    tables.clear()  # the concatenated table holds the only reference to the data
    # One block per column, each Arrow column released once converted: about half the
    # peak memory of a plain to_pandas() of a large read.
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    return categories_as_strings(frame) if categories else frame


def read_frame(
    path: UPath,
    asset_key: dg.AssetKey,
    columns: Sequence[str] | None = None,
    categories: bool | Sequence[str] = False,
) -> pd.DataFrame:
    """An unpartitioned asset's file as a frame."""
    frame = read_file(path, asset_key, None, columns, categories).to_pandas()
    return categories_as_strings(frame) if categories else frame


def _open(path: UPath, **options) -> pq.ParquetFile:
    if is_local(path):
        return pq.ParquetFile(path.path, **options)
    return pq.ParquetFile(path.path, filesystem=path.fs, **options)


def _string_columns(schema: pa.Schema, columns: Sequence[str]) -> list[str]:
    types = [(c, schema.field(c).type) for c in columns]
    return [c for c, t in types if pa.types.is_string(t) or pa.types.is_large_string(t)]


def categories_as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals read from Parquet dictionaries have object categories; give them the
    dtype of the plain column (`string[pyarrow]`), as `astype("category")` would."""
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.categories.dtype == object:
            categories = values.cat.categories.astype(pd.StringDtype("pyarrow"))
            frame[column] = values.cat.rename_categories(categories)
    return frame


def read_file(
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


def read_partition_files(
    paths: Mapping[str, UPath],
    asset_key: dg.AssetKey,
    columns: Sequence[str] | None = None,
    categories: bool | Sequence[str] = False,
) -> list[pa.Table]:
    """Read the files in the mapping's order; in parallel, since object stores are slow per file."""

    def read(item: tuple[str, UPath]) -> pa.Table:
        return read_file(item[1], asset_key, item[0], columns, categories)

    if len(paths) <= 1:
        return [read(item) for item in paths.items()]
    with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
        return list(pool.map(read, paths.items()))


def non_null_rows(paths: Mapping[str, UPath], asset_key: dg.AssetKey) -> dict[str, dict[str, int]]:
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
                    nulls = read_file(path, asset_key, key, [name]).column(0).null_count
                columns[name] = metadata.num_rows - nulls
            counts[key] = columns
    return counts


def row_counts(paths: Mapping[str, UPath], asset_key: dg.AssetKey) -> dict[str, int]:
    """Rows per file, from the Parquet footers."""
    counts = {}
    for key, path in paths.items():
        try:
            with _open(path) as parquet_file:
                counts[key] = parquet_file.metadata.num_rows
        except (pa.ArrowException, OSError):
            counts[key] = read_file(path, asset_key, key).num_rows  # fails with the advice
    return counts


def concat_partitions(tables: list[pa.Table], asset_key: dg.AssetKey) -> pa.Table:
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
