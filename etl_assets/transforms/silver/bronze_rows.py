"""The input of a silver run: the bronze frame conformed (declared raw columns as strings,
lineage with its dtypes, read errors as codes) and the rows the run works on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl_assets.sources import SourceSpec
from etl_assets.sources.reserved_columns import (
    READ_ERROR,
    READ_ERROR_REASONS,
    SILVER_LINEAGE_COLUMNS,
)
from etl_assets.transforms.silver.casting import DATETIME_DTYPE, take_positions
from etl_assets.transforms.standardise import STRING_DTYPE, as_strings, empty_to_null

LINEAGE_DTYPES = {
    "_source_file": STRING_DTYPE,
    "_batch_id": STRING_DTYPE,
    "_row_number": "int64",
    "_landing_date": DATETIME_DTYPE,
}


@dataclass(frozen=True)
class BronzeRows:
    """The bronze frame (declared raw columns and lineage) and the rows this run works on.

    `rows` are positions in `frame`; every per-row array of the run is aligned with them,
    and string columns are only taken at the positions an output needs.
    """

    frame: pd.DataFrame
    read_error: np.ndarray  # per frame row: index into READ_ERROR_REASONS, -1 when clean
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str, positions: np.ndarray) -> pd.Series:
        return take_positions(self.frame[name], self.rows[positions])

    def numbers(self, name: str) -> np.ndarray:
        """A numeric or datetime lineage column over the run's rows, as int64."""
        return self.frame[name].to_numpy().view(np.int64)[self.rows]

    def select(self, positions: np.ndarray) -> BronzeRows:
        return BronzeRows(self.frame, self.read_error, self.rows[positions])


def conform_bronze(
    bronze: pd.DataFrame, spec: SourceSpec, raw_columns: Sequence[str] | None = None
) -> BronzeRows:
    """The declared raw columns (or those of `raw_columns`) and lineage with their bronze
    dtypes, positionally indexed."""
    absent = [c for c in (*SILVER_LINEAGE_COLUMNS, READ_ERROR) if c not in bronze.columns]
    if absent:
        raise ValueError(
            f"bronze frame for source {spec.name!r} lacks the lineage columns {absent}; "
            "build it with the bronze transform"
        )
    columns: dict[str, pd.Series] = {}
    for name in spec.raw_columns if raw_columns is None else raw_columns:
        if name in bronze.columns:
            columns[name] = pd.Series(as_strings(bronze[name]).array)
        else:  # a column absent from the file is all null, as bronze records it
            columns[name] = pd.Series(pd.NA, index=pd.RangeIndex(len(bronze)), dtype=STRING_DTYPE)
    for name, dtype in LINEAGE_DTYPES.items():
        values = bronze[name]
        if values.dtype != dtype:
            values = values.astype(dtype)
        columns[name] = pd.Series(values.array)
    frame = pd.DataFrame(columns, copy=False)
    read_error = _read_error_codes(as_strings(bronze[READ_ERROR]), spec)
    return BronzeRows(frame, read_error, np.arange(len(frame)))


def _read_error_codes(read_error: pd.Series, spec: SourceSpec) -> np.ndarray:
    codes = np.full(len(read_error), -1, dtype=np.int8)
    flagged = np.flatnonzero(read_error.notna().to_numpy())
    if len(flagged) == 0:
        return codes
    values = empty_to_null(take_positions(read_error, flagged))
    unknown = set(values.dropna().unique()) - set(READ_ERROR_REASONS)
    if unknown:
        raise ValueError(
            f"bronze frame for source {spec.name!r} has unknown {READ_ERROR} values "
            f"{sorted(unknown)}; expected null or one of {list(READ_ERROR_REASONS)}"
        )
    for i, reason in enumerate(READ_ERROR_REASONS):
        codes[flagged[(values == reason).fillna(False).to_numpy(dtype=bool)]] = i
    return codes
