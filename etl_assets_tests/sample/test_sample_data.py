"""The sample generator: determinism, file shapes, and a manifest that tells the truth.

The manifest counts are checked by re-parsing the written files with rules of this test's
own (regexes, strptime, UTF-8 decoding), not by reusing the generator's bookkeeping.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl_assets.sample import SampleError, generate_sample
from etl_assets.sample.customers import COUNTRY_WEIGHTS
from etl_assets.sample.parameters import DIRT_RATES
from etl_assets.transforms.csv_reader import read_landing_csv

START = dt.date(2024, 3, 30)  # crosses a month end: dates are not zero-padded
DAYS = 3
ROWS_PER_DAY = 2_000
SMALL = {
    "start": START.isoformat(),
    "days": DAYS,
    "rows_per_day": ROWS_PER_DAY,
    "customers": 1_000,
    "products": 200,
}

ORDERS_HEADER = b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
HEADER_NAMES = ORDERS_HEADER.decode().split(",")
NON_PRODUCT_CODES = {"POST", "M", "D", "BANK CHARGES", "AMAZONFEE"}
ALIASES = {"eire", "rsa", "usa", "unspecified"}
REJECTING = (
    "negative_price",
    "unparseable_quantity",
    "unparseable_date",
    "missing_invoice_no",
    "missing_stock_code",
    "latin1",
)
DATE_FORMAT = "%m/%d/%Y %H:%M"


@dataclass(frozen=True)
class OrderLine:
    raw: bytes
    utf8: bool
    invoice_no: str
    stock_code: str
    description: str
    quantity: str
    invoice_date: str
    unit_price: str
    customer_id: str
    country: str

    @property
    def timestamp(self) -> dt.datetime | None:
        try:
            return dt.datetime.strptime(self.invoice_date, DATE_FORMAT)
        except ValueError:
            return None


def read_orders(path: Path) -> list[OrderLine]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    header, *body = data[:-1].split(b"\n")
    assert header == ORDERS_HEADER
    lines = []
    for raw in body:
        try:
            raw.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            utf8 = False
        fields = next(csv.reader([raw.decode("utf-8" if utf8 else "latin-1")]))
        assert len(fields) == 8, raw
        lines.append(OrderLine(raw, utf8, *fields))
    return lines


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def days() -> list[dt.date]:
    return [START + dt.timedelta(days=i) for i in range(DAYS)]


def orders_path(landing: Path, day: dt.date) -> Path:
    return landing / "orders" / f"orders_{day.isoformat()}.csv"


def customers_path(landing: Path, day: dt.date) -> Path:
    return landing / "customers" / f"customers_{day.isoformat()}.csv"


def all_files(landing: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(landing)): p.read_bytes()
        for p in sorted(landing.rglob("*"))
        if p.is_file()
    }


def rejecting_kinds(line: OrderLine) -> list[str]:
    kinds = []
    try:
        if float(line.unit_price) < 0:
            kinds.append("negative_price")
    except ValueError:
        pass
    if not re.fullmatch(r"-?\d+", line.quantity):
        kinds.append("unparseable_quantity")
    if line.timestamp is None:
        kinds.append("unparseable_date")
    if line.invoice_no == "":
        kinds.append("missing_invoice_no")
    if line.stock_code == "":
        kinds.append("missing_stock_code")
    if not line.utf8:
        kinds.append("latin1")
    return kinds


def is_late(line: OrderLine, day: dt.date) -> bool:
    stamp = line.timestamp
    return stamp is not None and stamp.date() == day - dt.timedelta(days=1)


def recount(lines: list[OrderLine], day: dt.date, catalogue: dict[str, str]) -> dict[str, int]:
    """The manifest's per-day counts, recomputed from the file alone."""
    canonical = set(COUNTRY_WEIGHTS)
    counts = Counter()
    for line in lines:
        counts["cancellations"] += line.invoice_no.startswith("C")
        counts["missing_customer_id"] += line.customer_id == ""
        counts["zero_price"] += line.unit_price == "0.00"
        counts["non_product"] += line.stock_code in NON_PRODUCT_CODES
        counts["description_noise"] += (
            line.utf8 and line.stock_code != "" and line.description != catalogue[line.stock_code]
        )
        counts["country_noise"] += line.country not in canonical
        counts["country_alias"] += line.country.strip().casefold() in ALIASES
        counts["late_rows"] += is_late(line, day)
        for kind in rejecting_kinds(line):
            counts[kind] += 1
    counts["lines"] = len(lines)
    counts["duplicates"] = len(lines) - len({line.raw for line in lines})
    counts["rejected"] = sum(counts[kind] for kind in REJECTING)
    return counts


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    manifest = generate_sample(out, seed=7, **SMALL)
    return out / "landing", manifest


