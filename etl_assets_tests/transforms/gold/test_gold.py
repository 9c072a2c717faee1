"""Tests of the gold marts against figures computed by hand.

The fixture is 19 silver order lines over 4 days (2024-01-15, 2024-01-16, 2024-02-10,
2024-03-05), 2 countries and 3 months. Every expected value below was worked out on
paper from the table in ``_ORDER_LINES`` (line numbers L1..L19 in the comments) and
is written literally; nothing expected is recomputed with pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etl_assets.marts.retail import GOLD_KEYS, GOLD_SCHEMAS
from etl_assets.transforms.gold.customers import (
    cohort_retention,
    customer_rfm,
    quintile_score,
    rfm_segments,
)
from etl_assets.transforms.gold.products import product_performance
from etl_assets.transforms.gold.sales import daily_sales

NA = pd.NA
UK = "United Kingdom"
FR = "France"
D1, D2, D3, D4 = "2024-01-15", "2024-01-16", "2024-02-10", "2024-03-05"

# invoice, stock_code, description, quantity, unit_price, customer_id, country, day
_ORDER_LINES = [
    ("536001", "A1", "WHITE MUG", 6, 2.50, 101, UK, D1),  # L1   15.00
    ("536001", "B2", "RED CANDLE", 12, 1.25, 101, UK, D1),  # L2   15.00
    ("536001", "POST", "POSTAGE", 1, 18.00, 101, UK, D1),  # L3   non-product
    ("536002", "C3", "BLUE BAG", 2, 4.00, 102, FR, D1),  # L4    8.00
    ("536003", "A1", "WHITE MUG", 3, 2.50, NA, UK, D1),  # L5    7.50 no customer
    ("C536004", "A1", "WHITE MUG", -2, 2.50, 101, UK, D1),  # L6  -5.00 cancelled
    ("536005", "D4", "GIFT BOX", 4, 3.00, 103, UK, D2),  # L7   12.00 not in catalogue
    ("536005", "B2", "RED CANDLE", 10, 0.00, 103, UK, D2),  # L8    0.00 zero price
    ("536006", "D4", "BOX GIFT", 1, 3.00, 101, UK, D2),  # L9    3.00
    ("C536007", "C3", "BLUE BAG", -1, 4.00, 102, FR, D2),  # L10 -4.00 FR only cancelled
    ("536008", "A1", "WHITE MUG", 4, 2.50, 101, UK, D3),  # L11  10.00
    ("536008", "D4", "GIFT BOX", 2, 3.00, 101, UK, D3),  # L12   6.00
    ("536009", "C3", "BLUE BAG", 5, 4.00, 104, FR, D3),  # L13  20.00
    ("536010", "E5", "TEA TOWEL", 3, 1.10, 102, FR, D3),  # L14   3.30 (float 3.3000000000000003)
    ("536011", "E5", "TOWEL TEA", 1, 1.10, 103, UK, D4),  # L15   1.10
    ("536011", "A1", "WHITE MUG", 2, 2.50, 103, UK, D4),  # L16   5.00
    ("536012", "B2", "RED CANDLE", 6, 1.25, 104, FR, D4),  # L17   7.50
    ("C536013", "B2", "RED CANDLE", -6, 1.25, 104, FR, D4),  # L18 -7.50 full return
    ("C536014", "C3", "BLUE BAG", -1, 4.00, 105, FR, D4),  # L19 -4.00 105 only cancels
]
_NON_PRODUCT_CODES = {"POST"}


def make_orders(lines=_ORDER_LINES, string_dtype: str = "string") -> pd.DataFrame:
    """A silver orders frame (architecture.md dtypes) from literal tuples."""
    invoice, code, description, quantity, price, customer, country, day = (
        list(column) for column in zip(*lines, strict=True)
    )
    orders = pd.DataFrame(
        {
            "invoice_no": pd.array(invoice, dtype=string_dtype),
            "stock_code": pd.array(code, dtype=string_dtype),
            "description": pd.array(description, dtype=string_dtype),
            "quantity": pd.array(quantity, dtype="Int64"),
            "invoice_date": pd.to_datetime(pd.Series(day, dtype="object")) + pd.Timedelta(hours=10),
            "unit_price": pd.array(price, dtype="Float64"),
            "customer_id": pd.array(customer, dtype="Int64"),
            "country": pd.array(country, dtype=string_dtype),
        }
    )
    orders["invoice_date"] = orders["invoice_date"].astype("datetime64[ns]")
    orders["is_cancellation"] = orders["invoice_no"].str.startswith("C").astype("boolean")
    orders["is_non_product"] = orders["stock_code"].isin(_NON_PRODUCT_CODES).astype("boolean")
    # silver's rule: line_value = quantity x unit_price (float artefacts and all)
    orders["line_value"] = orders["quantity"].astype("Float64") * orders["unit_price"]
    orders["order_date"] = orders["invoice_date"].dt.normalize()
    # lineage columns the marts must ignore
    orders["_source_file"] = pd.array(["orders/x.csv"] * len(orders), dtype=string_dtype)
    orders["_row_number"] = np.arange(1, len(orders) + 1)
    return orders


def make_products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stock_code": pd.array(["A1", "B2", "C3", "POST"], dtype="string"),
            # the catalogue wins over the orders' "WHITE MUG"
            "description": pd.array(
                ["WHITE CERAMIC MUG", "RED CANDLE", "BLUE BAG", "POSTAGE"], dtype="string"
            ),
            "category": pd.array(["Kitchen", "Home", "Bags", "Fees"], dtype="string"),
            "list_price": pd.array([2.50, 1.25, 4.00, 18.00], dtype="Float64"),
            "is_non_product": pd.array([False, False, False, True], dtype="boolean"),
        }
    )


def frame(mart: str, rows: list[tuple]) -> pd.DataFrame:
    """An expected mart frame from literal rows, typed by GOLD_SCHEMAS."""
    schema = GOLD_SCHEMAS[mart]
    data = {column: [row[i] for row in rows] for i, column in enumerate(schema)}
    expected = pd.DataFrame(data, columns=list(schema))
    for column, dtype in schema.items():
        if dtype.startswith("datetime64"):
            expected[column] = pd.to_datetime(expected[column]).astype(dtype)
    return expected.astype(schema)


def assert_mart(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)


@pytest.fixture(params=["string", "string[pyarrow]"])
def orders(request) -> pd.DataFrame:
    return make_orders(string_dtype=request.param)


# ------------------------------------------------------------------ daily_sales


def test_daily_sales_by_hand(orders):
    expected = frame(
        "daily_sales",
        [
            # day, country, invoices, lines, units, gross, cancelled, net, customers, avg
            (D1, FR, 1, 1, 2, 8.00, 0.00, 8.00, 1, 8.00),  # L4
            (D1, UK, 2, 3, 21, 37.50, 5.00, 32.50, 1, 18.75),  # L1 L2 L5 | L6; L3 dropped
            (D2, FR, 0, 0, 0, 0.00, 4.00, -4.00, 0, NA),  # L10 only
            (D2, UK, 2, 3, 15, 15.00, 0.00, 15.00, 2, 7.50),  # L7 L8 L9
            (D3, FR, 2, 2, 8, 23.30, 0.00, 23.30, 2, 11.65),  # L13 L14
            (D3, UK, 1, 2, 6, 16.00, 0.00, 16.00, 1, 16.00),  # L11 L12
            (D4, FR, 1, 1, 6, 7.50, 11.50, -4.00, 1, 7.50),  # L17 | L18 L19
            (D4, UK, 1, 2, 3, 6.10, 0.00, 6.10, 1, 6.10),  # L15 L16
        ],
    )
    assert_mart(daily_sales(orders), expected)


def test_daily_sales_groups_a_missing_country_as_unknown():
    orders = make_orders(
        [
            ("1", "A1", "WHITE MUG", 2, 2.50, 7, NA, D1),
            ("2", "A1", "WHITE MUG", 1, 2.50, 8, UK, D1),
        ]
    )
    expected = frame(
        "daily_sales",
        [
            (D1, UK, 1, 1, 1, 2.50, 0.00, 2.50, 1, 2.50),
            (D1, "Unknown", 1, 1, 2, 5.00, 0.00, 5.00, 1, 5.00),
        ],
    )
    assert_mart(daily_sales(orders), expected)


def test_daily_sales_of_many_days_equals_per_day_calls(orders):
    whole = daily_sales(orders)
    per_day = pd.concat(
        [daily_sales(orders[orders["order_date"] == day]) for day in [D1, D2, D3, D4]],
        ignore_index=True,
    )
    assert_mart(whole, per_day)


def test_daily_sales_of_a_random_backfill_equals_per_day_calls():
    orders = random_orders(5_000, days=12, seed=3)
    per_day = pd.concat(
        [daily_sales(day_orders) for _, day_orders in orders.groupby("order_date")],
        ignore_index=True,
    )
    assert_mart(daily_sales(orders), per_day)


def test_net_revenue_reconciles_with_product_line_values():
    orders = random_orders(5_000, days=12, seed=4)
    sales = daily_sales(orders)
    net_per_day = sales.groupby("order_date")["net_revenue"].sum()
    products = orders[~orders["is_non_product"]]
    line_value_per_day = products.groupby("order_date")["line_value"].sum()
    # each (day, country) row is rounded to the cent once: at most half a cent apart
    countries_per_day = sales.groupby("order_date").size()
    gap = (net_per_day - line_value_per_day).abs()
    assert list(net_per_day.index) == list(line_value_per_day.index)
    assert (gap <= 0.005 * countries_per_day + 1e-9).all()


# ---------------------------------------------------------------- customer_rfm


def test_customer_rfm_by_hand(orders):
    # as_of = 2024-03-05 + 1 day. 2024 is a leap year: 02-10 -> 03-06 is 25 days.
    # Customer 105 only cancelled (L19) and the line without customer (L5) is dropped.
    # recency 25, 25, 1, 1 -> -recency ranks 1, 1, 3, 3 -> r = 1, 1, 3, 3
    # frequency 3, 2, 2, 2 -> ranks 4, 1, 1, 1 -> f = 4, 1, 1, 1
    # monetary 44.00, 7.30, 18.10, 20.00 -> ranks 4, 1, 2, 3 -> m = 4, 1, 2, 3
    # (score = 1 + floor(5 * (rank - 1) / 4))
    as_of = "2024-03-06"
    expected = frame(
        "customer_rfm",
        [
            # 101: L1 L2 L6 L9 L11 L12 = 15 + 15 - 5 + 3 + 10 + 6
            (101, as_of, D3, 25, 3, 44.00, 1, 4, 4, "At Risk"),
            # 102: L4 L10 L14 = 8 - 4 + 3.30
            (102, as_of, D3, 25, 2, 7.30, 1, 1, 1, "Hibernating"),
            # 103: L7 L8 L15 L16 = 12 + 0 + 1.10 + 5
            (103, as_of, D4, 1, 2, 18.10, 3, 1, 2, "Needs Attention"),
            # 104: L13 L17 L18 = 20 + 7.50 - 7.50
            (104, as_of, D4, 1, 2, 20.00, 3, 1, 3, "Needs Attention"),
        ],
    )
    assert_mart(customer_rfm(orders), expected)


def test_quintile_score_rule():
    # ranks (method "min") 1 2 2 4 5 6 7 8 9 10, n = 10: 1 + floor(5 * (rank - 1) / 10)
    metric = pd.Series([10, 20, 20, 30, 40, 50, 60, 70, 80, 90])
    assert quintile_score(metric).tolist() == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_score(pd.Series([7.5])).tolist() == [1]  # alone: rank 1
    assert quintile_score(pd.Series([3, 3, 3])).tolist() == [1, 1, 1]  # all tied
    assert str(quintile_score(metric).dtype) == "Int64"


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "Champions"),
        (4, 4, "Champions"),
        (3, 3, "Loyal Customers"),
        (5, 3, "Loyal Customers"),
        (3, 5, "Loyal Customers"),
        (4, 1, "New Customers"),
        (5, 1, "New Customers"),
        (4, 2, "Potential Loyalists"),
        (2, 3, "At Risk"),
        (1, 5, "At Risk"),
        (2, 2, "Hibernating"),
        (1, 1, "Hibernating"),
        (3, 1, "Needs Attention"),
        (3, 2, "Needs Attention"),
    ],
)
def test_rfm_segments_first_rule_wins(r, f, segment):
    segments = rfm_segments(pd.Series([r], dtype="Int64"), pd.Series([f], dtype="Int64"))
    assert segments.tolist() == [segment]


def test_rfm_scores_stay_within_1_to_5_on_random_data():
    rfm = customer_rfm(random_orders(20_000, days=60, seed=5))
    assert len(rfm) > 100
    for score in ["r_score", "f_score", "m_score"]:
        assert rfm[score].between(1, 5).all()
        assert set(rfm[score]) == {1, 2, 3, 4, 5}
    # a better metric never gets a lower score
    for metric, score in [("frequency", "f_score"), ("monetary", "m_score")]:
        ordered = rfm.sort_values(metric, kind="mergesort")
        assert ordered[score].is_monotonic_increasing
    assert rfm.sort_values("recency_days")["r_score"].is_monotonic_decreasing
    assert (rfm["recency_days"] >= 1).all()


# ---------------------------------------------------------- product_performance


def test_product_performance_by_hand(orders):
    jan, feb, mar = "2024-01-01", "2024-02-01", "2024-03-01"
    mug, candle, bag = "WHITE CERAMIC MUG", "RED CANDLE", "BLUE BAG"
    expected = frame(
        "product_performance",
        [
            # month, code, description, category, sold, revenue, returned, rate, rank
            (jan, "A1", mug, "Kitchen", 9, 22.50, 2, 0.2222, 1),  # L1 L5 | L6: 2/9
            (jan, "B2", candle, "Home", 22, 15.00, 0, 0.0, 2),  # L2 L8
            (jan, "C3", bag, "Bags", 2, 8.00, 1, 0.5, 4),  # L4 | L10
            # D4 not catalogued: GIFT BOX seen twice (L7 L12), BOX GIFT once (L9)
            (jan, "D4", "GIFT BOX", "Unknown", 5, 15.00, 0, 0.0, 2),  # ties B2
            (feb, "A1", mug, "Kitchen", 4, 10.00, 0, 0.0, 2),
            (feb, "C3", bag, "Bags", 5, 20.00, 0, 0.0, 1),
            (feb, "D4", "GIFT BOX", "Unknown", 2, 6.00, 0, 0.0, 3),
            # E5 not catalogued: TEA TOWEL once, TOWEL TEA once -> alphabetically first
            (feb, "E5", "TEA TOWEL", "Unknown", 3, 3.30, 0, 0.0, 4),
            (mar, "A1", mug, "Kitchen", 2, 5.00, 0, 0.0, 2),
            (mar, "B2", candle, "Home", 6, 7.50, 6, 1.0, 1),  # L17 | L18
            (mar, "C3", bag, "Bags", 0, 0.00, 1, NA, 4),  # only L19: no rate
            (mar, "E5", "TEA TOWEL", "Unknown", 1, 1.10, 0, 0.0, 3),
        ],
    )
    assert_mart(product_performance(orders, make_products()), expected)


def test_product_performance_keeps_a_null_code_and_ignores_null_descriptions():
    orders = make_orders(
        [
            ("1", NA, "MYSTERY", 2, 1.50, 7, UK, D1),  # 3.00
            ("2", "A1", "WHITE MUG", 1, 2.50, 7, UK, D1),  # 2.50
            ("3", "Z9", NA, 1, 2.50, 7, UK, D1),
            ("4", "Z9", "ZED", 1, 2.50, 7, UK, D1),
            ("5", "Z9", NA, 1, 2.50, 7, UK, D1),  # Z9: 7.50, named ZED despite 2 nulls
        ]
    )
    jan = "2024-01-01"
    expected = frame(
        "product_performance",
        [
            (jan, "A1", "WHITE CERAMIC MUG", "Kitchen", 1, 2.50, 0, 0.0, 3),
            (jan, "Z9", "ZED", "Unknown", 3, 7.50, 0, 0.0, 1),
            (jan, NA, "MYSTERY", "Unknown", 2, 3.00, 0, 0.0, 2),
        ],
    )
    assert_mart(product_performance(orders, make_products()), expected)


# ------------------------------------------------------------- cohort_retention


def test_cohort_retention_by_hand(orders):
    # first non-cancelled product month: 101 Jan, 102 Jan, 103 Jan, 104 Feb;
    # 105 only cancelled, L5 has no customer.
    # active: Jan {101 102 103}, Feb {101 102 104}, Mar {103 104}
    jan, feb = "2024-01-01", "2024-02-01"
    expected = frame(
        "cohort_retention",
        [
            (jan, 0, 3, 3, 1.0),
            (jan, 1, 3, 2, 0.6667),  # 101 102
            (jan, 2, 3, 1, 0.3333),  # 103
            (feb, 0, 1, 1, 1.0),
            (feb, 1, 1, 1, 1.0),  # 104
        ],
    )
    assert_mart(cohort_retention(orders), expected)


def test_cohort_month_offset_crosses_the_year():
    orders = make_orders(
        [
            ("1", "A1", "WHITE MUG", 1, 2.50, 7, UK, "2023-12-31"),
            ("2", "A1", "WHITE MUG", 1, 2.50, 7, UK, "2024-02-01"),
        ]
    )
    expected = frame(
        "cohort_retention", [("2023-12-01", 0, 1, 1, 1.0), ("2023-12-01", 2, 1, 1, 1.0)]
    )
    assert_mart(cohort_retention(orders), expected)


# --------------------------------------------------------------- shared contract


def run_all(orders: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "daily_sales": daily_sales(orders),
        "customer_rfm": customer_rfm(orders),
        "product_performance": product_performance(orders, make_products()),
        "cohort_retention": cohort_retention(orders),
    }


def test_outputs_follow_gold_schemas_and_keys(orders):
    for mart, result in run_all(orders).items():
        assert {c: str(t) for c, t in result.dtypes.items()} == GOLD_SCHEMAS[mart]
        assert not result.duplicated(GOLD_KEYS[mart]).any()
        assert result.index.equals(pd.RangeIndex(len(result)))


@pytest.mark.parametrize("string_dtype", ["string", "string[pyarrow]"])
def test_empty_input_gives_empty_typed_output(string_dtype):
    empty = make_orders(string_dtype=string_dtype).iloc[0:0]
    for mart, result in run_all(empty).items():
        assert len(result) == 0
        assert {c: str(t) for c, t in result.dtypes.items()} == GOLD_SCHEMAS[mart]


def test_input_is_left_untouched(orders):
    before = orders.copy()
    run_all(orders)
    pd.testing.assert_frame_equal(orders, before)


def test_each_mart_needs_only_its_declared_orders_columns(orders):
    """The lake reads only ORDERS_COLUMNS[mart] for a mart: the result must not change."""
    from etl_assets.marts.retail import ORDERS_COLUMNS

    everything = run_all(orders)
    marts = {
        "daily_sales": daily_sales,
        "customer_rfm": customer_rfm,
        "product_performance": lambda o: product_performance(o, make_products()),
        "cohort_retention": cohort_retention,
    }
    assert set(marts) == set(ORDERS_COLUMNS)
    for mart, columns in ORDERS_COLUMNS.items():
        assert_mart(marts[mart](orders[columns]), everything[mart])


def test_marts_are_the_same_with_categorical_product_columns():
    """The whole-history marts get stock_code and description as categoricals."""
    from etl_assets.transforms.gold.products import CATEGORY_COLUMNS

    orders = random_orders(5000, days=40, seed=11)
    compact = orders.copy()
    for column in CATEGORY_COLUMNS:
        compact[column] = compact[column].astype("category")
    for mart, result in run_all(compact).items():
        assert_mart(result, run_all(orders)[mart])


def test_missing_column_is_reported():
    with pytest.raises(KeyError, match="line_value"):
        daily_sales(make_orders().drop(columns=["line_value"]))


# ------------------------------------------------------------------- random data


def random_orders(n: int, days: int, seed: int) -> pd.DataFrame:
    """Random silver orders: invoices of 1-6 lines, ~5% cancelled, some non-product
    lines, some missing customers, a few zero prices."""
    rng = np.random.default_rng(seed)
    invoice_of_line = np.sort(rng.integers(0, n // 3, n))
    invoices = np.unique(invoice_of_line)
    cancelled = rng.random(invoices.size) < 0.05
    day = rng.integers(0, days, invoices.size)
    customer = rng.integers(1, 800, invoices.size).astype("float64")
    customer[rng.random(invoices.size) < 0.1] = np.nan
    country = rng.choice(["United Kingdom", "France", "Germany", "EIRE"], invoices.size)
    at = np.searchsorted(invoices, invoice_of_line)
    codes = rng.choice(["A1", "B2", "C3", "D4", "E5", "POST"], n)
    quantity = rng.integers(1, 24, n) * np.where(cancelled[at], -1, 1)
    price = np.round(rng.choice([0.0, 0.42, 1.25, 2.95, 12.75], n), 2)
    prefix = np.where(cancelled[at], "C", "")
    lines = list(
        zip(
            np.char.add(prefix, invoice_of_line.astype(str)).tolist(),
            codes.tolist(),
            codes.tolist(),
            quantity.tolist(),
            price.tolist(),
            [NA if np.isnan(c) else int(c) for c in customer[at]],
            country[at].tolist(),
            (pd.Timestamp("2024-01-01") + pd.to_timedelta(day[at], unit="D")).astype(str),
            strict=True,
        )
    )
    return make_orders(lines, string_dtype="string[pyarrow]")
