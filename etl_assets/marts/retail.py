"""The retail domain's gold marts, and so the silver sources they read (orders, products).

The one list of the retail marts: the gold assets, their warehouse copies and their checks are
built from `RETAIL_MARTS`, and only when every source they read is declared
(`retail_marts`). To add a mart: compute it in transforms/gold, declare it here.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from etl_assets.marts.spec import (
    DAILY,
    WHOLE_HISTORY,
    DailyAggregate,
    Fold,
    MartInput,
    MartSpec,
    available,
    lineage_from,
)
from etl_assets.marts.suite_rules import SuiteRules
from etl_assets.sources.expectation_spec import WARN
from etl_assets.transforms.gold import customers, products, sales
from etl_assets.transforms.gold.shared import UNKNOWN

ORDERS = "orders"
PRODUCTS = "products"

_rules = SuiteRules(origin="gold suite (marts/retail.py)")

# Words the column descriptions share. A product line is a line of silver/orders whose
# is_non_product is not true (postage, fees and the like never count in a mart).
_PRODUCT_LINE = "product line"
_LINE_VALUE = "quantity x unit_price, in the currency of the price"
_QUINTILE = "Quintile of rank among all customers; ties share a score."


def _orders(*columns: str) -> tuple[tuple[str, str], ...]:
    return lineage_from(ORDERS, *columns)


def rfm_segment_names() -> list[str]:
    """Every segment `rfm_segments` can name: its output over all 25 score pairs."""
    scores = pd.Series([r for r in range(1, 6) for _ in range(5)], dtype="Int64")
    frequency = pd.Series([f for _ in range(5) for f in range(1, 6)], dtype="Int64")
    return sorted(set(customers.rfm_segments(scores, frequency)))


DAILY_SALES = MartSpec(
    name="daily_sales",
    description="Sales per day and country: invoices, lines, units, gross, cancelled and "
    "net revenue, distinct customers, average order value (product lines only).",
    partitioning=DAILY,
    partition_column="order_date",
    keys=tuple(sales.DAILY_SALES_KEYS),
    columns=sales.DAILY_SALES_COLUMNS,
    inputs=(MartInput(ORDERS, tuple(sales.DAILY_SALES_READS)),),
    compute=sales.daily_sales,
    suite=(
        _rules.key_unique(sales.DAILY_SALES_KEYS),
        _rules.rule(
            "gross_covers_net",
            "expect_column_pair_values_a_to_be_greater_than_b",
            WARN,
            column_A="gross_revenue",
            column_B="net_revenue",
            or_equal=True,
        ),
        _rules.rule("has_rows", "expect_table_row_count_to_be_between", WARN, min_value=1),
    ),
    lineage={
        "order_date": _orders("order_date"),
        "country": _orders("country"),
        "invoices": _orders("invoice_no", "is_cancellation", "is_non_product"),
        "lines": _orders("is_cancellation", "is_non_product"),
        "units": _orders("quantity", "is_cancellation", "is_non_product"),
        "gross_revenue": _orders("line_value", "is_cancellation", "is_non_product"),
        "cancelled_value": _orders("line_value", "is_cancellation", "is_non_product"),
        "net_revenue": _orders("line_value", "is_non_product"),
        "distinct_customers": _orders("customer_id", "is_cancellation"),
        "avg_order_value": _orders("line_value", "invoice_no", "is_cancellation"),
    },
    column_descriptions={
        "order_date": "The day of the invoices (midnight), from silver/orders; the partition.",
        "country": f"The customer's country (canonical spelling); {UNKNOWN!r} when none.",
        "invoices": f"Distinct invoice numbers with a non-cancelled {_PRODUCT_LINE}.",
        "lines": f"Count of non-cancelled {_PRODUCT_LINE}s.",
        "units": f"Units sold: sum of quantity over non-cancelled {_PRODUCT_LINE}s.",
        "gross_revenue": f"Sum of line_value ({_LINE_VALUE}) over non-cancelled "
        f"{_PRODUCT_LINE}s, rounded to 2 decimals.",
        "cancelled_value": "Value of the cancelled product lines (invoice_no starting with C) "
        "as a positive amount, rounded to 2 decimals; 0 when nothing was cancelled.",
        "net_revenue": "gross_revenue - cancelled_value, rounded to 2 decimals.",
        "distinct_customers": "Distinct customer_id on non-cancelled product lines; lines "
        "without a customer are not counted.",
        "avg_order_value": "gross_revenue / invoices, rounded to 2 decimals; null when the day "
        "and country has only cancellations (invoices = 0).",
    },
)

# What the whole-history marts combine: a day of orders each, so a daily run reads its day.
CUSTOMER_DAILY = DailyAggregate(
    name="customer_daily",
    description="Per day, customer and invoice: whether the invoice has a non-cancelled "
    "product line and its product lines' value; what customer_rfm and cohort_retention combine.",
    input=MartInput(ORDERS, tuple(customers.CUSTOMER_DAILY_READS)),
    columns=customers.CUSTOMER_DAILY_COLUMNS,
    keys=tuple(customers.CUSTOMER_DAILY_KEYS),
    compute=customers.customer_daily,
    column_descriptions={
        "order_date": "The day of the invoice (midnight, the partition day).",
        "customer_id": "The customer's id; null on the one row that says the day had lines "
        "without a customer.",
        "invoice_no": "The invoice, one row per customer and invoice of the day.",
        "kept": "True when the invoice has at least one non-cancelled product line that day.",
        "product_value": "Sum of the invoice's product line values that day, cancellations "
        "included (negative), in the shop's currency.",
    },
)
PRODUCT_DAILY = DailyAggregate(
    name="product_daily",
    description="Per day, product and description: product lines, units and value sold, "
    "units returned; what product_performance combines.",
    input=MartInput(
        ORDERS, tuple(products.PRODUCT_PERFORMANCE_READS), categories=products.CATEGORY_COLUMNS
    ),
    columns=products.PRODUCT_DAILY_COLUMNS,
    keys=tuple(products.PRODUCT_DAILY_KEYS),
    compute=products.product_daily,
    categories=products.CATEGORY_COLUMNS,
    column_descriptions={
        "order_date": "The day of the lines (midnight, the partition day).",
        "stock_code": "The product's stock code, as cleaned in silver.",
        "description": "The description written on the lines (a code may have several).",
        "lines": "Product lines of the code and description that day.",
        "kept_units": "Units on non-cancelled lines.",
        "kept_value": "Value of non-cancelled lines, in the shop's currency.",
        "cancelled_units": "Units on cancelled lines, as a positive number.",
    },
)

CUSTOMER_RFM = MartSpec(
    name="customer_rfm",
    description="Recency, frequency and monetary quintile scores per customer (5 is best) and "
    "a named segment, over every order in silver.",
    partitioning=WHOLE_HISTORY,
    keys=tuple(customers.CUSTOMER_RFM_KEYS),
    columns=customers.CUSTOMER_RFM_COLUMNS,
    inputs=(MartInput(ORDERS, tuple(customers.CUSTOMER_RFM_READS)),),
    aggregates=(CUSTOMER_DAILY,),
    compute=customers.customer_rfm_of_days,
    fold=Fold(
        customers.customer_rfm_partial,
        customers.customer_rfm_merge,
        customers.customer_rfm_finish,
        to_tables=customers.customer_rfm_tables,
        from_tables=customers.customer_rfm_from_tables,
    ),
    suite=(
        *_rules.key_rules(customers.CUSTOMER_RFM_KEYS),
        *(_rules.between(score, 1, 5) for score in ("r_score", "f_score", "m_score")),
        _rules.at_least("recency_days", 1),
        _rules.at_least("frequency", 1),
        _rules.rule(
            "rfm_segment_known",
            "expect_column_values_to_be_in_set",
            column="rfm_segment",
            value_set=rfm_segment_names(),
        ),
    ),
    lineage={
        "customer_id": _orders("customer_id"),
        "as_of": _orders("order_date"),
        "last_order_date": _orders("order_date"),
        "recency_days": _orders("order_date"),
        "frequency": _orders("invoice_no", "is_cancellation"),
        "monetary": _orders("line_value"),
        "r_score": _orders("order_date"),
        "f_score": _orders("invoice_no", "is_cancellation"),
        "m_score": _orders("line_value"),
        "rfm_segment": _orders("order_date", "invoice_no"),
    },
    column_descriptions={
        "customer_id": "The customer (silver/orders' customer_id); order lines without a "
        "customer are left out.",
        "as_of": "The reference day for recency: the day after the latest order_date in "
        "silver/orders, the same on every row.",
        "last_order_date": f"The day (midnight) of the customer's latest non-cancelled "
        f"{_PRODUCT_LINE}.",
        "recency_days": "as_of - last_order_date in whole days (1: bought on the latest day).",
        "frequency": f"Distinct invoices with a non-cancelled {_PRODUCT_LINE}.",
        "monetary": f"Net value: sum of line_value ({_LINE_VALUE}) over all the customer's "
        f"{_PRODUCT_LINE}s, cancellations subtracting theirs; rounded to 2 decimals, may be "
        "negative.",
        "r_score": f"Recency score 1-5, 5 = most recent. {_QUINTILE}",
        "f_score": f"Frequency score 1-5, 5 = most invoices. {_QUINTILE}",
        "m_score": f"Monetary score 1-5, 5 = highest net value. {_QUINTILE}",
        "rfm_segment": "Segment named from r_score (r) and f_score (f), the first that "
        "matches: Champions (r>=4, f>=4), Loyal Customers (r>=3, f>=3), New Customers "
        "(r>=4, f=1), Potential Loyalists (r>=4), At Risk (r<=2, f>=3), Hibernating "
        "(r<=2, f<=2), else Needs Attention.",
    },
)

PRODUCT_PERFORMANCE = MartSpec(
    name="product_performance",
    description="Per month and product: units sold, revenue, units returned, return rate and "
    "the product's revenue rank in the month.",
    partitioning=WHOLE_HISTORY,
    keys=tuple(products.PRODUCT_PERFORMANCE_KEYS),
    columns=products.PRODUCT_PERFORMANCE_COLUMNS,
    inputs=(
        MartInput(
            ORDERS,
            tuple(products.PRODUCT_PERFORMANCE_READS),
            categories=products.CATEGORY_COLUMNS,
        ),
        MartInput(PRODUCTS),  # the whole catalogue
    ),
    aggregates=(PRODUCT_DAILY,),
    compute=products.product_performance_of_days,
    fold=Fold(
        products.product_months, products.product_months_merge, products.product_performance_of_days
    ),
    suite=(
        *_rules.key_rules(products.PRODUCT_PERFORMANCE_KEYS),
        _rules.at_least("revenue_rank", 1),
        _rules.at_least("units_sold", 0, WARN, mostly=0.99),
        # above 1 is legal: returns of units sold in an earlier month
        _rules.at_least("return_rate", 0),
    ),
    lineage={
        "month": _orders("order_date"),
        "stock_code": _orders("stock_code"),
        "description": ((PRODUCTS, "description"), (ORDERS, "description")),
        "category": ((PRODUCTS, "category"),),
        "units_sold": _orders("quantity", "is_cancellation"),
        "revenue": _orders("line_value", "is_cancellation"),
        "units_returned": _orders("quantity", "is_cancellation"),
        "return_rate": _orders("quantity", "is_cancellation"),
        "revenue_rank": _orders("line_value", "order_date"),
    },
    column_descriptions={
        "month": "The first day of the month of order_date (midnight).",
        "stock_code": "The product's stock code (trimmed, upper case), from silver/orders.",
        "description": "The catalogue's description (silver/products); for a code the "
        "catalogue does not name, the description seen most often on its order lines "
        "(a tie: alphabetically first); null when there is none.",
        "category": f"The catalogue's category; {UNKNOWN!r} for a code not in the catalogue.",
        "units_sold": "Sum of quantity over the product's non-cancelled lines in the month.",
        "revenue": f"Sum of line_value ({_LINE_VALUE}) over the product's non-cancelled "
        "lines in the month, rounded to 2 decimals.",
        "units_returned": "Units on the product's cancelled lines in the month, as a "
        "positive number.",
        "return_rate": "units_returned / units_sold, rounded to 4 decimals; null when "
        "units_sold is 0; above 1 when units sold in an earlier month come back.",
        "revenue_rank": "Rank by revenue within the month, 1 = highest; ties share the best "
        "rank, so ranks can skip (1, 2, 2, 4).",
    },
)

COHORT_RETENTION = MartSpec(
    name="cohort_retention",
    description="Customers by the month of their first purchase, and the share of each "
    "cohort active in every later month.",
    partitioning=WHOLE_HISTORY,
    keys=tuple(customers.COHORT_RETENTION_KEYS),
    columns=customers.COHORT_RETENTION_COLUMNS,
    inputs=(MartInput(ORDERS, tuple(customers.COHORT_RETENTION_READS)),),
    aggregates=(CUSTOMER_DAILY,),
    compute=customers.cohort_retention_of_days,
    fold=Fold(
        customers.cohort_retention_partial,
        customers.cohort_retention_merge,
        customers.cohort_retention_finish,
    ),
    suite=(
        *_rules.key_rules(customers.COHORT_RETENTION_KEYS),
        _rules.at_least("month_offset", 0),
        _rules.between("retention_rate", 0, 1),
        _rules.rule(
            "cohort_covers_active",
            "expect_column_pair_values_a_to_be_greater_than_b",
            column_A="cohort_size",
            column_B="active_customers",
            or_equal=True,
        ),
    ),
    lineage={
        "cohort_month": _orders("customer_id", "order_date"),
        "month_offset": _orders("order_date"),
        "cohort_size": _orders("customer_id"),
        "active_customers": _orders("customer_id", "order_date"),
        "retention_rate": _orders("customer_id", "order_date"),
    },
    column_descriptions={
        "cohort_month": f"First day of the month of the customers' first non-cancelled "
        f"{_PRODUCT_LINE} (customers without customer_id are left out).",
        "month_offset": "Whole calendar months from cohort_month to the month counted "
        "(0: the cohort month itself).",
        "cohort_size": "Customers whose first month is cohort_month.",
        "active_customers": f"Customers of the cohort with a non-cancelled {_PRODUCT_LINE} "
        "in the month cohort_month + month_offset.",
        "retention_rate": "active_customers / cohort_size, from 0 to 1, rounded to 4 "
        "decimals (1 at offset 0).",
    },
)

RETAIL_MARTS = (DAILY_SALES, CUSTOMER_RFM, PRODUCT_PERFORMANCE, COHORT_RETENTION)


def retail_marts(sources: Mapping[str, object]) -> tuple[MartSpec, ...]:
    """The retail marts when orders and products are both declared, else none."""
    return available(RETAIL_MARTS, sources)


# The registry by mart name, for readers that look a mart's shape up by its name.
GOLD_SCHEMAS = {mart.name: dict(mart.columns) for mart in RETAIL_MARTS}
GOLD_KEYS = {mart.name: list(mart.keys) for mart in RETAIL_MARTS}
ORDERS_COLUMNS = {
    mart.name: list(i.columns or ())
    for mart in RETAIL_MARTS
    for i in mart.inputs
    if i.source == ORDERS
}