@pytest.fixture(scope="module")
def catalogue(sample) -> dict[str, str]:
    landing, _ = sample
    return {
        row["StockCode"]: row["Description"]
        for row in read_csv(landing / "products" / "products.csv")
    }


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path, sample):
    landing, _ = sample
    generate_sample(tmp_path / "again", seed=7, **SMALL)
    generate_sample(tmp_path / "other", seed=8, **SMALL)
    original = all_files(landing)
    assert all_files(tmp_path / "again" / "landing") == original
    other = all_files(tmp_path / "other" / "landing")
    assert other.keys() == original.keys()
    for name in original:
        if name != "manifest.json":
            assert other[name] != original[name], name


def test_a_longer_run_extends_a_shorter_one(tmp_path, sample):
    landing, _ = sample
    generate_sample(tmp_path, seed=7, **{**SMALL, "days": 2})
    shorter = all_files(tmp_path / "landing")
    longer = all_files(landing)
    for name, data in shorter.items():
        if name != "manifest.json":
            assert longer[name] == data, name


def test_layout_headers_and_line_counts(sample):
    landing, manifest = sample
    expected = (
        {f"orders/orders_{d}.csv" for d in days()}
        | {f"customers/customers_{d}.csv" for d in days()}
        | {"products/products.csv", "manifest.json"}
    )
    assert set(all_files(landing)) == expected
    for day in days():
        assert len(read_orders(orders_path(landing, day))) == ROWS_PER_DAY
        header = customers_path(landing, day).read_bytes().split(b"\n")[0]
        assert header == b"CustomerID,Email,Country"
    products_header = (landing / "products" / "products.csv").read_bytes().split(b"\n")[0]
    assert products_header == b"StockCode,Description,Category,UnitPrice"
    assert json.loads((landing / "manifest.json").read_text()) == manifest


def test_manifest_parameters_and_rates(sample):
    _, manifest = sample
    assert manifest["seed"] == 7
    assert manifest["start"] == START.isoformat()
    assert (manifest["days"], manifest["rows_per_day"]) == (DAYS, ROWS_PER_DAY)
    assert manifest["rates"] == DIRT_RATES
    assert list(manifest["orders"]) == [d.isoformat() for d in days()]


def test_manifest_counts_match_the_files(sample, catalogue):
    landing, manifest = sample
    for day in days():
        counts = manifest["orders"][day.isoformat()]
        recounted = recount(read_orders(orders_path(landing, day)), day, catalogue)
        assert {key: recounted[key] for key in counts} == counts, day
        assert counts["lines"] == ROWS_PER_DAY


def test_every_dirt_kind_occurs(sample):
    _, manifest = sample
    for day, counts in list(manifest["orders"].items())[1:]:
        missing = [kind for kind, count in counts.items() if count == 0]
        assert missing == [], day


def test_counts_are_close_to_the_rates(sample):
    _, manifest = sample
    for counts in manifest["orders"].values():
        for kind in ("cancellations", "missing_customer_id", "description_noise"):
            assert counts[kind] == pytest.approx(DIRT_RATES[kind] * ROWS_PER_DAY, rel=0.25)


def test_first_day_has_no_late_rows_and_later_days_do(sample):
    landing, manifest = sample
    first = read_orders(orders_path(landing, days()[0]))
    assert not any(is_late(line, days()[0]) for line in first)
    assert manifest["orders"][days()[0].isoformat()]["late_rows"] == 0
    assert manifest["orders"][days()[1].isoformat()]["late_rows"] > 0


