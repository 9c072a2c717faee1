"""JSON and Parquet landing readers give the CSV reader's shape: declared columns as strings."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.transforms.bronze import LandingFileError
from etl_assets.transforms.readers import (
    read_json_records,
    read_landing_json,
    read_landing_parquet,
)

STRING = pd.StringDtype("pyarrow")
COLUMNS = ("id", "price", "active", "tags", "properties.mag")


def read_json(data: bytes, **kwargs):
    kwargs.setdefault("expected_columns", COLUMNS)
    return read_landing_json(data, source_file="x.json", declaration="x.yaml", **kwargs)


def test_json_array_values_become_strings_and_missing_fields_null():
    records = [
        {"id": 1, "price": 2.5, "active": True, "tags": ["a", "b"], "properties": {"mag": 4.1}},
        {"id": 2, "price": 1e20, "active": False},
    ]
    read = read_json(json.dumps(records).encode())
    frame = read.frame
    assert list(frame.columns) == [*COLUMNS, "_row_number", "_read_error"]
    assert all(frame[c].dtype == STRING for c in COLUMNS)
    assert frame["id"].tolist() == ["1", "2"]
    assert frame["price"].tolist() == ["2.5", "100000000000000000000"]  # never 1e+20
    assert frame["active"].tolist() == ["true", "false"]
    assert frame["tags"].tolist()[0] == '["a","b"]'
    assert frame["properties.mag"].tolist()[0] == "4.1"
    assert frame["properties.mag"].isna().tolist() == [False, True]
    assert frame["_row_number"].tolist() == [1, 2] and frame["_read_error"].isna().all()
    assert read.size_bytes > 0 and len(read.sha256) == 64


def test_json_lines_are_read_too():
    data = b'{"id": 1}\n\n{"id": 2, "price": "3.10"}\n'
    price = read_json(data).frame["price"]
    assert price.isna().tolist() == [True, False] and price[1] == "3.10"


def test_undeclared_fields_are_kept_as_string_columns_and_reported():
    records = [
        {"id": 1, "properties": {"mag": 4.1}},
        {"id": 2, "discount": 0.1, "properties": {"mag": 3, "depth": 3, "extra": {"a": [1]}}},
        {"id": 3, "discount": None, "properties": "n/a"},  # a scalar where objects were declared
    ]
    read = read_json(json.dumps(records).encode())
    kept = ["discount", "properties.depth", "properties.extra", "properties"]
    assert read.unexpected_columns == tuple(kept)  # in the order first seen
    frame = read.frame
    assert list(frame.columns) == [*COLUMNS, *kept, "_row_number", "_read_error"]
    assert all(frame[c].dtype == STRING for c in kept)
    assert frame["discount"].tolist() == [pd.NA, "0.1", pd.NA]  # null where a record lacks it
    assert frame["properties.depth"].tolist() == [pd.NA, "3", pd.NA]
    assert frame["properties.extra"].tolist() == [pd.NA, '{"a":[1]}', pd.NA]  # compact JSON
    assert frame["properties"].tolist() == [pd.NA, pd.NA, "n/a"]
    assert frame["properties.mag"].tolist() == ["4.1", "3", pd.NA]
    assert frame["_row_number"].tolist() == [1, 2, 3]


def test_undeclared_fields_of_later_pages_are_null_on_earlier_ones():
    read = read_json_records(
        [[{"id": 1}], [{"id": 2, "label": "x"}]],
        source_file="api",
        expected_columns=("id",),
        declaration="d",
    )
    assert read.unexpected_columns == ("label",)
    assert read.frame["label"].tolist() == [pd.NA, "x"]


def test_ignored_fields_are_left_out_knowingly():
    data = json.dumps([{"id": 1, "geometry": {"type": "Point"}, "properties": {"depth": 3}}])
    read = read_json(data.encode(), ignore_fields=("geometry", "properties.depth"))
    assert read.frame["id"].tolist() == ["1"]
    assert read.unexpected_columns == ()  # left out, not reported
    assert list(read.frame.columns) == [*COLUMNS, "_row_number", "_read_error"]


def test_records_of_declared_columns_only_have_no_extras():
    # The Postgres bronze passes rows keyed by the declared columns (dotted names whole).
    read = read_json_records(
        [[{"id": "1", "meta.colour": "red", "doc": {"a": 1}}]],
        source_file="table",
        expected_columns=("id", "meta.colour", "doc"),
        declaration="d",
    )
    assert read.unexpected_columns == ()
    assert read.frame["meta.colour"].tolist() == ["red"]
    assert read.frame["doc"].tolist() == ['{"a":1}']


def test_pages_are_named_in_errors():
    with pytest.raises(LandingFileError, match="page 2, record 1 is a string"):
        read_json_records(
            [[{"id": 1}], ["oops"]], source_file="api", expected_columns=("id",), declaration="d"
        )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'[{"id": 1},', "not valid JSON"),
        (b'{"id": 1}\n{"id": \n', "line 2: not valid JSON"),
        (b'\xff[{"id": 1}]', "is not UTF-8"),
        (b'[{"id": 1}, 5]', "record 2 is a number, not an object"),
        (b'{"id": 1}\n[1, 2]\n', "record 2 is an array, not an object"),
    ],
)
def test_broken_json_is_a_clear_failure(data, words):
    with pytest.raises(LandingFileError, match=words):
        read_json(data)


def test_empty_json_file_gives_zero_rows():
    frame = read_json(b"  \n").frame
    assert len(frame) == 0 and list(frame.columns)[:2] == ["id", "price"]


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_parquet_columns_become_strings():
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "price": pa.array([2.55, 1e20]),
            "when": pa.array([pd.Timestamp("2024-01-02 08:26"), None], pa.timestamp("us")),
            "tags": pa.array([["a"], []]),
            "kind": pa.array(["x", "y"]).dictionary_encode(),
        }
    )
    read = read_landing_parquet(
        parquet_bytes(table),
        source_file="x.parquet",
        expected_columns=("id", "price", "when", "tags", "kind", "absent"),
        required_columns=("id",),
    )
    frame = read.frame
    assert frame["id"].tolist() == ["1", "2"]
    assert frame["price"].tolist() == ["2.55", "100000000000000000000"]
    assert frame["when"].tolist()[0].startswith("2024-01-02 08:26")
    assert frame["when"].isna().tolist() == [False, True]
    assert frame["tags"].tolist() == ['["a"]', "[]"]
    assert frame["kind"].tolist() == ["x", "y"] and frame["absent"].isna().all()
    assert read.unexpected_columns == ()


def test_parquet_schema_problems_are_named():
    data = parquet_bytes(pa.table({"id": [1], "extra": [2]}))
    read = read_landing_parquet(data, source_file="x.parquet", expected_columns=("id",))
    assert read.unexpected_columns == ("extra",)
    with pytest.raises(LandingFileError, match="required column.* price missing"):
        read_landing_parquet(data, source_file="x.parquet", expected_columns=("id", "price"))
    with pytest.raises(LandingFileError, match="cannot be read as Parquet"):
        read_landing_parquet(b"not parquet", source_file="x.parquet", expected_columns=("id",))
