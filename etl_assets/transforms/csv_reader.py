"""A landing CSV read faithfully, every value kept as the string that was written.

The common case (valid UTF-8, every line with the header's field count) is parsed by
pyarrow straight into `string[pyarrow]` columns, without a Python object per value. Only
a file with problems takes the slower paths: a file in another encoding is transcoded
first, lines the encoding cannot decode are re-encoded from latin-1 (lossless), and lines
with the wrong field count are re-parsed one by one (landing_text.py does the bytes). Both
are kept, in file order, and marked in `_read_error`. A quote that is never closed is
closed at the end of its own line (a malformed line) rather than swallowing the lines
after it.

Header names are matched to the declared columns ignoring case and surrounding spaces, by
the column's name or one of its `aliases`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl_assets.sources import SourceSpec
from etl_assets.sources.reading_spec import header_key
from etl_assets.sources.reserved_columns import (
    INVALID_ENCODING,
    MALFORMED_LINE,
    READ_ERROR,
    ROW_NUMBER,
)
from etl_assets.transforms.bronze import ENCODING, LandingFileError, LandingRead
from etl_assets.transforms.landing_text import AUTO, decompress, sniff_delimiter, to_utf8

# pandas' pyarrow-backed strings are large_string; parsing into that type avoids a cast.
_STRING = pa.large_string()
_STRING_DTYPE = pd.StringDtype("pyarrow")
# _read_error codes: 0 clean, 1 invalid_encoding, 2 malformed_line.
_READ_ERROR_VALUES = pa.array([None, INVALID_ENCODING, MALFORMED_LINE], _STRING)
_WHOLE_FILE = (1 << 31) - 1  # pyarrow's largest block size (int32)
# a quoted field's body, then its closing quote ("" is an escaped quote; possessive, so that
# a trailing "" is not mistaken for a closing quote)
_QUOTED_REST = re.compile(rb'[^"]*+(?:""[^"]*+)*+"')
_BREAK = re.compile(r"[\r\n]")
_BREAK_BYTES = re.compile(rb"[\r\n]")


@dataclass(frozen=True)
class _Layout:
    """How the header maps onto the declaration."""

    width: int  # fields in the header
    header: tuple[str, ...]  # header names as written (pyarrow's column names)
    declared_to_header: dict[str, str]  # declared name -> its header name, when present
    unexpected: tuple[str, ...]
    delimiter: str = ","


def read_landing_csv(
    data: bytes,
    *,
    source_file: str,
    expected_columns: Sequence[str],
    required_columns: Sequence[str] | None = None,
    encoding: str = ENCODING,
    delimiter: str = ",",
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> LandingRead:
    """Read a landing CSV as strings; raise LandingFileError when its header does not fit.

    `data` is the file as landed (`.gz` and `.zip` names are decompressed); `encoding` and
    `delimiter` may be `auto`; `aliases` maps a declared column to other header spellings.
    A zero-byte or blank file (no header) gives zero rows with the expected columns.
    """
    expected = tuple(expected_columns)
    required = expected if required_columns is None else tuple(required_columns)
    text = to_utf8(decompress(data, source_file), encoding, source_file)
    buffer = text.buffer
    if delimiter == AUTO:
        delimiter = sniff_delimiter(buffer, source_file)
    spellings = _spellings(expected, aliases or {})
    with _csv_fields_unlimited():
        records = _read_records(buffer, expected, required, source_file, spellings, delimiter)
        table = records.table

        def records_of(line_offsets):
            return _records_of_lines(
                records.buffer, line_offsets, table.num_rows, source_file, delimiter
            )

        invalid = records_of(_shifted(text.repaired_line_offsets, records.closed_at))
        unclosed = records_of(records.unclosed_line_offsets)
    codes = _read_error_codes(table.num_rows, [*records.malformed, *unclosed], invalid)
    layout = records.layout
    return LandingRead(
        frame=_landing_frame(table, layout, expected, codes),
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        encoding=text.encoding,
        invalid_encoding_rows=int(np.count_nonzero(codes == 1)),
        malformed_rows=int(np.count_nonzero(codes == 2)),
        unexpected_columns=layout.unexpected,
    )


def csv_options(spec: SourceSpec) -> dict:
    """The reading options a source declares, as `read_landing_csv` keywords."""
    return {
        "encoding": spec.encoding,
        "delimiter": spec.delimiter,
        "aliases": {c.name: c.aliases for c in spec.columns if c.aliases},
    }


# --- header and records -------------------------------------------------------------


@contextmanager
def _csv_fields_unlimited():
    """The csv module refuses fields over 128 KiB; a landing value may be longer."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _spellings(
    expected: tuple[str, ...], aliases: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """Each expected column's accepted header spellings, as `header_key` compares them."""
    return {
        name: tuple(dict.fromkeys(header_key(s) for s in (name, *aliases.get(name, ()))))
        for name in expected
    }


