"""The customer marts: RFM scores and segments per customer, and monthly cohort retention."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from etl_assets.transforms.gold.shared import (
    COUNT,
    DATE,
    GROUPBY,
    MONEY,
    TEXT,
    conform,
    flag,
    line_columns,
    month_from_number,
    month_number,
    product_lines,
    require_columns,
    rounded,
    value_codes,
)

CUSTOMER_RFM_COLUMNS: dict[str, str] = {
    "customer_id": COUNT,
    "as_of": DATE,
    "last_order_date": DATE,
    "recency_days": COUNT,
    "frequency": COUNT,
    "monetary": MONEY,
    "r_score": COUNT,
    "f_score": COUNT,
    "m_score": COUNT,
    "rfm_segment": TEXT,
}
CUSTOMER_RFM_KEYS = ["customer_id"]
CUSTOMER_RFM_READS = [
    "customer_id",
    "invoice_no",
    "order_date",
    "line_value",
    "is_cancellation",
    "is_non_product",
]

COHORT_RETENTION_COLUMNS: dict[str, str] = {
    "cohort_month": DATE,
    "month_offset": COUNT,
    "cohort_size": COUNT,
    "active_customers": COUNT,
    "retention_rate": MONEY,
}
COHORT_RETENTION_KEYS = ["cohort_month", "month_offset"]
COHORT_RETENTION_READS = ["customer_id", "order_date", "is_cancellation", "is_non_product"]

# The daily aggregate both customer marts combine: one row per (day, customer, invoice) of the
# product lines with a customer, plus one row per day with no customer (the day was seen).
CUSTOMER_DAILY_COLUMNS: dict[str, str] = {
    "order_date": DATE,
    "customer_id": COUNT,
    # Arrow strings: read back over every day, they take a third of Python strings' memory
    "invoice_no": "string[pyarrow]",
    "kept": "boolean",  # the invoice has a non-cancelled product line that day
    "product_value": MONEY,  # sum of line_value of its product lines, cancellations included
}
CUSTOMER_DAILY_KEYS = ["order_date", "customer_id", "invoice_no"]
CUSTOMER_DAILY_READS = list(dict.fromkeys([*CUSTOMER_RFM_READS, *COHORT_RETENTION_READS]))

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
    require_columns(orders, ["order_date"])
    as_of = orders["order_date"].max() + pd.Timedelta(days=1)
    lines = product_lines(orders, line_columns(CUSTOMER_RFM_READS))
    lines = lines[lines["customer_id"].notna().to_numpy(dtype=bool)]
    kept = ~flag(lines, "is_cancellation")
    parts = pd.DataFrame(
        {
            "customer_id": lines["customer_id"],
            "kept_date": lines["order_date"].where(kept),
            "kept_invoice": value_codes(lines["invoice_no"]).where(kept),
            "line_value": lines["line_value"],
        }
    )
    return _rfm_of(parts, as_of)


def _rfm_of(parts: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The mart from per-customer parts: customer_id, kept_date (a day with a kept line),
    kept_invoice (its invoice, any hashable) and line_value (summed)."""
    rfm = parts.groupby("customer_id", **GROUPBY).agg(
        last_order_date=("kept_date", "max"),
        frequency=("kept_invoice", "nunique"),
        monetary=("line_value", "sum"),
    )
    return _scored(rfm.reset_index(), as_of)


