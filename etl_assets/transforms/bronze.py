"""Bronze: a landing read framed with its ingestion lineage, nothing dropped; and the
contract every landing reader returns (`LandingRead`) or raises (`LandingFileError`).

The readers themselves: csv_reader.py (CSV), readers.py (JSON, Parquet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from etl_assets.sources.reserved_columns import (
    LINEAGE_COLUMNS,
    READ_ERROR,
    RESERVED_COLUMNS,
    ROW_NUMBER,
)

ENCODING = "utf-8"

# pandas' pyarrow-backed strings are large_string.
_STRING = pa.large_string()
_CONSTANT_BLOCK_ROWS = 1 << 16  # rows of the one chunk a constant column repeats


class LandingFileError(Exception):
    """A landing file cannot be read as declared; the message says what, where and what to do."""


@dataclass(frozen=True)
class LandingRead:
    """A landing file as read: its frame and what is known about the bytes."""

    # declared, then kept undeclared columns (strings); _row_number, _read_error
    frame: pd.DataFrame
    sha256: str  # hex digest of the raw bytes
    size_bytes: int
    encoding: str
    invalid_encoding_rows: int
    malformed_rows: int  # rows whose _read_error is malformed_line
    # Not declared. CSV and Parquet leave them out of the frame (bronze reads again keeping
    # them); JSON keeps them in it, after the declared columns.
    unexpected_columns: tuple[str, ...]


def frame_bronze(
    read: LandingRead,
    *,
    source_file: str,
    batch_id: str,
    ingested_at: pd.Timestamp,
    landing_date: pd.Timestamp | None,
) -> pd.DataFrame:
    """The bronze frame: the read columns plus lineage, without copying the read columns.

    A naive `ingested_at` is taken as UTC; `landing_date` is kept as its day (midnight).
    """
    clash = [c for c in read.unexpected_columns if c in RESERVED_COLUMNS]
    if clash:
        raise LandingFileError(
            f"{source_file}: undeclared column(s) {', '.join(clash)} have names the pipeline "
            f"writes itself ({', '.join(RESERVED_COLUMNS)}); their values would be "
            "overwritten. Rename them in the source (for JSON, or list them under "
            "ignore_fields: to leave them out), then run again."
        )
    frame = read.frame
    rows = len(frame)
    declared = [c for c in frame.columns if c not in (ROW_NUMBER, READ_ERROR)]
    ingested = pd.Timestamp(ingested_at)
    ingested = ingested.tz_localize("UTC") if ingested.tz is None else ingested.tz_convert("UTC")
    landing = (
        pd.NaT if landing_date is None else pd.Timestamp(landing_date).tz_localize(None).normalize()
    )
    lineage = {
        "_source_file": _constant_strings(source_file, rows),
        "_batch_id": _constant_strings(batch_id, rows),
        "_ingested_at": _constant_datetimes(ingested.tz_localize(None), rows, tz="UTC"),
        ROW_NUMBER: frame[ROW_NUMBER],
        "_landing_date": _constant_datetimes(landing, rows, tz=None),
        READ_ERROR: frame[READ_ERROR],
    }
    columns = {name: frame[name] for name in declared}
    columns |= {name: lineage[name] for name in LINEAGE_COLUMNS}
    return pd.DataFrame(columns, index=frame.index, copy=False)


def _constant_strings(value: str, rows: int) -> pd.arrays.ArrowStringArray:
    """`value` repeated: chunks that share one block's buffers, not `rows` copies."""
    block = pa.array([value] * min(rows, _CONSTANT_BLOCK_ROWS), _STRING)
    full, rest = divmod(rows, _CONSTANT_BLOCK_ROWS)
    chunks = [block] * full + ([block.slice(0, rest)] if rest else [])
    return pd.arrays.ArrowStringArray(pa.chunked_array(chunks, _STRING))


def _constant_datetimes(value: pd.Timestamp, rows: int, tz: str | None) -> pd.DatetimeIndex:
    """`value` (NaT allowed) repeated, as wall time in `tz`."""
    naive = np.full(rows, value.to_datetime64(), dtype="datetime64[ns]")
    return pd.DatetimeIndex(naive, tz=tz)