@dataclass(frozen=True)
class _Records:
    layout: _Layout
    table: pa.Table  # every record, in file order
    malformed: list[int]  # indices of records with the wrong field count
    buffer: bytes  # what was parsed: the file, with a quote closed where one never was
    closed_at: Sequence[int] = ()  # offsets (in the file) where a closing quote was added
    unclosed_line_offsets: Sequence[int] = ()  # offsets (in buffer) of those quotes' lines


def _read_records(
    buffer: bytes,
    expected: tuple[str, ...],
    required: tuple[str, ...],
    source_file: str,
    spellings: dict[str, tuple[str, ...]],
    delimiter: str,
) -> _Records:
    """How the header maps, every record in file order, and the indices of malformed ones.

    A quote that is never closed (a cut-off last line `4,5,"six`, or a stray quote that
    would swallow every line after it into one field) is closed at the end of its own line:
    that line becomes a malformed record, and the lines after it are read as their own
    records, each cleaned or quarantined on its own, so no line drops out of the count.
    """
    header = _read_header(buffer, delimiter)
    if header is None or not any(name.strip() for name in header) and not buffer.strip():
        return _Records(_Layout(0, (), {}, ()), pa.table({}), [], buffer)  # empty or blank
    layout = _match_header(header, expected, required, source_file, spellings, delimiter)
    if not buffer.endswith((b"\n", b"\r")):
        buffer += b"\n"  # pyarrow cannot read a header-only file without a final line break
    table, malformed = _parse_records(buffer, layout, source_file)
    closed_at: list[int] = []
    unclosed_lines: list[int] = []
    if _may_hold_unclosed_quotes(table, malformed):
        buffer, closed_at, unclosed_lines = _close_unclosed_quotes(buffer, delimiter)
        if closed_at:
            table, malformed = _parse_records(buffer, layout, source_file)
    return _Records(
        layout,
        _interleave_malformed(table, malformed, layout),
        [i for i, _ in malformed],
        buffer,
        closed_at,
        unclosed_lines,
    )


def _may_hold_unclosed_quotes(table: pa.Table, malformed: list[tuple[int, str]]) -> bool:
    """Cheap, and never False where a quote went unclosed: such a quote leaves a line break
    inside a value (it swallowed lines) or a malformed record (often the last one)."""
    records = table.num_rows + len(malformed)
    if malformed and (
        malformed[-1][0] in (records - 1, -1) or any(_BREAK.search(text) for _, text in malformed)
    ):
        return True
    return any(
        pc.any(pc.match_substring_regex(column, r"[\r\n]")).as_py() for column in table.columns
    )


def _close_unclosed_quotes(buffer: bytes, delimiter: str) -> tuple[bytes, list[int], list[int]]:
    """`buffer` with a quote added at the end of the line of each quoted field that spans
    lines and is never closed, or closed by a quote that does not end a field (`7,"y,9`: a
    second stray quote); the offsets (in `buffer`) where quotes were added, and the offsets
    (in the result) of those lines. A quote opens a field only at the field's start, as
    pyarrow reads it; a properly quoted multi-line value is left as it is."""
    separator = delimiter.encode()
    pieces: list[bytes] = []
    closed_at: list[int] = []
    line_offsets: list[int] = []
    done = position = 0
    while (opened := buffer.find(b'"', position)) != -1:
        position = opened + 1
        at_field_start = opened == 0 or buffer[opened - 1] in b"\r\n"
        if not (at_field_start or buffer.endswith(separator, 0, opened)):
            continue  # a quote inside an unquoted field is a character like any other
        closing = _QUOTED_REST.match(buffer, position)
        if closing:
            position = closing.end()
            after = buffer[position : position + 1]
            if after in (b"", b"\n", b"\r") or buffer.startswith(separator, position):
                continue
            if not _BREAK_BYTES.search(buffer, opened, position):
                continue  # `"abc"def` on one line: pyarrow reads it, no line is swallowed
        line_start = max(buffer.rfind(b"\n", 0, opened), buffer.rfind(b"\r", 0, opened)) + 1
        line_end = _BREAK_BYTES.search(buffer, opened)
        line_end = line_end.start() if line_end else len(buffer)
        line_offsets.append(line_start + len(closed_at))
        pieces += [buffer[done:line_end], b'"']
        closed_at.append(line_end)
        done = position = line_end
    if not closed_at:
        return buffer, [], []
    return b"".join([*pieces, buffer[done:]]), closed_at, line_offsets


def _shifted(offsets: list[int], inserted_at: list[int]) -> list[int]:
    """File offsets of line starts, moved past the bytes inserted before them."""
    if not inserted_at or not offsets:
        return offsets
    return (np.asarray(offsets) + np.searchsorted(inserted_at, offsets, side="left")).tolist()


