"""The HTTP connector against a real local server that injects each fault."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from etl_assets.connectors.http import (
    HttpJsonApi,
    HttpSourceError,
    display_url,
    parse_retry_after,
)
from etl_assets.sources.http_spec import HttpSpec, PaginationSpec
from etl_assets_tests.connectors.fault_server import FaultServer, always, once, paged, slow

RECORDS = [{"id": str(i), "name": f"item {i}"} for i in range(1, 251)]
# Fast backoff so retries take milliseconds; the defaults are for real services.
API = HttpJsonApi(
    backoff_initial_seconds=0.01,
    backoff_max_seconds=0.05,
    connect_timeout_seconds=2,
    read_timeout_seconds=2,
    max_attempts=4,
    breaker_failures=50,
)


# Each test starts with closed circuit breakers (conftest.fresh_breakers).
pytestmark = pytest.mark.usefixtures("fresh_breakers")


def spec(kind: str = "page", *, total: bool = True, page_size: int = 100, **extra) -> HttpSpec:
    params = {
        "page": {"page_param": "page", "size_param": "page_size"},
        "offset": {"offset_param": "offset", "size_param": "limit"},
        "cursor": {"cursor_param": "cursor", "size_param": "limit", "next_cursor_path": "next"},
        "none": {},
    }[kind]
    return HttpSpec(
        url=None,
        url_env=None,
        token_env=None,
        records_path="items",
        total_path="total" if total else None,
        max_pages=extra.pop("max_pages", 100),
        pagination=PaginationSpec(type=kind, page_size=page_size, **params),
    )


def read(server: FaultServer, http: HttpSpec, api: HttpJsonApi = API, path: str = "/items"):
    return api.read(http, server.base + path)


def ids(result) -> list[str]:
    return [record["id"] for page in result.pages for record in page]


# --- pagination ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["page", "offset", "cursor"])
def test_every_page_is_read_in_order(kind):
    with FaultServer(paged(RECORDS, kind=kind)) as server:
        result = read(server, spec(kind))
    assert ids(result) == [r["id"] for r in RECORDS]
    assert len(result.pages) == 3 and result.retries == 0
    assert len(result.sha256) == 64 and result.size_bytes > 0


def test_short_page_without_total_is_confirmed_by_an_empty_next_page():
    with FaultServer(paged(RECORDS, total=False)) as server:
        result = read(server, spec(total=False))
    assert len(ids(result)) == 250
    assert len(server.requests) == 4  # three pages, then the empty page that confirms the end


def test_page_size_the_api_ignores_is_a_clear_failure():
    with FaultServer(paged(RECORDS)) as server, pytest.raises(HttpSourceError) as error:
        read(server, spec(page_size=50), api=API, path="/items?page_size=100")
    assert "100 records, more than the 50 asked for" in str(error.value)


# --- retries, rate limits, breaker -----------------------------------------------------


def test_server_errors_are_retried_with_backoff():
    faults = {2: once(lambda h: h.send_json({"error": "boom"}, status=503))}
    with FaultServer(paged(RECORDS, faults=faults)) as server:
        result = read(server, spec())
    assert len(ids(result)) == 250
    assert result.retries == 1 and result.requests == 4


def test_dropped_connection_is_retried():
    with FaultServer(paged(RECORDS, faults={1: once(lambda h: h.drop())})) as server:
        result = read(server, spec())
    assert len(ids(result)) == 250 and result.retries == 1


def test_rate_limit_waits_what_retry_after_says():
    limited = once(lambda h: h.send_json({}, status=429, headers={"Retry-After": "1"}))
    with FaultServer(paged(RECORDS, faults={1: limited})) as server:
        started = time.monotonic()
        result = read(server, spec())
        waited = time.monotonic() - started
    assert result.retries == 1 and len(ids(result)) == 250
    assert 0.9 <= waited < 5


def test_rate_limit_asking_too_long_fails_at_once():
    limited = always(lambda h: h.send_json({}, status=429, headers={"Retry-After": "3600"}))
    with FaultServer(paged(RECORDS, faults={1: limited})) as server:
        with pytest.raises(HttpSourceError, match="asked to wait 3600 s"):
            read(server, spec())
        assert len(server.requests) == 1


def test_persistent_failure_gives_up_after_max_attempts():
    failing = always(lambda h: h.send_json({}, status=500))
    with FaultServer(paged(RECORDS, faults={1: failing})) as server:
        with pytest.raises(HttpSourceError, match="still failing after 4 tries"):
            read(server, spec())
        assert len(server.requests) == 4


def test_circuit_breaker_stops_hammering_a_failing_service():
    api = API.model_copy(update={"max_attempts": 10, "breaker_failures": 3})
    failing = always(lambda h: h.send_json({}, status=503))
    with FaultServer(paged(RECORDS, faults={1: failing})) as server:
        with pytest.raises(HttpSourceError, match="circuit breaker"):
            read(server, spec(), api=api)
        assert len(server.requests) == 3  # opened on the third failure, not ten tries
        started = time.monotonic()
        with pytest.raises(HttpSourceError, match="no request was sent"):
            read(server, spec(), api=api)
        assert len(server.requests) == 3  # a second read never reached the server
        assert time.monotonic() - started < 1


def test_client_error_is_not_retried():
    with FaultServer(paged(RECORDS, faults={1: always(lambda h: h.send_json({}, 404))})) as server:
        with pytest.raises(HttpSourceError, match="HTTP 404"):
            read(server, spec())
        assert len(server.requests) == 1


def test_slow_server_times_out_and_is_retried_then_fails():
    api = API.model_copy(update={"read_timeout_seconds": 0.2, "max_attempts": 2})
    with FaultServer(paged(RECORDS, faults={1: always(slow(1.0))})) as server:
        started = time.monotonic()
        with pytest.raises(HttpSourceError, match="still failing after 2 tries"):
            read(server, spec(), api=api)
        assert len(server.requests) == 2
        assert time.monotonic() - started < 3


# --- bad responses ---------------------------------------------------------------------


def test_malformed_json_names_the_page():
    broken = always(lambda h: h.send_json(b'{"items": [{"id": "1"},'))
    with FaultServer(paged(RECORDS, faults={2: broken})) as server:
        with pytest.raises(HttpSourceError) as error:
            read(server, spec())
    assert "not valid JSON" in str(error.value) and "page=2" in str(error.value)


def test_empty_page_in_the_middle_is_caught_by_the_total():
    empty = always(lambda h: h.send_json({"items": [], "total": len(RECORDS)}))
    with FaultServer(paged(RECORDS, faults={2: empty})) as server:
        with pytest.raises(HttpSourceError, match="reported 250 records but its 2 page"):
            read(server, spec())


def test_empty_page_in_the_middle_is_caught_without_a_total():
    empty = always(lambda h: h.send_json({"items": []}))
    with FaultServer(paged(RECORDS, total=False, faults={2: empty})) as server:
        with pytest.raises(HttpSourceError, match="short or empty page before the end"):
            read(server, spec(total=False))


def test_total_that_changes_between_pages_fails():
    moved = always(lambda h: h.send_json({"items": RECORDS[100:200], "total": 251}))
    with FaultServer(paged(RECORDS, faults={2: moved})) as server:
        with pytest.raises(HttpSourceError, match="total changed from 250 to 251"):
            read(server, spec())


def test_cursor_that_repeats_fails_instead_of_looping():
    looping = always(lambda h: h.send_json({"items": RECORDS[:100], "next": "100"}))
    with FaultServer(paged(RECORDS, kind="cursor", faults={2: looping})) as server:
        with pytest.raises(HttpSourceError, match="second time"):
            read(server, spec("cursor", total=False))
        assert len(server.requests) == 2


def test_missing_records_list_names_the_path():
    wrong = always(lambda h: h.send_json({"data": [], "total": 0}))
    with FaultServer(paged(RECORDS, faults={1: wrong})) as server:
        with pytest.raises(HttpSourceError, match="no list of records at 'items'.*data"):
            read(server, spec())


def test_redirect_loop_fails():
    def respond(handler, path, query):
        handler.redirect("/b" if path == "/a" else "/a")

    with FaultServer(respond) as server:
        with pytest.raises(HttpSourceError, match="redirect loop"):
            read(server, spec("none", total=False), path="/a")
        assert len(server.requests) == API.max_redirects + 1


def test_body_larger_than_declared_limit_fails_before_reading():
    api = API.model_copy(update={"max_page_bytes": 1000})
    huge = always(lambda h: h.send_json({"items": [{"id": "x" * 5000}]}))
    with FaultServer(paged(RECORDS, faults={1: huge})) as server:
        with pytest.raises(HttpSourceError, match="more than max_page_bytes=1,000"):
            read(server, spec(), api=api)


def test_endless_body_without_length_is_cut_off():
    api = API.model_copy(update={"max_page_bytes": 100_000})
    endless = always(lambda h: h.send_chunked(b" " * 10_000, times=1_000))  # 10 MB offered
    with FaultServer(paged(RECORDS, faults={1: endless})) as server:
        with pytest.raises(HttpSourceError, match="passed max_page_bytes=100,000"):
            read(server, spec(), api=api)


def test_max_pages_bounds_a_runaway_api():
    with FaultServer(paged(RECORDS)) as server:
        with pytest.raises(HttpSourceError, match="more than 2 pages"):
            read(server, spec(max_pages=2))


# --- helpers ---------------------------------------------------------------------------


def test_display_url_hides_credentials():
    shown = display_url("https://user:pw@api.example.org/v1/x?api_key=abc&day=2024-01-01")
    assert "pw" not in shown and "abc" not in shown
    assert shown.startswith("https://api.example.org/v1/x?") and "day=2024-01-01" in shown


def test_retry_after_as_seconds_or_http_date():
    now = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_token_is_sent_as_bearer_and_never_shown():
    seen = []

    def respond(handler, path, query):
        seen.append(handler.headers.get("Authorization"))
        handler.send_json({"error": "no"}, status=403)

    with FaultServer(respond) as server:
        with pytest.raises(HttpSourceError) as error:
            API.read(spec("none", total=False), server.base + "/items", token="s3cret-token")
    assert seen == ["Bearer s3cret-token"]
    assert "HTTP 403" in str(error.value) and "s3cret-token" not in str(error.value)
