"""Shared helpers for tests against a real PostgreSQL server.

The server is ``ETL_TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test).
When it cannot be reached the tests are skipped on a workstation, but fail when ``CI=true``:
a CI run must never pass by silently skipping them.

Use the fixtures from a test module by binding them at module level (pytest looks them up
there; a plain import would trip ruff's F811 on every test argument)::

    from etl_assets_tests import postgres_fixtures

    postgres_url = postgres_fixtures.postgres_url
    pg_schema = postgres_fixtures.pg_schema
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
import pytest
from psycopg2 import sql

from etl_assets.connectors.postgres import PostgresWarehouse, redact_url

TEST_URL_VARIABLE = "ETL_TEST_POSTGRES_URL"
DEFAULT_TEST_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_test_url() -> str:
    return os.environ.get(TEST_URL_VARIABLE) or DEFAULT_TEST_URL


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@contextmanager
def admin_connection(url: str) -> Iterator[psycopg2.extensions.connection]:
    """An autocommit connection: for CREATE/DROP DATABASE and test set-up."""
    conn = psycopg2.connect(url, connect_timeout=3)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def query(url: str, statement: sql.Composable | str, params: tuple = ()) -> list[tuple]:
    """Run one statement and return its rows (none for a statement without result)."""
    with admin_connection(url) as conn, conn.cursor() as cursor:
        cursor.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


def with_url_parts(url: str, **parts: str) -> str:
    """The URL with some of password, application_name, dbname replaced (URI form only)."""
    split = urlsplit(url)
    userinfo, _, hostinfo = split.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    if "password" in parts:
        userinfo = f"{user}:{parts['password']}"
    path = f"/{parts['dbname']}" if "dbname" in parts else split.path
    query_string = split.query
    if "application_name" in parts:
        query_string = "&".join(
            filter(None, [query_string, f"application_name={parts['application_name']}"])
        )
    netloc = f"{userinfo}@{hostinfo}" if userinfo else hostinfo
    return urlunsplit(split._replace(netloc=netloc, path=path, query=query_string))


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL, once it answers; skip (or fail in CI) when it does not."""
    url = postgres_test_url()
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.Error as error:
        reason = f"PostgreSQL test server {redact_url(url)} is unreachable: {error}".strip()
        if in_ci():
            pytest.fail(
                f"{reason}\nCI=true: the Postgres tests must run. Start the server or point "
                f"{TEST_URL_VARIABLE} at one.",
                pytrace=False,
            )
        pytest.skip(f"{reason} (start it, or set {TEST_URL_VARIABLE})")
    return url


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh, empty schema for one test. Afterwards it is dropped, together with every
    schema whose name starts with it (e.g. ``<schema>_gold`` made via ``schema_prefix``)."""
    name = unique_name("t")
    query(postgres_url, sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        drop_schemas_starting_with(postgres_url, name)


def drop_schemas_starting_with(url: str, prefix: str) -> None:
    rows = query(
        url,
        "SELECT nspname FROM pg_namespace WHERE left(nspname, length(%s)) = %s",
        (prefix, prefix),
    )
    for (schema,) in rows:
        query(url, sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def warehouse(postgres_url: str) -> Iterator[PostgresWarehouse]:
    resource = PostgresWarehouse(url=postgres_url)
    try:
        yield resource
    finally:
        resource.close()


@dataclass(frozen=True)
class TemporaryDatabase:
    name: str
    url: str
    host: str
    port: str
    user: str
    password: str


@contextmanager
def temporary_database(url: str, prefix: str = "etl_test") -> Iterator[TemporaryDatabase]:
    """A new database on the test server, dropped (connections and all) afterwards."""
    name = unique_name(prefix)
    query(url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = psycopg2.extensions.parse_dsn(url)
    try:
        yield TemporaryDatabase(
            name=name,
            url=psycopg2.extensions.make_dsn(url, dbname=name),
            host=parts.get("host", "localhost"),
            port=parts.get("port", "5432"),
            user=parts.get("user", "postgres"),
            password=parts.get("password", ""),
        )
    finally:
        query(url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
