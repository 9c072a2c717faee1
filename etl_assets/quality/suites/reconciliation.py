"""`gold/daily_sales` against `silver/orders`: a day's net revenue is the day's silver sum.

Net revenue is the value of every product line of the day, cancellations included (their
value is negative). Gold rounds each (day, country) row to cents once, so the day's total may
differ from silver's by half a cent per row at most: that is the tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl_assets.marts.retail import DAILY_SALES, ORDERS
from etl_assets.sources.expectation_spec import ERROR, Expectation

RECONCILED_MART = DAILY_SALES  # checked against its silver input, ORDERS
SILVER_INPUT = ORDERS
DAY = "order_date"  # the day column of both
CHECK_NAME = "net_revenue_reconciles"
HALF_CENT = 0.005
RECONCILIATION_COLUMNS = (DAY, "line_value", "is_non_product")  # of silver/orders

RECONCILIATION = Expectation(
    CHECK_NAME,
    "expect_column_pair_values_a_to_be_greater_than_b",
    {"column_A": "tolerance", "column_B": "absolute_difference", "or_equal": True},
    ERROR,
    description="sum of net_revenue per day = sum of silver line_value over the day's "
    "product lines (within half a cent per gold row)",
    origin="gold/daily_sales against silver/orders",
)


def reconciliation_frame(daily_sales: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """One row per day found in either input: both totals, their difference, the tolerance."""
    product = ~orders["is_non_product"].fillna(False).to_numpy(dtype=bool)
    silver = (
        pd.Series(orders["line_value"].to_numpy(dtype="float64", na_value=0.0)[product])
        .groupby(orders[DAY].to_numpy()[product])
        .sum()
    )
    gold = daily_sales.groupby(DAY)["net_revenue"].agg(["sum", "size"]).astype("float64")
    days = silver.index.union(gold.index)
    frame = pd.DataFrame(
        {
            DAY: days,
            "silver_net_revenue": silver.reindex(days, fill_value=0.0).to_numpy(),
            "gold_net_revenue": gold["sum"].reindex(days, fill_value=0.0).to_numpy(),
            "gold_rows": gold["size"].reindex(days, fill_value=0).to_numpy(),
        }
    )
    frame["absolute_difference"] = (frame["gold_net_revenue"] - frame["silver_net_revenue"]).abs()
    # half a cent per rounded row, plus float noise on large sums
    frame["tolerance"] = (
        HALF_CENT * frame["gold_rows"] + 1e-9 * np.abs(frame["silver_net_revenue"]) + 1e-6
    )
    return frame
