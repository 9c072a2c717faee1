"""The Postgres warehouse as a resource: a lazily created connection pool and transactions.

Give the DSN through an environment variable so the UI shows its name, never its value::

    PostgresWarehouse(url=dg.EnvVar("ETL_WAREHOUSE_URL"))

The password never leaves this module: every message, error and piece of metadata uses
``redacted_url`` (password replaced by ``***``), and psycopg2's own error text is scrubbed
before it is re-raised.

Connection errors are not retried here: the assets that publish to the warehouse carry
``WAREHOUSE_RETRY_POLICY`` (exponential backoff with jitter), so Dagster retries the step
and shows each attempt in the UI.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import dagster as dg
import psycopg2
import psycopg2.extensions
import psycopg2.pool
from pydantic import Field, PrivateAttr

WAREHOUSE_URL_VARIABLE = "ETL_WAREHOUSE_URL"
WAREHOUSE_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

REDACTED = "***"
_APPLICATION_NAME = "etl_assets"
# key=value DSNs ("host=h password=secret"): the value is a word or a quoted string.
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class WarehouseConnectionError(dg.Failure):
    """The warehouse cannot be reached. Retryable: the step's RetryPolicy tries again."""

    def __init__(self, description: str, metadata: dict[str, str] | None = None):
        super().__init__(description=description, metadata=metadata, allow_retries=True)


# ------------------------------------------------------------------- DSN helpers


def redact_url(url: str) -> str:
    """The DSN with its password replaced by ``***``; URI and key=value forms."""
    if "://" not in url:
        return _KEYWORD_PASSWORD.sub(lambda match: match.group(1) + REDACTED, url)
    parts = urlsplit(url)
    userinfo, at, hostinfo = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{hostinfo}"
    else:
        netloc = parts.netloc
    query = [
        (key, REDACTED if key.lower() == "password" else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))


def _passwords(url: str) -> set[str]:
    """Every spelling of the DSN's password that could leak into a message."""
    found: set[str] = set()
    try:
        found.add(psycopg2.extensions.parse_dsn(url).get("password") or "")
    except psycopg2.Error:
        pass  # unparsable DSN: the patterns below still find the password
    if "://" in url:
        userinfo = urlsplit(url).netloc.rpartition("@")[0]
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
        found.update(v for k, v in parse_qsl(urlsplit(url).query) if k.lower() == "password")
    else:
        found.update(match.group(2).strip("'") for match in _KEYWORD_PASSWORD.finditer(url))
    found |= {unquote(secret) for secret in found}
    return {secret for secret in found if secret}


def _endpoint(url: str) -> tuple[str, str, str]:
    """(host:port, database, user) as libpq would use them; '?' where the DSN is unreadable."""
    try:
        parts = psycopg2.extensions.parse_dsn(url)
    except psycopg2.Error:
        return "?:?", "?", "?"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    return f"{host}:{parts.get('port') or 5432}", parts.get("dbname", "?"), parts.get("user", "?")


# ---------------------------------------------------------------------- resource


class PostgresWarehouse(dg.ConfigurableResource):
    """Connections to the Postgres warehouse, from a pool opened on first use.

    ``with warehouse.connection() as conn:`` is one transaction: committed when the block
    ends, rolled back when it raises. The pool is closed when the step ends.
    """

    url: str = Field(
        repr=False,  # repr() would print the password
        description=(
            f"libpq DSN (postgresql://user:password@host:5432/db). Pass it as "
            f"dg.EnvVar('{WAREHOUSE_URL_VARIABLE}'): the value is a secret."
        ),
    )
    connect_timeout: int = Field(default=5, description="Seconds to wait for a connection.")
    pool_size: int = Field(default=4, description="Most connections open at once per process.")

    _pool: psycopg2.pool.ThreadedConnectionPool | None = PrivateAttr(default=None)
    _pool_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # ------------------------------------------------------------ descriptions

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @property
    def endpoint(self) -> str:
        """host:port, for messages."""
        return _endpoint(self.url)[0]

    @property
    def database(self) -> str:
        return _endpoint(self.url)[1]

    def redact(self, text: str) -> str:
        """``text`` with every spelling of the password replaced by ``***``."""
        for secret in sorted(_passwords(self.url), key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    # --------------------------------------------------------------- lifecycle

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Nothing to open yet: a step that never touches the warehouse never connects.
        pass

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection; the next connection() opens a new pool."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None and not pool.closed:
            pool.closeall()

    # ------------------------------------------------------------- connections

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """One transaction on a pooled connection: commit on success, roll back on error."""
        pool = self._get_pool()
        conn = self._checkout(pool)
        broken = False
        try:
            yield conn
            conn.commit()
        except BaseException:
            broken = not _rolled_back(conn)
            raise
        finally:
            # A connection that died (server restart, kill) must not go back to the pool.
            pool.putconn(conn, close=broken or bool(conn.closed))

    def _get_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = self._new_pool()
            return self._pool

    def _new_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        try:
            # minconn=0: creating the pool opens nothing; getconn() connects on demand.
            return psycopg2.pool.ThreadedConnectionPool(
                0, self.pool_size, dsn=self.url, **self._connect_options()
            )
        except psycopg2.Error as error:
            cause = str(error)
        raise self._connection_error(cause)  # outside `except`: no chained psycopg2 error

    def _connect_options(self) -> dict[str, object]:
        options: dict[str, object] = {"connect_timeout": self.connect_timeout}
        # Name the sessions in pg_stat_activity, unless the DSN already does.
        if "application_name" not in psycopg2.extensions.parse_dsn(self.url):
            options["application_name"] = _APPLICATION_NAME
        return options

    def _checkout(self, pool: psycopg2.pool.ThreadedConnectionPool):
        try:
            return pool.getconn()
        except psycopg2.pool.PoolError as error:
            cause = f"{error} (pool_size={self.pool_size}); raise pool_size or use fewer threads"
        except psycopg2.Error as error:
            cause = str(error)
        # Raised outside `except` on purpose: psycopg2's exception stays out of the chain
        # Dagster records, and our message carries its scrubbed text instead.
        raise self._connection_error(cause)

    def _connection_error(self, cause: str) -> WarehouseConnectionError:
        endpoint, database, user = _endpoint(self.url)
        reason = " ".join(self.redact(cause).split()) or "unknown error"
        return WarehouseConnectionError(
            description=(
                f"Cannot connect to the Postgres warehouse at {endpoint} (database {database}, "
                f"user {user}). Cause: {reason.rstrip('.')}. Check that the server is up and that "
                f"{WAREHOUSE_URL_VARIABLE} ({self.redacted_url}) is right; the step is retried "
                "with backoff."
            ),
            metadata={"endpoint": endpoint, "warehouse": self.redacted_url},
        )


def _rolled_back(conn: psycopg2.extensions.connection) -> bool:
    """Roll back; False when the connection is unusable (closed or lost mid-transaction)."""
    if conn.closed:
        return False
    try:
        conn.rollback()
    except psycopg2.Error:
        return False
    return True
