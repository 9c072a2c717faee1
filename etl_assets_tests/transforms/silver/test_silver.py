import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from etl_assets.sources import ColumnSpec, load_sources
from etl_assets.sources.reserved_columns import (
    CONFLICTING_DUPLICATE_KEY,
    DATE_OUTSIDE_LATE_WINDOW,
    REJECT_REASON_PREFIXES,
)
from etl_assets.transforms.silver import (
    cast_column,
    clean_source,
    quarantine_schema,
    reject_reasons,
    silver_schema,
)
from etl_assets.transforms.silver.clean import _check_accounting

STRING = "string[pyarrow]"
SPECS = load_sources()
ORDERS, CUSTOMERS, PRODUCTS = SPECS["orders"], SPECS["customers"], SPECS["products"]
KEY = b"test-pii-key"
LANDING = "2010-12-02"

GOOD_ORDER = {
    "InvoiceNo": "536365",
    "StockCode": "85123A",
    "Description": "WHITE HANGING HEART",
    "Quantity": "6",
    "InvoiceDate": "12/2/2010 8:26",
    "UnitPrice": "2.55",
    "CustomerID": "17850.0",
    "Country": "United Kingdom",
}


def order(**changes):
    return {**GOOD_ORDER, **changes}


def bronze(spec, lines, *, landing=LANDING, read_errors=None, first_row=1):
    """A bronze frame as the bronze transform builds it: strings as read plus lineage."""
    frame = pd.DataFrame(
        {
            name: pd.array([line.get(name) for line in lines], dtype=STRING)
            for name in spec.raw_columns
        }
    )
    count = len(lines)
    day = pd.Timestamp(landing) if landing else pd.NaT
    path = spec.path.replace("{date}", landing) if landing else spec.path
    frame["_source_file"] = pd.array([path] * count, dtype=STRING)
    frame["_batch_id"] = pd.array(["run-1"] * count, dtype=STRING)
    frame["_ingested_at"] = pd.Series(
        [pd.Timestamp("2024-06-01", tz="UTC")] * count, dtype="datetime64[ns, UTC]"
    )
    frame["_row_number"] = np.arange(first_row, first_row + count, dtype=np.int64)
    frame["_landing_date"] = pd.Series([day] * count, dtype="datetime64[ns]")
    frame["_read_error"] = pd.array(read_errors or [None] * count, dtype=STRING)
    return frame


def clean(spec, frame, **kwargs):
    """clean_source plus the checks every result must pass: accounting and schemas."""
    kwargs.setdefault("pii_key", KEY)
    result = clean_source(frame, spec, **kwargs)
    rows_out = len(result.clean) + len(result.quarantine) + result.duplicates_removed
    assert result.rows_in == rows_out
    assert_schema(result.clean, silver_schema(spec))
    assert_schema(result.quarantine, quarantine_schema(spec))
    assert sum(result.reject_counts.values()) == len(result.quarantine)
    assert set(result.reject_counts) == set(reject_reasons(spec))
    assert list(result.clean.index) == list(range(len(result.clean)))
    assert list(result.quarantine.index) == list(range(len(result.quarantine)))
    return result


def assert_schema(frame, schema):
    assert list(frame.columns) == list(schema)
    for column, dtype in schema.items():
        assert frame[column].dtype == pd.api.types.pandas_dtype(dtype), column


def only_reject(result):
    assert len(result.quarantine) == 1 and len(result.clean) == 0
    row = result.quarantine.iloc[0]
    return row["_reject_reason"], row["_reject_detail"]


# --------------------------------------------------------------------------- clean rows


