"""Reading a table of an operational Postgres database, incrementally by a watermark column.

`PostgresSource.extract` returns the rows whose watermark column is later than the last
watermark (all rows the first time), as records of strings (every value cast to text by
Postgres, so bronze keeps the values exactly as the database prints them), ordered by the
watermark (then by their text, so that the order is the same on every read), plus the new
watermark: the greatest value read, as text. Bronze appends them as a new batch; silver keeps
the latest version of each business key (see docs/warehouse.md).

The DSN comes from the variable the declaration names (`postgres.url_env`), read at run time
through dagster.EnvVar; only its redacted form appears in messages and metadata.

Known limit of any watermark: a row committed after an extraction with a watermark value not
later than that extraction's (a long transaction that set updated_at early) is never read.
Set the column with clock_timestamp() in a trigger, or re-extract in full (see
docs/warehouse.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import dagster as dg
import psycopg2
from psycopg2 import sql
from pydantic import Field

from etl_assets.connectors.postgres import redact_url
from etl_assets.sources.postgres_spec import PostgresSourceSpec


class SourceConnectionError(dg.Failure):
    """The source database cannot be reached. Retryable: the step's RetryPolicy tries again."""

    def __init__(self, description: str):
        super().__init__(description=description, allow_retries=True)


@dataclass(frozen=True)
class Extract:
    records: list[dict[str, str | None]]
    watermark: str | None  # the greatest watermark value read; the previous one if no row
    sha256: str  # of the rows' text, for the batch id
    size_bytes: int
    label: str  # postgres://host:port/db/schema.table (no credentials)


@dataclass(frozen=True)
class Probe:
    watermark: str | None  # the greatest watermark value in the table (None: no row)
    rows: int
    label: str


class PostgresSource(dg.ConfigurableResource):
    """Reads declared columns of a source table; one short read-only transaction per call."""

    connect_timeout: int = Field(default=10, description="Seconds to wait for a connection.")
    fetch_rows: int = Field(default=10_000, description="Rows fetched per round trip.")

    def extract(
        self,
        spec: PostgresSourceSpec,
        columns: tuple[str, ...],
        watermark: str | None,
        url: str,
    ) -> Extract:
        redacted = redact_url(url)
        conn = self._connect(spec, url)
        try:
            conn.set_session(readonly=True)
            with conn, conn.cursor() as cursor:
                cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # timestamptz prints as +00
                records = self._read(cursor, spec, columns, watermark)
        except psycopg2.errors.UndefinedTable:
            raise dg.Failure(
                description=f"The source table {spec.qualified_table} does not exist at "
                f"{redacted}. Fix postgres.table in the declaration.",
                allow_retries=False,
            ) from None
        except psycopg2.errors.UndefinedColumn as error:
            raise dg.Failure(
                description=f"The source table {spec.qualified_table} lacks a declared column: "
                f"{str(error).splitlines()[0]}. Fix the declaration's columns.",
                allow_retries=False,
            ) from None
        finally:
            conn.close()
        digest = hashlib.sha256()
        size = 0
        for record in records:
            line = "\x1f".join("\x00" if v is None else v for v in record.values()).encode()
            digest.update(line + b"\n")
            size += len(line) + 1
        last = records[-1][spec.watermark] if records else None
        new_watermark = last if last is not None else watermark
        return Extract(records, new_watermark, digest.hexdigest(), size, _label(url, spec))

    def probe(self, spec: PostgresSourceSpec, url: str) -> Probe:
        """The table's greatest watermark and row count, in one aggregate query: what an
        observation compares (a new or changed row moves the first, a deleted row the
        second), never the rows themselves."""
        conn = self._connect(spec, url)
        query = sql.SQL("SELECT max({})::text, count(*) FROM {}").format(
            sql.Identifier(spec.watermark), sql.Identifier(spec.schema, spec.table)
        )
        try:
            conn.set_session(readonly=True)
            with conn, conn.cursor() as cursor:
                cursor.execute("SET LOCAL TIME ZONE 'UTC'")
                cursor.execute(query)
                watermark, rows = cursor.fetchone()
        except (psycopg2.errors.UndefinedTable, psycopg2.errors.UndefinedColumn) as error:
            raise dg.Failure(
                description=f"Cannot observe {spec.qualified_table} at {redact_url(url)}: "
                f"{str(error).splitlines()[0]}. Fix postgres.table or postgres.watermark in "
                "the declaration.",
                allow_retries=False,
            ) from None
        finally:
            conn.close()
        return Probe(watermark, int(rows), _label(url, spec))

    def _connect(self, spec: PostgresSourceSpec, url: str):
        redacted = redact_url(url)
        try:
            return psycopg2.connect(
                url, connect_timeout=self.connect_timeout, application_name="etl_assets_source"
            )
        except psycopg2.OperationalError as error:
            cause = " ".join(str(error).replace(url, redacted).split())
            raise SourceConnectionError(
                f"Cannot connect to the source database of {spec.qualified_table} at "
                f"{redacted}: {redact_url(cause)}. Check that the server is up and that "
                f"{spec.url_env} is right; the step is retried with backoff."
            ) from None

    def _read(self, cursor, spec, columns, watermark) -> list[dict[str, str | None]]:
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(
                sql.SQL("{}::text").format(sql.Identifier(name)) for name in columns
            ),
            sql.Identifier(spec.schema, spec.table),
        )
        params: tuple = ()
        if watermark is not None:
            # The text is cast to the column's own type by Postgres (an untyped literal).
            query += sql.SQL(" WHERE {} > %s").format(sql.Identifier(spec.watermark))
            params = (watermark,)
        # Then by every column read: rows sharing a watermark come in one order on every
        # read, so a batch's rows, checksum and batch id depend on the data alone.
        query += sql.SQL(" ORDER BY {} NULLS FIRST, {}").format(
            sql.Identifier(spec.watermark),
            sql.SQL(", ").join(sql.Literal(i) for i in range(1, len(columns) + 1)),
        )
        cursor.execute(query, params or None)
        records = []
        while batch := cursor.fetchmany(self.fetch_rows):
            records.extend(dict(zip(columns, row, strict=True)) for row in batch)
        return records


def _label(url: str, spec: PostgresSourceSpec) -> str:
    parts = psycopg2.extensions.parse_dsn(url)
    host = parts.get("host", "localhost")
    port = parts.get("port", "5432")
    return f"postgres://{host}:{port}/{parts.get('dbname', '')}/{spec.qualified_table}"
