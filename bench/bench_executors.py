"""A backfill of every asset over N days, in process, multiprocess and on Celery workers.

    .venv/bin/python -m bench.bench_executors [--days 30] [--rows-per-day 5000]
        [--profiles in_process multiprocess celery] [--workers 2] [--celery-days-per-run 1 5]

Each profile (ETL_EXECUTOR) runs the same backfill the same way an operator launches one:
stored in a Dagster instance on PostgreSQL (deploy/celery/dagster.yaml), picked up by
`dagster-daemon run`, runs launched from the code server. `celery` adds `--workers` Celery
workers (one step at a time each) started with the documented command, broker RabbitMQ,
results in a Redis database of its own. The landing files are shared; each profile writes a
lake of its own (ETL_LAKE_URL), and the lakes are compared with the first profile's at the end.

Wall time: from the backfill's submission (daemon and workers already up) to the end of its
last run. The backfill daemon is made to look every 2 s instead of 30 (see
etl_assets_tests/scaleout/fast_daemon.py), so the figures are the runs' own, not the
daemon's polling. Needs PostgreSQL (ETL_TEST_POSTGRES_URL), RabbitMQ and Redis (the
scale-out test's variables). Results: printed, and saved to bench/results/executors.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PROFILES = ("in_process", "multiprocess", "celery")
START = "2024-01-01"


def _days(count: int) -> list[str]:
    import pandas as pd

    return [d.date().isoformat() for d in pd.date_range(START, periods=count, freq="D")]


def _wait_daemon(cluster, timeout: float = 180) -> None:
    """Until the daemon heartbeats: its code server is up and its loops are running."""
    deadline = time.monotonic() + timeout
    while "BACKFILL" not in cluster.instance.get_daemon_heartbeats():
        if cluster.daemon.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the daemon did not start:\n{cluster.log_tail('daemon.log')}")
        time.sleep(0.5)


def run_profile(
    profile: str, root: Path, data_dir: Path, days: list[str], workers: int, days_per_run: int = 1
) -> dict:
    from etl_assets_tests.postgres_fixtures import postgres_test_url, temporary_database
    from etl_assets_tests.scaleout import cluster as scaleout

    distributed = profile == "celery"
    label = f"{profile}-{days_per_run}d" if distributed and days_per_run != 1 else profile
    lake = root / label / "lake"  # the landing files are shared, the lakes are not
    with (
        temporary_database(postgres_test_url(), prefix="etl_bench") as database,
        scaleout.claimed_redis_db(scaleout.redis_url()) as backend,
        scaleout.Cluster(
            root=root / f"{label}_cluster",
            data_dir=data_dir,
            database=database,
            executor=profile,
            backend=backend,
            extra_env={
                "ETL_LAKE_URL": str(lake),
                "ETL_BACKFILL_DAYS_PER_RUN": str(days_per_run),
            },
        ) as cluster,
    ):
        if distributed:
            for number in range(1, workers + 1):
                cluster.start_worker(f"bench{number}-{cluster.queue}")
            cluster.wait_workers(timeout=300)
        cluster.start_daemon()
        _wait_daemon(cluster)
        submitted = time.time()
        backfill_id = cluster.launch_backfill(days, title=f"bench {label}")
        status = cluster.wait_backfill(backfill_id, timeout=3600, every=0.5)
        runs = cluster.runs(backfill_id)
        records = [cluster.instance.get_run_record_by_id(run.run_id) for run in runs]
        steps = scaleout.celery_steps(cluster.instance, [run.run_id for run in runs])
        failed = scaleout.failures(cluster.instance, [run.run_id for run in runs])
    last_end = max(record.end_time or submitted for record in records)
    first_start = min(record.start_time or last_end for record in records)
    per_worker = collections.Counter(step.worker for step in steps if step.worker)
    return {
        "profile": label,
        "days_per_run": days_per_run if distributed else len(days),
        "status": status,
        "runs": len(runs),
        "steps": len(steps),
        "wall_seconds": round(last_end - submitted, 1),
        "first_run_start_seconds": round(first_start - submitted, 1),
        "steps_per_worker": dict(per_worker),
        "failures": failed[:5],
        "lake": str(lake),
        "lake_files": len(scaleout.lake_files(lake)) if lake.exists() else 0,
    }


def markdown(results: list[dict], days: int, rows: int) -> str:
    base = next((r for r in results if r["profile"] == "in_process"), results[0])
    lines = [
        f"{days} days x {rows:,} order lines, every asset and check",
        "",
        "| profile | days per run | runs | steps | wall s | wall / in process "
        "| steps per worker | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        workers = ", ".join(f"{n}" for n in sorted(r["steps_per_worker"].values())) or "-"
        ratio = r["wall_seconds"] / base["wall_seconds"] if base["wall_seconds"] else 0
        lines.append(
            f"| {r['profile']} | {r['days_per_run']} | {r['runs']} | {r['steps']} | "
            f"{r['wall_seconds']} | "
            f"{ratio:.2f} | {workers} | {r['status']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_executors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=5_000)
    parser.add_argument("--profiles", nargs="+", choices=PROFILES, default=list(PROFILES))
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument(
        "--celery-days-per-run",
        type=int,
        nargs="+",
        default=[1],
        help="ETL_BACKFILL_DAYS_PER_RUN of the celery profile; one result per value (default 1)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    from etl_assets.sample import generate_sample
    from etl_assets_tests.scaleout import cluster as scaleout

    days = _days(args.days)
    root = Path(tempfile.mkdtemp(prefix="bench_executors_"))
    try:
        generate_sample(
            root / "sample",
            start=START,
            days=args.days,
            rows_per_day=args.rows_per_day,
            seed=args.seed,
        )
        results = []
        plan = [
            (profile, per_run)
            for profile in args.profiles
            for per_run in (args.celery_days_per_run if profile == "celery" else [1])
        ]
        for profile, per_run in plan:
            print(f"{profile}: backfill of {args.days} days...", file=sys.stderr, flush=True)
            result = run_profile(profile, root, root / "sample", days, args.workers, per_run)
            print(json.dumps(result), file=sys.stderr, flush=True)
            results.append(result)
        reference = Path(results[0]["lake"])
        for result in results[1:]:
            if result["lake_files"] and results[0]["lake_files"]:
                differences = scaleout.lake_differences(Path(result["lake"]), reference)
            else:
                differences = ["a lake is empty"]
            result["same_lake_as_" + results[0]["profile"]] = not differences
            result["lake_differences"] = differences[:5]
        summary = {
            "days": args.days,
            "rows_per_day": args.rows_per_day,
            "workers": args.workers,
            "measured": time.strftime("%Y-%m-%d %H:%M"),
            "results": results,
        }
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "executors.json").write_text(json.dumps(summary, indent=2))
        print(json.dumps(summary, indent=2))
        print(markdown(results, args.days, args.rows_per_day), file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