def test_dates_fall_on_the_file_day_in_business_hours(sample):
    landing, _ = sample
    for day in days():
        for line in read_orders(orders_path(landing, day)):
            stamp = line.timestamp
            if stamp is None:
                continue
            # Like the original: 12/1/2010 8:26, no zero padding.
            assert re.fullmatch(r"[1-9]\d?/[1-9]\d?/\d{4} [1-9]\d?:\d\d", line.invoice_date)
            assert stamp.date() in (day, day - dt.timedelta(days=1))
            assert dt.time(8, 0) <= stamp.time() <= dt.time(20, 0)


def test_rejecting_dirt_is_alone_never_late_never_duplicated(sample):
    landing, _ = sample
    for day in days():
        lines = read_orders(orders_path(landing, day))
        copies = Counter(line.raw for line in lines)
        for line in lines:
            kinds = rejecting_kinds(line)
            assert len(kinds) <= 1, line
            if kinds:
                assert not is_late(line, day) and copies[line.raw] == 1, line
            if copies[line.raw] > 1:
                assert not is_late(line, day), line


def test_base_lines_are_distinct_and_copies_are_not_adjacent(sample):
    landing, _ = sample
    for day in days():
        lines = read_orders(orders_path(landing, day))
        distinct = {line.raw: line for line in lines}.values()
        pairs = Counter(
            (line.invoice_no, line.stock_code)
            for line in distinct
            if line.invoice_no and line.stock_code
        )
        assert max(pairs.values()) == 1  # a stock code appears once per invoice
        assert all(a.raw != b.raw for a, b in zip(lines, lines[1:], strict=False))


def test_field_formats(sample):
    landing, _ = sample
    for day in days():
        for line in read_orders(orders_path(landing, day)):
            assert re.fullmatch(r"(C?\d{6})?", line.invoice_no)
            assert re.fullmatch(r"(\d{5}[A-Z]?|POST|M|D|BANK CHARGES|AMAZONFEE)?", line.stock_code)
            assert re.fullmatch(r"-?\d+\.\d\d", line.unit_price)
            assert re.fullmatch(r"(\d{5,})?", line.customer_id)
            if line.invoice_no.startswith("C") and re.fullmatch(r"-?\d+", line.quantity):
                assert int(line.quantity) < 0


def test_orders_are_utf8_with_accents_and_only_latin1_lines_are_not(sample):
    landing, _ = sample
    for day in days():
        raw = orders_path(landing, day).read_bytes()
        good, bad = [], []
        for line in raw.split(b"\n"):
            (good if _is_utf8(line) else bad).append(line)
        assert bad  # the latin1 lines, counted against the manifest elsewhere
        # genuine UTF-8 accents on normal lines: the file is UTF-8 with a few broken lines
        assert any(not line.isascii() for line in good)


def test_auto_encoding_reads_the_sample_as_utf8_and_its_latin1_lines_as_broken(sample):
    landing, manifest = sample
    for day in days():
        path = orders_path(landing, day)
        read = read_landing_csv(
            path.read_bytes(),
            source_file=path.name,
            expected_columns=HEADER_NAMES,
            encoding="auto",
        )
        assert read.encoding == "utf-8"
        assert read.invalid_encoding_rows == manifest["orders"][day.isoformat()]["latin1"]
        accented = read.frame["Description"].str.contains("[ÉÔÈ£]", regex=True)
        assert accented[read.frame["_read_error"].isna()].any()


def test_the_sample_saved_whole_as_latin1_reads_whole_under_auto(tmp_path):
    """As the public CSV is: every accent a latin-1 byte, no UTF-8 at all. (The default
    catalogue's names once made charset-normalizer rank hp_roman8 first.)"""
    generate_sample(tmp_path, start="2024-01-01", days=1, rows_per_day=2_000)
    path = orders_path(tmp_path / "landing", dt.date(2024, 1, 1))
    utf8 = read_landing_csv(
        path.read_bytes(), source_file=path.name, expected_columns=HEADER_NAMES
    ).frame
    latin1 = (
        path.read_bytes().decode("utf-8", "surrogateescape").encode("latin-1", "surrogateescape")
    )
    read = read_landing_csv(
        latin1, source_file=path.name, expected_columns=HEADER_NAMES, encoding="auto"
    )
    assert read.encoding == "cp1252" and read.invalid_encoding_rows == 0
    clean = utf8["_read_error"].isna()
    assert read.frame["Description"][clean].tolist() == utf8["Description"][clean].tolist()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_uk_dominates_and_aliases_appear(sample):
    landing, _ = sample
    lines = read_orders(orders_path(landing, days()[1]))
    countries = Counter(line.country.strip().casefold() for line in lines)
    assert countries["united kingdom"] / len(lines) > 0.7
    assert countries["eire"] > 0


