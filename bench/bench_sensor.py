"""Benchmark the landing sensor's tick over a landing zone of 10,000 files.

    .venv/bin/python -m bench.bench_sensor                 # 10,000 files, 5 repeats
    .venv/bin/python -m bench.bench_sensor --files 50000

The files are orders and customers files for consecutive days since 2010-01-01 (a few hundred
bytes each, plus a name the sensor skips). Each tick is the real sensor evaluated as the daemon
does (a Dagster sensor context on a SQLite instance, the code location's definitions), timed
around `evaluate_tick`:

- cold: the first tick ever, no cursor (every file seen for the first time, none read);
- steady: nothing changed since the last tick (the state after the landing zone was processed);
- new file: one new day landed: its first look (settling) and second look (read, one run);
- backlog: every file ready at once: one tick reads and requests the first 50 (the cap).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def write_landing(root: Path, files: int) -> None:
    days = files // 2
    first = dt.date(2010, 1, 1)
    for name in ("orders", "customers"):
        (root / "landing" / name).mkdir(parents=True, exist_ok=True)
    for offset in range(days):
        day = (first + dt.timedelta(days=offset)).isoformat()
        for name in ("orders", "customers"):
            path = root / "landing" / name / f"{name}_{day}.csv"
            path.write_text(f"header\n{name},{day},{'x' * 200}\n")
    (root / "landing" / "manifest.json").write_text("{}")


def timed(function, repeat: int) -> tuple[list[float], object]:
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def summary(seconds: list[float]) -> dict:
    return {
        "best_ms": round(min(seconds) * 1000, 1),
        "median_ms": round(statistics.median(seconds) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        write_landing(root, args.files)
        print(f"wrote {args.files:,} landing files in {time.perf_counter() - started:.1f} s")
        os.environ.update({"ETL_DATA_DIR": str(root), "ETL_PARTITIONS_START": "2010-01-01"})

        import dagster as dg

        from etl_assets.automation.landing_watch import WatchState
        from etl_assets.automation.sensors import LANDING_SENSOR, MAX_RUNS_PER_TICK
        from etl_assets.connectors.landing_scan import scan_landing, sha256_of
        from etl_assets.definitions import build_definitions
        from etl_assets.settings import load_settings

        defs = build_definitions(load_settings())
        sensor = defs.resolve_sensor_def(LANDING_SENSOR)
        landing_dir = str(root / "landing")

        with dg.instance_for_test() as instance:

            def tick(cursor: str | None):
                context = dg.build_sensor_context(
                    instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
                )
                return sensor.evaluate_tick(context)

            results: dict = {"files": args.files}
            scan_seconds, entries = timed(lambda: scan_landing(landing_dir), args.repeat)
            results["scan_only"] = summary(scan_seconds)

            cold_seconds, cold = timed(lambda: tick(None), args.repeat)
            results["cold_tick"] = summary(cold_seconds) | {"cursor_bytes": len(cold.cursor)}

            backlog_seconds, backlog = timed(lambda: tick(cold.cursor), args.repeat)
            assert len(backlog.run_requests) == MAX_RUNS_PER_TICK
            results["backlog_tick"] = summary(backlog_seconds) | {
                "runs_requested": len(backlog.run_requests),
                "cursor_bytes": len(backlog.cursor),
            }

            # Everything processed: the watermark covers every file, nothing is tracked.
            processed = WatchState(watermark_ns=time.time_ns(), files={}).encode()
            steady_seconds, steady = timed(lambda: tick(processed), args.repeat)
            assert not steady.run_requests
            results["steady_tick"] = summary(steady_seconds) | {"cursor_bytes": len(steady.cursor)}

            new_file = root / "landing" / "orders" / "orders_2024-01-01.csv"
            new_file.write_text("header\norders,2024-01-01\n")
            first_seconds, first_look = timed(lambda: tick(processed), args.repeat)
            second_seconds, second_look = timed(lambda: tick(first_look.cursor), args.repeat)
            assert not first_look.run_requests and len(second_look.run_requests) == 1
            results["new_file_first_look"] = summary(first_seconds)
            results["new_file_second_look"] = summary(second_seconds)

            big = root / "big.bin"
            big.write_bytes(os.urandom(64 * 1024 * 1024))
            hash_seconds, _ = timed(lambda: sha256_of(str(root), "big.bin"), 3)
            results["sha256_mb_per_s"] = round(64 / min(hash_seconds))
            results["entries_scanned"] = len(entries)

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"sensor_{args.files}.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
