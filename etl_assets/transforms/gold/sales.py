"""The daily sales mart: per day and country, what was sold and what was cancelled."""

from __future__ import annotations

import pandas as pd

from etl_assets.transforms.gold.shared import (
    COUNT,
    DATE,
    GROUPBY,
    MONEY,
    TEXT,
    conform,
    country_or_unknown,
    flag,
    line_columns,
    product_lines,
    ratio,
    rounded,
    value_codes,
)

DAILY_SALES_COLUMNS: dict[str, str] = {
    "order_date": DATE,
    "country": TEXT,
    "invoices": COUNT,
    "lines": COUNT,
    "units": COUNT,
    "gross_revenue": MONEY,
    "cancelled_value": MONEY,
    "net_revenue": MONEY,
    "distinct_customers": COUNT,
    "avg_order_value": MONEY,
}
"""{column: dtype string} in output column order (as ``str(series.dtype)`` prints them)."""

DAILY_SALES_KEYS = ["order_date", "country"]
"""The columns that identify a row (unique, and the sort order)."""

DAILY_SALES_READS = [
    "order_date",
    "country",
    "invoice_no",
    "quantity",
    "line_value",
    "customer_id",
    "is_cancellation",
    "is_non_product",
]
"""The silver/orders columns it reads: the lake reads only these."""


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
    lines = product_lines(orders, line_columns(DAILY_SALES_READS))
    kept = ~flag(lines, "is_cancellation")
    # Mask instead of splitting the frame: one groupby gives every (day, country),
    # including those with only cancellations; sums of all-null groups are 0 and
    # nunique ignores nulls.
    parts = pd.DataFrame(
        {
            "order_date": lines["order_date"],
            "country": country_or_unknown(lines),
            "kept_invoice": value_codes(lines["invoice_no"]).where(kept),
            "kept_line": kept.astype("int64"),
            "kept_units": lines["quantity"].where(kept),
            "kept_value": lines["line_value"].where(kept),
            "cancelled_value": lines["line_value"].where(~kept),
            "kept_customer": lines["customer_id"].where(kept),
        }
    )
    sales = parts.groupby(["order_date", "country"], **GROUPBY).agg(
        invoices=("kept_invoice", "nunique"),
        lines=("kept_line", "sum"),
        units=("kept_units", "sum"),
        gross_revenue=("kept_value", "sum"),
        cancelled_value=("cancelled_value", "sum"),
        distinct_customers=("kept_customer", "nunique"),
    )
    sales["cancelled_value"] = 0.0 - sales["cancelled_value"]
    sales["net_revenue"] = sales["gross_revenue"] - sales["cancelled_value"]
    sales["avg_order_value"] = ratio(sales["gross_revenue"], sales["invoices"])
    for column in ["gross_revenue", "cancelled_value", "net_revenue", "avg_order_value"]:
        sales[column] = rounded(sales[column], 2)
    return conform(sales.reset_index(), DAILY_SALES_COLUMNS, DAILY_SALES_KEYS)
