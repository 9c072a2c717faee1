"""Gold marts: pure pandas aggregations of silver orders (and products).

No dagster import here: the gold assets load silver, call one of these functions and
attach metadata. Conventions shared by every mart:

- Only product lines count (``is_non_product == False``). Silver never leaves the two
  flags null; if one is null anyway it counts as False (a product line, not cancelled).
- A null ``country`` is grouped as ``"Unknown"`` so that no line silently disappears.
- Money is rounded to 2 decimals and rates to 4, once, at the very end; ranks and
  scores are computed on the rounded figures, so a reader can recompute them from
  the output alone.
- Every function returns a new frame with the columns and dtypes of
  ``GOLD_SCHEMAS[<mart>]`` in that order, sorted by ``GOLD_KEYS[<mart>]``, with a fresh
  RangeIndex; the input is never modified. An empty input gives an empty, typed output.
- Everything is vectorised (groupby/agg); there is no Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

UNKNOWN = "Unknown"

_DATE = "datetime64[ns]"
_COUNT = "Int64"
_MONEY = "Float64"
_TEXT = "string"

GOLD_SCHEMAS: dict[str, dict[str, str]] = {
    "daily_sales": {
        "order_date": _DATE,
        "country": _TEXT,
        "invoices": _COUNT,
        "lines": _COUNT,
        "units": _COUNT,
        "gross_revenue": _MONEY,
        "cancelled_value": _MONEY,
        "net_revenue": _MONEY,
        "distinct_customers": _COUNT,
        "avg_order_value": _MONEY,
    },
    "customer_rfm": {
        "customer_id": _COUNT,
        "as_of": _DATE,
        "last_order_date": _DATE,
        "recency_days": _COUNT,
        "frequency": _COUNT,
        "monetary": _MONEY,
        "r_score": _COUNT,
        "f_score": _COUNT,
        "m_score": _COUNT,
        "rfm_segment": _TEXT,
    },
    "product_performance": {
        "month": _DATE,
        "stock_code": _TEXT,
        "description": _TEXT,
        "category": _TEXT,
        "units_sold": _COUNT,
        "revenue": _MONEY,
        "units_returned": _COUNT,
        "return_rate": _MONEY,
        "revenue_rank": _COUNT,
    },
    "cohort_retention": {
        "cohort_month": _DATE,
        "month_offset": _COUNT,
        "cohort_size": _COUNT,
        "active_customers": _COUNT,
        "retention_rate": _MONEY,
    },
}
"""Mart name -> {column: dtype string}, in output column order (dtype strings as
``str(series.dtype)`` prints them, and as ``DataFrame.astype`` accepts them)."""

GOLD_KEYS: dict[str, list[str]] = {
    "daily_sales": ["order_date", "country"],
    "customer_rfm": ["customer_id"],
    "product_performance": ["month", "stock_code"],
    "cohort_retention": ["cohort_month", "month_offset"],
}
"""Mart name -> the columns that identify a row (unique, and the sort order)."""

# groupby options used everywhere: categorical keys never invent empty groups, output
# is sorted, and a null key stays a group of its own instead of vanishing.
_GROUPBY = {"observed": True, "sort": True, "dropna": False}

# First matching rule wins (see customer_rfm).
_SEGMENT_RULES: list[tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = [
    ("Champions", lambda r, f: (r >= 4) & (f >= 4)),
    ("Loyal Customers", lambda r, f: (r >= 3) & (f >= 3)),
    ("New Customers", lambda r, f: (r >= 4) & (f == 1)),
    ("Potential Loyalists", lambda r, f: r >= 4),
    ("At Risk", lambda r, f: (r <= 2) & (f >= 3)),
    ("Hibernating", lambda r, f: (r <= 2) & (f <= 2)),
]
_DEFAULT_SEGMENT = "Needs Attention"


# --------------------------------------------------------------------------- marts


# Few distinct values over millions of lines: the marts accept them as categoricals, which
# hold an integer code per line instead of a string (half the memory of a 10M-line read).
CATEGORY_COLUMNS = ("stock_code", "description")

# The silver/orders columns each mart reads: the lake reads only these.
ORDERS_COLUMNS = {
    "daily_sales": [
        "order_date",
        "country",
        "invoice_no",
        "quantity",
        "line_value",
        "customer_id",
        "is_cancellation",
        "is_non_product",
    ],
    "customer_rfm": [
        "customer_id",
        "invoice_no",
        "order_date",
        "line_value",
        "is_cancellation",
        "is_non_product",
    ],
    "product_performance": [
        "order_date",
        "stock_code",
        "description",
        "quantity",
        "line_value",
        "is_cancellation",
        "is_non_product",
    ],
    "cohort_retention": ["customer_id", "order_date", "is_cancellation", "is_non_product"],
}


def daily_sales(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per (order_date, country) that has at least one product line.

    - ``invoices``: distinct invoice_no of non-cancelled lines;
    - ``lines``, ``units``, ``gross_revenue``: count, sum of quantity and of line_value
      of non-cancelled lines;
    - ``cancelled_value``: minus the sum of line_value of cancelled lines (positive);
    - ``net_revenue`` = gross_revenue - cancelled_value;
    - ``distinct_customers``: distinct non-null customer_id on non-cancelled lines;
    - ``avg_order_value`` = gross_revenue / invoices, null when invoices == 0 (a day
      and country with only cancellations still gets a row, with zeros).

    Works on any number of days at once: a multi-day frame gives the same rows as
    per-day calls concatenated.
    """
    lines = _product_lines(orders, _line_columns("daily_sales"))
    kept = ~_flag(lines, "is_cancellation")
    # Mask instead of splitting the frame: one groupby gives every (day, country),
    # including those with only cancellations; sums of all-null groups are 0 and
    # nunique ignores nulls.
    parts = pd.DataFrame(
        {
            "order_date": lines["order_date"],
            "country": _country(lines),
            "kept_invoice": _codes(lines["invoice_no"]).where(kept),
            "kept_line": kept.astype("int64"),
            "kept_units": lines["quantity"].where(kept),
            "kept_value": lines["line_value"].where(kept),
            "cancelled_value": lines["line_value"].where(~kept),
            "kept_customer": lines["customer_id"].where(kept),
        }
    )
    sales = parts.groupby(["order_date", "country"], **_GROUPBY).agg(
        invoices=("kept_invoice", "nunique"),
        lines=("kept_line", "sum"),
        units=("kept_units", "sum"),
        gross_revenue=("kept_value", "sum"),
        cancelled_value=("cancelled_value", "sum"),
        distinct_customers=("kept_customer", "nunique"),
    )
    sales["cancelled_value"] = 0.0 - sales["cancelled_value"]
    sales["net_revenue"] = sales["gross_revenue"] - sales["cancelled_value"]
    sales["avg_order_value"] = _ratio(sales["gross_revenue"], sales["invoices"])
    for column in ["gross_revenue", "cancelled_value", "net_revenue", "avg_order_value"]:
        sales[column] = _round(sales[column], 2)
    return _conform(sales.reset_index(), "daily_sales")


