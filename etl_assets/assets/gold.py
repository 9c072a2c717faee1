"""Gold marts of the retail domain, computed from silver by the pure functions of
transforms/gold.py."""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from etl_assets.assets import retries
from etl_assets.assets.common import (
    ALLOW_MISSING_PARTITIONS,
    column_lineage,
    frame_schema,
    stopwatch,
    table_schema,
)
from etl_assets.io.day_by_day import CATEGORIES, COLUMNS, GROUP_ROWS, DailyFrames, LakePartitions
from etl_assets.resource_keys import LAKE_DAY_BY_DAY, LAKE_IO_MANAGER
from etl_assets.transforms import gold as marts

ORDERS = dg.AssetKey(["silver", "orders"])
PRODUCTS = dg.AssetKey(["silver", "products"])
GOLD_OWNERS = ["team:analytics"]


def _from_orders(*columns: str) -> list[tuple[dg.AssetKey, str]]:
    return [(ORDERS, c) for c in columns]


# Which silver columns each gold column is computed from (dagster/column_lineage).
LINEAGE: dict[str, dict[str, list[tuple[dg.AssetKey, str]]]] = {
    "daily_sales": {
        "order_date": _from_orders("order_date"),
        "country": _from_orders("country"),
        "invoices": _from_orders("invoice_no", "is_cancellation", "is_non_product"),
        "lines": _from_orders("is_cancellation", "is_non_product"),
        "units": _from_orders("quantity", "is_cancellation", "is_non_product"),
        "gross_revenue": _from_orders("line_value", "is_cancellation", "is_non_product"),
        "cancelled_value": _from_orders("line_value", "is_cancellation", "is_non_product"),
        "net_revenue": _from_orders("line_value", "is_non_product"),
        "distinct_customers": _from_orders("customer_id", "is_cancellation"),
        "avg_order_value": _from_orders("line_value", "invoice_no", "is_cancellation"),
    },
    "customer_rfm": {
        "customer_id": _from_orders("customer_id"),
        "as_of": _from_orders("order_date"),
        "last_order_date": _from_orders("order_date"),
        "recency_days": _from_orders("order_date"),
        "frequency": _from_orders("invoice_no", "is_cancellation"),
        "monetary": _from_orders("line_value"),
        "r_score": _from_orders("order_date"),
        "f_score": _from_orders("invoice_no", "is_cancellation"),
        "m_score": _from_orders("line_value"),
        "rfm_segment": _from_orders("order_date", "invoice_no"),
    },
    "product_performance": {
        "month": _from_orders("order_date"),
        "stock_code": _from_orders("stock_code"),
        "description": [(PRODUCTS, "description"), (ORDERS, "description")],
        "category": [(PRODUCTS, "category")],
        "units_sold": _from_orders("quantity", "is_cancellation"),
        "revenue": _from_orders("line_value", "is_cancellation"),
        "units_returned": _from_orders("quantity", "is_cancellation"),
        "return_rate": _from_orders("quantity", "is_cancellation"),
        "revenue_rank": _from_orders("line_value", "order_date"),
    },
    "cohort_retention": {
        "cohort_month": _from_orders("customer_id", "order_date"),
        "month_offset": _from_orders("order_date"),
        "cohort_size": _from_orders("customer_id"),
        "active_customers": _from_orders("customer_id", "order_date"),
        "retention_rate": _from_orders("customer_id", "order_date"),
    },
}


def _gold_output(name: str, frame: pd.DataFrame, seconds: float) -> dg.Output:
    return dg.Output(
        frame,
        metadata={
            "dagster/column_schema": frame_schema(frame),
            "dagster/column_lineage": column_lineage(LINEAGE[name]),
            "seconds": seconds,
        },
    )


def _require_rows(name: str, orders: pd.DataFrame) -> None:
    if not len(orders.columns):
        raise dg.Failure(
            description=f"gold/{name} needs silver/orders, which has no materialized partition: "
            "materialize silver/orders first.",
            allow_retries=False,
        )


@dataclass(frozen=True)
class _HistoryMart:
    name: str
    description: str
    compute: Callable[..., pd.DataFrame]
    with_products: bool = False


