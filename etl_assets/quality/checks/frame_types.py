"""dagster-pandas DataFrame types built from a declared schema.

A silver frame whose columns or dtypes drift from the declaration fails at the asset
boundary, and the type check message names the column. An output written day by day
(`DailyFrames`) is checked day by day, before each day's file is written.
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

from etl_assets.io.daily_frames import DailyFrames


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
    frame_type = create_dagster_pandas_dataframe_type(
        name=name,
        description=f"Columns and dtypes of {name}, as declared.",
        columns=columns,
        dataframe_constraints=[StrictColumnsConstraint(list(schema), enforce_ordering=False)],
    )
    return dg.DagsterType(
        type_check_fn=_frames_or_daily(frame_type),
        name=name,
        description=frame_type.description,
        typing_type=pd.DataFrame,
    )


def _frames_or_daily(frame_type: dg.DagsterType) -> Callable:
    def check(context, value: object) -> dg.TypeCheck:
        if not isinstance(value, DailyFrames):
            return frame_type.type_check(context, value)

        def check_day(key: str, frame: pd.DataFrame) -> None:
            result = frame_type.type_check(context, frame)
            if not result.success:
                raise dg.Failure(
                    description=f"Type check failed for {frame_type.unique_name}, partition "
                    f"{key}: {result.description}",
                    metadata=result.metadata,
                    allow_retries=False,
                )

        value.add_check(check_day)
        return dg.TypeCheck(True, description="checked day by day, before each day is written")

    return check
