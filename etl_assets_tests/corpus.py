"""A hostile corpus of landing files for the `orders` source, made by code (no binaries).

Each `CorpusCase` writes one day's landing file in a shape real exports take (encodings
with and without a byte-order mark, delimiters, compression, renamed or reordered headers,
date styles and offsets, NUL bytes, huge fields, formula and SQL text, duplicates, rejects,
empty and truncated files) and says what must come of it:

- `outcome == "accounting"`: the day reads; bronze rows = silver + quarantined + duplicates
  removed, with the exact figures in `expected`;
- `outcome == "failure"`: the day's read fails with a message that names the file and says
  what to do (`failure_words` are in it).

`declaration(case)` is the shipped orders.yaml with the case's overrides (most cases need
none: the point is that the shipped declaration reads them). Reused by the reading tests
(read + clean, no Dagster) and meant for end-to-end runs beside other landed days:

    for case in corpus_cases():
        write_case(case, landing_dir, "2024-01-03")
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from etl_assets.sample.landing import ORDERS_HEADER

ORDERS_YAML = Path(__file__).resolve().parents[1] / "etl_assets" / "sources" / "orders.yaml"
RETAIL = ORDERS_HEADER  # the Online Retail export's header, as the sample writes it
RETAIL_II = (
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
)
ROWS = 12  # data lines of a typical case
ACCENTED = ("CAFÉ SET", "NOËL BUNTING", "£5 VOUCHER", "CRÈME JUG", "DÉCOR °C SIGN")
# Descriptions as the public Online Retail file writes them (a £ and accented letters),
# and what a cp1252 export adds (a curly apostrophe, a euro sign: not in latin-1).
ONLINE_RETAIL_TEXT = ("SET OF 3 CAFÉ TINS", "£10 GIFT VOUCHER", "PAPIER MÂCHÉ BOWL")
CP1252_TEXT = ("BABY’S BIB", "€5 OFF COUPON")


@dataclass(frozen=True)
class Expected:
    silver: int
    quarantined: int
    duplicates: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # reject reason -> rows (a subset)


@dataclass(frozen=True)
class CorpusCase:
    name: str
    build: Callable[[str], bytes]  # day (YYYY-MM-DD) -> the file's bytes
    outcome: str  # "accounting" or "failure"
    expected: Expected | None = None
    failure_words: tuple[str, ...] = ()
    suffix: str = ".csv"  # the landing file's extension (".csv.gz", ".zip")
    overrides: dict[str, Any] = field(default_factory=dict)  # top-level declaration fields
    column_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # by name
    # extra assertions on silver (a DataFrame) when the case reads
    check: Callable[[Any], None] | None = None

    def file_name(self, day: str) -> str:
        return f"orders_{day}{self.suffix}"

    def relative_path(self, day: str) -> str:
        return f"orders/{self.file_name(day)}"


# --- lines -----------------------------------------------------------------------------


def retail_rows(day: str, count: int = ROWS, *, start: int = 0) -> list[dict[str, str]]:
    """Clean Online Retail lines of `day` (US dates), each with its own invoice."""
    year, month, dom = (int(part) for part in day.split("-"))
    rows = []
    for i in range(start, start + count):
        rows.append(
            {
                "InvoiceNo": str(536365 + i),
                "StockCode": f"{85000 + i}A",
                "Description": f"WHITE HANGING HEART T-LIGHT HOLDER {i}",
                "Quantity": str(1 + i % 7),
                "InvoiceDate": f"{month}/{dom}/{year} {8 + i % 10}:{i % 60:02d}",
                "UnitPrice": f"{1 + i % 5}.55",
                "CustomerID": str(17850 + i),
                "Country": "United Kingdom",
            }
        )
    return rows


def iso(row: dict[str, str]) -> str:
    """The row's US date written ISO, as the Online Retail II export does."""
    date, time = row["InvoiceDate"].split(" ")
    month, dom, year = date.split("/")
    hour, minute = time.split(":")
    return f"{year}-{int(month):02d}-{int(dom):02d} {int(hour):02d}:{minute}:00"


