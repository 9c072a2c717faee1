"""How a landing file is read, as declared: the source's `encoding` and `delimiter`, and per
column its header `aliases`, datetime `formats` and `timezone`.

    encoding: auto            # utf-8 (default), latin-1, cp1252, utf-16, ...; or auto
    delimiter: auto           # "," (default), ";", "\\t", "|", ...; or auto
    columns:
      - {name: InvoiceNo, aliases: [Invoice], ...}
      - {name: InvoiceDate, type: datetime, formats: ["%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S"],
         timezone: Europe/London}

No pandas at module level: declarations are read when the code location loads.
"""

from __future__ import annotations

import codecs
import datetime as dt
import zoneinfo
from collections.abc import Sequence
from typing import Any

AUTO = "auto"
DEFAULT_ENCODING = "utf-8"
DEFAULT_DELIMITER = ","
# pandas' own parsers, accepted as a format as they are
PANDAS_FORMATS = ("ISO8601", "mixed")
# the instant every declared format is tried on: a format must write and read back its day
_PROBE = dt.datetime(2024, 1, 31, 13, 45, 30, tzinfo=dt.UTC)


def read_encoding(reader, value: Any) -> str:
    if value is None:
        return DEFAULT_ENCODING
    value = reader.text(value, "encoding").strip()
    if value.lower() == AUTO:
        return AUTO
    try:
        info = codecs.lookup(value)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise reader.fail(
            "encoding",
            f"{value!r} is not a text encoding Python knows; use e.g. utf-8, latin-1, cp1252, "
            "utf-16, or auto (detected per file)",
        )
    return info.name


def read_delimiter(reader, value: Any) -> str:
    if value is None:
        return DEFAULT_DELIMITER
    if value == AUTO:
        return AUTO
    if not isinstance(value, str) or len(value) != 1 or value in '"\r\n':
        raise reader.fail(
            "delimiter",
            f"{value!r} must be one character (not a quote or a line break), e.g. ',' ';' '|' "
            '"\\t", or auto (sniffed from the header and first lines)',
        )
    return value


def read_aliases(reader, value: Any, where: str) -> tuple[str, ...]:
    aliases = reader.string_list([] if value is None else value, f"{where}.aliases")
    for i, alias in enumerate(aliases):
        reader.text(alias, f"{where}.aliases[{i}]")
    return aliases


def header_key(name: str) -> str:
    """How a header name is matched: surrounding spaces and case do not count."""
    return name.strip().casefold()


def check_spellings(reader, columns: Sequence) -> None:
    """No header spelling (name or alias, compared by `header_key`) may name two columns."""
    owner: dict[str, int] = {}
    for i, column in enumerate(columns):
        for spelling in (column.name, *column.aliases):
            key = header_key(spelling)
            if key in owner and owner[key] != i:
                raise reader.fail(
                    f"columns[{i}].aliases" if spelling != column.name else f"columns[{i}].name",
                    f"{spelling!r} already names columns[{owner[key]}] (header names are "
                    "matched ignoring case and surrounding spaces)",
                )
            owner[key] = i


def read_formats(reader, item: dict, where: str, col_type: str) -> tuple[str, ...]:
    """`format: "..."` or `formats: [...]` (tried in order); datetime columns only."""
    if "format" in item and "formats" in item:
        raise reader.fail(f"{where}.formats", "write either format or formats, not both")
    if "format" in item:
        formats = (reader.text(item["format"], f"{where}.format"),)
        field = f"{where}.format"
    elif "formats" in item:
        field = f"{where}.formats"
        formats = reader.string_list(item["formats"], field)
        if not formats:
            raise reader.fail(field, "expected a non-empty list of formats")
    else:
        return ()
    if col_type != "datetime":
        raise reader.fail(field, f"only datetime columns take a format, not {col_type}")
    for i, fmt in enumerate(formats):
        problem = format_problem(fmt)
        if problem:
            raise reader.fail(field if len(formats) == 1 else f"{field}[{i}]", problem)
    return formats


def format_problem(fmt: str) -> str | None:
    """Why a datetime format cannot read a datetime, or None when it can: it must write the
    probe instant and read back its day (so it names a year, a month and a day)."""
    if fmt in PANDAS_FORMATS:
        return None
    import pandas as pd  # lazily: the code location load stays fast

    try:
        text = _PROBE.strftime(fmt)
        parsed = pd.to_datetime(text, format=fmt)
    except (ValueError, TypeError) as error:
        return f"{fmt!r} is not a strptime format that reads a datetime ({error})"
    if (parsed.year, parsed.month, parsed.day) != (2024, 1, 31):
        return (
            f"{fmt!r} does not read a whole date (year, month and day) back: a datetime "
            f"column needs one; e.g. '%Y-%m-%d %H:%M:%S' or '%m/%d/%Y %H:%M'"
        )
    return None


def read_timezone(reader, value: Any, where: str, col_type: str) -> str | None:
    if value is None:
        return None
    value = reader.text(value, f"{where}.timezone")
    if col_type != "datetime":
        raise reader.fail(f"{where}.timezone", "only datetime columns take a timezone")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise reader.fail(
            f"{where}.timezone", f"{value!r} is not a timezone; use an IANA name such as UTC"
        ) from None
    return value