def customer_rfm(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per customer_id (non-null) with at least one non-cancelled product line.

    - ``as_of``: the day after the latest order_date of the whole input (every line,
      whatever its kind), the same for every row;
    - ``last_order_date``: latest order_date of the customer's non-cancelled lines;
    - ``recency_days`` = as_of - last_order_date, in days (>= 1);
    - ``frequency``: distinct invoices of non-cancelled lines;
    - ``monetary``: sum of line_value over all the customer's product lines,
      cancellations included (net value; may be negative), rounded to 2 decimals.

    Scores (Int64, 1..5, 5 best), see :func:`quintile_score`: ``r_score`` scores
    ``-recency_days`` (recent is better), ``f_score`` scores ``frequency`` and
    ``m_score`` scores the rounded ``monetary``.

    ``rfm_segment``: see :func:`rfm_segments`.
    """
    _require(orders, ["order_date"])
    as_of = orders["order_date"].max() + pd.Timedelta(days=1)
    lines = _product_lines(orders, _line_columns("customer_rfm"))
    lines = lines[lines["customer_id"].notna().to_numpy(dtype=bool)]
    kept = ~_flag(lines, "is_cancellation")
    parts = pd.DataFrame(
        {
            "customer_id": lines["customer_id"],
            "kept_date": lines["order_date"].where(kept),
            "kept_invoice": _codes(lines["invoice_no"]).where(kept),
            "line_value": lines["line_value"],
        }
    )
    rfm = parts.groupby("customer_id", **_GROUPBY).agg(
        last_order_date=("kept_date", "max"),
        frequency=("kept_invoice", "nunique"),
        monetary=("line_value", "sum"),
    )
    rfm = rfm[rfm["frequency"] > 0].reset_index()  # customers with only cancellations
    rfm["as_of"] = as_of
    rfm["recency_days"] = (as_of - rfm["last_order_date"]).dt.days
    rfm["monetary"] = _round(rfm["monetary"], 2)
    rfm["r_score"] = quintile_score(-rfm["recency_days"])
    rfm["f_score"] = quintile_score(rfm["frequency"])
    rfm["m_score"] = quintile_score(rfm["monetary"])
    rfm["rfm_segment"] = rfm_segments(rfm["r_score"], rfm["f_score"])
    return _conform(rfm, "customer_rfm")


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
    lines = _product_lines(orders, _line_columns("product_performance"))
    kept = ~_flag(lines, "is_cancellation")
    parts = pd.DataFrame(
        {
            "month": _month_start(lines["order_date"]),
            "stock_code": lines["stock_code"],
            "kept_units": lines["quantity"].where(kept),
            "kept_value": lines["line_value"].where(kept),
            "cancelled_units": lines["quantity"].where(~kept),
        }
    )
    perf = (
        parts.groupby(["month", "stock_code"], **_GROUPBY)
        .agg(
            units_sold=("kept_units", "sum"),
            revenue=("kept_value", "sum"),
            cancelled_units=("cancelled_units", "sum"),
        )
        .reset_index()
    )
    perf["units_returned"] = 0 - perf["cancelled_units"]
    perf["revenue"] = _round(perf["revenue"], 2)
    perf["return_rate"] = _round(_ratio(perf["units_returned"], perf["units_sold"]), 4)
    perf["revenue_rank"] = perf.groupby("month", **_GROUPBY)["revenue"].rank(
        method="min", ascending=False
    )
    perf["stock_code"] = perf["stock_code"].astype(_TEXT)  # same dtype as the names
    perf = perf.merge(_product_names(lines, products), on="stock_code", how="left")
    return _conform(perf, "product_performance")


def cohort_retention(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per (cohort_month, month_offset) with at least one active customer.

    A customer (non-null customer_id) is active in a month when it has a non-cancelled
    product line in that month. ``cohort_month`` is the first month it is active in
    the input; ``month_offset`` the whole calendar months from cohort_month to the
    activity month (0 for the cohort month itself); ``cohort_size`` the customers of
    the cohort; ``active_customers`` those active at that offset;
    ``retention_rate`` = active_customers / cohort_size, rounded to 4 decimals.
    """
    lines = _product_lines(orders, _line_columns("cohort_retention"))
    active = (
        ~_flag(lines, "is_cancellation")
        & lines["customer_id"].notna().to_numpy(dtype=bool)
        & lines["order_date"].notna().to_numpy(dtype=bool)  # never null in silver
    )
    # Months as integers (months since 1970-01) make offsets plain subtraction.
    activity = pd.DataFrame(
        {
            "customer_id": lines["customer_id"].to_numpy(dtype="int64", na_value=0)[active],
            "month": _month_number(lines["order_date"])[active],
        }
    ).drop_duplicates()
    activity["cohort"] = activity.groupby("customer_id", **_GROUPBY)["month"].transform("min")
    activity["month_offset"] = activity["month"] - activity["cohort"]
    # (customer, month) pairs are unique, so counting rows counts customers.
    cohorts = (
        activity.groupby(["cohort", "month_offset"], **_GROUPBY)
        .size()
        .rename("active_customers")
        .reset_index()
    )
    # Every customer is active at offset 0 of its own cohort: that row is the size.
    sizes = cohorts[cohorts["month_offset"] == 0].set_index("cohort")["active_customers"]
    cohorts["cohort_size"] = cohorts["cohort"].map(sizes)
    cohorts["retention_rate"] = _round(cohorts["active_customers"] / cohorts["cohort_size"], 4)
    cohorts["cohort_month"] = _month_from_number(cohorts["cohort"])
    return _conform(cohorts, "cohort_retention")


# ------------------------------------------------------------------ scoring rules


def quintile_score(metric: pd.Series) -> pd.Series:
    """Score a metric (higher is better) into 1..5, 5 best, by rank.

    ``rank = metric.rank(method="min", ascending=True)`` (ties share the lowest rank,
    hence the same score), ``n = len(metric)``, and
    ``score = 1 + floor(5 * (rank - 1) / n)`` (exact: whole numbers, floor division).
    Example, n = 4 and ranks 1, 2, 3, 4: scores 1, 2, 3, 4; a single customer scores 1.
    A null metric gets a null score (the marts never produce one).
    """
    n = len(metric)
    rank = metric.rank(method="min", ascending=True).to_numpy(dtype="float64", na_value=np.nan)
    # Whole numbers held as floats: floor division is exact here.
    scores = 1 + np.floor_divide(5 * (rank - 1), max(n, 1))
    return pd.Series(scores, index=metric.index).astype(_COUNT)


def rfm_segments(r_score: pd.Series, f_score: pd.Series) -> pd.Series:
    """Name the segment of each (r_score, f_score) pair; the first matching rule wins.

    1. "Champions"            r >= 4 and f >= 4
    2. "Loyal Customers"      r >= 3 and f >= 3
    3. "New Customers"        r >= 4 and f == 1
    4. "Potential Loyalists"  r >= 4
    5. "At Risk"              r <= 2 and f >= 3
    6. "Hibernating"          r <= 2 and f <= 2
    7. "Needs Attention"      otherwise
    """
    r = r_score.to_numpy(dtype="int64", na_value=0)
    f = f_score.to_numpy(dtype="int64", na_value=0)
    names = [name for name, _ in _SEGMENT_RULES]
    conditions = [rule(r, f) for _, rule in _SEGMENT_RULES]
    segments = np.select(conditions, names, default=_DEFAULT_SEGMENT)
    return pd.Series(segments, index=r_score.index, dtype=_TEXT)


# ------------------------------------------------------------------------ helpers


def _require(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise KeyError(
            f"gold transform needs columns {missing} that the input does not have "
            f"(it has {list(frame.columns)}); pass a silver frame"
        )


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column as a numpy array; null counts as False."""
    return frame[column].fillna(False).to_numpy(dtype=bool)


def _line_columns(mart: str) -> list[str]:
    """The columns of a mart's product lines: what it reads but the product-line flag."""
    return [column for column in ORDERS_COLUMNS[mart] if column != "is_non_product"]


def _product_lines(orders: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The product lines of ``orders`` (is_non_product not True), only ``columns``."""
    _require(orders, [*columns, "is_non_product"])
    is_product = ~_flag(orders, "is_non_product")
    # Column by column on the arrays: 4x faster than orders.loc[mask, columns] on
    # 10M rows (no index alignment, no block consolidation).
    return pd.DataFrame({column: orders[column].array[is_product] for column in columns})


def _country(lines: pd.DataFrame) -> pd.Series:
    # Keep the input's string dtype: converting 10M pyarrow strings costs seconds.
    return lines["country"].fillna(UNKNOWN)


def _codes(values: pd.Series) -> pd.Series:
    """Integer codes of ``values`` (null stays null): nunique on integers is much
    faster than on strings, and gives the same count."""
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return pd.Series(codes, index=values.index).where(codes >= 0)


def _month_number(dates: pd.Series) -> np.ndarray:
    """Months since 1970-01 of each date (numpy's datetime64[M] epoch)."""
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype("int64")


def _month_from_number(months: pd.Series) -> np.ndarray:
    return months.to_numpy(dtype="int64").astype("datetime64[M]").astype(_DATE)


def _month_start(dates: pd.Series) -> np.ndarray:
    """First day of the month, midnight; NaT stays NaT."""
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype(_DATE)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as Float64, null where the denominator is 0."""
    ratio = numerator.astype(_MONEY) / denominator.astype(_MONEY)
    return ratio.where(denominator != 0)


def _round(values: pd.Series, decimals: int) -> pd.Series:
    # "+ 0.0" turns a negative zero (e.g. round(-0.001, 2)) into a plain 0.0.
    return values.astype(_MONEY).round(decimals) + 0.0


def _product_names(lines: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """stock_code -> description, category for every code of ``lines``."""
    _require(products, ["stock_code", "description", "category"])
    catalogue = (
        products[["stock_code", "description", "category"]]
        .dropna(subset=["stock_code"])
        .drop_duplicates(subset=["stock_code"], keep="first")
        .astype({"stock_code": _TEXT, "description": _TEXT, "category": _TEXT})
    )
    codes = pd.DataFrame({"stock_code": pd.Series(lines["stock_code"].unique()).astype(_TEXT)})
    names = codes.merge(catalogue, on="stock_code", how="left")
    seen = names["stock_code"].map(_most_seen_description(lines, catalogue))
    names["description"] = names["description"].fillna(seen)
    names["category"] = names["category"].fillna(UNKNOWN)
    return names


def _most_seen_description(lines: pd.DataFrame, catalogue: pd.DataFrame) -> pd.Series:
    """stock_code -> its most frequent description in ``lines`` (tie: alphabetically
    first), only for codes the catalogue cannot name (that keeps the work small)."""
    named = catalogue.loc[catalogue["description"].notna(), "stock_code"]
    unnamed = lines[
        ~lines["stock_code"].isin(named).to_numpy(dtype=bool)
        & lines["description"].notna().to_numpy(dtype=bool)  # a null is no candidate
    ]
    seen = (
        # dropna=False keeps a null stock_code (a row of its own in the mart) named too
        unnamed.groupby(["stock_code", "description"], observed=True, sort=False, dropna=False)
        .size()
        .rename("times")
        .reset_index()
        .sort_values(
            ["stock_code", "times", "description"],
            ascending=[True, False, True],
            kind="mergesort",
        )
        .drop_duplicates(subset=["stock_code"], keep="first")
    )
    return pd.Series(
        seen["description"].astype(_TEXT).to_numpy(),
        index=seen["stock_code"].astype(_TEXT).to_numpy(),
    )


def _conform(frame: pd.DataFrame, mart: str) -> pd.DataFrame:
    """The mart's columns in schema order and dtypes, sorted by its key, new index."""
    schema = GOLD_SCHEMAS[mart]
    shaped = frame[list(schema)].astype(schema)
    return shaped.sort_values(GOLD_KEYS[mart], kind="mergesort").reset_index(drop=True)