def test_orders_clean_rows_are_typed_standardised_and_derived():
    lines = [
        order(),
        order(
            InvoiceNo=" c536379 ",
            StockCode=" d ",
            Description="  discount   line ",
            Quantity="-1",
            UnitPrice="27.50",
            CustomerID="14527",
            Country="eire",
        ),
        order(
            InvoiceNo="536366",
            StockCode="post",
            Quantity="+2",
            UnitPrice="18",
            CustomerID="",
            Country=" usa ",
        ),
    ]
    result = clean(ORDERS, bronze(ORDERS, lines))
    expected = pd.DataFrame(
        {
            "invoice_no": pd.array(["536365", "C536379", "536366"], dtype=STRING),
            "stock_code": pd.array(["85123A", "D", "POST"], dtype=STRING),
            "description": pd.array(
                ["WHITE HANGING HEART", "DISCOUNT LINE", "WHITE HANGING HEART"], dtype=STRING
            ),
            "quantity": pd.array([6, -1, 2], dtype="Int64"),
            "invoice_date": pd.to_datetime(["2010-12-02 08:26"] * 3),
            "unit_price": pd.array([2.55, 27.5, 18.0], dtype="Float64"),
            "customer_id": pd.array([17850, 14527, None], dtype="Int64"),
            "country": pd.array(["United Kingdom", "Ireland", "United States"], dtype=STRING),
            "is_cancellation": pd.array([False, True, False], dtype="boolean"),
            "is_non_product": pd.array([False, True, True], dtype="boolean"),
            "line_value": pd.array([6 * 2.55, -27.5, 36.0], dtype="Float64"),
            "order_date": pd.to_datetime([LANDING] * 3),
            "_source_file": pd.array(["orders/orders_2010-12-02.csv"] * 3, dtype=STRING),
            "_batch_id": pd.array(["run-1"] * 3, dtype=STRING),
            "_row_number": np.array([1, 2, 3], dtype=np.int64),
            "_landing_date": pd.to_datetime([LANDING] * 3),
        }
    )
    pd.testing.assert_frame_equal(result.clean, expected)
    assert (result.rows_in, result.duplicates_removed, result.late_rows) == (3, 0, 0)
    assert len(result.quarantine) == 0


def test_derived_flags_are_false_when_their_column_is_null():
    lines = [{"StockCode": "X", "Description": "", "Category": "  ", "UnitPrice": "1"}]
    result = clean(PRODUCTS, bronze(PRODUCTS, lines, landing=None))
    assert result.clean["category"].isna().all()
    assert result.clean["is_non_product"].tolist() == [False]


def test_null_strings_stay_null_in_silver():
    line = {"CustomerID": "1", "Email": "", "Country": "   "}
    result = clean(CUSTOMERS, bronze(CUSTOMERS, [line], landing="2024-01-01"))
    assert result.clean["email_hash"].isna().all() and result.clean["country"].isna().all()


def test_products_are_unpartitioned_with_a_category_flag():
    lines = [
        {"StockCode": "85123a", "Description": "heart", "Category": " Home ", "UnitPrice": "2.55"},
        {"StockCode": "POST", "Description": "postage", "Category": "Non-product", "UnitPrice": ""},
    ]
    result = clean(PRODUCTS, bronze(PRODUCTS, lines, landing=None))
    expected = pd.DataFrame(
        {
            "stock_code": pd.array(["85123A", "POST"], dtype=STRING),
            "description": pd.array(["HEART", "POSTAGE"], dtype=STRING),
            "category": pd.array(["Home", "Non-product"], dtype=STRING),
            "list_price": pd.array([2.55, None], dtype="Float64"),
            "is_non_product": pd.array([False, True], dtype="boolean"),
            "_source_file": pd.array(["products/products.csv"] * 2, dtype=STRING),
            "_batch_id": pd.array(["run-1"] * 2, dtype=STRING),
            "_row_number": np.array([1, 2], dtype=np.int64),
            "_landing_date": pd.to_datetime([pd.NaT, pd.NaT]),
        }
    )
    pd.testing.assert_frame_equal(result.clean, expected)
    assert result.late_rows == 0


def test_days_are_refused_for_unpartitioned_sources():
    with pytest.raises(ValueError, match="not partitioned by day"):
        clean_source(bronze(PRODUCTS, [], landing=None), PRODUCTS, days=[pd.Timestamp(LANDING)])


