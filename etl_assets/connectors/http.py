"""Paged JSON APIs as a resource: timeouts, retries, a circuit breaker and size limits.

- Retries (tenacity): 5xx answers, connection errors, timeouts and bodies cut short are
  tried again with exponential backoff and full jitter; a 429 waits what its
  `Retry-After` says (seconds or an HTTP date), up to `max_retry_after_seconds`.
- Circuit breaker (pybreaker), one per host and process: after `breaker_failures`
  failures in a row (5xx or no answer), calls to that host fail at once for
  `breaker_reset_seconds`, so a run with several sources stops hammering a service that
  is down. Client errors (4xx other than 429) and bad bodies do not count: the service
  answered.
- Never followed for long: at most `max_redirects` redirects (a loop fails), at most
  `max_page_bytes` per page (checked against Content-Length and while streaming), and
  `page_deadline_seconds` per page however slowly the bytes trickle in.

Every page is fetched before any record is returned, so a failure mid-pagination leaves
nothing half-loaded. Errors are `HttpSourceError` (a `dagster.Failure`) naming the URL
(credentials removed), the page and what to do.

requests, tenacity and pybreaker are imported on first use: loading the code location
does not pay for them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dagster as dg
from pydantic import Field

from etl_assets.connectors.pagination import PaginationError, first_page_params, walk_pages
from etl_assets.sources.http_spec import HttpSpec

_SECRET_WORDS = ("key", "token", "secret", "password", "signature", "sig", "auth")
_CHUNK = 64 << 10
_logger = logging.getLogger(__name__)


class HttpSourceError(dg.Failure):
    """A source cannot be read over HTTP; the message says where and what to do."""

    def __init__(self, description: str):
        super().__init__(description=description, allow_retries=False)


class _ServerError(Exception):
    """A 5xx answer: the service is failing. Retried; counts toward the breaker."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status


class _RateLimited(Exception):
    """A 429 answer. Retried after its Retry-After; does not count toward the breaker."""

    def __init__(self, retry_after: float | None):
        waiting = f", Retry-After {retry_after:g} s" if retry_after is not None else ""
        super().__init__(f"HTTP 429 Too Many Requests{waiting}")
        self.retry_after = retry_after


def _transient_errors() -> tuple[type[Exception], ...]:
    """What a retry may cure: a failing or busy service, a lost or slow connection."""
    import requests

    return (
        _ServerError,
        _RateLimited,
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    )


@dataclass(frozen=True)
class HttpRead:
    """Every page of one read: records per page and what is known about the bytes."""

    url: str  # as shown: no credentials, secret query values masked
    pages: list[list]
    size_bytes: int
    sha256: str  # over the page bodies, in order
    requests: int  # HTTP requests sent, retries included
    retries: int


@dataclass(frozen=True)
class FirstPage:
    """The first page of an API, as its observation sees it (records are not parsed)."""

    url: str  # as shown
    sha256: str  # of the body
    size_bytes: int


# ------------------------------------------------------------------------ breakers

_breakers: dict[str, Any] = {}  # host -> pybreaker.CircuitBreaker
_breakers_lock = threading.Lock()


def _breaker_for(url: str, failures: int, reset_seconds: float):
    """The breaker of the URL's host, shared by every read in this process."""
    import pybreaker

    parts = urlsplit(url)
    host = f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"
    with _breakers_lock:
        if host not in _breakers:
            _breakers[host] = pybreaker.CircuitBreaker(
                fail_max=failures,
                reset_timeout=reset_seconds,
                exclude=[HttpSourceError, _RateLimited],
                name=host,
            )
        return _breakers[host]


def reset_breakers() -> None:
    """Forget every breaker's state (tests, or an operator's REPL after a fix)."""
    with _breakers_lock:
        _breakers.clear()


# ------------------------------------------------------------------------- helpers


