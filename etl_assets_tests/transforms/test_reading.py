"""Reading as declared, below the corpus: timezones of datetimes, derived nullness flags,
header matching, and the reader's speed path staying the common case."""

import pandas as pd
import pytest

from etl_assets.settings import get_settings
from etl_assets.sources import ColumnSpec, load_source
from etl_assets.transforms.bronze import LandingFileError, frame_bronze
from etl_assets.transforms.csv_reader import read_landing_csv
from etl_assets.transforms.silver import clean_source
from etl_assets.transforms.silver.casting import cast_column
from etl_assets_tests.sources.test_spec import with_change, write


@pytest.fixture
def partitions_in(monkeypatch):
    def use(zone: str) -> None:
        monkeypatch.setenv("ETL_TIMEZONE", zone)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def times(values, **column):
    spec = ColumnSpec(name="At", target="at", type="datetime", **column)
    cast = cast_column(pd.Series(values, dtype="string[pyarrow]"), spec)
    return [None if pd.isna(v) else str(v) for v in cast.values_at(range(len(values)))]


def test_offsets_convert_to_the_partitions_zone(partitions_in):
    partitions_in("Europe/London")  # winter: UTC+0; summer: UTC+1
    assert times(["2024-07-01T23:30:00Z", "2024-07-02 00:30:00+02:00", "2024-07-01 12:00"]) == [
        "2024-07-02 00:30:00",  # 23:30 UTC is 00:30 in London: the next day
        "2024-07-01 23:30:00",
        "2024-07-01 12:00:00",  # naive, no timezone declared: already London time
    ]


def test_naive_values_are_taken_in_the_declared_timezone(partitions_in):
    partitions_in("UTC")
    found = times(["2024-01-03 00:30", "2024-03-31 02:30"], timezone="Europe/Paris")
    # 00:30 Paris is 23:30 UTC the day before; 02:30 does not exist that night (DST)
    assert found == ["2024-01-02 23:30:00", None]


def test_formats_are_tried_in_order():
    column = {"formats": ("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M")}
    assert times(["03/01/2024 08:00", "12/31/2024 08:00", "31/31/2024 08:00"], **column) == [
        "2024-01-03 08:00:00",  # both read it: the first format wins
        "2024-12-31 08:00:00",
        None,
    ]


def test_derived_is_null_and_not_null(tmp_path):
    data = with_change("derived", [{"name": "cancelled", "is_null": "amount"}])
    data["derived"].append({"name": "has_kind", "not_null": "kind"})
    spec = load_source(write(tmp_path, data))
    text = "Id,At,Amount,Kind\n1,2024-01-03 10:00,,late\n2,2024-01-03 11:00,5,\n"
    read = read_landing_csv(text.encode(), source_file="e.csv", expected_columns=spec.raw_columns)
    bronze = frame_bronze(
        read,
        source_file="e.csv",
        batch_id="b",
        ingested_at=pd.Timestamp("2024-01-04"),
        landing_date=pd.Timestamp("2024-01-03"),
    )
    clean = clean_source(bronze, spec).clean
    assert clean["cancelled"].tolist() == [True, False]
    assert clean["has_kind"].tolist() == [True, False]
    assert str(clean["cancelled"].dtype) == "boolean"


def test_aliases_and_case_map_headers_onto_declared_names():
    read = read_landing_csv(
        b" invoice ,PRICE,extra\n1,2.5,x\n",
        source_file="o.csv",
        expected_columns=["InvoiceNo", "UnitPrice"],
        aliases={"InvoiceNo": ["Invoice"], "UnitPrice": ["Price"]},
    )
    assert read.frame[["InvoiceNo", "UnitPrice"]].values.tolist() == [["1", "2.5"]]
    assert read.unexpected_columns == ("extra",)


def test_auto_delimiter_that_cannot_be_told_fails_clearly():
    data = b"a b c\nd e f\ng h i\n"
    with pytest.raises(LandingFileError, match="o.csv: the delimiter cannot be told"):
        read_landing_csv(data, source_file="o.csv", expected_columns=["a"], delimiter="auto")


def test_utf16_is_reported_as_its_encoding():
    data = "Id,Name\n1,Zoë\n".encode("utf-16")
    read = read_landing_csv(data, source_file="o.csv", expected_columns=["Id", "Name"])
    assert read.encoding == "utf-16-le"
    assert read.frame["Name"].tolist() == ["Zoë"]
    assert read.sha256 and read.size_bytes == len(data)  # of the bytes as landed


def test_auto_detects_a_single_byte_file_whose_accents_come_late():
    """An ASCII head tells nothing: detection looks at the lines holding the high bytes."""
    head = b"Id,Name\n" + b"".join(b"%d,plain name\n" % i for i in range(80_000))
    data = head + "80000,CAFÉ £5\n80001,BABY’S BIB\n".encode("cp1252")
    assert len(head) > 1 << 20
    read = read_landing_csv(
        data, source_file="o.csv", expected_columns=["Id", "Name"], encoding="auto"
    )
    assert read.encoding == "cp1252" and read.invalid_encoding_rows == 0
    assert read.frame["Name"].tolist()[-2:] == ["CAFÉ £5", "BABY’S BIB"]


def test_auto_reads_utf8_with_a_broken_line_as_utf8():
    data = "Id,Name\n1,Zoë\n".encode() + "2,CAFÉ\n".encode("latin-1") + b"3,plain\n"
    read = read_landing_csv(
        data, source_file="o.csv", expected_columns=["Id", "Name"], encoding="auto"
    )
    assert read.encoding == "utf-8"
    assert read.frame["Name"][0] == "Zoë"  # not mojibake
    assert read.frame["_read_error"].fillna("").tolist() == ["", "invalid_encoding", ""]


def rows_and_errors(data: bytes) -> list[list]:
    read = read_landing_csv(data, source_file="q.csv", expected_columns=["a", "b", "c"])
    frame = read.frame.astype(object).where(read.frame.notna(), None)
    assert read.malformed_rows == (frame["_read_error"] == "malformed_line").sum()
    return frame[["a", "b", "c", "_read_error"]].values.tolist()


def test_a_last_line_cut_off_inside_quotes_is_malformed():
    for tail in (b"", b"\n"):
        assert rows_and_errors(b'a,b,c\n1,2,3\n4,5,"six' + tail) == [
            ["1", "2", "3", None],
            ["4", "5", "six", "malformed_line"],
        ]


def test_an_unclosed_quote_mid_file_does_not_swallow_the_lines_after_it():
    data = b'a,b,c\n1,2,3\n4,"five,6\n7,8,9\n10,11,12\n'
    assert rows_and_errors(data) == [
        ["1", "2", "3", None],
        ["4", "five,6", None, "malformed_line"],  # its own line only, fields as written
        ["7", "8", "9", None],
        ["10", "11", "12", None],
    ]


def test_two_unclosed_quotes_do_not_pair_up_into_one_record():
    data = b'a,b,c\n1,"x,3\n4,5,6\n7,"y,9\n10,11,12\n'
    assert rows_and_errors(data) == [
        ["1", "x,3", None, "malformed_line"],
        ["4", "5", "6", None],
        ["7", "y,9", None, "malformed_line"],
        ["10", "11", "12", None],
    ]


def test_quoted_values_over_several_lines_and_stray_inch_marks_stay_as_they_are():
    data = b'a,b,c\n1,"two\nlines, ""quoted""",3\n4,12" ruler,6\n7,"8",9\n'
    assert rows_and_errors(data) == [
        ["1", 'two\nlines, "quoted"', "3", None],
        ["4", '12" ruler', "6", None],
        ["7", "8", "9", None],
    ]