def test_customer_snapshots_grow_and_change(sample):
    landing, manifest = sample
    previous: dict[str, tuple[str, str]] | None = None
    for day in days():
        rows = read_csv(customers_path(landing, day))
        snapshot = {row["CustomerID"]: (row["Email"], row["Country"]) for row in rows}
        assert len(snapshot) == len(rows) == manifest["customers"][day.isoformat()]["rows"]
        assert min(int(i) for i in snapshot) == 12346
        if previous is not None:
            assert previous.keys() <= snapshot.keys()
            changed = sum(snapshot[i] != previous[i] for i in previous)
            assert changed == manifest["customers"][day.isoformat()]["changed"] > 0
        previous = snapshot


def test_emails_look_real_with_some_noise(sample):
    landing, _ = sample
    emails = [row["Email"] for row in read_csv(customers_path(landing, days()[-1]))]
    for email in emails:
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d{1,3}@example\.(com|org|net)", email.strip().lower())
    assert any(email != email.strip().lower() for email in emails)


def test_order_customers_exist_on_the_invoice_day(sample):
    landing, _ = sample
    existing = {
        day: {row["CustomerID"] for row in read_csv(customers_path(landing, day))} for day in days()
    }
    for day in days():
        for line in read_orders(orders_path(landing, day)):
            if line.customer_id:
                invoice_day = day - dt.timedelta(days=1) if is_late(line, day) else day
                assert line.customer_id in existing[invoice_day]


def test_products_catalogue_covers_every_stock_code(sample, catalogue):
    landing, manifest = sample
    rows = read_csv(landing / "products" / "products.csv")
    assert len(rows) == len(catalogue) == manifest["products"]["rows"]
    used = {line.stock_code for day in days() for line in read_orders(orders_path(landing, day))}
    assert used - {""} <= catalogue.keys()
    categories = {row["StockCode"]: row["Category"] for row in rows}
    assert {code for code, cat in categories.items() if cat == "Non-product"} == NON_PRODUCT_CODES
    assert all(re.fullmatch(r"\d+\.\d\d", row["UnitPrice"]) for row in rows)
    assert any("," in description for description in catalogue.values())  # quoting exercised


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"days": 0}, "days must be between 1"),
        ({"rows_per_day": 0}, "rows_per_day must be between 1"),
        ({"days": "3"}, "days must be an integer"),
        ({"days": 2.5}, "days must be an integer"),
        ({"start": "2024-02-30"}, "start must be a date or a 'YYYY-MM-DD' string"),
        ({"start": "yesterday"}, "start must be a date"),
        ({"start": 20240101}, "start must be a date"),
        ({"start": "9999-12-30", "days": 3}, "past the year 9999"),
        ({"seed": -1}, "seed must be between 0"),
        ({"customers": 0}, "customers must be between 1"),
        ({"products": 3}, "products must be between 10"),
    ],
)
def test_bad_arguments_raise_sample_error(tmp_path, arguments, message):
    with pytest.raises(SampleError, match=re.escape(message)):
        generate_sample(tmp_path, **{"days": 1, "rows_per_day": 10, **arguments})
    assert not (tmp_path / "landing").exists()


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SampleError, match="not a directory"):
        generate_sample(tmp_path / "file", days=1, rows_per_day=10)


def test_sample_error_is_a_value_error():
    assert issubclass(SampleError, ValueError)


def test_tiny_and_date_inputs(tmp_path):
    manifest = generate_sample(
        tmp_path, start=dt.date(2024, 1, 1), days=2, rows_per_day=1, customers=1, products=10
    )
    assert [c["lines"] for c in manifest["orders"].values()] == [1, 1]
    assert len(read_orders(orders_path(tmp_path / "landing", dt.date(2024, 1, 2)))) == 1
