"""Walking a paged JSON API: page-number, offset and cursor pagination, no network here.

`walk_pages` asks `fetch(params)` for each page body (parsed JSON) and decides what to
ask next. It never ends early in silence: a page shorter than asked for ends the walk
only once the API's total agrees (when `total_path` is declared) or the following page
turns out empty; a cursor that comes back twice, a total that changes between pages, or
more pages than `max_pages` are failures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etl_assets.sources.http_spec import HttpSpec


class PaginationError(ValueError):
    """The pages do not add up; the message says which page and why."""


def lookup(body: Any, path: str) -> Any:
    """The value at a dotted path of object keys; None where a key is absent."""
    value = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def records_of(body: Any, records_path: str, page: int) -> list:
    records = lookup(body, records_path) if records_path else body
    if isinstance(records, list):
        return records
    if records_path:
        keys = ", ".join(sorted(body)) if isinstance(body, dict) else type(body).__name__
        raise PaginationError(
            f"page {page}: no list of records at '{records_path}' (the body has: {keys}). "
            "Check http.records_path in the declaration."
        )
    raise PaginationError(
        f"page {page}: the body is not a list of records; if the records sit inside an "
        "object, set http.records_path to their key."
    )


def walk_pages(fetch: Callable[[dict], Any], http: HttpSpec) -> list[list]:
    """The records of every page, in order. `fetch` takes the query parameters of a page."""
    walker = _Walker(fetch, http)
    kind = http.pagination.type
    if kind == "none":
        walker.take({})
    elif kind == "cursor":
        walker.walk_cursor()
    else:
        walker.walk_numbered()
    walker.check_total()
    return walker.pages


def first_page_params(http: HttpSpec) -> dict:
    """The query parameters of the first page, as `walk_pages` asks for it."""
    paging = http.pagination
    if paging.type == "none":
        return {}
    if paging.type == "cursor":
        return {paging.size_param: paging.page_size}
    if paging.type == "page":
        return {paging.page_param: paging.first_page, paging.size_param: paging.page_size}
    return {paging.offset_param: 0, paging.size_param: paging.page_size}


class _Walker:
    def __init__(self, fetch: Callable[[dict], Any], http: HttpSpec):
        self.fetch = fetch
        self.http = http
        self.paging = http.pagination
        self.pages: list[list] = []
        self.total: int | None = None

    @property
    def fetched(self) -> int:
        return sum(len(records) for records in self.pages)

    def take(self, params: dict) -> tuple[Any, list]:
        """Fetch the next page and keep its records."""
        if len(self.pages) >= self.http.max_pages:
            raise PaginationError(
                f"more than {self.http.max_pages} pages (http.max_pages): stopped rather than "
                "loop for ever. Raise max_pages if the API is really that large."
            )
        page = len(self.pages) + 1
        body = self.fetch(params)
        records = records_of(body, self.http.records_path, page)
        self._note_total(body, page)
        self.pages.append(records)
        return body, records

    def walk_numbered(self) -> None:
        """Page or offset pagination: ask for full pages until one comes back short."""
        size = self.paging.page_size
        while True:
            _, records = self.take(self._numbered_params(len(self.pages)))
            if len(records) > size:
                raise PaginationError(
                    f"page {len(self.pages)} has {len(records)} records, more than the "
                    f"{size} asked for: the API does not read '{self.paging.size_param}'. "
                    "Set http.pagination.size_param to the parameter it reads."
                )
            if len(records) < size:
                break
        if self.total is None:
            self._confirm_end()

    def _numbered_params(self, index: int) -> dict:
        size = self.paging.page_size
        if self.paging.type == "page":
            number = self.paging.first_page + index
            return {self.paging.page_param: number, self.paging.size_param: size}
        return {self.paging.offset_param: index * size, self.paging.size_param: size}

    def _confirm_end(self) -> None:
        """Without a total, a short page ends the walk only if the next one is empty."""
        short = len(self.pages)
        body = self.fetch(self._numbered_params(short))
        following = records_of(body, self.http.records_path, short + 1)
        if following:
            raise PaginationError(
                f"page {short} had {len(self.pages[-1])} records (fewer than the "
                f"{self.paging.page_size} asked for) but page {short + 1} has "
                f"{len(following)}: the API returned a short or empty page before the end. "
                "Nothing was loaded; run again, or ask the API's owners."
            )

    def walk_cursor(self) -> None:
        params: dict = {self.paging.size_param: self.paging.page_size}
        seen: set[str] = set()
        while True:
            body, _ = self.take(params)
            cursor = lookup(body, self.paging.next_cursor_path)
            if cursor is None or cursor == "":
                return
            cursor = str(cursor)
            if cursor in seen:
                raise PaginationError(
                    f"page {len(self.pages)} gives cursor {cursor!r} a second time: the API "
                    "would loop. Nothing was loaded."
                )
            seen.add(cursor)
            params = {
                self.paging.cursor_param: cursor,
                self.paging.size_param: self.paging.page_size,
            }

    def _note_total(self, body: Any, page: int) -> None:
        if self.http.total_path is None:
            return
        total = lookup(body, self.http.total_path)
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise PaginationError(
                f"page {page}: '{self.http.total_path}' is {total!r}, not a count of records. "
                "Check http.total_path in the declaration."
            )
        if self.total is not None and total != self.total:
            raise PaginationError(
                f"page {page}: the API's total changed from {self.total} to {total} during the "
                "read, so the pages do not form one snapshot. Nothing was loaded; run again."
            )
        self.total = total

    def check_total(self) -> None:
        if self.total is not None and self.fetched != self.total:
            shortest = min(range(len(self.pages)), key=lambda i: len(self.pages[i]))
            raise PaginationError(
                f"the API reported {self.total} records but its {len(self.pages)} page(s) held "
                f"{self.fetched} (page {shortest + 1} had {len(self.pages[shortest])}): a page "
                "came back short or empty. Nothing was loaded; run again."
            )
