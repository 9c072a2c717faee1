"""Reading landing CSVs faithfully, and framing them as bronze."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from etl_assets.transforms.bronze import LandingFileError, frame_bronze
from etl_assets.transforms.csv_reader import read_landing_csv

COLUMNS = ["id", "name", "amount"]
STRING = pd.StringDtype("pyarrow")


def read(data: bytes, **options):
    options.setdefault("expected_columns", COLUMNS)
    return read_landing_csv(data, source_file="orders/orders_2024-01-02.csv", **options)


def rows(data: bytes, **options) -> list[dict]:
    frame = read(data, **options).frame
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def test_quoting_commas_crlf_and_bom():
    data = (
        b"\xef\xbb\xbfid,name,amount\r\n"
        b'1,"MUG, RED",2\r\n2,"say ""hi""",3\r\n3,"two\r\nlines",4\r\n'
    )
    frame = read(data).frame
    assert frame["name"].tolist() == ["MUG, RED", 'say "hi"', "two\r\nlines"]
    assert frame["_row_number"].tolist() == [1, 2, 3]
    assert frame["_read_error"].isna().all()


def test_values_are_kept_verbatim():
    frame = read(b'id,name,amount\n NA , ,\nNA,"",null\n').frame
    assert frame["id"].tolist() == [" NA ", "NA"]
    assert frame["name"].tolist() == [" ", ""]
    assert frame["amount"].tolist() == ["", "null"]
    assert frame[COLUMNS].notna().all().all()


def test_dtypes_and_column_order_follow_the_declaration():
    frame = read(b"amount,id,name\n2,1,MUG\n").frame
    assert list(frame.columns) == [*COLUMNS, "_row_number", "_read_error"]
    assert frame["id"].tolist() == ["1"]
    assert all(frame[c].dtype == STRING for c in [*COLUMNS, "_read_error"])
    assert frame["_row_number"].dtype == "int64"


def test_header_names_are_matched_after_stripping_spaces():
    assert read(b" id , name ,amount\n1,MUG,2\n").frame["name"].tolist() == ["MUG"]


def test_missing_required_column_names_file_columns_and_header():
    with pytest.raises(LandingFileError) as error:
        read(b"id,price\n1,2\n", required_columns=["id", "name", "amount"])
    message = str(error.value)
    for text in ("orders/orders_2024-01-02.csv", "name", "amount", "id, price", "sources/"):
        assert text in message


def test_missing_optional_column_is_null():
    frame = read(b"id,name\n1,MUG\n", required_columns=["id"]).frame
    assert frame["amount"].isna().all() and frame["amount"].dtype == STRING


def test_unexpected_column_is_reported_and_dropped():
    result = read(b"id,name,discount,amount\n1,MUG,0.1,2\n")
    assert result.unexpected_columns == ("discount",)
    assert "discount" not in result.frame.columns
    assert result.frame["amount"].tolist() == ["2"]


def test_duplicate_header_is_an_error():
    with pytest.raises(LandingFileError, match="repeats column.*name"):
        read(b"id,name,name,amount\n1,a,b,2\n")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"id,name,amount\n", b"id,name,amount"])
def test_empty_file_gives_zero_rows_with_the_columns(data):
    result = read(data)
    assert len(result.frame) == 0
    assert list(result.frame.columns) == [*COLUMNS, "_row_number", "_read_error"]
    assert result.frame["id"].dtype == STRING and result.frame["_row_number"].dtype == "int64"


def test_latin1_lines_are_decoded_losslessly_and_marked():
    data = (
        "id,name,amount\n1,CAFÉ,2\n".encode()
        + "2,CAFÉ,3\n".encode("latin-1")
        + b'3,"multi\nline",4\n'
        + "4,NAÏVE,5\n".encode("latin-1")
    )
    result = read(data)
    assert result.frame["name"].tolist() == ["CAFÉ", "CAFÉ", "multi\nline", "NAÏVE"]
    assert rows(data)[1]["_read_error"] == "invalid_encoding"
    assert result.frame["_read_error"].tolist()[3] == "invalid_encoding"
    assert result.frame["_read_error"].isna().tolist() == [True, False, True, False]
    assert result.invalid_encoding_rows == 2 and result.encoding == "utf-8"
    # latin-1 maps every byte to one character: the original bytes come back.
    assert result.frame["name"][1].encode("latin-1") == "CAFÉ".encode("latin-1")


def test_latin1_line_after_a_stray_quote_is_still_traced_to_its_row():
    data = b'id,name,amount\n1,5" PIPE,2\n2,"a\nb",3\n3,CAF\xc9,4\n'
    frame = read(data).frame
    assert frame["_read_error"].tolist()[2] == "invalid_encoding"
    assert frame["name"].tolist() == ['5" PIPE', "a\nb", "CAFÉ"]


