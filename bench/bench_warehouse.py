"""Publish gold-shaped rows to Postgres three ways and compare their speed.

    .venv/bin/python -m bench.bench_warehouse [--rows 1000000] [--to-sql-rows 200000]
                                              [--repeat 3] [--url postgresql://...]

The rows look like gold/daily_sales (order_date, country, four Int64 and four Float64
columns) over the 366 days of 2024. Each method loads into an empty table of the same
columns, in a scratch schema dropped at the end:

- io_manager: ``dg.materialize`` of a daily-partitioned asset as one single-run backfill
  over every day; timed by the IO manager's own ``seconds`` metadata (frame -> Arrow,
  window check, create table, DELETE, COPY, commit). ``io_manager_run`` is the whole run.
  ``io_manager_replace`` re-runs it over the loaded rows (DELETE 1M + COPY).
  ``dagster_run_overhead`` is the same run with an in-memory IO manager: what Dagster itself
  spends on a 366-partition run (one materialization event per partition).
- psql_copy: ``psql -c "\\copy ... FROM 'rows.csv' WITH (FORMAT csv)"`` of the same rows, in a
  subprocess; the CSV file holds the IO manager's own CSV bytes, written beforehand (not
  timed).
- to_sql: ``DataFrame.to_sql(method="multi")`` through SQLAlchemy + psycopg2, on
  ``--to-sql-rows`` rows (it is slow), its rate extrapolated per row.

Methods alternate within each repeat and a CHECKPOINT precedes each timed load, so server
noise hits all of them alike; the median is reported. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import psycopg2.errors
import sqlalchemy
from psycopg2 import sql

from etl_assets.connectors.postgres import PostgresWarehouse
from etl_assets.io.warehouse import PostgresWarehouseIOManager
from etl_assets.io.warehouse.copy import csv_chunks
from etl_assets.io.warehouse.sql_types import frame_to_arrow

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
DAYS = pd.date_range("2024-01-01", "2024-12-31", freq="D")
PARTITIONS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2025-01-01")
TO_SQL_CHUNK_ROWS = 200  # the fastest of 200, 1,000, 5,000 and all rows at once, measured
INT_COLUMNS = ("invoices", "lines", "units", "distinct_customers")
FLOAT_COLUMNS = ("gross_revenue", "cancelled_value", "net_revenue", "avg_order_value")


def gold_rows(rows: int, seed: int = 0) -> pd.DataFrame:
    """daily_sales-shaped rows, sorted by day; a few nulls as real marts have."""
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, len(DAYS), rows))
    countries = np.array([f"Country {i:04d}" for i in range(4000)])
    frame = pd.DataFrame(
        {
            "order_date": DAYS.values[day],
            "country": pd.array(countries[rng.integers(0, 4000, rows)], dtype="string[pyarrow]"),
        }
    )
    for name in INT_COLUMNS:
        frame[name] = pd.array(rng.integers(0, 50_000, rows), dtype="Int64")
    for name in FLOAT_COLUMNS:
        frame[name] = pd.array(np.round(rng.gamma(2.0, 400.0, rows), 2), dtype="Float64")
    frame.loc[rng.random(rows) < 0.01, "avg_order_value"] = pd.NA
    return frame


class Bench:
    def __init__(self, url: str):
        self.url = url
        self.warehouse = PostgresWarehouse(url=url)
        self.schema = f"bench_{uuid.uuid4().hex[:8]}"
        self.work = Path(tempfile.mkdtemp(prefix="bench_warehouse_"))

    # ----------------------------------------------------------------- helpers

    def execute(self, statement: sql.Composable) -> list[tuple]:
        with self.warehouse.connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)

    def fresh_table(self, name: str, like: str = "daily_sales") -> None:
        """An empty copy of the IO manager's table (same columns and types)."""
        self.execute(
            sql.SQL("DROP TABLE IF EXISTS {}; CREATE TABLE {} (LIKE {})").format(
                self.table(name), self.table(name), self.table(like)
            )
        )

    def count(self, name: str) -> int:
        return self.execute(sql.SQL("SELECT count(*) FROM {}").format(self.table(name)))[0][0]

    def checkpoint(self) -> None:
        """Flush dirty pages now, so one load's writes do not slow down the next one's."""
        try:
            self.execute(sql.SQL("CHECKPOINT"))
        except psycopg2.errors.InsufficientPrivilege:
            pass  # needs superuser or pg_checkpoint; the figures are just noisier

    def drop_schema(self) -> None:
        self.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
        )
        self.warehouse.close()

    # ----------------------------------------------------------------- methods

    def io_manager(self, frame: pd.DataFrame) -> tuple[float, float]:
        """(IO manager seconds, whole run seconds) of a single-run backfill of every day."""

        @dg.asset(
            key=[self.schema, "daily_sales"],
            partitions_def=PARTITIONS,
            backfill_policy=dg.BackfillPolicy.single_run(),
            metadata={"partition_expr": "order_date"},
        )
        def daily_sales() -> pd.DataFrame:
            return frame

        io_manager = PostgresWarehouseIOManager(warehouse=self.warehouse)
        result, run_seconds = backfill_every_day(daily_sales, io_manager)
        event = result.get_asset_materialization_events()[0]
        return event.materialization.metadata["seconds"].value, run_seconds

    def dagster_overhead(self, frame: pd.DataFrame) -> float:
        """The same run with an in-memory IO manager: Dagster's own cost (366 events)."""

        @dg.asset(
            key=[self.schema, "in_memory"],
            partitions_def=PARTITIONS,
            backfill_policy=dg.BackfillPolicy.single_run(),
        )
        def in_memory() -> pd.DataFrame:
            return frame

        return backfill_every_day(in_memory, dg.mem_io_manager)[1]

    def psql_copy(self, csv_path: Path, columns: list[str]) -> float:
        self.fresh_table("psql_copy")
        target = self.quoted(self.table("psql_copy"))
        column_list = self.quoted(sql.SQL(", ").join(map(sql.Identifier, columns)))
        command = f"\\copy {target} ({column_list}) FROM '{csv_path}' WITH (FORMAT csv)"
        started = time.perf_counter()
        subprocess.run(
            ["psql", self.url, "-v", "ON_ERROR_STOP=1", "-qc", command],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - started

    def to_sql(self, frame: pd.DataFrame) -> float:
        self.fresh_table("to_sql")
        # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; the project ships psycopg2.
        engine = sqlalchemy.create_engine(
            self.url.replace("postgresql://", "postgresql+psycopg2://", 1)
        )
        try:
            started = time.perf_counter()
            frame.to_sql(
                "to_sql",
                engine,
                schema=self.schema,
                if_exists="append",
                index=False,
                method="multi",
                chunksize=TO_SQL_CHUNK_ROWS,
            )
            return time.perf_counter() - started
        finally:
            engine.dispose()

    def quoted(self, composable: sql.Composable) -> str:
        with self.warehouse.connection() as conn:  # quoting rules come from a connection
            return composable.as_string(conn)


def backfill_every_day(asset, io_manager) -> tuple[dg.ExecuteInProcessResult, float]:
    started = time.perf_counter()
    result = dg.materialize(
        [asset],
        resources={"io_manager": io_manager},
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": PARTITIONS.get_first_partition_key(),
            "dagster/asset_partition_range_end": PARTITIONS.get_last_partition_key(),
        },
    )
    return result, time.perf_counter() - started


