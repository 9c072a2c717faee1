"""Benchmark harness: `python -m bench medallion --rows N --days D` (Dagster, the direct
transforms and a plain DuckDB SQL script on the same files) and `python -m bench history`
(the daily run after 1, 30, 90 and 180 days of history; long).

Each size runs in a fresh process so its peak memory is its own; the results are printed
as JSON and a markdown table, and saved under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _one(args: argparse.Namespace) -> int:
    from bench.medallion import bench_medallion, markdown

    result = bench_medallion(args.rows[0], args.days, seed=args.seed)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"medallion_{args.rows[0]}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    print(markdown(result), file=sys.stderr)
    return 0


def _history(args: argparse.Namespace) -> int:
    from bench.history import bench_history, markdown

    result = bench_history(args.rows_per_day, args.history, seed=args.seed, repeat=args.repeat)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"history_{args.rows_per_day}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    print(markdown(result), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    medallion = commands.add_parser("medallion", help="Dagster run vs direct transforms")
    medallion.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    medallion.add_argument("--days", type=int, default=10)
    medallion.add_argument("--seed", type=int, default=7)
    history = commands.add_parser("history", help="the daily run after N days of history")
    history.add_argument("--rows-per-day", type=int, default=100_000)
    history.add_argument("--history", type=int, nargs="+", default=[1, 30, 90, 180])
    history.add_argument("--seed", type=int, default=7)
    history.add_argument("--repeat", type=int, default=3, help="daily runs per history; medians")
    args = parser.parse_args(argv)
    if args.command == "history":
        return _history(args)
    if len(args.rows) == 1:
        return _one(args)
    for rows in args.rows:  # one process per size: peak memory must not carry over
        command = [sys.executable, "-m", "bench", "medallion", "--rows", str(rows)]
        command += ["--days", str(args.days), "--seed", str(args.seed)]
        subprocess.run(command, check=True)
    print(growth([json.loads((RESULTS / f"medallion_{r}.json").read_text()) for r in args.rows]))
    return 0


def growth(results: list[dict]) -> str:
    """How the Dagster side's time and memory grow from the smallest size to each other."""
    results = sorted(results, key=lambda r: r["order_lines"])
    first = results[0]
    lines = [
        "| order lines | rows per day | seconds | x rows | x time | peak RSS MiB | x memory |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        side, base = result["dagster"], first["dagster"]
        lines.append(
            f"| {result['order_lines']:,} | {result['rows_per_day']:,} | {side['seconds']} "
            f"| {result['order_lines'] / first['order_lines']:.0f} "
            f"| {side['seconds'] / base['seconds']:.2f} | {side['peak_rss_mib']:,} "
            f"| {side['peak_rss_mib'] / base['peak_rss_mib']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