def csv_text(
    header: tuple[str, ...] | list[str],
    rows: list[dict[str, str]],
    *,
    delimiter: str = ",",
    newline: str = "\n",
    keys: tuple[str, ...] | None = None,
) -> str:
    """Rows under `header`; `keys` are the row fields in header order (default: header)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[k] for k in (keys or header)])
    return out.getvalue()


def _accented(day: str, count: int = ROWS) -> list[dict[str, str]]:
    rows = retail_rows(day, count)
    for i, row in enumerate(rows[: len(ACCENTED)]):
        row["Description"] = ACCENTED[i]
    return rows


def _accented_in(codec: str, prefix: bytes = b"") -> Callable[[str], bytes]:
    return lambda day: prefix + csv_text(RETAIL, _accented(day)).encode(codec)


def _plain(day: str, **kwargs) -> bytes:
    return csv_text(RETAIL, retail_rows(day), **kwargs).encode()


def _descriptions_are(expected: list[str]) -> Callable[[Any], None]:
    def check(silver) -> None:
        found = sorted(silver["description"].dropna().tolist())
        for text in expected:
            assert text in found, (text, found[:8])

    return check


def _upper(texts) -> list[str]:
    return [t.upper() for t in texts]


# --- the cases ---------------------------------------------------------------------------


def _retail_ii(day: str) -> bytes:
    rows = retail_rows(day)
    for row in rows:
        row["InvoiceDate"] = iso(row)
        row["CustomerID"] += ".0"
    return csv_text(RETAIL_II, rows, keys=RETAIL).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _mixed_dates(day: str) -> bytes:
    rows = retail_rows(day)
    for row in rows[::2]:
        row["InvoiceDate"] = iso(row)
    return csv_text(RETAIL, rows).encode()


def _offsets(day: str) -> bytes:
    rows = retail_rows(day, 4)
    rows[0]["InvoiceDate"] = f"{day}T08:26:00Z"
    rows[1]["InvoiceDate"] = f"{day}T09:26:00+01:00"
    rows[2]["InvoiceDate"] = f"{day}T00:30:00+01:00"  # 23:30 UTC the day before: late row
    rows[3]["InvoiceDate"] = f"{day} 10:00:00"  # naive: taken in the partitions' zone
    return csv_text(RETAIL, rows).encode()


def _check_offsets(silver) -> None:
    import pandas as pd

    times = sorted(silver["invoice_date"].tolist())
    assert pd.Timestamp(times[0]).hour == 23, times  # +01:00 at 00:30 is 23:30 UTC
    assert sum(pd.Timestamp(t).hour == 8 and pd.Timestamp(t).minute == 26 for t in times) == 2


def _nul_bytes(day: str) -> bytes:
    rows = retail_rows(day)
    rows[0]["Description"] = "WHITE\x00HEART"
    rows[1]["Country"] = "France\x00"
    return csv_text(RETAIL, rows).encode()


def _huge_field(day: str) -> bytes:
    rows = retail_rows(day)
    rows[0]["Description"] = "X" * (3 << 20)  # 3 MiB, beyond pyarrow's default block
    return csv_text(RETAIL, rows).encode()


FORMULAS = (
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "'; DROP TABLE orders; --",
    'ROBERT"); DROP TABLE students;--',
)


def _formulas(day: str) -> bytes:
    rows = retail_rows(day)
    for row, text in zip(rows, FORMULAS, strict=False):
        row["Description"] = text
    return csv_text(RETAIL, rows).encode()


def _duplicated(day: str) -> bytes:
    rows = retail_rows(day)
    return csv_text(RETAIL, rows + rows).encode()


def _all_rejected(day: str) -> bytes:
    rows = retail_rows(day)
    for row in rows:
        row["Quantity"] = "abc"
    return csv_text(RETAIL, rows).encode()


def _truncated(day: str) -> bytes:
    text = csv_text(RETAIL, retail_rows(day))
    return text[: text.rstrip("\n").rfind(",", 0, len(text) - 30)].encode()  # cut mid-line


def _online_retail(extra: tuple[str, ...] = ()) -> Callable[[str], list[dict[str, str]]]:
    """Online Retail lines (InvoiceNo header, US dates) with its accented descriptions."""

    def rows(day: str) -> list[dict[str, str]]:
        rows = retail_rows(day)
        for row, text in zip(rows, (*ONLINE_RETAIL_TEXT, *extra), strict=False):
            row["Description"] = text
        return rows

    return rows


def _invoices_absent(*invoices: str) -> Callable[[Any], None]:
    def check(silver) -> None:
        found = set(silver["invoice_no"])
        assert not found & set(invoices), sorted(found & set(invoices))
        assert len(found) == ROWS, sorted(found)

    return check


def _latin1_in_utf8(day: str) -> bytes:
    """A UTF-8 file (a ü written as UTF-8) with two lines saved as latin-1."""
    rows = retail_rows(day)
    rows[0]["Description"] = "MÜSLI BOWL"
    head = csv_text(RETAIL, rows[:10]).encode("utf-8")
    bad = csv_text(RETAIL, _accented(day, ROWS)[:2]).split("\n", 1)[1].encode("latin-1")
    bad = bad.replace(b"536365", b"536900").replace(b"536366", b"536901")
    tail = csv_text(RETAIL, rows[10:]).split("\n", 1)[1].encode()
    return head + bad + tail


def _unclosed_quote(day: str) -> bytes:
    text = csv_text(RETAIL, retail_rows(day))
    lines = text.split("\n")
    lines[3] = lines[3].replace("WHITE", '"WHITE', 1)
    return "\n".join(lines).encode()


def _cut_inside_quotes(day: str) -> bytes:
    """The last line cut off inside its quoted last field (a transfer stopped short): read
    naively, the line looks whole, with `Korea` as its country."""
    rows = retail_rows(day)
    rows[-1]["Country"] = "Korea, Republic of"  # a comma: the writer quotes it
    text = csv_text(RETAIL, rows)
    return text[: text.rindex("Korea, Republic") + 5].encode()


def _stray_quotes_pair_up(day: str) -> bytes:
    """Two lines with an unclosed quote each: read naively, the second closes the first and
    the lines between merge into one well-formed-looking record."""
    lines = csv_text(RETAIL, retail_rows(day)).split("\n")
    lines[3] = lines[3].replace("WHITE", '"WHITE', 1)
    lines[7] = lines[7].replace("WHITE", '"WHITE', 1)
    return "\n".join(lines).encode()


def _noise(day: str) -> bytes:
    rng = random.Random(day)
    return bytes(rng.randrange(256) for _ in range(4096))


def _cases() -> list[CorpusCase]:
    ok = Expected(ROWS, 0)
    accented = _descriptions_are(_upper(ACCENTED))
    return [
        CorpusCase("utf8", _plain, "accounting", ok),
        CorpusCase("utf8_bom", lambda d: codecs.BOM_UTF8 + _plain(d), "accounting", ok),
        CorpusCase(
            "utf8_accented",
            _accented_in("utf-8"),
            "accounting",
            ok,
            check=accented,
        ),
        CorpusCase(
            "latin1_declared",
            _accented_in("latin-1"),
            "accounting",
            ok,
            overrides={"encoding": "latin-1"},
            check=accented,
        ),
        CorpusCase(
            "latin1_auto",
            _accented_in("latin-1"),
            "accounting",
            ok,
            overrides={"encoding": "auto"},
            check=accented,
        ),
        CorpusCase(
            "cp1252_euro",
            lambda d: csv_text(
                RETAIL, [{**r, "Description": "€ SIGN MUG"} for r in retail_rows(d)]
            ).encode("cp1252"),
            "accounting",
            ok,
            overrides={"encoding": "cp1252"},
            check=_descriptions_are(["€ SIGN MUG"]),
        ),
        CorpusCase(
            # the shipped declaration (auto): a UTF-8 file (it holds a UTF-8 Ü) with two
            # lines saved as latin-1 reads as UTF-8; exactly those two lines are
            # quarantined, the rest read (MÜSLI intact, not mojibake)
            "latin1_lines_in_utf8",
            _latin1_in_utf8,
            "accounting",
            Expected(ROWS, 2, reasons={"invalid_encoding": 2}),
            check=lambda silver: (
                _descriptions_are(["MÜSLI BOWL"])(silver),
                _invoices_absent("536900", "536901")(silver),
            ),
        ),
        CorpusCase(
            # the shipped declaration (auto) reads the public latin-1 CSV whole: no rejects
            "online_retail_latin1",
            lambda d: csv_text(RETAIL, _online_retail()(d)).encode("latin-1"),
            "accounting",
            ok,
            check=_descriptions_are(list(ONLINE_RETAIL_TEXT)),
        ),
        CorpusCase(
            "online_retail_cp1252",
            lambda d: csv_text(RETAIL, _online_retail(CP1252_TEXT)(d)).encode("cp1252"),
            "accounting",
            ok,
            check=_descriptions_are([*ONLINE_RETAIL_TEXT, *CP1252_TEXT]),
        ),
        CorpusCase(
            "utf16_le_bom",
            _accented_in("utf-16"),
            "accounting",
            ok,
            check=accented,
        ),
        CorpusCase(
            "utf16_be_bom",
            _accented_in("utf-16-be", codecs.BOM_UTF16_BE),
            "accounting",
            ok,
            check=accented,
        ),
        CorpusCase(
            "utf16_le_no_bom_declared",
            _accented_in("utf-16-le"),
            "accounting",
            ok,
            overrides={"encoding": "utf-16-le"},
            check=accented,
        ),
        CorpusCase(
            "utf16_truncated_odd_byte",
            lambda d: csv_text(RETAIL, retail_rows(d)).encode("utf-16")[:-3],
            "accounting",  # the last line is cut: kept and quarantined
            Expected(ROWS - 1, 1),
        ),
        CorpusCase(
            "semicolon_declared",
            lambda d: _plain(d, delimiter=";"),
            "accounting",
            ok,
            overrides={"delimiter": ";"},
        ),
        CorpusCase(
            "semicolon_auto",
            lambda d: _plain(d, delimiter=";"),
            "accounting",
            ok,
            overrides={"delimiter": "auto"},
        ),
        CorpusCase(
            "tab_auto",
            lambda d: _plain(d, delimiter="\t"),
            "accounting",
            ok,
            overrides={"delimiter": "auto"},
        ),
        CorpusCase(
            "pipe_declared",
            lambda d: _plain(d, delimiter="|"),
            "accounting",
            ok,
            overrides={"delimiter": "|"},
        ),
        CorpusCase("crlf", lambda d: _plain(d, newline="\r\n"), "accounting", ok),
        CorpusCase(
            "gzip",
            lambda d: gzip.compress(_plain(d)),
            "accounting",
            ok,
            suffix=".csv.gz",
            overrides={"path": "orders/orders_{date}.csv.gz"},
        ),
        CorpusCase(
            "zip_one_member",
            lambda d: _zip({f"orders_{d}.csv": _plain(d)}),
            "accounting",
            ok,
            suffix=".zip",
            overrides={"path": "orders/orders_{date}.zip"},
        ),
        CorpusCase(
            "zip_two_members",
            lambda d: _zip({"a.csv": _plain(d), "b.csv": _plain(d)}),
            "failure",
            failure_words=("exactly one file", "a.csv", "b.csv", "run again"),
            suffix=".zip",
            overrides={"path": "orders/orders_{date}.zip"},
        ),
        CorpusCase(
            "gzip_truncated",
            lambda d: gzip.compress(_plain(d))[:-20],
            "failure",
            failure_words=("gzip", "Land the whole"),
            suffix=".csv.gz",
            overrides={"path": "orders/orders_{date}.csv.gz"},
        ),
        CorpusCase(
            "reordered_columns",
            lambda d: csv_text(tuple(reversed(RETAIL)), retail_rows(d)).encode(),
            "accounting",
            ok,
        ),
        CorpusCase(
            "lower_case_padded_headers",
            lambda d: csv_text(
                [f" {name.lower()} " for name in RETAIL], retail_rows(d), keys=RETAIL
            ).encode(),
            "accounting",
            ok,
        ),
        CorpusCase("online_retail_ii", _retail_ii, "accounting", ok),
        CorpusCase(
            "online_retail_ii_latin1_auto",
            lambda d: _retail_ii(d).decode().replace("HOLDER 1", "HOLDER É").encode("latin-1"),
            "accounting",
            ok,
            overrides={"encoding": "auto"},
        ),
        CorpusCase("mixed_us_and_iso_dates", _mixed_dates, "accounting", ok),
        CorpusCase(
            "offsets",
            _offsets,
            "accounting",
            Expected(4, 0),
            column_overrides={
                "InvoiceDate": {"formats": ["%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "ISO8601"]}
            },
            check=_check_offsets,
        ),
        CorpusCase(
            # the shipped formats take no offset: such values are quarantined, named
            "offsets_undeclared",
            _offsets,
            "accounting",
            Expected(1, 3, reasons={"unparseable_invoice_date": 3}),
        ),
        CorpusCase("nul_bytes", _nul_bytes, "accounting", ok),
        CorpusCase("huge_field", _huge_field, "accounting", ok),
        CorpusCase(
            "formula_and_sql_text",
            _formulas,
            "accounting",
            ok,
            check=_descriptions_are(_upper(FORMULAS)),
        ),
        CorpusCase("every_row_duplicated", _duplicated, "accounting", Expected(ROWS, 0, ROWS)),
        CorpusCase(
            "every_row_rejected",
            _all_rejected,
            "accounting",
            Expected(0, ROWS, reasons={"unparseable_quantity": ROWS}),
        ),
        CorpusCase("empty", lambda d: b"", "accounting", Expected(0, 0)),
        CorpusCase(
            "header_only", lambda d: csv_text(RETAIL, []).encode(), "accounting", Expected(0, 0)
        ),
        CorpusCase("whitespace_only", lambda d: b"  \n\t\n \r\n", "accounting", Expected(0, 0)),
        CorpusCase(
            "truncated_last_line",
            _truncated,
            "accounting",
            Expected(ROWS - 1, 1, reasons={"malformed_line": 1}),
        ),
        CorpusCase(
            "missing_required_column",
            lambda d: csv_text([c for c in RETAIL if c != "Quantity"], retail_rows(d)).encode(),
            "failure",
            failure_words=("Quantity", "missing from the header", "aliases", "run again"),
        ),
        CorpusCase(
            "both_spellings_in_header",
            lambda d: csv_text(
                (*RETAIL, "Invoice"),
                [{**r, "Invoice": r["InvoiceNo"]} for r in retail_rows(d)],
            ).encode(),
            "failure",
            failure_words=("'InvoiceNo' and 'Invoice'", "InvoiceNo", "Keep one"),
        ),
        CorpusCase(
            # the quote would swallow the rest of the file: its line is malformed, each
            # line after it is read as its own row
            "unclosed_quote",
            _unclosed_quote,
            "accounting",
            Expected(ROWS - 1, 1, reasons={"malformed_line": 1}),
        ),
        CorpusCase(
            "cut_off_inside_quotes",
            _cut_inside_quotes,
            "accounting",
            Expected(ROWS - 1, 1, reasons={"malformed_line": 1}),
        ),
        CorpusCase(
            "stray_quotes_pair_up",
            _stray_quotes_pair_up,
            "accounting",
            Expected(ROWS - 2, 2, reasons={"malformed_line": 2}),
        ),
        CorpusCase(
            "binary_noise_auto",
            _noise,
            "failure",
            failure_words=("run again",),
            overrides={"encoding": "auto"},
        ),
    ]


def corpus_cases() -> list[CorpusCase]:
    return _cases()


def declaration(case: CorpusCase, base: Path = ORDERS_YAML) -> dict[str, Any]:
    """orders.yaml with the case's overrides, as a YAML mapping."""
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    data.update(case.overrides)
    for column in data["columns"]:
        column.update(case.column_overrides.get(column["name"], {}))
        if "formats" in column and "format" in column:
            column.pop("format")
    return data


def write_declaration(case: CorpusCase, directory: Path, base: Path = ORDERS_YAML) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "orders.yaml"
    path.write_text(yaml.safe_dump(declaration(case, base), sort_keys=False), encoding="utf-8")
    return path


def write_case(case: CorpusCase, landing_dir: Path, day: str) -> Path:
    """The case's file for `day` under `landing_dir` (orders/orders_<day><suffix>)."""
    path = Path(landing_dir) / case.relative_path(day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(case.build(day))
    return path
