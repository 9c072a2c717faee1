"""The whole medallion through Dagster, beside the same transforms called directly.

    .venv/bin/python -m bench medallion --rows 1000000 --days 10

Three sides run in this process on the same sample files: the baseline first (it reads
the landing files, cleans, builds the marts and writes Parquet with no Dagster), then a plain
DuckDB SQL script doing the same layers (bench/duckdb_script.py: what a user would write
instead), then `etl_assets.runner.run_pipeline` on an ephemeral instance. Each side's peak memory is
sampled on its own. The result is one JSON object (also written to bench/results/).
"""

from __future__ import annotations

import ctypes
import gc
import os
import tempfile
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa

from bench.duckdb_script import run_duckdb
from bench.memory import PeakRss
from etl_assets.connectors.files import LandingFiles
from etl_assets.definitions import build_definitions
from etl_assets.io.lake.writing import frame_to_table, write_parquet
from etl_assets.marts.retail import ORDERS_COLUMNS
from etl_assets.quality.checks.accounting import account_days
from etl_assets.quality.checks.report import severity_checks
from etl_assets.quality.checks.schema_drift import landing_column_checks, non_null_rows
from etl_assets.quality.checks.suite_checks import CHUNK_ROWS
from etl_assets.quality.engine.validation import Partitions, runtime, validate_partitions
from etl_assets.quality.suites.gold_suites import gold_suites
from etl_assets.quality.suites.reconciliation import (
    RECONCILIATION,
    RECONCILIATION_COLUMNS,
    reconciliation_frame,
)
from etl_assets.quality.suites.source_suites import Suite, source_suites
from etl_assets.runner import run_pipeline, step_seconds
from etl_assets.sample import generate_sample
from etl_assets.settings import DEV_PII_KEY, load_settings
from etl_assets.sources import SourceSpec, load_sources
from etl_assets.sources.reserved_columns import LINEAGE_COLUMNS as BRONZE_LINEAGE
from etl_assets.transforms.bronze import frame_bronze
from etl_assets.transforms.csv_reader import read_landing_csv
from etl_assets.transforms.gold.customers import cohort_retention, customer_rfm
from etl_assets.transforms.gold.products import product_performance
from etl_assets.transforms.gold.sales import daily_sales
from etl_assets.transforms.history import build_scd2
from etl_assets.transforms.silver import apply_row_rules, clean_source, rows_of_days

MIB = 1024 * 1024


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table: pa.Table = frame_to_table(frame)
    with open(path, "wb") as sink:
        write_parquet(table, sink)


def _bronze(landing: LandingFiles, spec: SourceSpec, day: str | None) -> pd.DataFrame:
    relative = landing.path_for(spec.path, day)
    read = read_landing_csv(
        landing.read_bytes(relative),
        source_file=relative,
        expected_columns=spec.raw_columns,
        required_columns=spec.required_raw_columns,
    )
    return frame_bronze(
        read,
        source_file=relative,
        batch_id=relative,
        ingested_at=pd.Timestamp.now(tz="UTC"),
        landing_date=pd.Timestamp(day) if day else None,
    )


# The silver/orders columns the gold marts and the reconciliation read.
GOLD_READS = sorted(
    {c for columns in ORDERS_COLUMNS.values() for c in columns} | set(RECONCILIATION_COLUMNS)
)


class _Clock:
    """Seconds per layer, and the checks' own."""

    def __init__(self) -> None:
        self.seconds = {"bronze": 0.0, "silver": 0.0, "gold": 0.0, "checks": 0.0}

    def __call__(self, layer: str, fn, *args, **kwargs):
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        self.seconds[layer] += time.perf_counter() - started
        return value


