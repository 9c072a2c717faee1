"""A landing CSV read faithfully, every value kept as the string that was written.

The common case (valid UTF-8, every line with the header's field count) is parsed by
pyarrow straight into `string[pyarrow]` columns, without a Python object per value. Only
a file with problems takes the slower paths: lines that are not UTF-8 are re-encoded from
latin-1 (lossless), and lines with the wrong field count are re-parsed one by one. Both
are kept, in file order, and marked in `_read_error`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from etl_assets.sources.reserved_columns import (
    INVALID_ENCODING,
    MALFORMED_LINE,
    READ_ERROR,
    ROW_NUMBER,
)
from etl_assets.transforms.bronze import ENCODING, LandingFileError, LandingRead

# pandas' pyarrow-backed strings are large_string; parsing into that type avoids a cast.
_STRING = pa.large_string()
_STRING_DTYPE = pd.StringDtype("pyarrow")
# _read_error codes: 0 clean, 1 invalid_encoding, 2 malformed_line.
_READ_ERROR_VALUES = pa.array([None, INVALID_ENCODING, MALFORMED_LINE], _STRING)
_VALIDATION_CHUNK = 16 << 20  # bytes decoded at a time to check UTF-8 (bounds memory)
_REPAIR_CHUNK = 8 << 10  # small, so a bad line costs a per-line pass over few neighbours
_WHOLE_FILE = (1 << 31) - 1  # pyarrow's largest block size (int32)


@dataclass(frozen=True)
class _Layout:
    """How the header maps onto the declaration."""

    width: int  # fields in the header
    header: tuple[str, ...]  # header names as written (pyarrow's column names)
    declared_to_header: dict[str, str]  # declared name -> its header name, when present
    unexpected: tuple[str, ...]


def read_landing_csv(
    data: bytes,
    *,
    source_file: str,
    expected_columns: Sequence[str],
    required_columns: Sequence[str] | None = None,
) -> LandingRead:
    """Read a landing CSV as strings; raise LandingFileError when its header does not fit.

    A zero-byte file (no header) gives zero rows with the expected columns.
    """
    expected = tuple(expected_columns)
    required = expected if required_columns is None else tuple(required_columns)
    buffer, repaired_line_offsets = _as_utf8(data)
    with _csv_fields_unlimited():
        layout, table, malformed = _read_records(buffer, expected, required, source_file)
        invalid = _records_of_lines(buffer, repaired_line_offsets, table.num_rows, source_file)
    codes = _read_error_codes(table.num_rows, malformed, invalid)
    return LandingRead(
        frame=_landing_frame(table, layout, expected, codes),
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        encoding=ENCODING,
        invalid_encoding_rows=int(np.count_nonzero(codes == 1)),
        malformed_rows=int(np.count_nonzero(codes == 2)),
        unexpected_columns=layout.unexpected,
    )


# --- encoding -------------------------------------------------------------------------


def _as_utf8(data: bytes) -> tuple[bytes, list[int]]:
    """The bytes as valid UTF-8, and the offsets (in them) of lines re-encoded from latin-1."""
    if data.isascii() or all(_is_utf8(chunk) for chunk in _line_chunks(data, _VALIDATION_CHUNK)):
        return data, []
    return _repair_invalid_lines(data)


def _repair_invalid_lines(data: bytes) -> tuple[bytes, list[int]]:
    """Re-encode every line that is not UTF-8 from latin-1: each byte is one character,
    so the original bytes stay recoverable. Line order and line breaks are unchanged."""
    pieces: list[bytes | memoryview] = []
    repaired_at: list[int] = []
    size = 0
    for chunk in _line_chunks(data, _REPAIR_CHUNK):
        lines = [chunk] if _is_utf8(chunk) else bytes(chunk).splitlines(keepends=True)
        for line in lines:
            if not _is_utf8(line):
                repaired_at.append(size)
                line = bytes(line).decode("latin-1").encode(ENCODING)
            pieces.append(line)
            size += len(line)
    return b"".join(pieces), repaired_at


def _line_chunks(data: bytes, size: int):
    """Views of about `size` bytes that end after a newline, so no character is split."""
    view = memoryview(data)
    start = 0
    while start < len(data):
        newline = data.find(b"\n", start + size)
        end = len(data) if newline == -1 else newline + 1
        yield view[start:end]
        start = end


def _is_utf8(data: bytes | memoryview) -> bool:
    try:
        str(data, ENCODING)
    except UnicodeDecodeError:
        return False
    return True


# --- header and records -------------------------------------------------------------


@contextmanager
def _csv_fields_unlimited():
    """The csv module refuses fields over 128 KiB; a landing value may be longer."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_records(
    buffer: bytes, expected: tuple[str, ...], required: tuple[str, ...], source_file: str
) -> tuple[_Layout, pa.Table, list[int]]:
    """How the header maps, every record in file order, and the indices of malformed ones."""
    header = _read_header(buffer)
    if header is None:
        return _Layout(0, (), {}, ()), pa.table({}), []
    layout = _match_header(header, expected, required, source_file)
    if not buffer.endswith((b"\n", b"\r")):
        buffer += b"\n"  # pyarrow cannot read a header-only file without a final line break
    table, malformed = _parse_records(buffer, layout, source_file)
    return layout, _interleave_malformed(table, malformed, layout), [i for i, _ in malformed]


