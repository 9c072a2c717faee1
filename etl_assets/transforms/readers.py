"""Bronze readers beside the CSV one: JSON records (files or API pages) and Parquet.

Each returns the same `LandingRead` as `read_landing_csv`: the declared columns as
`string[pyarrow]` (a declared field a record lacks is null), `_row_number` (1-based over
the whole read) and `_read_error` (always null here: a JSON or Parquet input that cannot
be read is a clear failure, since its broken part cannot be traced to fields to keep).

A declared column name may be a dotted path into nested objects (`properties.mag`).
A record field that is neither declared nor listed under `ignore_fields` is kept, as for an
undeclared CSV column: a string column named by its path, after the declared ones, and
listed in `unexpected_columns` (the `landing_columns` check names it). Dropping it would lose
data silently; `ignore_fields` makes leaving it out a choice.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl_assets.sources.reserved_columns import READ_ERROR, ROW_NUMBER
from etl_assets.transforms.bronze import ENCODING, LandingFileError, LandingRead
from etl_assets.transforms.landing_text import decompress

_STRING = pa.large_string()
_STRING_DTYPE = pd.StringDtype("pyarrow")
_LEAF = None  # marks a declared (or ignored) field in the tree of known paths


# --- JSON ----------------------------------------------------------------------------


def parse_json_document(data: bytes, *, source_file: str) -> list:
    """The records of a JSON landing file: a top-level array, or JSON Lines (one value a
    line). Malformed JSON fails with the line and column."""
    try:
        text = data.decode(ENCODING)
    except UnicodeDecodeError as error:
        raise LandingFileError(
            f"{source_file}: is not UTF-8 (byte {error.start}); JSON must be UTF-8. Re-export "
            "the file as UTF-8 and run again."
        ) from error
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return []
    if stripped.startswith("["):
        records = _loads(stripped, source_file, where="")
        if not isinstance(records, list):
            raise LandingFileError(f"{source_file}: the document is not a JSON array")
        return records
    records = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if line.strip():
            records.append(_loads(line, source_file, where=f"line {number}: "))
    return records


def _loads(text: str, source_file: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise LandingFileError(
            f"{source_file}: {where}not valid JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno}). Fix the file and run again."
        ) from error


def read_json_records(
    pages: Sequence[Sequence[Any]],
    *,
    source_file: str,
    expected_columns: Sequence[str],
    declaration: str,
    ignore_fields: Iterable[str] = (),
    sha256: str | None = None,
    size_bytes: int = 0,
) -> LandingRead:
    """Records (objects), given page by page, flattened to the declared columns as strings,
    then the undeclared fields' columns in the order first seen (null where a record lacks one).

    `pages` holds one list per API page (a file is one page); errors name the page and the
    record. `sha256` and `size_bytes` describe the raw bytes the records came from.
    """
    expected = tuple(expected_columns)
    known = _known_paths(expected, ignore_fields)
    columns: dict[str, list] = {name: [] for name in expected}
    extra: dict[str, list] = {}  # undeclared path -> its values, one per record
    count = 0
    for page_number, records in enumerate(pages, start=1):
        for record_number, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                where = _where(len(pages), page_number, record_number)
                raise LandingFileError(
                    f"{source_file}: {where} is {_json_kind(record)}, not an object; every "
                    f"record must be a JSON object with the fields declared in {declaration}."
                )
            for name in expected:
                columns[name].append(_as_text(_lookup(record, name)))
            undeclared = dict(_undeclared_fields(record, known, expected))
            for path in undeclared:
                if path not in extra:
                    extra[path] = [None] * count  # the records before had no such field
            for path, values in extra.items():
                values.append(_as_text(undeclared.get(path)))
            count += 1
    frame = pd.DataFrame(
        {name: pd.array(values, dtype=_STRING_DTYPE) for name, values in (columns | extra).items()}
    )
    frame[ROW_NUMBER] = np.arange(1, count + 1, dtype=np.int64)
    frame[READ_ERROR] = pd.array([None] * count, dtype=_STRING_DTYPE)
    return LandingRead(
        frame=frame,
        sha256=sha256 or hashlib.sha256(b"").hexdigest(),
        size_bytes=size_bytes,
        encoding=ENCODING,
        invalid_encoding_rows=0,
        malformed_rows=0,
        unexpected_columns=tuple(extra),
    )


def read_landing_json(
    data: bytes,
    *,
    source_file: str,
    expected_columns: Sequence[str],
    declaration: str,
    ignore_fields: Iterable[str] = (),
) -> LandingRead:
    """A JSON landing file (array or JSON Lines) read like `read_json_records`."""
    records = parse_json_document(decompress(data, source_file), source_file=source_file)
    return read_json_records(
        [records],
        source_file=source_file,
        expected_columns=expected_columns,
        declaration=declaration,
        ignore_fields=ignore_fields,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )


def _where(pages: int, page: int, record: int) -> str:
    return f"page {page}, record {record}" if pages > 1 else f"record {record}"


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def _known_paths(declared: Sequence[str], ignored: Iterable[str]) -> dict:
    """A tree of the dotted paths declared or ignored; a leaf is `_LEAF`."""
    tree: dict = {}
    for path in (*declared, *ignored):
        node = tree
        *parents, last = path.split(".")
        for part in parents:
            child = node.get(part, {})
            if child is _LEAF:
                break  # an ancestor is known whole
            node = node.setdefault(part, child)
        else:
            node[last] = _LEAF
    return tree


def _undeclared_fields(
    record: dict, tree: dict, declared: Sequence[str], prefix: str = ""
) -> Iterator[tuple[str, Any]]:
    """(path, value) of the fields neither declared nor ignored, the outermost unknown one."""
    for key, value in record.items():
        path = f"{prefix}{key}"
        if key not in tree:
            if path not in declared:  # a literal dotted key is declared whole
                yield path, value
        elif tree[key] is _LEAF:
            continue
        elif isinstance(value, dict):
            yield from _undeclared_fields(value, tree[key], declared, f"{path}.")
        elif value is not None:
            yield path, value  # a scalar or array where objects were declared: kept whole


def _lookup(record: dict, name: str) -> Any:
    if name in record:
        return record[name]
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _as_text(value: Any) -> str | None:
    """A JSON value as the string bronze keeps; objects and arrays as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Positional, not 1e+20: the silver number patterns take plain decimals.
        return np.format_float_positional(value, trim="-") if math.isfinite(value) else str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- Parquet -------------------------------------------------------------------------