# In this order: after each mart, the columns no later mart reads are dropped (memory).
HISTORY_MARTS = (
    _HistoryMart(
        "product_performance",
        "Per month and product: units sold, revenue, units returned, return rate and the "
        "product's revenue rank in the month.",
        marts.product_performance,
        with_products=True,
    ),
    _HistoryMart(
        "customer_rfm",
        "Recency, frequency and monetary quintile scores per customer (5 is best) and a "
        "named segment, over every order in silver.",
        marts.customer_rfm,
    ),
    _HistoryMart(
        "cohort_retention",
        "Customers by the month of their first purchase, and the share of each cohort "
        "active in every later month.",
        marts.cohort_retention,
    ),
)


def _whole_history_marts() -> dg.AssetsDefinition:
    """The marts over every day of silver/orders, from one read of the columns they use
    (each can still be materialized alone)."""
    columns = sorted({c for mart in HISTORY_MARTS for c in marts.ORDERS_COLUMNS[mart.name]})

    @dg.multi_asset(
        name="gold_whole_history",
        outs={
            mart.name: dg.AssetOut(
                key=["gold", mart.name],
                group_name="gold",
                description=mart.description,
                owners=GOLD_OWNERS,
                kinds={"pandas", "parquet"},
                tags={"layer": "gold"},
                io_manager_key=LAKE_IO_MANAGER,
                is_required=False,
            )
            for mart in HISTORY_MARTS
        },
        ins={
            "orders": dg.AssetIn(
                key=ORDERS,
                metadata={
                    **ALLOW_MISSING_PARTITIONS,
                    COLUMNS: columns,
                    CATEGORIES: list(marts.CATEGORY_COLUMNS),
                },
            ),
            "products": dg.AssetIn(key=PRODUCTS),
        },
        internal_asset_deps={
            mart.name: {ORDERS, PRODUCTS} if mart.with_products else {ORDERS}
            for mart in HISTORY_MARTS
        },
        can_subset=True,
        retry_policy=retries.PUBLISH_RETRY,
    )
    def _marts(context: dg.AssetExecutionContext, orders: pd.DataFrame, products: pd.DataFrame):
        # The lake reads them as categoricals (a no-op here); an IO manager that ignores
        # CATEGORIES gives strings.
        for column in marts.CATEGORY_COLUMNS:
            orders[column] = orders[column].astype("category")
        for index, mart in enumerate(HISTORY_MARTS):
            if dg.AssetKey(["gold", mart.name]) in context.selected_asset_keys:
                _require_rows(mart.name, orders)
                with stopwatch() as timing:
                    frame = mart.compute(orders, *([products] if mart.with_products else []))
                output = _gold_output(mart.name, frame, timing["seconds"])
                yield dg.Output(frame, output_name=mart.name, metadata=output.metadata)
            later = {c for m in HISTORY_MARTS[index + 1 :] for c in marts.ORDERS_COLUMNS[m.name]}
            for column in [c for c in orders.columns if c not in later]:
                del orders[column]  # in place: frees the column now, not at the step's end

    return _marts


def build_gold_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=["gold", "daily_sales"],
        ins={
            "orders": dg.AssetIn(
                key=ORDERS,
                metadata={COLUMNS: marts.ORDERS_COLUMNS["daily_sales"]},
                input_manager_key=LAKE_DAY_BY_DAY,  # a day at a time
            )
        },
        group_name="gold",
        description="Sales per day and country: invoices, lines, units, gross, cancelled and "
        "net revenue, distinct customers, average order value (product lines only).",
        owners=GOLD_OWNERS,
        kinds={"pandas", "parquet"},
        tags={"layer": "gold"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "order_date"},
        io_manager_key=LAKE_IO_MANAGER,
        retry_policy=retries.PUBLISH_RETRY,
    )
    def daily_sales(orders: LakePartitions) -> DailyFrames:
        timing = {"seconds": 0.0}
        schema = {}

        def days(group: list[str]) -> pd.DataFrame:  # a day's sales need only its orders
            with stopwatch() as took:
                frame = marts.daily_sales(orders.read(group))
            timing["seconds"] += took["seconds"]
            schema.update(frame.dtypes.to_dict())
            return frame

        def summary() -> dict:
            output = _gold_output("daily_sales", pd.DataFrame(), round(timing["seconds"], 3))
            return {**output.metadata, "dagster/column_schema": table_schema(schema)}

        groups = orders.chunks(GROUP_ROWS)
        return DailyFrames(orders.keys, days, summary=summary, groups=groups)

    return [daily_sales, _whole_history_marts()]
