"""The product mart: per month and product, units sold and returned, revenue and rank."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from etl_assets.transforms.gold.shared import (
    COUNT,
    DATE,
    GROUPBY,
    MONEY,
    TEXT,
    UNKNOWN,
    conform,
    flag,
    line_columns,
    month_start,
    product_lines,
    ratio,
    require_columns,
    rounded,
)

PRODUCT_PERFORMANCE_COLUMNS: dict[str, str] = {
    "month": DATE,
    "stock_code": TEXT,
    "description": TEXT,
    "category": TEXT,
    "units_sold": COUNT,
    "revenue": MONEY,
    "units_returned": COUNT,
    "return_rate": MONEY,
    "revenue_rank": COUNT,
}
PRODUCT_PERFORMANCE_KEYS = ["month", "stock_code"]
PRODUCT_PERFORMANCE_READS = [
    "order_date",
    "stock_code",
    "description",
    "quantity",
    "line_value",
    "is_cancellation",
    "is_non_product",
]

# Few distinct values over millions of lines: the marts accept them as categoricals, which
# hold an integer code per line instead of a string (half the memory of a 10M-line read).
CATEGORY_COLUMNS = ("stock_code", "description")

# The daily aggregate the mart combines: one row per (day, stock_code, description) of the
# product lines.
PRODUCT_DAILY_COLUMNS: dict[str, str] = {
    "order_date": DATE,
    "stock_code": TEXT,
    "description": TEXT,
    "lines": COUNT,
    "kept_units": COUNT,
    "kept_value": MONEY,
    "cancelled_units": COUNT,
}
PRODUCT_DAILY_KEYS = ["order_date", "stock_code", "description"]
_SUMS = ["kept_units", "kept_value", "cancelled_units"]


def product_performance(orders: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One row per (month, stock_code) that has at least one product line.

    - ``month``: first day of the month of order_date;
    - ``description``: the catalogue's when the code is in ``products`` (with a
      description), else the description seen most often on the code's product lines
      in ``orders`` (all months, nulls ignored; a tie goes to the alphabetically
      first). A null stock_code (never in silver) is kept as a row of its own;
    - ``category``: the catalogue's, ``"Unknown"`` when absent;
    - ``units_sold``, ``revenue``: sum of quantity and of line_value of non-cancelled
      lines (revenue rounded to 2 decimals);
    - ``units_returned``: minus the sum of quantity of cancelled lines (positive);
    - ``return_rate`` = units_returned / units_sold, rounded to 4 decimals, null when
      units_sold == 0 (a month with only returns);
    - ``revenue_rank``: 1 = highest revenue in the month; ties share the best rank
      (``rank(method="min")``), so ranks can skip (1, 2, 2, 4).
    """
    lines = product_lines(orders, line_columns(PRODUCT_PERFORMANCE_READS))
    kept = ~flag(lines, "is_cancellation")
    parts = pd.DataFrame(
        {
            "month": month_start(lines["order_date"]),
            "stock_code": lines["stock_code"],
            "kept_units": lines["quantity"].where(kept),
            "kept_value": lines["line_value"].where(kept),
            "cancelled_units": lines["quantity"].where(~kept),
        }
    )
    return _performance_of(parts, _seen_descriptions(lines), products)


def product_daily(orders: pd.DataFrame) -> pd.DataFrame:
    """The product mart's aggregate of one or more days (PRODUCT_DAILY_COLUMNS); days are
    independent. `product_performance_of_days` over the aggregates of every day equals
    `product_performance` over those days."""
    lines = product_lines(orders, line_columns(PRODUCT_PERFORMANCE_READS))
    kept = ~flag(lines, "is_cancellation")
    parts = pd.DataFrame(
        {
            "order_date": lines["order_date"],
            "stock_code": lines["stock_code"],
            "description": lines["description"],
            "lines": pd.array(np.ones(len(lines), dtype="int64"), dtype=COUNT),
            "kept_units": lines["quantity"].where(kept),
            "kept_value": lines["line_value"].where(kept),
            "cancelled_units": lines["quantity"].where(~kept),
        }
    )
    daily = parts.groupby(PRODUCT_DAILY_KEYS, **GROUPBY)[["lines", *_SUMS]].sum()
    return conform(daily.reset_index(), PRODUCT_DAILY_COLUMNS, PRODUCT_DAILY_KEYS)