def read_landing_parquet(
    data: bytes,
    *,
    source_file: str,
    expected_columns: Sequence[str],
    required_columns: Sequence[str] | None = None,
) -> LandingRead:
    """A Parquet landing file with every declared column as strings. Columns the file has
    and the declaration does not are reported in `unexpected_columns`, as for CSV."""
    expected = tuple(expected_columns)
    required = expected if required_columns is None else tuple(required_columns)
    try:
        table = pq.read_table(io.BytesIO(decompress(data, source_file)))
    except (pa.ArrowInvalid, OSError) as error:
        raise LandingFileError(
            f"{source_file}: cannot be read as Parquet ({error}). Check that the file is "
            "complete and really Parquet, then run again."
        ) from error
    names = table.column_names
    missing = [name for name in required if name not in names]
    if missing:
        raise LandingFileError(
            f"{source_file}: required column(s) {', '.join(missing)} missing from the Parquet "
            f"schema (columns found: {', '.join(names)}). Fix the file, or the declaration if "
            "the columns were renamed, then run again."
        )
    rows = table.num_rows
    frame = pd.DataFrame(
        {
            name: _column_as_strings(table.column(name), source_file, name)
            if name in names
            else pd.array([None] * rows, dtype=_STRING_DTYPE)
            for name in expected
        }
    )
    frame[ROW_NUMBER] = np.arange(1, rows + 1, dtype=np.int64)
    frame[READ_ERROR] = pd.array([None] * rows, dtype=_STRING_DTYPE)
    return LandingRead(
        frame=frame,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        encoding="parquet",
        invalid_encoding_rows=0,
        malformed_rows=0,
        unexpected_columns=tuple(name for name in names if name not in expected),
    )


def _column_as_strings(column: pa.ChunkedArray, source_file: str, name: str) -> pd.Series:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_nested(kind):
        values = [_as_text(value) for value in column.to_pylist()]
        return pd.Series(pd.array(values, dtype=_STRING_DTYPE))
    try:
        text = pc.cast(column, _STRING)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise LandingFileError(
            f"{source_file}: column {name} ({kind}) cannot be read as text: {error}"
        ) from error
    if pa.types.is_floating(kind) and pc.any(pc.match_substring(text, "e")).as_py():
        # Arrow writes 1e+20; bronze keeps the plain decimal silver can parse.
        text = pa.chunked_array([pa.array([_as_text(v) for v in column.to_pylist()], _STRING)])
    return pd.Series(pd.arrays.ArrowStringArray(text))