# --------------------------------------------------------------------------- casts


def cast(values, type_, **spec):
    column = ColumnSpec(name="Raw", target="raw", type=type_, **spec)
    return cast_column(pd.Series(values, dtype=STRING), column)


def listed(cast_result):
    values = cast_result.values_at(np.arange(len(cast_result.codes)))
    return [None if pd.isna(v) else v for v in values]


def test_int_cast():
    result = cast(
        ["17850.0", "+5", "-0", " 42 ", "007", "1.5", "1e3", "12x", "9" * 19, "", None], "int"
    )
    assert listed(result) == [17850, 5, 0, 42, 7, None, None, None, None, None, None]
    assert result.values.dtype == "Int64"
    assert result.failing("unparseable").tolist() == [False] * 5 + [True] * 4 + [False] * 2


def test_float_cast():
    result = cast(
        ["2.55", ".5", "1.", "-3", " +4.25 ", "nan", "inf", "-Infinity", "1e5", "abc", "1,5", ""],
        "float",
    )
    assert listed(result) == [2.55, 0.5, 1.0, -3.0, 4.25] + [None] * 7
    assert result.values.dtype == "Float64"
    assert result.failing("unparseable").tolist() == [False] * 5 + [True] * 6 + [False]


def test_float_cast_rejects_numbers_too_long_to_be_finite():
    assert cast(["1" * 400], "float").failing("unparseable").tolist() == [True]


def test_datetime_cast_uses_the_declared_format():
    result = cast(
        ["12/1/2010 8:26", " 01/31/2011 23:59 ", "2010-12-01 08:26", "13/1/2010 8:26", ""],
        "datetime",
        formats=("%m/%d/%Y %H:%M",),
    )
    assert listed(result) == [
        pd.Timestamp("2010-12-01 08:26"),
        pd.Timestamp("2011-01-31 23:59"),
        None,
        None,
        None,
    ]
    assert result.values.dtype == "datetime64[ns]"
    assert result.failing("unparseable").tolist() == [False, False, True, True, False]


def test_bool_cast():
    result = cast(["true", "FALSE", "1", "0", " Yes ", "no", "maybe", ""], "bool")
    assert listed(result) == [True, False, True, False, True, False, None, None]
    assert result.values.dtype == "boolean"
    assert result.failing("unparseable").tolist() == [False] * 6 + [True, False]


def test_required_and_minimum_rules_of_a_cast():
    result = cast(["", "  ", None, "-1", "0", "x"], "int", required=True, minimum=0)
    assert result.failing("missing").tolist() == [True, True, True, False, False, False]
    assert result.failing("below_minimum").tolist() == [False, False, False, True, False, False]
    assert result.failing("unparseable").tolist() == [False] * 5 + [True]


