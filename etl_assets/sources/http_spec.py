"""The `http:` block of a declaration: where a paged JSON API is and how it pages.

Read by `spec.load_source` with its reader, so every error names the file and the field.
No dagster import here: the HTTP connector reads this model.

    http:
      url: https://api.example.org/v1/quakes?day={date}   # or url_env (below), or both
      url_env: ETL_QUAKES_URL          # an ETL_..._URL variable; when set it wins over url
      token_env: ETL_QUAKES_TOKEN      # optional: sent as "Authorization: Bearer <value>"
      records_path: data.items         # where a page's list of records is ("" = the body)
      total_path: total                # optional: the API's total count, checked at the end
      max_pages: 10000
      pagination:
        type: page                     # page | offset | cursor | none
        page_size: 100
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PAGINATION_TYPES = ("page", "offset", "cursor", "none")
URL_VARIABLE_PATTERN = re.compile(r"^ETL_[A-Z0-9_]*_URL$")
TOKEN_VARIABLE_PATTERN = re.compile(r"^ETL_[A-Z0-9_]+$")
PATH_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
PARAM_PATTERN = re.compile(r"^[A-Za-z0-9_\-.\[\]]+$")
DEFAULT_PAGE_SIZE = 100
DEFAULT_MAX_PAGES = 10_000
MAX_PAGE_SIZE = 100_000

# Query parameters each pagination type sends, with their default names.
_PARAMS = {
    "page": {"page_param": "page", "size_param": "page_size"},
    "offset": {"offset_param": "offset", "size_param": "limit"},
    "cursor": {"cursor_param": "cursor", "size_param": "limit"},
    "none": {},
}


@dataclass(frozen=True)
class PaginationSpec:
    type: str = "none"
    page_size: int = DEFAULT_PAGE_SIZE
    first_page: int = 1  # number of the first page (page type)
    page_param: str = "page"
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    size_param: str = "page_size"
    next_cursor_path: str = "next_cursor"  # where a page says the cursor of the next one


@dataclass(frozen=True)
class HttpSpec:
    url: str | None  # resolved URL; may hold {date} for daily sources
    url_env: str | None
    token_env: str | None
    records_path: str
    total_path: str | None
    max_pages: int
    pagination: PaginationSpec


def read_http(reader, raw: Any, *, daily: bool, connector: str) -> HttpSpec:
    """The validated `http:` block. `reader` is spec._Reader (errors name file and field)."""
    raw = reader.mapping(raw, "http")
    reader.keys(
        raw,
        "http.",
        required=set(),
        optional={
            "url",
            "url_env",
            "token_env",
            "records_path",
            "total_path",
            "max_pages",
            "pagination",
        },
    )
    url = raw.get("url")
    if url is not None:
        url = reader.text(url, "http.url")
        if not url.startswith(("http://", "https://")):
            raise reader.fail("http.url", f"{url!r} must start with http:// or https://")
        if ("{date}" in url) != daily:
            raise reader.fail(
                "http.url", "a daily source needs {date} in its URL; an undated one must not"
            )
    url_env = raw.get("url_env")
    if url_env is not None and not URL_VARIABLE_PATTERN.match(str(url_env)):
        raise reader.fail(
            "http.url_env", f"{url_env!r} must name a variable like ETL_<SOMETHING>_URL"
        )
    if connector == "http" and url is None and url_env is None:
        raise reader.fail("http", "connector: http needs http.url or http.url_env")
    if connector != "http" and url_env is None:
        raise reader.fail(
            "http.url_env",
            f"with connector: {connector}, an http block only serves to switch the source to "
            "HTTP when the variable named by url_env is set; give url_env",
        )
    token_env = raw.get("token_env")
    if token_env is not None and not TOKEN_VARIABLE_PATTERN.match(str(token_env)):
        raise reader.fail("http.token_env", f"{token_env!r} must name a variable like ETL_<NAME>")
    records_path = raw.get("records_path", "")
    if records_path != "" and not (
        isinstance(records_path, str) and PATH_PATTERN.match(records_path)
    ):
        raise reader.fail(
            "http.records_path", 'a dotted path of keys like data.items, or "" for the body'
        )
    total_path = raw.get("total_path")
    if total_path is not None and not (
        isinstance(total_path, str) and PATH_PATTERN.match(total_path)
    ):
        raise reader.fail("http.total_path", "a dotted path of keys like meta.total")
    max_pages = _whole(reader, raw.get("max_pages", DEFAULT_MAX_PAGES), "http.max_pages", 1, 10**6)
    return HttpSpec(
        url=url,
        url_env=url_env,
        token_env=token_env,
        records_path=records_path,
        total_path=total_path,
        max_pages=max_pages,
        pagination=_read_pagination(reader, raw.get("pagination", {"type": "none"})),
    )


def _read_pagination(reader, raw: Any) -> PaginationSpec:
    raw = reader.mapping(raw, "http.pagination")
    kind = reader.choice(raw.get("type"), "http.pagination.type", PAGINATION_TYPES)
    names = _PARAMS[kind]
    optional = set(names) | ({"page_size"} if kind != "none" else set())
    if kind == "page":
        optional.add("first_page")
    if kind == "cursor":
        optional.add("next_cursor_path")
    reader.keys(raw, "http.pagination.", {"type"}, optional)
    values: dict[str, Any] = {"type": kind}
    for field_name, default in names.items():
        value = raw.get(field_name, default)
        if not isinstance(value, str) or not PARAM_PATTERN.match(value):
            raise reader.fail(f"http.pagination.{field_name}", "a query parameter name")
        values[field_name] = value
    if kind != "none":
        values["page_size"] = _whole(
            reader,
            raw.get("page_size", DEFAULT_PAGE_SIZE),
            "http.pagination.page_size",
            1,
            MAX_PAGE_SIZE,
        )
    if kind == "page":
        values["first_page"] = _whole(
            reader, raw.get("first_page", 1), "http.pagination.first_page", 0, 1
        )
    if kind == "cursor":
        path = raw.get("next_cursor_path", "next_cursor")
        if not isinstance(path, str) or not PATH_PATTERN.match(path):
            raise reader.fail("http.pagination.next_cursor_path", "a dotted path like meta.next")
        values["next_cursor_path"] = path
    return PaginationSpec(**values)


def _whole(reader, value: Any, field_path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise reader.fail(field_path, f"expected a whole number from {low} to {high}")
    return value
