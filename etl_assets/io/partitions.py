"""What the lake and the warehouse IO managers share about an asset's output: the
``partition_expr`` metadata and reading that column as timestamps, how partition keys and
asset keys are spelled in messages, and the failures for an output they cannot store."""

from collections.abc import Sequence

import dagster as dg
import pandas as pd

PARTITION_EXPR = "partition_expr"  # asset metadata: the datetime column that says a row's day
SHOWN_KEYS = 5  # how many partition keys an error message spells out


def describe(asset_key: dg.AssetKey) -> str:
    return asset_key.to_user_string()


def first_keys(keys: Sequence[str]) -> str:
    """The first few keys, comma-separated, and how many more there are."""
    shown = ", ".join(keys[:SHOWN_KEYS])
    hidden = len(keys) - SHOWN_KEYS
    return f"{shown} (and {hidden} more)" if hidden > 0 else shown


def timestamps(values: pd.Series, timezone: str) -> pd.DatetimeIndex:
    """``values`` as instants in ``timezone``: naive datetimes are read in it, aware ones
    converted to it."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        stamps = pd.DatetimeIndex(values)  # already datetimes: no parsing
    else:
        stamps = pd.DatetimeIndex(pd.to_datetime(values))
    if stamps.tz is None:
        return stamps.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return stamps.tz_convert(timezone)


def distinct_days(stamps: pd.DatetimeIndex) -> list[str]:
    """The distinct days of ``stamps``, sorted ("<null>" for NaT)."""
    labels = pd.Series(stamps.strftime("%Y-%m-%d")).fillna("<null>")
    return sorted(labels.unique())


def partition_stamps(
    frame: pd.DataFrame, column: str, timezone: str, asset_key: dg.AssetKey
) -> pd.DatetimeIndex:
    """The output's ``partition_expr`` column as timestamps in the partitions' timezone; a
    Failure when the column is missing or does not hold datetimes."""
    name = describe(asset_key)
    if column not in frame.columns:
        raise dg.Failure(
            description=(
                f"{name}: its '{PARTITION_EXPR}' column '{column}' is not in the output "
                f"(columns: {', '.join(map(str, frame.columns))})."
            ),
            allow_retries=False,
        )
    try:
        return timestamps(frame[column], timezone)
    except (ValueError, TypeError) as error:
        raise dg.Failure(
            description=f"{name}: column '{column}' cannot be read as datetimes: {error}",
            allow_retries=False,
        ) from error


def require_asset_key(context: dg.InputContext | dg.OutputContext, manager: str) -> dg.AssetKey:
    """The context's asset key; a Failure naming ``manager`` for a plain op's output."""
    if not context.has_asset_key:
        raise dg.Failure(
            description=(
                f"{manager} stores asset outputs only; this op output has no asset key. "
                "Use another IO manager for plain ops."
            ),
            allow_retries=False,
        )
    return context.asset_key


def require_frame(
    obj: object, asset_key: dg.AssetKey, store: str, advice: str = ""
) -> pd.DataFrame:
    """``obj`` when it is a DataFrame; else a Failure saying ``store`` keeps DataFrames only,
    followed by ``advice``."""
    if isinstance(obj, pd.DataFrame):
        return obj
    description = (
        f"{describe(asset_key)} returned {type(obj).__name__}; {store} stores pandas "
        "DataFrames only."
    )
    raise dg.Failure(
        description=f"{description} {advice}" if advice else description,
        allow_retries=False,
    )


def consecutive_stretches(days: list[str], existing: list[str]) -> list[list[str]]:
    """`days` (in order) cut into runs of consecutive keys of `existing`."""
    position = {day: i for i, day in enumerate(existing)}
    stretches: list[list[str]] = []
    for day in days:
        if stretches and position[day] == position[stretches[-1][-1]] + 1:
            stretches[-1].append(day)
        else:
            stretches.append([day])
    return stretches