def _read_header(buffer: bytes, delimiter: str) -> list[str] | None:
    """The first non-blank record (pyarrow also skips blank lines); None for an empty file."""
    text = io.TextIOWrapper(io.BytesIO(buffer), encoding="utf-8-sig", newline="")
    return next((row for row in csv.reader(text, delimiter=delimiter) if row), None)


def _match_header(
    header: list[str],
    expected: tuple[str, ...],
    required: tuple[str, ...],
    source_file: str,
    spellings: dict[str, tuple[str, ...]],
    delimiter: str,
) -> _Layout:
    names = [name.strip() for name in header]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise LandingFileError(
            f"{source_file}: the header repeats column(s) {', '.join(repeated)} "
            f"(header: {', '.join(header)}). Each column must appear once: rename or remove "
            "the duplicates in the file, then run again."
        )
    keys = [header_key(name) for name in header]
    declared_to_header: dict[str, str] = {}
    for name in expected:
        found = [i for i, key in enumerate(keys) if key in spellings[name]]
        if len(found) > 1:
            both = " and ".join(repr(header[i]) for i in found)
            raise LandingFileError(
                f"{source_file}: header columns {both} both name the declared column {name!r} "
                "(names match ignoring case and spaces, and by aliases). Keep one in the file, "
                "or change the declaration's name/aliases, then run again."
            )
        if found:
            declared_to_header[name] = header[found[0]]
    missing = [name for name in required if name not in declared_to_header]
    if missing:
        accepted = "; ".join(f"{n}: {' | '.join(spellings[n])}" for n in missing)
        raise LandingFileError(
            f"{source_file}: required column(s) {', '.join(missing)} missing from the header "
            f"(header found: {_shown_header(header)}; accepted spellings, any case: {accepted}). "
            "Fix the file, or the declaration in etl_assets/sources/<source>.yaml (the column's "
            "name or aliases; its encoding or delimiter if the header looks garbled), then run "
            "again."
        )
    claimed = {key for spelled in spellings.values() for key in spelled}
    return _Layout(
        width=len(header),
        header=tuple(header),
        declared_to_header=declared_to_header,
        unexpected=tuple(n for n, key in zip(names, keys, strict=True) if key not in claimed),
        delimiter=delimiter,
    )


def _shown_header(header: list[str], limit: int = 300) -> str:
    """The header for a message: names joined by ", ", unprintable characters escaped."""
    text = ", ".join("".join(c if c.isprintable() else repr(c)[1:-1] for c in h) for h in header)
    return text if len(text) <= limit else text[:limit] + "..."


