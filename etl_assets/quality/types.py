"""dagster-pandas DataFrame types built from a declared schema.

A silver frame whose columns or dtypes drift from the declaration fails at the asset
boundary, and the type check message names the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import dagster as dg
import pandas as pd
from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type
from dagster_pandas.constraints import (
    ColumnDTypeFnConstraint,
    NonNullableColumnConstraint,
    StrictColumnsConstraint,
)


def _dtype_is(expected: str) -> Callable[[object], bool]:
    """Compares dtypes, not their names: str() prints both string storages as 'string'."""
    wanted = pd.api.types.pandas_dtype(expected)

    def check(dtype: object) -> bool:
        return dtype == wanted

    check.__name__ = f"dtype == {expected}"
    return check


def dataframe_type(
    name: str, schema: Mapping[str, str], non_nullable: Iterable[str] = ()
) -> dg.DagsterType:
    non_nullable = set(non_nullable)
    columns = [
        PandasColumn(
            name=column,
            constraints=[ColumnDTypeFnConstraint(_dtype_is(dtype))]
            + ([NonNullableColumnConstraint()] if column in non_nullable else []),
        )
        for column, dtype in schema.items()
    ]
    return create_dagster_pandas_dataframe_type(
        name=name,
        description=f"Columns and dtypes of {name}, as declared.",
        columns=columns,
        dataframe_constraints=[StrictColumnsConstraint(list(schema), enforce_ordering=False)],
    )