def rate(rows: int, seconds: float) -> float:
    return round(rows / seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--to-sql-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get("ETL_TEST_POSTGRES_URL") or DEFAULT_URL)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    frame = gold_rows(args.rows)
    bench = Bench(args.url)
    csv_path = bench.work / "rows.csv"
    with open(csv_path, "wb") as sink:  # the very bytes the IO manager streams
        for chunk in csv_chunks(frame_to_arrow(frame, "bench")):
            sink.write(chunk)
    timings: dict[str, list[float]] = {
        "io_manager": [],
        "io_manager_run": [],
        "io_manager_replace": [],
        "psql_copy": [],
        "dagster_run_overhead": [],
    }
    try:
        for _ in range(args.repeat):
            bench.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(bench.table("daily_sales")))
            bench.checkpoint()
            seconds, run_seconds = bench.io_manager(frame)
            timings["io_manager"].append(seconds)
            timings["io_manager_run"].append(run_seconds)
            assert bench.count("daily_sales") == args.rows
            bench.checkpoint()
            timings["io_manager_replace"].append(bench.io_manager(frame)[0])
            assert bench.count("daily_sales") == args.rows
            bench.checkpoint()
            timings["psql_copy"].append(bench.psql_copy(csv_path, list(frame.columns)))
            assert bench.count("psql_copy") == args.rows
            timings["dagster_run_overhead"].append(bench.dagster_overhead(frame))
        to_sql_frame = frame.iloc[: args.to_sql_rows]
        bench.checkpoint()
        to_sql_seconds = bench.to_sql(to_sql_frame)
        assert bench.count("to_sql") == len(to_sql_frame)
        csv_bytes = csv_path.stat().st_size
    finally:
        bench.drop_schema()
        csv_path.unlink(missing_ok=True)
        bench.work.rmdir()

    median = {name: statistics.median(values) for name, values in timings.items()}
    rows_per_s = {
        name: rate(args.rows, seconds)
        for name, seconds in median.items()
        if name != "dagster_run_overhead"
    }
    rows_per_s["to_sql"] = rate(len(to_sql_frame), to_sql_seconds)
    report = {
        "rows": args.rows,
        "repeat": args.repeat,
        "csv_bytes": csv_bytes,
        "seconds_median": {name: round(value, 3) for name, value in median.items()},
        "seconds_all": {name: [round(v, 3) for v in values] for name, values in timings.items()},
        "to_sql": {
            "rows_measured": len(to_sql_frame),
            "seconds": round(to_sql_seconds, 3),
            "chunksize": TO_SQL_CHUNK_ROWS,
            "extrapolated_seconds_for_rows": round(
                to_sql_seconds * args.rows / len(to_sql_frame), 1
            ),
        },
        "rows_per_s": rows_per_s,
        "ratios": {
            "io_manager_vs_psql_copy": round(rows_per_s["io_manager"] / rows_per_s["psql_copy"], 3),
            "io_manager_vs_to_sql": round(rows_per_s["io_manager"] / rows_per_s["to_sql"], 1),
            "io_manager_run_vs_psql_copy": round(
                rows_per_s["io_manager_run"] / rows_per_s["psql_copy"], 3
            ),
        },
        "goals": {"io_manager_vs_psql_copy": ">= 0.85", "io_manager_vs_to_sql": ">= 10"},
        "server": bench.warehouse.redacted_url,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