def _validate(frame: pd.DataFrame, suite, landing_spec: SourceSpec | None = None) -> None:
    """A suite on one frame of one or more days, as a check step evaluates a group."""
    keys = [None]
    partitions = Partitions.single(len(frame))
    if suite.partition_column and len(frame):
        days = frame[suite.partition_column].to_numpy(dtype="datetime64[ns]")
        codes, uniques = pd.factorize(days, sort=True)
        keys, partitions = [str(day)[:10] for day in uniques], Partitions(codes, len(uniques))
    outcomes = validate_partitions(frame, suite.expectations, partitions)
    for key, partition_outcomes in zip(keys, outcomes, strict=True):
        severity_checks(partition_outcomes, suite, key, None)
    if landing_spec is not None:
        lineage = BRONZE_LINEAGE
        present = non_null_rows(frame, partitions)
        landing_column_checks(present, partitions.rows, landing_spec.raw_columns, lineage, keys)


class _Group:
    """Frames of consecutive days checked together, CHUNK_ROWS rows at most, as the check
    steps read them."""

    def __init__(self, suite, clock, landing_spec: SourceSpec | None = None):
        self.suite, self.clock, self.landing_spec = suite, clock, landing_spec
        self.frames: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        if self.frames and sum(map(len, self.frames)) + len(frame) > CHUNK_ROWS:
            self.flush()
        self.frames.append(frame)

    def flush(self) -> None:
        if self.frames:
            frame = pd.concat(self.frames, ignore_index=True)
            self.clock("checks", _validate, frame, self.suite, self.landing_spec)
        self.frames = []


def _silver_of_day(spec, own, later, day, clock, out):
    """Silver of one day: its bronze plus its late rows in the next days' bronze."""
    stamp = pd.Timestamp(day)
    window = pd.concat(
        [own, *(rows_of_days(frame, spec, [stamp]) for frame in later)], ignore_index=True
    )
    result = apply_row_rules(
        clean_source(window, spec, pii_key=DEV_PII_KEY.encode(), days=[stamp]), window, spec
    ).result
    account_days(
        window,
        result.clean,
        result.quarantine,
        day_column=spec.partition_column,
        days=[stamp],
        bronze_rows_by_day=result.rows_in_by_day,
        duplicates_by_day=result.duplicates_by_day,
    )
    _write(result.clean, out / "silver" / spec.name / f"{day}.parquet")
    return result


def _daily_source(spec, landing, days, clock, out) -> dict[str, pd.DataFrame]:
    """Bronze, silver and their checks a day at a time, holding the days silver still
    needs; returns the silver frames of the days."""
    suites = source_suites(spec)
    silver: dict[str, pd.DataFrame] = {}
    quarantine = []
    held: dict[str, pd.DataFrame] = {}  # bronze days a pending silver day reads
    late = spec.late_arrival_days
    bronze_checks = _Group(suites.bronze, clock, landing_spec=spec)
    silver_checks = _Group(suites.silver, clock)
    quarantine_checks = _Group(suites.quarantine, clock)

    def clean(index: int) -> None:
        day = days[index]
        later = [held[d] for d in days[index + 1 : index + 1 + late]]
        result = clock("silver", _silver_of_day, spec, held[day], later, day, clock, out)
        silver_checks.add(result.clean)
        quarantine_checks.add(result.quarantine)
        kept = [c for c in GOLD_READS if c in result.clean.columns]  # what gold reads of it
        silver[day] = result.clean[kept]
        quarantine.append(result.quarantine)
        del held[day]

    for index, day in enumerate(days):
        frame = clock("bronze", _bronze, landing, spec, day)
        clock("bronze", _write, frame, out / "bronze" / spec.name / f"{day}.parquet")
        bronze_checks.add(frame)
        held[day] = frame
        if index >= late:
            clean(index - late)
    for index in range(max(len(days) - late, 0), len(days)):
        clean(index)
    for group in (bronze_checks, silver_checks, quarantine_checks):
        group.flush()
    clock(
        "silver", _write, pd.concat(quarantine), out / "silver" / f"{spec.name}_quarantine.parquet"
    )
    return silver