# --------------------------------------------------------------------------- rejects


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"InvoiceNo": ""}, "missing_invoice_no", "InvoiceNo='' is required but empty"),
        ({"InvoiceNo": "   "}, "missing_invoice_no", "InvoiceNo='   ' is required but empty"),
        ({"StockCode": None}, "missing_stock_code", "StockCode is required but missing"),
        ({"Quantity": "12x"}, "unparseable_quantity", "Quantity='12x' is not an integer"),
        ({"Quantity": "1.5"}, "unparseable_quantity", "Quantity='1.5' is not an integer"),
        ({"Quantity": ""}, "missing_quantity", "Quantity='' is required but empty"),
        (
            {"InvoiceDate": "2010-12-02 08:26"},
            "unparseable_invoice_date",
            "InvoiceDate='2010-12-02 08:26' is not a datetime (tried '%m/%d/%Y %H:%M', "
            "'%Y-%m-%d %H:%M:%S')",
        ),
        ({"InvoiceDate": ""}, "missing_invoice_date", "InvoiceDate='' is required but empty"),
        ({"UnitPrice": "nan"}, "unparseable_unit_price", "UnitPrice='nan' is not a number"),
        (
            {"UnitPrice": "-0.01"},
            "below_minimum_unit_price",
            "UnitPrice='-0.01' is below the minimum 0",
        ),
        (
            {"CustomerID": "17850.5"},
            "unparseable_customer_id",
            "CustomerID='17850.5' is not an integer",
        ),
        (
            {"InvoiceDate": "11/30/2010 9:00"},
            DATE_OUTSIDE_LATE_WINDOW,
            "InvoiceDate='11/30/2010 9:00' is outside the late-arrival window "
            "[2010-12-01, 2010-12-02] of its landing day",
        ),
        (
            {"InvoiceDate": "12/3/2010 0:00"},
            DATE_OUTSIDE_LATE_WINDOW,
            "InvoiceDate='12/3/2010 0:00' is outside the late-arrival window "
            "[2010-12-01, 2010-12-02] of its landing day",
        ),
    ],
)
def test_each_reject_reason_with_its_detail(changes, reason, detail):
    line = order(**changes)
    result = clean(ORDERS, bronze(ORDERS, [line]))
    assert only_reject(result) == (reason, detail)
    row = result.quarantine.iloc[0]
    # rejected rows keep their raw strings and stay with their landing day
    assert [None if pd.isna(row[n]) else row[n] for n in ORDERS.raw_columns] == list(line.values())
    assert row["order_date"] == pd.Timestamp(LANDING)
    assert result.reject_counts[reason] == 1


@pytest.mark.parametrize(
    ("read_error", "detail"),
    [
        ("invalid_encoding", "the line is not valid UTF-8; its bytes were read as latin-1"),
        ("malformed_line", "the line does not have the declared number of fields"),
    ],
)
def test_read_errors_come_first_and_stay_on_the_landing_day(read_error, detail):
    # the line is dated the day before, which would otherwise be its day
    line = order(InvoiceDate="12/1/2010 8:00", Quantity="12x", Description="CAFÃ")
    result = clean(ORDERS, bronze(ORDERS, [line], read_errors=[read_error]))
    assert only_reject(result) == (read_error, detail)
    row = result.quarantine.iloc[0]
    assert row["_read_error"] == read_error
    assert row["Description"] == "CAFÃ"
    assert row["order_date"] == pd.Timestamp(LANDING)
    assert result.late_rows == 0


def test_the_first_failing_rule_in_declaration_order_wins():
    lines = [
        order(Quantity="12x", UnitPrice="-1", InvoiceDate="1/1/2000 0:00"),
        order(UnitPrice="-1", InvoiceDate="1/1/2000 0:00"),
        order(StockCode="", Quantity=""),
    ]
    result = clean(ORDERS, bronze(ORDERS, lines))
    assert result.quarantine["_reject_reason"].tolist() == [
        "unparseable_quantity",
        "below_minimum_unit_price",
        "missing_stock_code",
    ]


def test_a_declared_column_absent_from_the_file_is_null():
    frame = bronze(ORDERS, [order()]).drop(columns=["CustomerID"])
    result = clean(ORDERS, frame)
    assert result.clean["customer_id"].isna().all()

    frame = bronze(ORDERS, [order()]).drop(columns=["Quantity"])
    result = clean(ORDERS, frame)
    assert only_reject(result) == ("missing_quantity", "Quantity is required but missing")


def test_reject_reasons_are_a_closed_set_per_spec():
    assert reject_reasons(ORDERS) == [
        "invalid_encoding",
        "malformed_line",
        "missing_invoice_no",
        "missing_stock_code",
        "missing_quantity",
        "unparseable_quantity",
        "missing_invoice_date",
        "unparseable_invoice_date",
        "missing_unit_price",
        "unparseable_unit_price",
        "below_minimum_unit_price",
        "unparseable_customer_id",
        DATE_OUTSIDE_LATE_WINDOW,
    ]  # no conflicting_duplicate_key: the orders key is every column
    assert reject_reasons(CUSTOMERS) == [
        "invalid_encoding",
        "malformed_line",
        "missing_customer_id",
        "unparseable_customer_id",
        CONFLICTING_DUPLICATE_KEY,
    ]
    assert reject_reasons(PRODUCTS)[-2:] == ["below_minimum_list_price", CONFLICTING_DUPLICATE_KEY]
    assert REJECT_REASON_PREFIXES == ("missing_", "unparseable_", "below_minimum_")