def test_ragged_rows_are_kept_and_marked():
    data = b"id,name,amount\n1,MUG\n2,PLATE,3,EXTRA,MORE\n3,CUP,4\n\n4\n"
    assert rows(data) == [
        {"id": "1", "name": "MUG", "amount": None, "_row_number": 1,
         "_read_error": "malformed_line"},
        {"id": "2", "name": "PLATE", "amount": "3,EXTRA,MORE", "_row_number": 2,
         "_read_error": "malformed_line"},
        {"id": "3", "name": "CUP", "amount": "4", "_row_number": 3, "_read_error": None},
        {"id": "4", "name": None, "amount": None, "_row_number": 4,
         "_read_error": "malformed_line"},
    ]  # fmt: skip
    assert read(data).malformed_rows == 3


def test_invalid_encoding_wins_over_malformed_line():
    result = read(b"id,name,amount\n1,CAF\xc9\n")
    assert result.frame["_read_error"].tolist() == ["invalid_encoding"]
    assert result.frame["name"].tolist() == ["CAFÉ"]
    assert (result.invalid_encoding_rows, result.malformed_rows) == (1, 0)


def test_checksum_and_size_are_of_the_raw_bytes():
    data = b"id,name,amount\n1,CAF\xc9,2\n"
    result = read(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size_bytes == len(data)


def test_frame_bronze_adds_lineage_in_order():
    result = read(b"id,name,amount\n1,MUG,2\n2,CUP,3\n")
    bronze = frame_bronze(
        result,
        source_file="orders/orders_2024-01-02.csv",
        batch_id="run-1",
        ingested_at=pd.Timestamp("2024-01-03 10:00", tz="Europe/Paris"),
        landing_date=pd.Timestamp("2024-01-02"),
    )
    assert list(bronze.columns) == [
        *COLUMNS, "_source_file", "_batch_id", "_ingested_at", "_row_number", "_landing_date",
        "_read_error",
    ]  # fmt: skip
    assert bronze.dtypes.astype(str).to_dict() == {
        "id": "string", "name": "string", "amount": "string", "_source_file": "string",
        "_batch_id": "string", "_ingested_at": "datetime64[ns, UTC]", "_row_number": "int64",
        "_landing_date": "datetime64[ns]", "_read_error": "string",
    }  # fmt: skip
    assert all(bronze[c].dtype == STRING for c in ["_source_file", "_batch_id", "_read_error"])
    assert bronze["_source_file"].tolist() == ["orders/orders_2024-01-02.csv"] * 2
    assert bronze["_ingested_at"].tolist() == [pd.Timestamp("2024-01-03 09:00", tz="UTC")] * 2
    assert bronze["_landing_date"].tolist() == [pd.Timestamp("2024-01-02")] * 2
    assert bronze["_row_number"].tolist() == [1, 2]


def test_frame_bronze_without_landing_date_and_with_zero_rows():
    bronze = frame_bronze(
        read(b""),
        source_file="products/products.csv",
        batch_id="run-1",
        ingested_at=pd.Timestamp("2024-01-03 10:00"),  # naive: taken as UTC
        landing_date=None,
    )
    assert len(bronze) == 0
    assert str(bronze["_landing_date"].dtype) == "datetime64[ns]"
    assert str(bronze["_ingested_at"].dtype) == "datetime64[ns, UTC]"
    one = frame_bronze(
        read(b"id,name,amount\n1,MUG,2\n"),
        source_file="products/products.csv",
        batch_id="run-1",
        ingested_at=pd.Timestamp("2024-01-03 10:00"),
        landing_date=None,
    )
    assert one["_landing_date"].isna().all()
    assert one["_ingested_at"].iloc[0] == pd.Timestamp("2024-01-03 10:00", tz="UTC")


def test_old_mac_line_endings_with_a_latin1_line():
    frame = read(b"id,name,amount\r1,MUG,2\r2,CAF\xc9,3\r").frame
    assert frame["name"].tolist() == ["MUG", "CAFÉ"]
    assert frame["_read_error"].isna().tolist() == [True, False]


def test_a_value_longer_than_a_parse_block_is_read_whole():
    long_value = "x" * (3 << 20)
    frame = read(f'id,name,amount\n1,"{long_value}",2\n2,CUP,3\n'.encode()).frame
    assert frame["name"].str.len().tolist() == [len(long_value), 3]


def test_an_unclosed_quote_marks_its_line_and_keeps_the_lines_after_it_as_rows():
    frame = read(b'id,name,amount\n1,MUG,2\n2,"CUP\n3,PLATE,4\n').frame
    assert frame["name"].tolist() == ["MUG", "CUP", "PLATE"]
    assert frame["_read_error"].fillna("").tolist() == ["", "malformed_line", ""]


def test_an_undeclared_column_named_like_lineage_fails_instead_of_being_overwritten():
    from etl_assets.transforms.readers import read_json_records

    csv = read(b"id,name,_batch_id,amount\n1,MUG,b-7,2\n")
    records = read_json_records(
        [[{"id": "1", "name": "MUG", "amount": "2", "_row_number": 40}]],
        source_file="api page",
        expected_columns=COLUMNS,
        declaration="orders.yaml",
    )
    for landing, column in ((csv, "_batch_id"), (records, "_row_number")):
        with pytest.raises(LandingFileError, match=f"{column}.*writes itself.*Rename"):
            frame_bronze(
                landing,
                source_file="f",
                batch_id="b",
                ingested_at=pd.Timestamp("2024-01-02"),
                landing_date=None,
            )