def _whole_source(spec, landing, days, clock, out) -> pd.DataFrame:
    """A history (SCD2 over every day) or unpartitioned source, in one piece."""
    suites = source_suites(spec)
    frames = []
    for day in days if spec.is_daily else [None]:
        frame = clock("bronze", _bronze, landing, spec, day)
        clock("bronze", _write, frame, out / "bronze" / spec.name / f"{day}.parquet")
        frames.append(frame)
    clock("checks", _validate, pd.concat(frames, ignore_index=True), suites.bronze, spec)
    bronze = pd.concat(frames, ignore_index=True)

    def silver() -> pd.DataFrame:
        result = clean_source(bronze, spec, pii_key=DEV_PII_KEY.encode())
        clean = result.clean
        if spec.is_history:
            clean = build_scd2(
                clean,
                key=spec.business_key,
                tracked=spec.history_tracked,
                day_column=spec.partition_column,
            )
        _write(clean, out / "silver" / f"{spec.name}.parquet")
        return clean

    clean = clock("silver", silver)
    clock("checks", _validate, clean, suites.silver)
    return clean


def run_baseline(data_dir: Path, days: list[str], out: Path) -> dict[str, float]:
    """The work of the medallion job and its checks, called directly with the same
    day-by-day algorithm, each output written once and never read back; returns seconds
    per layer and for the checks."""
    landing = LandingFiles(base_dir=str(data_dir / "landing"))
    clock = _Clock()
    silver: dict[str, object] = {}
    for spec in load_sources().values():
        if spec.is_daily and not spec.is_history:
            silver[spec.name] = _daily_source(spec, landing, days, clock, out)
        else:
            silver[spec.name] = _whole_source(spec, landing, days, clock, out)

    suites = gold_suites()
    by_day = silver["orders"]
    sales_of_days = []
    for day, orders in by_day.items():
        sales = clock("gold", daily_sales, orders[ORDERS_COLUMNS["daily_sales"]])
        clock("gold", _write, sales, out / "gold" / "daily_sales" / f"{day}.parquet")
        sales_of_days.append(sales)
    sales = pd.concat(sales_of_days, ignore_index=True)
    clock("checks", _validate, sales, suites["daily_sales"])
    reconcile = Suite(("reconciliation",), (RECONCILIATION,), partition_column="order_date")
    orders = clock("gold", pd.concat, list(by_day.values()), ignore_index=True)
    clock("checks", lambda: _validate(reconciliation_frame(sales, orders), reconcile))
    marts = {
        "customer_rfm": lambda: customer_rfm(orders),
        "product_performance": lambda: product_performance(orders, silver["products"]),
        "cohort_retention": lambda: cohort_retention(orders),
    }
    for name, compute in marts.items():
        frame = clock("gold", compute)
        clock("gold", _write, frame, out / "gold" / f"{name}.parquet")
        clock("checks", _validate, frame, suites[name])
    return clock.seconds