def _read_header(buffer: bytes) -> list[str] | None:
    """The first non-blank record (pyarrow also skips blank lines); None for an empty file."""
    text = io.TextIOWrapper(io.BytesIO(buffer), encoding="utf-8-sig", newline="")
    return next((row for row in csv.reader(text) if row), None)


def _match_header(
    header: list[str], expected: tuple[str, ...], required: tuple[str, ...], source_file: str
) -> _Layout:
    names = [name.strip() for name in header]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise LandingFileError(
            f"{source_file}: the header repeats column(s) {', '.join(repeated)} "
            f"(header: {', '.join(header)}). Each column must appear once: rename or remove "
            "the duplicates in the file, then run again."
        )
    missing = [name for name in required if name not in names]
    if missing:
        raise LandingFileError(
            f"{source_file}: required column(s) {', '.join(missing)} missing from the header "
            f"(header found: {', '.join(header)}). Fix the file, or the declaration in "
            "etl_assets/sources/<source>.yaml if the columns were renamed, then run again."
        )
    written = dict(zip(names, header, strict=True))
    return _Layout(
        width=len(header),
        header=tuple(header),
        declared_to_header={name: written[name] for name in expected if name in written},
        unexpected=tuple(name for name in names if name not in expected),
    )


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
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=keep_aside),
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
    rows = [_fit_fields(_split_record(text), layout.width) for _, text in malformed]
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


def _split_record(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline="")), [])


def _fit_fields(fields: list[str], width: int) -> list[str | None]:
    """Missing trailing fields become null; extra ones are joined into the last column."""
    if len(fields) > width:
        return [*fields[: width - 1], ",".join(fields[width - 1 :])]
    return [*fields, *[None] * (width - len(fields))]


# --- where lines fall -----------------------------------------------------------------


def _records_of_lines(
    buffer: bytes, line_offsets: list[int], records: int, source_file: str
) -> np.ndarray:
    """Data record index (0-based) of each line starting at one of `line_offsets`."""
    if not line_offsets:
        return np.empty(0, dtype=np.int64)
    starts = _record_starts(buffer)
    if len(starts) != records + 1:  # a stray quote in an unquoted field fools the scan
        starts = _record_starts_by_csv_module(buffer)
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


def _record_starts_by_csv_module(buffer: bytes) -> np.ndarray:
    """Same as _record_starts, exact for any quoting, at Python speed."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    line_starts = np.concatenate(([0], _line_ends(raw) + 1))
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(buffer), encoding=ENCODING, newline=""))
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
