"""The daily run after N days of history: does its cost follow the day or the history?

    .venv/bin/python -m bench history                               # 100,000 lines a day
    .venv/bin/python -m bench history --rows-per-day 1000000 --history 1 30

One sample of max(N) + 1 days; one Dagster instance on disk (SQLite, as `make run` keeps
one), so that each run sees what the runs before it materialized, as the schedule's runs do.
For each N, in ascending order: the days before day N are caught up in one range run (not
measured), then day N is run alone, the daily run, in a fresh process of its own so that its
peak memory is its own, `repeat` times (the same day again, as a re-run would): the medians are
reported, and every run's figures are kept in the JSON, since a shared machine's noise can be
as large as the growth measured. Times and peaks are reported as ratios to the shortest
history.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1024 * 1024


def _step(data_dir: Path, home: Path, days: list[str]) -> dict:
    """Run `days` in a child process on the shared instance; its figures."""
    command = [sys.executable, "-m", "bench.history", str(data_dir), str(home), *days]
    env = {**os.environ, "DAGSTER_HOME": str(home), "ETL_DATA_DIR": str(data_dir)}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child(data_dir: str, home: str, days: list[str]) -> None:
    """In the child: one run of `days`, its seconds, seconds per layer and peak RSS."""
    import dagster as dg

    from bench.memory import PeakRss
    from etl_assets.definitions import build_definitions
    from etl_assets.runner import run_pipeline
    from etl_assets.settings import load_settings

    settings = load_settings({"ETL_DATA_DIR": data_dir})
    defs = build_definitions(settings)
    with dg.DagsterInstance.get() as instance, PeakRss() as memory:
        started = time.perf_counter()
        summary = run_pipeline(defs, settings, instance, days=days, log_level="ERROR")
        seconds = time.perf_counter() - started
    if not summary.success:
        raise SystemExit(f"the run of {days[0]}..{days[-1]} failed:\n{summary.table()}")
    layers = {name: round(layer.seconds, 2) for name, layer in summary.layers.items()}
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mib": round(memory.peak / MIB),
                      "seconds_per_layer": layers}))  # fmt: skip


def _median_run(runs: list[dict]) -> dict:
    """The run of median time, with the median peak of all of them."""
    by_time = sorted(runs, key=lambda run: run["seconds"])
    median = dict(by_time[len(by_time) // 2])
    median["peak_rss_mib"] = round(statistics.median(run["peak_rss_mib"] for run in runs))
    median["all_seconds"] = [run["seconds"] for run in runs]
    median["all_peaks_mib"] = [run["peak_rss_mib"] for run in runs]
    return median


def bench_history(
    rows_per_day: int,
    histories: list[int],
    seed: int = 7,
    work_dir: Path | None = None,
    repeat: int = 3,
) -> dict:
    from etl_assets.sample import generate_sample

    work_dir = Path(work_dir or tempfile.mkdtemp(prefix="etl-history-"))
    histories = sorted(set(histories))
    manifest = generate_sample(
        work_dir, days=max(histories) + 1, rows_per_day=rows_per_day, seed=seed
    )
    days = sorted(manifest["orders"])
    home = work_dir / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    runs, done = [], 0
    for history in histories:  # days[:history] are the history, days[history] the daily run
        if done < history:
            _step(work_dir, home, days[done:history])  # catch up, not measured
        measured = [_step(work_dir, home, [days[history]]) for _ in range(repeat)]
        runs.append({"history_days": history, **_median_run(measured)})
        done = history + 1
    first = runs[0]
    for run in runs:
        run["x_time"] = round(run["seconds"] / first["seconds"], 2)
        run["x_memory"] = round(run["peak_rss_mib"] / first["peak_rss_mib"], 2)
    return {
        "rows_per_day": rows_per_day,
        "runs": runs,
        "load_average": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "repeat": repeat,
        "reproduce": f"python -m bench history --rows-per-day {rows_per_day} "
        f"--history {' '.join(map(str, histories))} --seed {seed} --repeat {repeat}",
    }


def markdown(result: dict) -> str:
    lines = [
        "| lines a day | days of history | daily run s | x time | peak RSS MiB | x memory "
        "| silver s | gold s | every run s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        layers = run["seconds_per_layer"]
        lines.append(
            f"| {result['rows_per_day']:,} | {run['history_days']} | {run['seconds']} "
            f"| {run['x_time']} | {run['peak_rss_mib']:,} | {run['x_memory']} "
            f"| {layers.get('silver', '')} | {layers.get('gold', '')} "
            f"| {', '.join(str(s) for s in run.get('all_seconds', []))} |"
        )
    lines.append(
        f"\nmedian of {result.get('repeat', 1)} runs each; load average at the end: "
        f"{result['load_average']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3:])
