"""Silver frames are typed from the declaration: drift fails at the boundary, naming the column."""

import pandas as pd

from etl_assets.quality.checks.frame_types import dataframe_type

SCHEMA = {"order_id": "Int64", "country": "string[pyarrow]", "amount": "Float64"}


def frame(**overrides) -> pd.DataFrame:
    data = {
        "order_id": pd.array([1, 2], dtype="Int64"),
        "country": pd.array(["France", None], dtype="string[pyarrow]"),
        "amount": pd.array([1.5, 2.0], dtype="Float64"),
    }
    data.update(overrides)
    return pd.DataFrame(data)


def type_check(value: pd.DataFrame, non_nullable=("order_id",)):
    dagster_type = dataframe_type("test_frame", SCHEMA, non_nullable)
    return dagster_type.type_check(None, value)


def test_frame_matching_the_declaration_passes():
    assert type_check(frame()).success


def test_wrong_dtype_names_the_column():
    result = type_check(frame(amount=pd.array(["1.5", "2"], dtype="string[pyarrow]")))
    assert not result.success
    assert "amount" in result.description and "Float64" in result.description


def test_python_strings_are_not_pyarrow_strings():
    result = type_check(frame(country=pd.array(["a", "b"], dtype="string[python]")))
    assert not result.success and "country" in result.description


def test_missing_and_extra_columns_fail():
    assert "amount" in type_check(frame().drop(columns=["amount"])).description
    extra = frame().assign(surprise=1)
    result = type_check(extra)
    assert not result.success and "surprise" in result.description


def test_null_in_required_column_fails():
    result = type_check(frame(order_id=pd.array([1, None], dtype="Int64")))
    assert not result.success and "order_id" in result.description