def _parse_records(
    buffer: bytes, layout: _Layout, source_file: str
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The well-formed records as a table, and the malformed ones as (record index, text)."""
    try:
        table, malformed = _read_with_pyarrow(buffer, layout, use_threads=True)
        if malformed:  # only the single-threaded reader reports where a bad row is
            table, malformed = _read_with_pyarrow(buffer, layout, use_threads=False)
        return table, malformed
    except pa.ArrowInvalid:
        pass  # a record longer than a block (a huge value, an unclosed quote): retry below
    try:
        return _read_with_pyarrow(buffer, layout, use_threads=False, block_size=_WHOLE_FILE)
    except pa.ArrowInvalid as error:
        raise LandingFileError(
            f"{source_file}: cannot be parsed as CSV ({error}). Check the file's quoting, "
            "fix it and run again."
        ) from error


def _read_with_pyarrow(
    buffer: bytes, layout: _Layout, *, use_threads: bool, block_size: int | None = None
) -> tuple[pa.Table, list[tuple[int, str]]]:
    malformed: list[tuple[int, str]] = []

    def keep_aside(row) -> str:
        # row.number counts records from 1, the header included (None when threaded).
        malformed.append((row.number - 2 if row.number is not None else -1, row.text))
        return "skip"

    read_options = pacsv.ReadOptions(use_threads=use_threads)
    if block_size is not None:
        read_options.block_size = min(block_size, len(buffer) + 1)
    table = pacsv.read_csv(
        pa.BufferReader(buffer),
        read_options=read_options,
        parse_options=pacsv.ParseOptions(
            delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=keep_aside
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: _STRING for name in layout.header},
            include_columns=list(layout.declared_to_header.values()),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,  # _as_utf8 has made sure of it
        ),
    )
    return table, malformed


def _interleave_malformed(
    table: pa.Table, malformed: list[tuple[int, str]], layout: _Layout
) -> pa.Table:
    """Put the malformed records back at their place, parsed with the fields they have."""
    if not malformed:
        return table
    header_index = {name: i for i, name in enumerate(layout.header)}
    rows = [
        _fit_fields(_split_record(text, layout.delimiter), layout.width, layout.delimiter)
        for _, text in malformed
    ]
    extra = pa.table(
        {
            name: pa.array([row[header_index[name]] for row in rows], _STRING)
            for name in table.column_names
        }
    )
    total = table.num_rows + len(malformed)
    at_malformed = np.zeros(total, dtype=bool)
    at_malformed[[index for index, _ in malformed]] = True
    order = np.empty(total, dtype=np.int64)
    order[~at_malformed] = np.arange(table.num_rows)
    order[at_malformed] = table.num_rows + np.arange(len(malformed))
    return pa.concat_tables([table, extra]).take(order)


def _split_record(text: str, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def _fit_fields(fields: list[str], width: int, delimiter: str) -> list[str | None]:
    """Missing trailing fields become null; extra ones are joined into the last column."""
    if len(fields) > width:
        return [*fields[: width - 1], delimiter.join(fields[width - 1 :])]
    return [*fields, *[None] * (width - len(fields))]


# --- where lines fall -----------------------------------------------------------------


def _records_of_lines(
    buffer: bytes, line_offsets: list[int], records: int, source_file: str, delimiter: str
) -> np.ndarray:
    """Data record index (0-based) of each line starting at one of `line_offsets`."""
    if not line_offsets:
        return np.empty(0, dtype=np.int64)
    starts = _record_starts(buffer)
    if len(starts) != records + 1:  # a stray quote in an unquoted field fools the scan
        starts = _record_starts_by_csv_module(buffer, delimiter)
    if len(starts) != records + 1:
        raise LandingFileError(
            f"{source_file}: the records found ({len(starts) - 1}) do not match the rows "
            f"parsed ({records}), so lines cannot be traced to rows. Check the file's quoting."
        )
    containing = np.searchsorted(starts, np.asarray(line_offsets), side="right") - 1
    return containing[containing >= 1] - 1  # record 0 is the header


def _record_starts(buffer: bytes) -> np.ndarray:
    """Byte offsets of the non-blank records, header first, assuming RFC 4180 quoting:
    a line break ends a record when an even number of quotes precede it."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    line_ends = _line_ends(raw)
    quotes = np.flatnonzero(raw == ord('"'))
    record_ends = line_ends[np.searchsorted(quotes, line_ends) % 2 == 0]
    return _non_blank(raw, np.concatenate(([0], record_ends + 1)))


def _record_starts_by_csv_module(buffer: bytes, delimiter: str) -> np.ndarray:
    """Same as _record_starts, exact for any quoting, at Python speed."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    line_starts = np.concatenate(([0], _line_ends(raw) + 1))
    text = io.TextIOWrapper(io.BytesIO(buffer), encoding=ENCODING, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    first_lines, consumed = [], 0
    for row in reader:
        if row:
            first_lines.append(consumed)
        consumed = reader.line_num
    return line_starts[np.asarray(first_lines, dtype=np.int64)]


def _line_ends(raw: np.ndarray) -> np.ndarray:
    """Offsets of the last byte of each line break: \\n, or a \\r not followed by \\n."""
    newlines = np.flatnonzero(raw == ord("\n"))
    carriage_returns = np.flatnonzero(raw == ord("\r"))
    following = np.minimum(carriage_returns + 1, len(raw) - 1)
    at_end = carriage_returns == len(raw) - 1
    lone = carriage_returns[at_end | (raw[following] != ord("\n"))]
    return np.union1d(newlines, lone) if lone.size else newlines


def _non_blank(raw: np.ndarray, starts: np.ndarray) -> np.ndarray:
    starts = starts[starts < len(raw)]
    first_bytes = raw[starts]
    return starts[(first_bytes != ord("\n")) & (first_bytes != ord("\r"))]


# --- frames ---------------------------------------------------------------------------


def _read_error_codes(rows: int, malformed: list[int], invalid: np.ndarray) -> np.ndarray:
    codes = np.zeros(rows, dtype=np.int8)
    codes[malformed] = 2
    codes[invalid] = 1  # invalid_encoding wins over malformed_line
    return codes


def _landing_frame(
    table: pa.Table, layout: _Layout, expected: tuple[str, ...], codes: np.ndarray
) -> pd.DataFrame:
    rows = table.num_rows
    columns = {
        name: table.column(layout.declared_to_header[name])
        if name in layout.declared_to_header
        else pa.nulls(rows, _STRING)
        for name in expected
    }
    columns[ROW_NUMBER] = pa.array(np.arange(1, rows + 1, dtype=np.int64))
    columns[READ_ERROR] = (
        _READ_ERROR_VALUES.take(pa.array(codes)) if codes.any() else pa.nulls(rows, _STRING)
    )
    return pa.table(columns).to_pandas(types_mapper={_STRING: _STRING_DTYPE}.get)
