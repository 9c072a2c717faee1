"""Derived columns: the declared `derived:` columns (starts_with, in, product, is_null,
not_null) of the clean rows, computed on distinct values where they can be."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from etl_assets.sources import SourceSpec
from etl_assets.transforms.silver.casting import CastColumn
from etl_assets.transforms.standardise import as_strings

DERIVED_DTYPES = {
    "starts_with": "boolean",
    "in": "boolean",
    "product": "Float64",
    "is_null": "boolean",
    "not_null": "boolean",
}


def _flags_at(
    cast: CastColumn, positions: np.ndarray, test: Callable[[pd.Series], np.ndarray]
) -> pd.arrays.BooleanArray:
    """A boolean per row from `test` run on the column's distinct values (null -> False)."""
    flags = np.asarray(test(cast.values), dtype=bool)
    return pd.array(flags[cast.codes[positions]], dtype="boolean")


def derived_columns(
    clean: pd.DataFrame, casts: dict[str, CastColumn], positions: np.ndarray, spec: SourceSpec
) -> dict[str, pd.api.extensions.ExtensionArray | pd.Series]:
    """The declared derived columns of the clean rows at `positions`."""
    columns = {}
    for derived in spec.derived:
        if derived.kind == "starts_with":
            prefix = str(derived.value)

            def starts(values: pd.Series, prefix=prefix) -> np.ndarray:
                return as_strings(values).str.startswith(prefix).fillna(False).to_numpy(bool)

            columns[derived.name] = _flags_at(casts[derived.column], positions, starts)
        elif derived.kind == "in":
            members = list(derived.values)
            if spec.column(derived.column).type == "string":
                members = [str(v) for v in members]  # YAML may read 1 or 2.5 as numbers

            def within(values: pd.Series, members=members) -> np.ndarray:
                return values.isin(members).to_numpy(bool)

            columns[derived.name] = _flags_at(casts[derived.column], positions, within)
        elif derived.kind in ("is_null", "not_null"):
            wanted = derived.kind == "is_null"  # a silver null: empty, or null as read

            def nullness(values: pd.Series, wanted=wanted) -> np.ndarray:
                return values.isna().to_numpy(bool) == wanted

            columns[derived.name] = _flags_at(casts[derived.column], positions, nullness)
        elif derived.kind == "product":
            product = clean[derived.factors[0]].astype("Float64")
            for factor in derived.factors[1:]:
                product = product * clean[factor].astype("Float64")
            columns[derived.name] = product
    return columns
