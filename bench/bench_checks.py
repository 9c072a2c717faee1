"""Time the quality checks beside the silver transform, on the same partition.

    .venv/bin/python -m bench.bench_checks --rows 1000000            # in-process, warm
    .venv/bin/python -m bench.bench_checks --pipeline --rows 1000000 # a real one-day run

In-process: one orders partition of `--rows` landing lines (bench_silver's synthetic bronze)
goes through `clean_source` and `daily_sales`; then every suite that judges that day runs on
it exactly as the checks run it (bronze, silver, quarantine, gold daily_sales with its
reconciliation). great_expectations is imported and warmed first; its import is reported apart,
and the silver suite is also timed with great_expectations validating every row itself.

Pipeline: `etl-assets sample` writes one day of `--rows` order lines, then every asset of that
day is materialized with its checks in one run on a SQLite instance (as `make run` does), and
the run's step times are read from its event log. Check steps include storing their results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.bench_silver import LANDING_DAY, synthetic_orders_bronze
from etl_assets.quality.engine.validation import Partitions, runtime, validate_partitions
from etl_assets.quality.suites.gold_suites import gold_suites
from etl_assets.quality.suites.reconciliation import RECONCILIATION, reconciliation_frame
from etl_assets.quality.suites.source_suites import source_suites
from etl_assets.sources import load_sources
from etl_assets.transforms.gold.sales import daily_sales
from etl_assets.transforms.silver import clean_source


def _timed(function, *args, repeat: int = 3):
    """Best of `repeat` wall times, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - started)
    return best, result


def _suite_seconds(frame: pd.DataFrame, rules, repeat: int) -> float:
    seconds, _ = _timed(
        lambda: validate_partitions(frame, rules, Partitions.single(len(frame))), repeat=repeat
    )
    return seconds


def in_process(rows: int, repeat: int) -> dict:
    started = time.perf_counter()
    runtime()  # import great_expectations, create the context
    ge_import = time.perf_counter() - started

    spec = load_sources()["orders"]
    suites = source_suites(spec)
    bronze = synthetic_orders_bronze(rows)
    bronze = bronze[bronze["_landing_date"] == LANDING_DAY].reset_index(drop=True)
    day = [LANDING_DAY - pd.Timedelta(days=1), LANDING_DAY]
    silver_seconds, result = _timed(lambda: clean_source(bronze, spec, days=day), repeat=repeat)
    # one partition: the landing day's rows of silver, as the lake stores them
    on_day = (result.clean["order_date"] == LANDING_DAY).to_numpy()
    silver = result.clean[on_day].reset_index(drop=True)
    quarantine = result.quarantine[
        (result.quarantine["order_date"] == LANDING_DAY).to_numpy()
    ].reset_index(drop=True)
    gold = daily_sales(silver)

    checks = {
        "bronze/orders": _suite_seconds(bronze, suites.bronze.expectations, repeat),
        "silver/orders": _suite_seconds(silver, suites.silver.expectations, repeat),
        "silver/orders_quarantine": _suite_seconds(
            quarantine, suites.quarantine.expectations, repeat
        ),
        "gold/daily_sales": _suite_seconds(gold, gold_suites()["daily_sales"].expectations, repeat)
        + _timed(
            lambda: validate_partitions(
                reconciliation_frame(gold, silver), [RECONCILIATION], Partitions.single(1)
            ),
            repeat=repeat,
        )[0],
    }
    total = sum(checks.values())
    # the same silver suite, great_expectations validating every row itself
    ge = runtime()
    plain, _ = _timed(
        lambda: ge.validate(silver, [ge.expectation(r) for r in suites.silver.expectations]),
        repeat=1,
    )
    return {
        "rows": rows,
        "bronze_rows_of_the_day": len(bronze),
        "silver_rows": len(silver),
        "silver_transform_seconds": round(silver_seconds, 3),
        "checks_seconds": {k: round(v, 3) for k, v in checks.items()},
        "checks_total_seconds": round(total, 3),
        "checks_over_silver_transform": round(total / silver_seconds, 2),
        "silver_suite_plain_great_expectations_seconds": round(plain, 3),
        "great_expectations_import_seconds": round(ge_import, 2),
    }


def _trace(instance, run_id: str, step: str) -> None:
    """Print the events of one step with their offsets (where a step's time goes)."""
    entries = [e for e in instance.all_logs(run_id) if e.step_key == step]
    for entry in entries:
        kind = entry.dagster_event.event_type_value if entry.dagster_event else "LOG"
        print(f"{entry.timestamp - entries[0].timestamp:7.3f} {kind} {entry.user_message[:70]}")


def pipeline(rows: int) -> dict:
    import dagster as dg

    from etl_assets.definitions import build_definitions
    from etl_assets.runner import run_pipeline, step_seconds
    from etl_assets.sample import generate_sample
    from etl_assets.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="bench_checks_"))
    try:
        generate_sample(work, start="2024-01-01", days=1, rows_per_day=rows, seed=7)
        settings = load_settings({"ETL_DATA_DIR": str(work)})
        defs = build_definitions(settings)
        home = work / "dagster_home"
        home.mkdir()
        shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            summary = run_pipeline(defs, settings, instance, log_level="ERROR")
            steps = step_seconds(instance, summary.run_id)
            if os.environ.get("BENCH_TRACE"):
                _trace(instance, summary.run_id, os.environ["BENCH_TRACE"])
            silver = instance.get_latest_materialization_event(dg.AssetKey(["silver", "orders"]))
            transform = silver.asset_materialization.metadata["seconds"].value
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checks = {k: v for k, v in steps.items() if k.endswith("_expectations")}
    check_seconds = sum(checks.values())
    return {
        "rows": rows,
        "success": summary.success,
        "run_seconds": round(summary.seconds, 2),
        "asset_step_seconds": round(sum(steps.values()) - check_seconds, 2),
        "check_step_seconds": round(check_seconds, 2),
        "check_steps": {k: round(v, 2) for k, v in sorted(checks.items(), key=lambda i: -i[1])},
        "silver_orders_transform_seconds": transform,
        "checks_share_of_run": round(check_seconds / summary.seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pipeline", action="store_true", help="time a real one-day run")
    args = parser.parse_args()
    np.seterr(all="ignore")
    report = pipeline(args.rows) if args.pipeline else in_process(args.rows, args.repeat)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
