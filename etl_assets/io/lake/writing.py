"""Writing the lake's Parquet files: deterministic bytes, replaced atomically.

A file is staged under a hidden temporary name next to its target, then renamed over it
(``commit``): a crash leaves the old file or the new one, never half of one. Several files
are all staged before any is renamed, so a failure while writing changes none of them.
The same frame always gives the same bytes (fixed options, no timestamps in the file).
"""

import errno
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from etl_assets.io.lake.paths import is_local

_PYARROW_STRING = pd.StringDtype("pyarrow")  # "string[pyarrow]"


# ------------------------------------------------------------------ pandas -> arrow


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
class StagedFile:
    temporary: UPath
    target: UPath
    size: int
    rows: int


def stage(table: pa.Table, target: UPath) -> StagedFile:
    """Write ``table`` next to ``target`` under a hidden temporary name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        if is_local(temporary):
            with open(temporary.path, "wb") as sink:
                write_parquet(table, sink)
                size = sink.tell()
                sink.flush()
                os.fsync(sink.fileno())  # the bytes are on disk before the rename exposes them
        else:
            with temporary.open("wb") as sink:
                write_parquet(table, sink)
                size = sink.tell()
    except BaseException as error:
        remove_quietly(temporary)
        if isinstance(error, OSError) and error.errno in _NO_SPACE:
            raise no_space_failure(error, target.parent.path, table.nbytes) from error
        raise
    return StagedFile(temporary=temporary, target=target, size=size, rows=table.num_rows)


def commit(staged: StagedFile) -> None:
    """Move a staged file over its target: atomic locally, best-effort elsewhere."""
    if is_local(staged.target):
        os.replace(staged.temporary.path, staged.target.path)
        fsync_directory(staged.target.parent.path)
    else:
        # Object stores have no rename: mv is copy + delete. Each object appears whole,
        # but a crash between the two steps can leave the hidden temporary behind.
        staged.target.fs.mv(staged.temporary.path, staged.target.path)


def fsync_directory(directory: str) -> None:
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


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def no_space_failure(error: OSError, directory: str, needed_bytes: int) -> dg.Failure:
    """Disk full is not transient: a retry would fail the same way, so no RetryPolicy
    retries it. Name where, and how much room the write needs."""
    try:
        free = f"{shutil.disk_usage(directory).free / 1e6:,.1f} MB free now"
    except OSError:
        free = "free space unknown"
    return dg.Failure(
        description=(
            f"no space left on the device holding {directory} ({error.strerror or error}): "
            f"this write needs up to {needed_bytes / 1e6:,.1f} MB free there ({free}). Each "
            "new file is staged beside the one it replaces until the step commits, so the lake "
            "still holds its previous files, unchanged. Free space on that device, then run "
            "again."
        ),
        metadata={"path": directory, "bytes_needed": int(needed_bytes)},
        allow_retries=False,
    )


def remove_quietly(path: UPath) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def stage_all(tables: Sequence[pa.Table], targets: Sequence[UPath]) -> list[StagedFile]:
    """Stage each table at its target; on a failure, remove what was staged and raise."""
    staged: list[StagedFile] = []
    try:
        for table, target in zip(tables, targets, strict=True):
            staged.append(stage(table, target))
    except BaseException:
        for file in staged:
            remove_quietly(file.temporary)
        raise
    return staged


def write_all(tables_by_target: Mapping[UPath, pa.Table]) -> list[StagedFile]:
    """Stage every file first, then rename them all: a failure while writing changes nothing."""
    staged = stage_all(list(tables_by_target.values()), list(tables_by_target))
    for file in staged:
        commit(file)
    return staged