def product_performance_of_days(daily: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """`product_performance` from the `product_daily` aggregates of every day."""
    require_columns(daily, list(PRODUCT_DAILY_COLUMNS))
    parts = pd.DataFrame(
        {
            "month": month_start(daily["order_date"]),
            "stock_code": daily["stock_code"],
            **{column: daily[column] for column in _SUMS},
        }
    )
    described = daily[daily["description"].notna().to_numpy(dtype=bool)]
    seen = pd.DataFrame(
        {
            "stock_code": described["stock_code"],
            "description": described["description"],
            "times": described["lines"],
        }
    )
    return _performance_of(parts, seen, products)


def product_months(daily: pd.DataFrame) -> pd.DataFrame:
    """product_performance's partial result of some days' `product_daily` rows: the same
    columns summed per month, `order_date` the month's first day. The mart reads only the
    month of a day and the per-code sums, so `product_performance_of_days` gives the same mart
    from it; the rows follow the months, not the days."""
    require_columns(daily, list(PRODUCT_DAILY_COLUMNS))
    parts = pd.DataFrame(
        {
            "order_date": month_start(daily["order_date"]),
            # text, not categoricals: groups of days read back with different categories
            "stock_code": daily["stock_code"].astype(TEXT),
            "description": daily["description"].astype(TEXT),
            **{column: daily[column] for column in ["lines", *_SUMS]},
        }
    )
    months = parts.groupby(PRODUCT_DAILY_KEYS, **GROUPBY)[["lines", *_SUMS]].sum()
    return conform(months.reset_index(), PRODUCT_DAILY_COLUMNS, PRODUCT_DAILY_KEYS)


def product_months_merge(partials: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Partial results of product_performance, in day order, as one."""
    return product_months(pd.concat(partials, ignore_index=True))


def _performance_of(
    parts: pd.DataFrame, seen: pd.DataFrame, products: pd.DataFrame
) -> pd.DataFrame:
    """The mart from per-line (or pre-summed) parts: month, stock_code, kept_units,
    kept_value, cancelled_units; and `seen`: stock_code, description, times."""
    perf = (
        parts.groupby(["month", "stock_code"], **GROUPBY)
        .agg(
            units_sold=("kept_units", "sum"),
            revenue=("kept_value", "sum"),
            cancelled_units=("cancelled_units", "sum"),
        )
        .reset_index()
    )
    perf["units_returned"] = 0 - perf["cancelled_units"]
    perf["revenue"] = rounded(perf["revenue"], 2)
    perf["return_rate"] = rounded(ratio(perf["units_returned"], perf["units_sold"]), 4)
    perf["revenue_rank"] = perf.groupby("month", **GROUPBY)["revenue"].rank(
        method="min", ascending=False
    )
    perf["stock_code"] = perf["stock_code"].astype(TEXT)  # same dtype as the names
    perf = perf.merge(
        _product_names(perf["stock_code"], seen, products), on="stock_code", how="left"
    )
    return conform(perf, PRODUCT_PERFORMANCE_COLUMNS, PRODUCT_PERFORMANCE_KEYS)


def _seen_descriptions(lines: pd.DataFrame) -> pd.DataFrame:
    """stock_code, description, times: how many product lines carry each pair (a null
    description is no candidate; a null stock_code is kept, a row of its own in the mart)."""
    named = lines[lines["description"].notna().to_numpy(dtype=bool)]
    return (
        named.groupby(["stock_code", "description"], observed=True, sort=False, dropna=False)
        .size()
        .rename("times")
        .reset_index()
    )


def _product_names(codes: pd.Series, seen: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """stock_code -> description, category for every code of ``codes``."""
    require_columns(products, ["stock_code", "description", "category"])
    catalogue = (
        products[["stock_code", "description", "category"]]
        .dropna(subset=["stock_code"])
        .drop_duplicates(subset=["stock_code"], keep="first")
        .astype({"stock_code": TEXT, "description": TEXT, "category": TEXT})
    )
    codes = pd.DataFrame({"stock_code": pd.Series(codes.unique()).astype(TEXT)})
    names = codes.merge(catalogue, on="stock_code", how="left")
    seen = names["stock_code"].map(_most_seen_description(seen, catalogue))
    names["description"] = names["description"].fillna(seen)
    names["category"] = names["category"].fillna(UNKNOWN)
    return names


def _most_seen_description(seen: pd.DataFrame, catalogue: pd.DataFrame) -> pd.Series:
    """stock_code -> its most frequent description (tie: alphabetically first), only for
    codes the catalogue cannot name."""
    named = catalogue.loc[catalogue["description"].notna(), "stock_code"]
    unnamed = seen[~seen["stock_code"].isin(named).to_numpy(dtype=bool)]
    seen = (
        unnamed.groupby(["stock_code", "description"], observed=True, sort=False, dropna=False)[
            "times"
        ]
        .sum()
        .reset_index()
        .sort_values(
            ["stock_code", "times", "description"],
            ascending=[True, False, True],
            kind="mergesort",
        )
        .drop_duplicates(subset=["stock_code"], keep="first")
    )
    return pd.Series(
        seen["description"].astype(TEXT).to_numpy(),
        index=seen["stock_code"].astype(TEXT).to_numpy(),
    )