def test_unknown_read_errors_and_missing_lineage_are_refused():
    with pytest.raises(ValueError, match="unknown _read_error values \\['oops'\\]"):
        clean_source(bronze(ORDERS, [order()], read_errors=["oops"]), ORDERS)
    with pytest.raises(ValueError, match="lacks the lineage columns \\['_batch_id'\\]"):
        clean_source(bronze(ORDERS, [order()]).drop(columns="_batch_id"), ORDERS)


def test_empty_read_error_strings_count_as_clean_lines():
    result = clean(ORDERS, bronze(ORDERS, [order()], read_errors=[""]))
    assert len(result.clean) == 1


# --------------------------------------------------------------------------- days


def two_landing_days():
    """File 12-01 with two lines; file 12-02 with a late line of 12-01 and one of 12-02."""
    day_one = bronze(
        ORDERS,
        [
            order(InvoiceNo="A1", InvoiceDate="12/1/2010 9:00"),
            order(InvoiceNo="A2", InvoiceDate="12/1/2010 10:00"),
        ],
        landing="2010-12-01",
    )
    day_two = bronze(
        ORDERS,
        [
            order(InvoiceNo="B1", InvoiceDate="12/1/2010 23:59"),
            order(InvoiceNo="B2", InvoiceDate="12/2/2010 0:00"),
        ],
        landing="2010-12-02",
    )
    return pd.concat([day_two, day_one], ignore_index=True)  # order of files does not matter


def test_late_rows_are_assigned_to_the_day_of_their_date():
    result = clean(ORDERS, two_landing_days())
    assert result.clean["invoice_no"].tolist() == ["A1", "A2", "B1", "B2"]
    assert result.clean["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2010-12-01",
        "2010-12-01",
        "2010-12-01",
        "2010-12-02",
    ]
    assert result.clean["_landing_date"].dt.strftime("%m-%d").tolist() == [
        "12-01",
        "12-01",
        "12-02",
        "12-02",
    ]
    assert (result.rows_in, result.late_rows) == (4, 1)


def test_days_keep_only_the_rows_assigned_to_them():
    day_one = clean(ORDERS, two_landing_days(), days=[pd.Timestamp("2010-12-01")])
    assert day_one.clean["invoice_no"].tolist() == ["A1", "A2", "B1"]
    assert (day_one.rows_in, day_one.late_rows) == (3, 1)

    day_two = clean(ORDERS, two_landing_days(), days=["2010-12-02"])
    assert day_two.clean["invoice_no"].tolist() == ["B2"]
    assert (day_two.rows_in, day_two.late_rows) == (1, 0)

    neither = clean(ORDERS, two_landing_days(), days=[pd.Timestamp("2010-12-05")])
    assert (neither.rows_in, len(neither.clean), len(neither.quarantine)) == (0, 0, 0)


def test_days_filter_quarantine_and_duplicates_alike():
    frame = bronze(
        ORDERS,
        [
            order(InvoiceNo="L", InvoiceDate="12/1/2010 8:00"),  # late, day 12-01
            order(InvoiceNo="L", InvoiceDate="12/1/2010 8:00"),  # its duplicate, day 12-01
            order(Quantity="x", InvoiceDate="12/1/2010 8:00"),  # rejected, date parsed: 12-01
            order(InvoiceDate="bad"),  # rejected, unparseable date: landing day 12-02
        ],
    )
    day_one = clean(ORDERS, frame, days=[pd.Timestamp("2010-12-01")])
    assert (day_one.rows_in, len(day_one.clean), day_one.duplicates_removed) == (3, 1, 1)
    assert day_one.quarantine["_reject_reason"].tolist() == ["unparseable_quantity"]
    assert day_one.late_rows == 3
    day_two = clean(ORDERS, frame, days=[pd.Timestamp("2010-12-02")])
    assert (day_two.rows_in, len(day_two.clean), day_two.duplicates_removed) == (1, 0, 0)
    assert day_two.quarantine["_reject_reason"].tolist() == ["unparseable_invoice_date"]


