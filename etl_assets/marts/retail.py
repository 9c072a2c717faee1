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
    MartInput,
    MartSpec,
    available,
    lineage_from,
)
from etl_assets.marts.suite_rules import SuiteRules
from etl_assets.sources.expectation_spec import WARN
from etl_assets.transforms.gold import customers, products, sales

ORDERS = "orders"
PRODUCTS = "products"

_rules = SuiteRules(origin="gold suite (marts/retail.py)")


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
