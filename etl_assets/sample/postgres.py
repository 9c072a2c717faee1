"""Seed a demo source table for `connector: postgres` from the sample customer snapshots.

`etl-assets sample --out DIR --postgres-url URL` writes (or upserts into) table
`customers` (customer_id, email, country, updated_at): one row per customer with the values
of the latest snapshot, and updated_at = midnight UTC of the first day it held them. Seeding
again only touches rows whose values changed, so a watermark extraction after a re-seed
reads exactly the changed customers. See docs/examples/postgres_customers/.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg2
from psycopg2 import sql

from etl_assets.connectors.postgres import redact_url

COLUMNS = ("customer_id", "email", "country", "updated_at")


def latest_customers(landing_dir: Path) -> pd.DataFrame:
    """One row per customer: the latest snapshot's values, since the day they took them."""
    files = sorted((Path(landing_dir) / "customers").glob("customers_*.csv"))
    if not files:
        raise FileNotFoundError(f"no customer snapshots under {landing_dir}/customers")
    latest: dict[str, tuple[str, str, pd.Timestamp]] = {}
    for path in files:
        day = pd.Timestamp(path.stem.removeprefix("customers_"), tz="UTC")
        snapshot = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8",
            encoding_errors="replace",
            on_bad_lines="skip",
        )
        for customer, email, country in snapshot[["CustomerID", "Email", "Country"]].itertuples(
            index=False
        ):
            customer = customer.strip()
            if not customer:
                continue
            known = latest.get(customer)
            if known is None or (known[0], known[1]) != (email, country):
                latest[customer] = (email, country, day)
    return pd.DataFrame(
        [(c, e, k, d) for c, (e, k, d) in sorted(latest.items())], columns=list(COLUMNS)
    )


def seed_customers(landing_dir: Path, url: str, schema: str = "public") -> tuple[int, int]:
    """Create `<schema>.customers` if needed and upsert the sample's customers into it.
    Returns (customers, rows inserted or changed)."""
    frame = latest_customers(landing_dir)
    table = sql.Identifier(schema, "customers")
    try:
        conn = psycopg2.connect(url, connect_timeout=10)
    except psycopg2.OperationalError as error:
        raise ConnectionError(
            f"cannot connect to {redact_url(url)}: {' '.join(str(error).split())}"
        ) from None
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            cursor.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (customer_id text PRIMARY KEY, email text, "
                    "country text, updated_at timestamptz NOT NULL)"
                ).format(table)
            )
            changed = 0
            upsert = sql.SQL(
                "INSERT INTO {t} AS c (customer_id, email, country, updated_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (customer_id) DO UPDATE SET "
                "email = excluded.email, country = excluded.country, "
                "updated_at = greatest(excluded.updated_at, clock_timestamp()) "
                "WHERE (c.email, c.country) IS DISTINCT FROM (excluded.email, excluded.country)"
            ).format(t=table)
            for row in frame.itertuples(index=False):
                cursor.execute(upsert, (row[0], row[1], row[2], row[3].to_pydatetime()))
                changed += cursor.rowcount
    finally:
        conn.close()
    return len(frame), changed