def _scored(rfm: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The mart from per-customer figures: customer_id, last_order_date, frequency (0: only
    cancellations, left out) and monetary (unrounded)."""
    rfm = rfm[rfm["frequency"] > 0].reset_index(drop=True)
    rfm["as_of"] = as_of
    rfm["recency_days"] = (as_of - rfm["last_order_date"]).dt.days
    rfm["monetary"] = rounded(rfm["monetary"], 2)
    rfm["r_score"] = quintile_score(-rfm["recency_days"])
    rfm["f_score"] = quintile_score(rfm["frequency"])
    rfm["m_score"] = quintile_score(rfm["monetary"])
    rfm["rfm_segment"] = rfm_segments(rfm["r_score"], rfm["f_score"])
    return conform(rfm, CUSTOMER_RFM_COLUMNS, CUSTOMER_RFM_KEYS)


def cohort_retention(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per (cohort_month, month_offset) with at least one active customer.

    A customer (non-null customer_id) is active in a month when it has a non-cancelled
    product line in that month. ``cohort_month`` is the first month it is active in
    the input; ``month_offset`` the whole calendar months from cohort_month to the
    activity month (0 for the cohort month itself); ``cohort_size`` the customers of
    the cohort; ``active_customers`` those active at that offset;
    ``retention_rate`` = active_customers / cohort_size, rounded to 4 decimals.
    """
    lines = product_lines(orders, line_columns(COHORT_RETENTION_READS))
    active = (
        ~flag(lines, "is_cancellation")
        & lines["customer_id"].notna().to_numpy(dtype=bool)
        & lines["order_date"].notna().to_numpy(dtype=bool)  # never null in silver
    )
    # Months as integers (months since 1970-01) make offsets plain subtraction.
    activity = pd.DataFrame(
        {
            "customer_id": lines["customer_id"].to_numpy(dtype="int64", na_value=0)[active],
            "month": month_number(lines["order_date"])[active],
        }
    )
    return _cohorts_of(activity)


def _cohorts_of(activity: pd.DataFrame) -> pd.DataFrame:
    """The mart from (customer_id, month number) pairs of activity, repeats allowed."""
    activity = activity.drop_duplicates().reset_index(drop=True)
    activity["cohort"] = activity.groupby("customer_id", **GROUPBY)["month"].transform("min")
    activity["month_offset"] = activity["month"] - activity["cohort"]
    # (customer, month) pairs are unique, so counting rows counts customers.
    cohorts = (
        activity.groupby(["cohort", "month_offset"], **GROUPBY)
        .size()
        .rename("active_customers")
        .reset_index()
    )
    # Every customer is active at offset 0 of its own cohort: that row is the size.
    sizes = cohorts[cohorts["month_offset"] == 0].set_index("cohort")["active_customers"]
    cohorts["cohort_size"] = cohorts["cohort"].map(sizes)
    cohorts["retention_rate"] = rounded(cohorts["active_customers"] / cohorts["cohort_size"], 4)
    cohorts["cohort_month"] = month_from_number(cohorts["cohort"])
    return conform(cohorts, COHORT_RETENTION_COLUMNS, COHORT_RETENTION_KEYS)


# ------------------------------------------------------------ incremental: days, then marts


def customer_daily(orders: pd.DataFrame) -> pd.DataFrame:
    """The customer marts' aggregate of one or more days (CUSTOMER_DAILY_COLUMNS): a few rows
    per invoice instead of a row per line. Days are independent: a multi-day input gives the
    per-day results concatenated. `customer_rfm_of_days` and `cohort_retention_of_days` over
    the aggregates of every day equal `customer_rfm` and `cohort_retention` over those days."""
    require_columns(orders, CUSTOMER_DAILY_READS)
    relevant = ~flag(orders, "is_non_product") & orders["customer_id"].notna().to_numpy(dtype=bool)
    # Grouped on the invoices' integer codes (strings: several times slower), named after.
    codes, invoices = pd.factorize(orders["invoice_no"], use_na_sentinel=True)
    parts = pd.DataFrame(
        {
            "order_date": orders["order_date"],
            # lines that count for no customer collapse into the day's one row without one
            "customer_id": orders["customer_id"].where(relevant),
            "invoice": np.where(relevant, codes, -1),
            "kept": relevant & ~flag(orders, "is_cancellation"),
            "product_value": orders["line_value"].where(relevant),
        }
    )
    daily = (
        parts.groupby(["order_date", "customer_id", "invoice"], **GROUPBY)
        .agg(kept=("kept", "max"), product_value=("product_value", "sum"))
        .reset_index()
    )
    names = pd.array(invoices, dtype=CUSTOMER_DAILY_COLUMNS["invoice_no"])
    daily["invoice_no"] = names.take(daily["invoice"].to_numpy(), allow_fill=True)
    return conform(daily, CUSTOMER_DAILY_COLUMNS, CUSTOMER_DAILY_KEYS)


def customer_rfm_of_days(daily: pd.DataFrame) -> pd.DataFrame:
    """`customer_rfm` from the `customer_daily` aggregates of every day."""
    return customer_rfm_finish(customer_rfm_partial(daily))


def cohort_retention_of_days(daily: pd.DataFrame) -> pd.DataFrame:
    """`cohort_retention` from the `customer_daily` aggregates of every day."""
    return cohort_retention_finish(cohort_retention_partial(daily))


# ------------------------------------ the same, folded a group of days at a time (marts.Fold)


@dataclass(frozen=True)
class RfmPartial:
    """customer_rfm's partial result of some days.

    - ``invoices``: the (customer_id, invoice_no) pairs of kept invoices, as Arrow (no copy
      when merged, no Python strings); an invoice can span days, so frequency counts the
      distinct pairs once every day is in;
    - ``totals``: per customer_id, the latest kept day (NaT: none) and the net value;
    - ``latest_day``: the latest day seen in any row (as_of is the day after).
    """

    invoices: pa.Table
    totals: pd.DataFrame  # numpy dtypes: this runs on every group of days
    latest_day: pd.Timestamp


def customer_rfm_partial(daily: pd.DataFrame) -> RfmPartial:
    """customer_rfm's partial result of some days' `customer_daily` rows."""
    require_columns(daily, list(CUSTOMER_DAILY_COLUMNS))
    # On the columns' arrays, not a selected copy of the frame: this runs on every group.
    has_customer = daily["customer_id"].notna().to_numpy(dtype=bool)
    kept = flag(daily, "kept") & has_customer
    customer_ids = daily["customer_id"].to_numpy(dtype="int64", na_value=0)
    invoices = pa.table(
        {
            "customer_id": pa.array(customer_ids[kept], type=pa.int64()),
            "invoice_no": pa.array(daily["invoice_no"].array[kept], type=pa.large_string()),
        }
    )
    dates = daily["order_date"].to_numpy(dtype="datetime64[ns]")
    customers = pd.DataFrame(
        {
            "customer_id": customer_ids[has_customer],
            "latest_date": np.where(kept, dates, np.datetime64("NaT", "ns"))[has_customer],
            "value": daily["product_value"].to_numpy(dtype="float64", na_value=np.nan)[
                has_customer
            ],
        }
    )
    return RfmPartial(invoices, _totals([customers]), daily["order_date"].max())


def _totals(frames: list[pd.DataFrame]) -> pd.DataFrame:
    totals = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    # customer_id has no nulls here: one sorted grouping, two reductions (half the time of
    # a named .agg, which runs on every group of days)
    grouped = totals.groupby("customer_id", sort=True)
    return pd.DataFrame(
        {"latest_date": grouped["latest_date"].max(), "value": grouped["value"].sum()}
    ).reset_index()


def customer_rfm_merge(partials: Sequence[RfmPartial]) -> RfmPartial:
    """Partial results of customer_rfm, in day order, as one."""
    invoices = pa.concat_tables([p.invoices for p in partials])  # chunks, not copies
    latest = pd.Series([p.latest_day for p in partials], dtype=DATE).max()
    return RfmPartial(invoices, _totals([p.totals for p in partials]), latest)


def customer_rfm_tables(partial: RfmPartial) -> dict[str, pa.Table | pd.DataFrame]:
    """The partial result as tables, to keep between runs (`customer_rfm_from_tables`)."""
    latest = pd.DataFrame({"latest_day": pd.Series([partial.latest_day], dtype=DATE)})
    return {"invoices": partial.invoices, "totals": partial.totals, "latest_day": latest}


def customer_rfm_from_tables(tables: Mapping[str, pa.Table | pd.DataFrame]) -> RfmPartial:
    """The partial result kept by `customer_rfm_tables`."""
    return RfmPartial(tables["invoices"], tables["totals"], tables["latest_day"]["latest_day"][0])


def customer_rfm_finish(partial: RfmPartial) -> pd.DataFrame:
    """customer_rfm from the partial result of every day."""
    as_of = partial.latest_day + pd.Timedelta(days=1)
    rfm = partial.totals.rename(columns={"latest_date": "last_order_date", "value": "monetary"})
    frequency = distinct_invoices(partial.invoices)
    rfm["frequency"] = rfm["customer_id"].map(frequency).fillna(0)
    return _scored(rfm.reset_index(drop=True), as_of)


# DuckDB's memory for the distinct count; beyond it, it spills to a temporary directory.
DISTINCT_MEMORY_LIMIT = "32MB"


def distinct_invoices(invoices: pa.Table) -> pd.Series:
    """customer_id -> distinct invoice_no of (customer_id, invoice_no) pairs.

    DuckDB over the Arrow table, in bounded memory: after a year the pairs number millions,
    almost all distinct, and hashing them in pandas holds several times their size (on 1.45M
    pairs, 33 MiB: pandas +268 MiB, Arrow's count_distinct +200 MiB, DuckDB with this limit
    +37 MiB, measured).
    """
    import duckdb  # here, not when the code location loads (its import takes ~0.1 s)

    with (
        tempfile.TemporaryDirectory(prefix="etl-distinct-") as spill,
        duckdb.connect(
            config={"memory_limit": DISTINCT_MEMORY_LIMIT, "temp_directory": spill}
        ) as connection,
    ):
        connection.register("invoices", invoices)
        counts = connection.sql(
            "SELECT customer_id, count(DISTINCT invoice_no) AS frequency "
            "FROM invoices GROUP BY customer_id"
        ).fetchnumpy()
    return pd.Series(counts["frequency"], index=counts["customer_id"], dtype="int64")


def cohort_retention_partial(daily: pd.DataFrame) -> pd.DataFrame:
    """cohort_retention's partial result of some days' `customer_daily`: the distinct
    (customer_id, month number) pairs of activity."""
    require_columns(daily, list(CUSTOMER_DAILY_COLUMNS))
    active = flag(daily, "kept") & daily["customer_id"].notna().to_numpy(dtype=bool)
    activity = pd.DataFrame(
        {
            "customer_id": daily["customer_id"].to_numpy(dtype="int64", na_value=0)[active],
            "month": month_number(daily["order_date"])[active],
        }
    )
    return cohort_retention_merge([activity])


def cohort_retention_merge(partials: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Partial results of cohort_retention, in day order, as one."""
    return pd.concat(partials, ignore_index=True).drop_duplicates(ignore_index=True)


def cohort_retention_finish(partial: pd.DataFrame) -> pd.DataFrame:
    """cohort_retention from the partial result of every day."""
    return _cohorts_of(partial)


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
    return pd.Series(scores, index=metric.index).astype(COUNT)


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
    return pd.Series(segments, index=r_score.index, dtype=TEXT)
