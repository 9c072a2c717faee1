"""The whole-history marts from daily aggregates equal the marts over every line.

`customer_daily` and `product_daily` reduce a day of silver orders; the `*_of_days` functions
combine the aggregates of every day. Combined, they must give exactly (frame equality, no
tolerance) what `customer_rfm`, `cohort_retention` and `product_performance` give over all the
lines: the functions over every line are the definition the incremental marts are held to.
"""

from __future__ import annotations

import pandas as pd
import pytest

from etl_assets.marts.retail import (
    COHORT_RETENTION,
    CUSTOMER_DAILY,
    CUSTOMER_RFM,
    PRODUCT_DAILY,
    PRODUCT_PERFORMANCE,
)
from etl_assets.transforms.gold.customers import (
    cohort_retention,
    cohort_retention_of_days,
    customer_daily,
    customer_rfm,
    customer_rfm_of_days,
)
from etl_assets.transforms.gold.products import (
    CATEGORY_COLUMNS,
    product_daily,
    product_performance,
    product_performance_of_days,
)
from etl_assets_tests.transforms.gold.test_gold import (
    assert_mart,
    make_orders,
    make_products,
    random_orders,
)


def by_day(orders: pd.DataFrame, aggregate) -> pd.DataFrame:
    """The aggregate computed a day at a time, as the daily gold assets do, then read back
    together (the lake concatenates the days in order)."""
    days = [aggregate(frame) for _, frame in orders.groupby("order_date", sort=True)]
    return pd.concat(days, ignore_index=True) if days else aggregate(orders)


def incremental(orders: pd.DataFrame, products: pd.DataFrame) -> dict[str, pd.DataFrame]:
    customers = by_day(orders, customer_daily)
    return {
        "customer_rfm": customer_rfm_of_days(customers),
        "cohort_retention": cohort_retention_of_days(customers),
        "product_performance": product_performance_of_days(by_day(orders, product_daily), products),
    }


def whole(orders: pd.DataFrame, products: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "customer_rfm": customer_rfm(orders),
        "cohort_retention": cohort_retention(orders),
        "product_performance": product_performance(orders, products),
    }


def assert_same_marts(orders: pd.DataFrame, products: pd.DataFrame) -> None:
    expected = whole(orders, products)
    for name, frame in incremental(orders, products).items():
        assert_mart(frame, expected[name])


@pytest.mark.parametrize("string_dtype", ["string", "string[pyarrow]"])
def test_hand_fixture_marts_from_daily_aggregates(string_dtype):
    assert_same_marts(make_orders(string_dtype=string_dtype), make_products())


@pytest.mark.parametrize("seed", [3, 11])
def test_random_history_marts_from_daily_aggregates(seed):
    assert_same_marts(random_orders(20_000, days=75, seed=seed), make_products())


def test_an_invoice_spread_over_two_days_counts_once():
    """frequency counts distinct invoices over the whole history, not per day."""
    orders = make_orders()
    moved = orders["invoice_no"].eq("536008") & orders["stock_code"].eq("D4")
    orders.loc[moved, "order_date"] = pd.Timestamp("2024-02-11")
    assert_same_marts(orders, make_products())
    rfm = customer_rfm_of_days(by_day(orders, customer_daily))
    assert rfm.set_index("customer_id").loc[101, "frequency"] == 3


def test_product_aggregates_read_back_as_categoricals_give_the_same_mart():
    orders = random_orders(5_000, days=40, seed=7)
    daily = by_day(orders, product_daily)
    compact = daily.astype({column: "category" for column in CATEGORY_COLUMNS})
    assert_mart(
        product_performance_of_days(compact, make_products()),
        product_performance(orders, make_products()),
    )


def test_categorical_product_columns_give_the_same_aggregate():
    orders = random_orders(5_000, days=10, seed=5)
    compact = orders.copy()
    for column in CATEGORY_COLUMNS:
        compact[column] = compact[column].astype("category")
    pd.testing.assert_frame_equal(product_daily(compact), product_daily(orders))


def test_a_day_with_only_non_product_lines_still_moves_as_of():
    orders = make_orders()
    last = orders[orders["order_date"].eq(orders["order_date"].max())].copy()
    last["order_date"] = pd.Timestamp("2024-03-09")
    last["is_non_product"] = pd.array([True] * len(last), dtype="boolean")
    orders = pd.concat([orders, last], ignore_index=True)
    assert_same_marts(orders, make_products())
    rfm = customer_rfm_of_days(by_day(orders, customer_daily))
    assert (rfm["as_of"] == pd.Timestamp("2024-03-10")).all()


def test_empty_aggregates_give_empty_marts():
    empty = make_orders().iloc[:0]
    assert_same_marts(empty, make_products())


# ------------------------------------------- folded a group of days at a time (marts.Fold)


def folded(mart, aggregate: pd.DataFrame, groups: list[list], *others) -> pd.DataFrame:
    """The mart as the whole-history step computes it: the aggregate read a group of days at
    a time, each group's partial merged into the running one."""
    partial = None
    for days in groups:
        partial = mart.fold.add(partial, aggregate[aggregate["order_date"].isin(days)])
    return mart.fold.finish(partial, *others)


def day_groups(aggregate: pd.DataFrame, sizes: list[int]) -> list[list]:
    """The aggregate's days in consecutive groups of the given sizes (cycled)."""
    days = sorted(aggregate["order_date"].unique())
    groups, start, index = [], 0, 0
    while start < len(days):
        size = sizes[index % len(sizes)]
        groups.append(days[start : start + size])
        start, index = start + size, index + 1
    return groups


@pytest.mark.parametrize("sizes", [[1], [7], [3, 1, 10], [1000]])
@pytest.mark.parametrize("seed", [19])
def test_folding_groups_of_days_gives_the_mart_of_every_day(sizes, seed):
    """However the days are grouped, folding them gives exactly the mart over every line."""
    orders = random_orders(8_000, days=60, seed=seed)
    # an invoice spread over two days that fall in different groups counts once
    orders.loc[orders.index[:5], "invoice_no"] = orders["invoice_no"].iloc[-1]
    products = make_products()
    expected = whole(orders, products)
    aggregates = {
        CUSTOMER_DAILY.name: by_day(orders, customer_daily),
        PRODUCT_DAILY.name: by_day(orders, product_daily),
    }
    for mart in [CUSTOMER_RFM, COHORT_RETENTION, PRODUCT_PERFORMANCE]:
        (aggregate_spec,) = mart.aggregates
        aggregate = aggregates[aggregate_spec.name]
        if aggregate_spec.categories:  # the lake reads them back so, categories per group
            aggregate = aggregate.astype({c: "category" for c in aggregate_spec.categories})
        others = [products] if mart is PRODUCT_PERFORMANCE else []
        actual = folded(mart, aggregate, day_groups(aggregate, sizes), *others)
        assert_mart(actual, expected[mart.name])


def test_a_fold_of_the_empty_history_is_the_empty_mart():
    empty = make_orders().iloc[:0]
    for mart in [CUSTOMER_RFM, COHORT_RETENTION]:
        daily = customer_daily(empty)
        assert_mart(folded(mart, daily, [[]]), whole(empty, make_products())[mart.name])