def _release_freed_memory() -> None:
    """Hand memory freed by the previous side back to the OS, so that each side's peak RSS
    is its own: glibc and Arrow's pool otherwise keep it mapped."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the peak may include the other side
        pass


def _measure(fn) -> tuple[object, float, int]:
    _release_freed_memory()
    with PeakRss() as memory:
        started = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - started
    return value, elapsed, memory.peak


def _check_step_seconds(instance: dg.DagsterInstance, summary) -> float:
    """Seconds of the steps that only evaluate checks (silver's row accounting runs inside
    the silver step and counts as silver)."""
    steps = step_seconds(instance, summary.run_id)
    materializing = {
        record.step_key
        for record in instance.all_logs(summary.run_id)
        if record.dagster_event and record.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    }
    return sum(seconds for step, seconds in steps.items() if step not in materializing)


def _side(seconds: float, peak: int, layers: dict[str, float], order_lines: int) -> dict:
    """One side's figures: time, throughput, peak, seconds per layer, the checks' share."""
    return {
        "seconds": round(seconds, 2),
        "rows_per_second": round(order_lines / seconds),
        "peak_rss_mib": round(peak / MIB),
        "seconds_per_layer": {k: round(v, 2) for k, v in layers.items()},
        "checks_share": round(layers["checks"] / seconds, 3),
    }


def _load() -> str:
    """The machine's 1, 5 and 15 minute load averages: figures under load are not goals'."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def bench_medallion(rows: int, days: int, seed: int = 7, work_dir: Path | None = None) -> dict:
    work_dir = Path(work_dir or tempfile.mkdtemp(prefix="etl-bench-"))
    rows_per_day = rows // days
    started = time.perf_counter()
    manifest = generate_sample(work_dir, days=days, rows_per_day=rows_per_day, seed=seed)
    generate_seconds = time.perf_counter() - started
    day_keys = sorted(manifest["orders"])
    started = time.perf_counter()
    runtime()  # import great_expectations once, for both sides (a run imports it at start)
    ge_import_seconds = time.perf_counter() - started

    baseline_layers, baseline_seconds, baseline_peak = _measure(
        lambda: run_baseline(work_dir, day_keys, work_dir / "baseline")
    )

    duckdb_side, duckdb_seconds, duckdb_peak = _measure(
        lambda: run_duckdb(work_dir, work_dir / "duckdb")
    )
    duckdb_layers = duckdb_side["seconds_per_layer"]

    settings = load_settings({"ETL_DATA_DIR": str(work_dir)})
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        summary, dagster_seconds, dagster_peak = _measure(
            lambda: run_pipeline(defs, settings, instance, days=day_keys, log_level="ERROR")
        )
        if not summary.success:
            raise RuntimeError(f"the medallion run failed:\n{summary.table()}")
        dagster_layers = {name: layer.seconds for name, layer in summary.layers.items()}
        dagster_layers["checks"] = _check_step_seconds(instance, summary)

    order_lines = rows_per_day * days
    return {
        "order_lines": order_lines,
        "days": days,
        "rows_per_day": rows_per_day,
        "sample_generation_seconds": round(generate_seconds, 2),
        "dagster": _side(dagster_seconds, dagster_peak, dagster_layers, order_lines),
        "baseline": _side(baseline_seconds, baseline_peak, baseline_layers, order_lines),
        "duckdb": {
            **_side(duckdb_seconds, duckdb_peak, duckdb_layers, order_lines),
            "failed_checks": duckdb_side["failed_checks"],
        },
        "great_expectations_import_seconds": round(ge_import_seconds, 2),
        "dagster_over_baseline": round(dagster_seconds / baseline_seconds, 3),
        "dagster_over_duckdb": round(dagster_seconds / duckdb_seconds, 3),
        "peak_dagster_over_duckdb": round(dagster_peak / duckdb_peak, 3),
        "load_average": _load(),
        "reproduce": f"python -m bench medallion --rows {rows} --days {days} --seed {seed}",
    }


def markdown(result: dict) -> str:
    d, b = result["dagster"], result["baseline"]
    return "\n".join(
        [
            "| order lines | side | seconds | rows/s | peak RSS MiB "
            "| bronze s | silver s | gold s | checks s | checks share |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *(
                f"| {result['order_lines']:,} | {name} | {side['seconds']} | "
                f"{side['rows_per_second']:,} | {side['peak_rss_mib']:,} | "
                + " | ".join(
                    str(side["seconds_per_layer"].get(k, ""))
                    for k in ("bronze", "silver", "gold", "checks")
                )
                + f" | {side['checks_share']:.0%} |"
                for name, side in (("dagster", d), ("baseline", b), ("duckdb", result["duckdb"]))
            ),
            f"\nDagster / baseline: **{result['dagster_over_baseline']}**; Dagster / DuckDB "
            f"script: **{result['dagster_over_duckdb']}** in time, "
            f"**{result['peak_dagster_over_duckdb']}** in peak memory; load average "
            f"{result['load_average']}",
        ]
    )
