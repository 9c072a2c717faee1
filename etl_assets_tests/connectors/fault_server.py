"""A real local HTTP server for connector tests: a paged JSON API that injects faults.

It binds 127.0.0.1 on a free port, serves from a daemon thread, records every request,
and is shut down by its context manager. Every delay it takes is bounded by the test.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

Respond = Callable[["Handler", str, dict], None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the name http.server looks for)
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        with self.server.lock:
            self.server.requests.append(self.path)
        self.server.respond(self, parts.path, query)

    def send_json(self, body, status: int = 200, headers: dict | None = None) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def send_chunked(self, chunk: bytes, times: int) -> None:
        """A body with no Content-Length, `times` copies of `chunk` (or until cut off)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for _ in range(times):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def drop(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
        # else: the client hung up on purpose (a body too large, a timeout)


class FaultServer:
    def __init__(self, respond: Respond):
        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.respond = respond
        self.server.requests = []
        self.server.lock = threading.Lock()
        # A short poll makes shutdown() quick (the default waits up to half a second).
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[str]:
        with self.server.lock:
            return list(self.server.requests)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def paged(
    records: list[dict],
    *,
    kind: str = "page",
    total: bool = True,
    faults: dict[int, Callable[[Handler], bool]] | None = None,
) -> Respond:
    """A paged API over `records`; `faults[page]` may answer page `page` (1-based) itself
    and return True, or return False to let the normal answer through."""
    faults = faults or {}

    def respond(handler: Handler, path: str, query: dict) -> None:
        if kind == "page":
            size = int(query.get("page_size", 100))
            page = int(query.get("page", 1))
            start = (page - 1) * size
        elif kind == "offset":
            size = int(query.get("limit", 100))
            start = int(query.get("offset", 0))
            page = start // size + 1
        else:
            size = int(query.get("limit", 100))
            start = int(query.get("cursor", 0))
            page = start // size + 1
        fault = faults.get(page)
        if fault is not None and fault(handler):
            return
        items = records[start : start + size]
        body: dict = {"items": items}
        if total:
            body["total"] = len(records)
        if kind == "cursor" and start + size < len(records):
            body["next"] = str(start + size)
        handler.send_json(body)

    return respond


def once(fault: Callable[[Handler], None]) -> Callable[[Handler], bool]:
    """A fault that strikes the first time only (then the page answers normally)."""
    struck = threading.Event()

    def maybe(handler: Handler) -> bool:
        if struck.is_set():
            return False
        struck.set()
        fault(handler)
        return True

    return maybe


def always(fault: Callable[[Handler], None]) -> Callable[[Handler], bool]:
    def strike(handler: Handler) -> bool:
        fault(handler)
        return True

    return strike


def slow(seconds: float) -> Callable[[Handler], None]:
    def wait(handler: Handler) -> None:
        time.sleep(seconds)
        handler.send_json({"items": []})

    return wait