def display_url(url: str) -> str:
    """The URL without user:password, and with secret-looking query values masked."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = [
        (key, "***" if any(word in key.lower() for word in _SECRET_WORDS) else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*{}")))


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "etl-assets"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _describe(params: dict) -> str:
    return f" ({urlencode(params)})" if params else ""


# ------------------------------------------------------------------------ resource


class HttpJsonApi(dg.ConfigurableResource):
    """Reads paged JSON APIs declared by sources (`connector: http`)."""

    connect_timeout_seconds: float = Field(default=5.0, description="To open a connection.")
    read_timeout_seconds: float = Field(default=30.0, description="Longest wait for bytes.")
    page_deadline_seconds: float = Field(default=120.0, description="Longest time for a page.")
    max_attempts: int = Field(default=5, description="Tries per request, the first included.")
    backoff_initial_seconds: float = Field(default=0.5, description="Backoff scale (jittered).")
    backoff_max_seconds: float = Field(default=30.0, description="Longest wait between tries.")
    max_retry_after_seconds: float = Field(
        default=120.0, description="A 429 asking to wait longer than this fails instead."
    )
    breaker_failures: int = Field(default=5, description="Failures in a row that open it.")
    breaker_reset_seconds: float = Field(default=60.0, description="Open this long, then probe.")
    max_page_bytes: int = Field(default=32 << 20, description="Largest body of one page.")
    max_redirects: int = Field(default=5, description="More than this is taken for a loop.")

    def read(
        self,
        http: HttpSpec,
        url: str,
        *,
        token: str | None = None,
        log: logging.Logger | Any | None = None,
    ) -> HttpRead:
        """Every page of the API at `url`, paged as `http` declares. Raises HttpSourceError."""
        import requests

        log = log or _logger
        shown = display_url(url)
        digest = hashlib.sha256()
        counts = {"bytes": 0, "requests": 0, "retries": 0}
        breaker = _breaker_for(url, self.breaker_failures, self.breaker_reset_seconds)
        headers = _headers(token)

        with requests.Session() as session:
            session.max_redirects = self.max_redirects

            def fetch(params: dict) -> Any:
                body = self._get_with_retries(session, breaker, url, params, headers, counts, log)
                digest.update(body)
                counts["bytes"] += len(body)
                return self._parse(body, shown, params)

            try:
                pages = walk_pages(fetch, http)
            except PaginationError as error:
                raise HttpSourceError(f"{shown}: {error}") from error
        return HttpRead(
            url=shown,
            pages=pages,
            size_bytes=counts["bytes"],
            sha256=digest.hexdigest(),
            requests=counts["requests"],
            retries=counts["retries"],
        )

    def first_page(
        self,
        http: HttpSpec,
        url: str,
        *,
        token: str | None = None,
        log: logging.Logger | Any | None = None,
    ) -> FirstPage:
        """One GET of the first page (with the same retries, breaker and limits as `read`):
        what an observation of the source compares, never the whole API."""
        import requests

        counts = {"bytes": 0, "requests": 0, "retries": 0}
        breaker = _breaker_for(url, self.breaker_failures, self.breaker_reset_seconds)
        with requests.Session() as session:
            session.max_redirects = self.max_redirects
            body = self._get_with_retries(
                session,
                breaker,
                url,
                first_page_params(http),
                _headers(token),
                counts,
                log or _logger,
            )
        return FirstPage(display_url(url), hashlib.sha256(body).hexdigest(), len(body))

    # ---------------------------------------------------------------- one request

    def _get_with_retries(self, session, breaker, url, params, headers, counts, log) -> bytes:
        import pybreaker
        import tenacity

        shown = display_url(url) + _describe(params)
        transient = _transient_errors()
        backoff = tenacity.wait_random_exponential(
            multiplier=self.backoff_initial_seconds, max=self.backoff_max_seconds
        )

        def wait(state) -> float:
            error = state.outcome.exception()
            if isinstance(error, _RateLimited) and error.retry_after is not None:
                return error.retry_after
            return backoff(state)

        def before_sleep(state) -> None:
            counts["retries"] += 1
            log.warning(
                f"GET {shown}: {state.outcome.exception()}; try {state.attempt_number + 1} of "
                f"{self.max_attempts} in {state.upcoming_sleep:.2f} s"
            )

        def attempt() -> bytes:
            counts["requests"] += 1
            return breaker.call(self._get_once, session, url, params, headers)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=tenacity.retry_if_exception_type(transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except pybreaker.CircuitBreakerError as error:
            raise HttpSourceError(
                f"GET {shown}: the circuit breaker for this host is open after "
                f"{self.breaker_failures} failures in a row, so no request was sent; it lets "
                f"one through again after {self.breaker_reset_seconds:g} s. Check the service "
                "and run again later."
            ) from error
        except transient as error:
            raise HttpSourceError(
                f"GET {shown}: still failing after {self.max_attempts} tries ({error}). The "
                "service may be down or overloaded: nothing was loaded; run again later."
            ) from error

    def _get_once(self, session, url, params, headers) -> bytes:
        import requests

        shown = display_url(url) + _describe(params)
        try:
            response = session.get(
                url,
                params=params,
                headers=headers,
                timeout=(self.connect_timeout_seconds, self.read_timeout_seconds),
                stream=True,
            )
        except requests.TooManyRedirects as error:
            raise HttpSourceError(
                f"GET {shown}: more than {self.max_redirects} redirects (last to "
                f"{display_url(error.response.url) if error.response is not None else '?'}): "
                "a redirect loop. Fix the source's URL."
            ) from error
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as error:
            raise HttpSourceError(f"GET {shown}: not a valid URL ({error})") from error
        with response:
            status = response.status_code
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.max_retry_after_seconds:
                    raise HttpSourceError(
                        f"GET {shown}: rate limited (429), asked to wait {retry_after:.0f} s, "
                        f"more than max_retry_after_seconds={self.max_retry_after_seconds:g}. "
                        "Run again later."
                    )
                raise _RateLimited(retry_after)
            if status >= 500:
                raise _ServerError(status, response.reason or "")
            if status >= 300:
                raise HttpSourceError(
                    f"GET {shown}: HTTP {status} {response.reason or ''}. A client error is not "
                    "retried: check the URL, the token (http.token_env) and the parameters."
                )
            return self._read_body(response, shown)

    def _read_body(self, response, shown: str) -> bytes:
        import requests

        limit = self.max_page_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HttpSourceError(
                f"GET {shown}: the body is {int(declared):,} bytes, more than max_page_bytes="
                f"{limit:,}. Ask for smaller pages (http.pagination.page_size) or raise the limit."
            )
        deadline = time.monotonic() + self.page_deadline_seconds
        chunks, size = [], 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise HttpSourceError(
                    f"GET {shown}: the body passed max_page_bytes={limit:,} bytes and was cut "
                    "off. Ask for smaller pages (http.pagination.page_size) or raise the limit."
                )
            if time.monotonic() > deadline:
                raise requests.Timeout(
                    f"the page took more than page_deadline_seconds={self.page_deadline_seconds:g}"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _parse(body: bytes, shown: str, params: dict) -> Any:
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            where = (
                f" at line {error.lineno}, column {error.colno}"
                if isinstance(error, json.JSONDecodeError)
                else ""
            )
            start = body[:80].decode("utf-8", "replace").replace("\n", " ")
            raise HttpSourceError(
                f"GET {shown}{_describe(params)}: the body is not valid JSON{where} (it starts "
                f"{start!r}). Nothing was loaded; check the API, then run again."
            ) from error
