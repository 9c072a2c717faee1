"""What every gold mart uses: dtypes, product lines, months, rounding and the final shape.

The conventions these helpers implement are listed in the package docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UNKNOWN = "Unknown"

DATE = "datetime64[ns]"
COUNT = "Int64"
MONEY = "Float64"
TEXT = "string"

# groupby options used everywhere: categorical keys never invent empty groups, output
# is sorted, and a null key stays a group of its own instead of vanishing.
GROUPBY = {"observed": True, "sort": True, "dropna": False}


def require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise KeyError(
            f"gold transform needs columns {missing} that the input does not have "
            f"(it has {list(frame.columns)}); pass a silver frame"
        )


def flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column as a numpy array; null counts as False."""
    return frame[column].fillna(False).to_numpy(dtype=bool)


def line_columns(reads: list[str]) -> list[str]:
    """The columns of a mart's product lines: what it reads but the product-line flag."""
    return [column for column in reads if column != "is_non_product"]


def product_lines(orders: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The product lines of ``orders`` (is_non_product not True), only ``columns``."""
    require_columns(orders, [*columns, "is_non_product"])
    is_product = ~flag(orders, "is_non_product")
    # Column by column on the arrays: 4x faster than orders.loc[mask, columns] on
    # 10M rows (no index alignment, no block consolidation).
    return pd.DataFrame({column: orders[column].array[is_product] for column in columns})


def country_or_unknown(lines: pd.DataFrame) -> pd.Series:
    # Keep the input's string dtype: converting 10M pyarrow strings costs seconds.
    return lines["country"].fillna(UNKNOWN)


def value_codes(values: pd.Series) -> pd.Series:
    """Integer codes of ``values`` (null stays null): nunique on integers is much
    faster than on strings, and gives the same count."""
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return pd.Series(codes, index=values.index).where(codes >= 0)


def month_number(dates: pd.Series) -> np.ndarray:
    """Months since 1970-01 of each date (numpy's datetime64[M] epoch)."""
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype("int64")


def month_from_number(months: pd.Series) -> np.ndarray:
    return months.to_numpy(dtype="int64").astype("datetime64[M]").astype(DATE)


def month_start(dates: pd.Series) -> np.ndarray:
    """First day of the month, midnight; NaT stays NaT."""
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype(DATE)


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as Float64, null where the denominator is 0."""
    ratio = numerator.astype(MONEY) / denominator.astype(MONEY)
    return ratio.where(denominator != 0)


def rounded(values: pd.Series, decimals: int) -> pd.Series:
    # "+ 0.0" turns a negative zero (e.g. round(-0.001, 2)) into a plain 0.0.
    return values.astype(MONEY).round(decimals) + 0.0


def conform(frame: pd.DataFrame, columns: dict[str, str], keys: list[str]) -> pd.DataFrame:
    """The mart's columns in schema order and dtypes, sorted by its key, new index."""
    shaped = frame[list(columns)].astype(columns)
    return shaped.sort_values(keys, kind="mergesort").reset_index(drop=True)
