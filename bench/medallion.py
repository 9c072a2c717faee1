"""The whole medallion through Dagster, beside the same transforms called directly.

    .venv/bin/python -m bench medallion --rows 1000000 --days 10

Both sides run in this process on the same sample files: the baseline first (it reads
the landing files, cleans, builds the marts and writes Parquet with no Dagster), then
`etl_assets.runner.run_pipeline` on an ephemeral instance. Each side's peak memory is
sampled on its own. The result is one JSON object (also written to bench/results/).
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa

from bench.memory import PeakRss
from etl_assets.connectors.files import LandingFiles
from etl_assets.definitions import build_definitions
from etl_assets.io.parquet_lake import frame_to_table, write_parquet
from etl_assets.runner import run_pipeline
from etl_assets.sample_data import generate_sample
from etl_assets.settings import DEV_PII_KEY, load_settings
from etl_assets.sources import SourceSpec, load_sources
from etl_assets.transforms import gold
from etl_assets.transforms.bronze import frame_bronze, read_landing_csv
from etl_assets.transforms.history import build_scd2
from etl_assets.transforms.silver import clean_source

MIB = 1024 * 1024


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table: pa.Table = frame_to_table(frame)
    with open(path, "wb") as sink:
        write_parquet(table, sink)


def _bronze(landing: LandingFiles, spec: SourceSpec, days: list[str]) -> pd.DataFrame:
    frames = []
    for day in days if spec.is_daily else [None]:
        relative = landing.path_for(spec.path, day)
        read = read_landing_csv(
            landing.read_bytes(relative),
            source_file=relative,
            expected_columns=spec.raw_columns,
            required_columns=spec.required_raw_columns,
        )
        frames.append(
            frame_bronze(
                read,
                source_file=relative,
                batch_id=relative,
                ingested_at=pd.Timestamp.now(tz="UTC"),
                landing_date=pd.Timestamp(day) if day else None,
            )
        )
    return pd.concat(frames, ignore_index=True)


def run_baseline(data_dir: Path, days: list[str], out: Path) -> dict[str, float]:
    """The same work as the medallion job, called directly; returns seconds per layer."""
    landing = LandingFiles(base_dir=str(data_dir / "landing"))
    seconds = {"bronze": 0.0, "silver": 0.0, "gold": 0.0}
    silver: dict[str, pd.DataFrame] = {}
    for spec in load_sources().values():
        started = time.perf_counter()
        bronze = _bronze(landing, spec, days)
        _write(bronze, out / "bronze" / f"{spec.name}.parquet")
        seconds["bronze"] += time.perf_counter() - started

        started = time.perf_counter()
        day_stamps = (
            [pd.Timestamp(d) for d in days] if spec.is_daily and not spec.is_history else None
        )
        result = clean_source(bronze, spec, pii_key=DEV_PII_KEY.encode(), days=day_stamps)
        clean = result.clean
        if spec.is_history:
            clean = build_scd2(
                clean,
                key=spec.business_key,
                tracked=spec.history_tracked,
                day_column=spec.partition_column,
            )
        _write(clean, out / "silver" / f"{spec.name}.parquet")
        _write(result.quarantine, out / "silver" / f"{spec.name}_quarantine.parquet")
        silver[spec.name] = clean
        seconds["silver"] += time.perf_counter() - started
        del bronze, result

    started = time.perf_counter()
    orders, products = silver["orders"], silver["products"]
    marts = {
        "daily_sales": gold.daily_sales(orders),
        "customer_rfm": gold.customer_rfm(orders),
        "product_performance": gold.product_performance(orders, products),
        "cohort_retention": gold.cohort_retention(orders),
    }
    for name, frame in marts.items():
        _write(frame, out / "gold" / f"{name}.parquet")
    seconds["gold"] += time.perf_counter() - started
    return seconds


def _measure(fn) -> tuple[object, float, int]:
    gc.collect()
    with PeakRss() as memory:
        started = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - started
    return value, elapsed, memory.peak


def bench_medallion(rows: int, days: int, seed: int = 7, work_dir: Path | None = None) -> dict:
    work_dir = Path(work_dir or tempfile.mkdtemp(prefix="etl-bench-"))
    rows_per_day = rows // days
    started = time.perf_counter()
    manifest = generate_sample(work_dir, days=days, rows_per_day=rows_per_day, seed=seed)
    generate_seconds = time.perf_counter() - started
    day_keys = sorted(manifest["orders"])

    baseline_layers, baseline_seconds, baseline_peak = _measure(
        lambda: run_baseline(work_dir, day_keys, work_dir / "baseline")
    )

    settings = load_settings({"ETL_DATA_DIR": str(work_dir)})
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        summary, dagster_seconds, dagster_peak = _measure(
            lambda: run_pipeline(defs, settings, instance, days=day_keys, log_level="ERROR")
        )
    if not summary.success:
        raise RuntimeError(f"the medallion run failed:\n{summary.table()}")

    order_lines = rows_per_day * days
    return {
        "order_lines": order_lines,
        "days": days,
        "rows_per_day": rows_per_day,
        "sample_generation_seconds": round(generate_seconds, 2),
        "dagster": {
            "seconds": round(dagster_seconds, 2),
            "rows_per_second": round(order_lines / dagster_seconds),
            "peak_rss_mib": round(dagster_peak / MIB),
            "seconds_per_layer": {
                name: round(layer.seconds, 2) for name, layer in summary.layers.items()
            },
        },
        "baseline": {
            "seconds": round(baseline_seconds, 2),
            "rows_per_second": round(order_lines / baseline_seconds),
            "peak_rss_mib": round(baseline_peak / MIB),
            "seconds_per_layer": {k: round(v, 2) for k, v in baseline_layers.items()},
        },
        "dagster_over_baseline": round(dagster_seconds / baseline_seconds, 3),
        "reproduce": f"python -m bench medallion --rows {rows} --days {days} --seed {seed}",
    }


def markdown(result: dict) -> str:
    d, b = result["dagster"], result["baseline"]
    return "\n".join(
        [
            "| order lines | side | seconds | rows/s | peak RSS MiB "
            "| bronze s | silver s | gold s |",
            "|---|---|---|---|---|---|---|---|",
            *(
                f"| {result['order_lines']:,} | {name} | {side['seconds']} | "
                f"{side['rows_per_second']:,} | {side['peak_rss_mib']:,} | "
                + " | ".join(
                    str(side["seconds_per_layer"].get(k, "")) for k in ("bronze", "silver", "gold")
                )
                + " |"
                for name, side in (("dagster", d), ("baseline", b))
            ),
            f"\nDagster / baseline: **{result['dagster_over_baseline']}**",
        ]
    )