def test_output_order_does_not_depend_on_input_order():
    frame = two_landing_days()
    shuffled = frame.sample(frac=1, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(clean(ORDERS, frame).clean, clean(ORDERS, shuffled).clean)


# --------------------------------------------------------------------------- duplicates


def test_exact_duplicates_after_standardising_are_removed_and_counted():
    lines = [order(), order(InvoiceNo=" 536365 ", Country="uk"), order(Quantity="7"), order()]
    result = clean(ORDERS, bronze(ORDERS, lines))
    assert result.duplicates_removed == 2
    assert result.clean["quantity"].tolist() == [6, 7]
    assert result.clean["_row_number"].tolist() == [1, 3]  # the first line is the one kept
    assert len(result.quarantine) == 0


def test_a_late_line_duplicating_its_days_line_is_a_duplicate_kept_from_the_earlier_file():
    day_one = bronze(
        ORDERS, [order(InvoiceDate="12/1/2010 9:00")], landing="2010-12-01", first_row=5
    )
    day_two = bronze(ORDERS, [order(InvoiceDate="12/1/2010 9:00")], landing="2010-12-02")
    result = clean(ORDERS, pd.concat([day_two, day_one], ignore_index=True))
    assert result.duplicates_removed == 1
    assert result.clean["_source_file"].tolist() == ["orders/orders_2010-12-01.csv"]


def customer(customer_id, email, country):
    return {"CustomerID": customer_id, "Email": email, "Country": country}


def test_conflicting_business_keys_are_quarantined_and_exact_repeats_removed():
    lines = [
        customer("1", "a@x.com", "France"),
        customer("1.0", " A@X.com ", "france"),  # the same customer after standardising
        customer("1", "a@x.com", "Spain"),  # same key, another country
        customer("2", "b@x.com", "Spain"),
    ]
    result = clean(CUSTOMERS, bronze(CUSTOMERS, lines, landing="2024-01-01"))
    assert result.clean["customer_id"].tolist() == [1, 2]
    assert result.duplicates_removed == 1
    assert only_conflict(result) == (
        CONFLICTING_DUPLICATE_KEY,
        "business key (customer_id) already kept from customers/customers_2024-01-01.csv "
        "row 1; differs in country",
    )
    assert result.quarantine["snapshot_date"].tolist() == [pd.Timestamp("2024-01-01")]


def only_conflict(result):
    assert len(result.quarantine) == 1
    row = result.quarantine.iloc[0]
    return row["_reject_reason"], row["_reject_detail"]


def test_the_same_key_on_different_days_is_no_duplicate():
    frame = pd.concat(
        [
            bronze(CUSTOMERS, [customer("1", "a@x.com", "France")], landing="2024-01-01"),
            bronze(CUSTOMERS, [customer("1", "a@x.com", "Spain")], landing="2024-01-02"),
        ],
        ignore_index=True,
    )
    result = clean(CUSTOMERS, frame)
    assert result.clean["snapshot_date"].dt.day.tolist() == [1, 2]
    assert (result.duplicates_removed, len(result.quarantine)) == (0, 0)


def test_conflicts_name_every_differing_column():
    lines = [customer("1", "a@x.com", "France"), customer("1", "b@x.com", "Spain")]
    result = clean(CUSTOMERS, bronze(CUSTOMERS, lines, landing="2024-01-01"))
    assert only_conflict(result)[1].endswith("differs in email_hash, country")


def test_products_conflict_on_stock_code():
    lines = [
        {"StockCode": "A", "Description": "one", "Category": "Home", "UnitPrice": "1"},
        {"StockCode": "a", "Description": "one", "Category": "Home", "UnitPrice": "2"},
    ]
    result = clean(PRODUCTS, bronze(PRODUCTS, lines, landing=None))
    assert only_conflict(result)[1] == (
        "business key (stock_code) already kept from products/products.csv row 1; "
        "differs in list_price"
    )
    assert "snapshot_date" not in result.quarantine and "order_date" not in result.quarantine


# --------------------------------------------------------------------------- accounting


def test_accounting_holds_on_a_mixed_frame_and_counts_every_reason():
    lines = [
        order(),
        order(),
        order(Quantity="x"),
        order(UnitPrice="-1"),
        order(InvoiceNo=""),
        order(InvoiceDate="12/1/2010 1:00"),
        order(InvoiceDate="1/1/2011 1:00"),
    ]
    result = clean(ORDERS, bronze(ORDERS, lines, read_errors=[None] * 6 + ["malformed_line"]))
    assert (result.rows_in, len(result.clean), result.duplicates_removed) == (7, 2, 1)
    counts = {reason: n for reason, n in result.reject_counts.items() if n}
    assert counts == {
        "unparseable_quantity": 1,
        "below_minimum_unit_price": 1,
        "missing_invoice_no": 1,
        "malformed_line": 1,
    }


def test_broken_accounting_raises_a_clear_error():
    with pytest.raises(RuntimeError, match="row accounting broken for source 'orders': 5 bronze"):
        _check_accounting(ORDERS, 5, 3, 1, 0)


@pytest.mark.parametrize("spec", [ORDERS, CUSTOMERS, PRODUCTS], ids=lambda s: s.name)
def test_empty_bronze_gives_empty_frames_with_the_schema(spec):
    result = clean(spec, bronze(spec, [], landing=LANDING if spec.is_daily else None))
    assert (result.rows_in, len(result.clean), len(result.quarantine)) == (0, 0, 0)


def test_everything_rejected_still_has_the_schema():
    result = clean(ORDERS, bronze(ORDERS, [order(Quantity="x"), order(UnitPrice="y")]))
    assert len(result.clean) == 0 and len(result.quarantine) == 2


def test_schemas_list_the_declared_columns():
    assert silver_schema(ORDERS) == {
        "invoice_no": STRING,
        "stock_code": STRING,
        "description": STRING,
        "quantity": "Int64",
        "invoice_date": "datetime64[ns]",
        "unit_price": "Float64",
        "customer_id": "Int64",
        "country": STRING,
        "is_cancellation": "boolean",
        "is_non_product": "boolean",
        "line_value": "Float64",
        "order_date": "datetime64[ns]",
        "_source_file": STRING,
        "_batch_id": STRING,
        "_row_number": "int64",
        "_landing_date": "datetime64[ns]",
    }
    assert list(quarantine_schema(CUSTOMERS)) == [
        "CustomerID",
        "Email",
        "Country",
        "_reject_reason",
        "_reject_detail",
        "snapshot_date",
        "_source_file",
        "_batch_id",
        "_row_number",
        "_landing_date",
        "_read_error",
    ]


# --------------------------------------------------------------------------- PII


def digest(value, key=KEY):
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def test_emails_are_hashed_after_standardising_and_never_leave_in_clear():
    secret = "Alice.Smith@Example.com"
    lines = [
        customer("1", f"  {secret} ", "France"),
        customer("", secret, "France"),  # rejected: missing customer id
        customer("2", "", "Spain"),
    ]
    result = clean(CUSTOMERS, bronze(CUSTOMERS, lines, landing="2024-01-01"))
    assert result.clean["email_hash"].tolist()[0] == digest("alice.smith@example.com")
    assert pd.isna(result.clean["email_hash"].iloc[1])
    assert result.quarantine["Email"].tolist() == [digest("alice.smith@example.com")]
    for frame in (result.clean, result.quarantine):
        text = frame.astype(str).to_string().lower()
        assert "alice" not in text and "example.com" not in text


def test_hashes_are_deterministic_and_key_dependent():
    frame = bronze(CUSTOMERS, [customer("1", "a@x.com", "France")], landing="2024-01-01")
    first = clean(CUSTOMERS, frame).clean["email_hash"].iloc[0]
    again = clean(CUSTOMERS, frame).clean["email_hash"].iloc[0]
    other = clean(CUSTOMERS, frame, pii_key=b"another-key").clean["email_hash"].iloc[0]
    assert first == again == digest("a@x.com")
    assert other != first


def test_a_pii_source_without_a_key_is_refused():
    frame = bronze(CUSTOMERS, [customer("1", "a@x.com", "France")], landing="2024-01-01")
    with pytest.raises(ValueError, match="no pii_key"):
        clean_source(frame, CUSTOMERS)


# ----------------------------------------------------------------- day by day


def _sample_bronze(sample_of, days: int, rows_per_day: int) -> tuple[pd.DataFrame, list[str]]:
    """Bronze orders of a generated sample (late rows, duplicates, dirt of every kind)."""
    import json

    from etl_assets.connectors.files import LandingFiles
    from etl_assets.transforms.bronze import frame_bronze
    from etl_assets.transforms.csv_reader import read_landing_csv

    sample = sample_of(days=days, rows_per_day=rows_per_day, seed=3)
    manifest = json.loads((sample / "landing" / "manifest.json").read_text())
    spec = load_sources()["orders"]
    landing = LandingFiles(base_dir=str(sample / "landing"))
    frames = []
    keys = sorted(manifest["orders"])
    for day in keys:
        relative = landing.path_for(spec.path, day)
        read = read_landing_csv(
            landing.read_bytes(relative),
            source_file=relative,
            expected_columns=spec.raw_columns,
            required_columns=spec.required_raw_columns,
        )
        frames.append(
            frame_bronze(
                read,
                source_file=relative,
                batch_id=relative,
                ingested_at=pd.Timestamp("2024-02-01", tz="UTC"),
                landing_date=pd.Timestamp(day),
            )
        )
    return pd.concat(frames, ignore_index=True), keys


def test_a_day_plus_its_late_rows_cleans_as_the_whole_range_does(sample_of):
    """Range runs clean a day at a time: the day's file plus rows_of_days of the next
    file. The result must equal cleaning every file at once, day for day."""
    from etl_assets.transforms.silver import combine_results, rows_of_days

    spec = load_sources()["orders"]
    bronze_all, keys = _sample_bronze(sample_of, days=4, rows_per_day=3000)
    days = [pd.Timestamp(key) for key in keys[:-1]]  # the last day's late rows are not landed
    whole = clean_source(bronze_all, spec, days=days)

    per_day = []
    for day in days:
        own = bronze_all[bronze_all["_landing_date"] == day]
        nxt = bronze_all[bronze_all["_landing_date"] == day + pd.Timedelta(days=1)]
        window = pd.concat([own, rows_of_days(nxt, spec, [day])], ignore_index=True)
        per_day.append(clean_source(window, spec, days=[day]))
    combined = combine_results(per_day)

    assert whole.late_rows > 0 and whole.duplicates_removed > 0 and len(whole.quarantine) > 0
    pd.testing.assert_frame_equal(combined.clean, whole.clean)
    pd.testing.assert_frame_equal(combined.quarantine, whole.quarantine)
    assert combined.rows_in_by_day == whole.rows_in_by_day
    assert combined.duplicates_by_day == whole.duplicates_by_day
    assert combined.reject_counts == whole.reject_counts
    assert (combined.rows_in, combined.late_rows) == (whole.rows_in, whole.late_rows)
