"""`etl-assets sample`: write the deterministic sample landing zone (and, with
--postgres-url, seed the demo customers table)."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

from etl_assets.cli.seed_postgres import seed_postgres
from etl_assets.settings import load_settings, yesterday_in


def register(commands) -> None:
    sample = commands.add_parser("sample", help="write deterministic sample landing data")
    sample.add_argument("--out", required=True, help="data directory (landing/ is written in it)")
    sample.add_argument(
        "--start",
        help="first day, YYYY-MM-DD (default: the days end yesterday in ETL_TIMEZONE, so the "
        "sample is fresh data; a given start makes the files the same on every machine)",
    )
    sample.add_argument("--days", type=int, default=30)
    sample.add_argument("--rows-per-day", type=int, default=20_000)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument(
        "--replace", action="store_true", help="delete an existing landing/ directory first"
    )
    sample.add_argument(
        "--postgres-url",
        help="also seed table customers (one row per customer, with updated_at) in this "
        "database, for the connector: postgres demo; with an existing sample, seed only",
    )
    sample.add_argument("--postgres-schema", default="public", help="schema of that table")
    sample.set_defaults(handler=_sample)


def _start_ending_yesterday(days: int) -> str:
    """The first day of `days` days that end yesterday. The content of each file depends on
    its index and the seed only, so the figures are the same whatever the start."""
    last = yesterday_in(load_settings().timezone)
    return (last - dt.timedelta(days=max(days, 1) - 1)).isoformat()


def _sample(args: argparse.Namespace) -> int:
    from etl_assets.sample import SampleError, generate_sample

    landing = Path(args.out) / "landing"
    if landing.exists() and any(landing.iterdir()):
        if args.postgres_url and not args.replace:
            return seed_postgres(args)  # seed the demo table from the sample already there
        if not args.replace:
            # Files of an earlier, longer sample would stay and disagree with the manifest.
            print(
                f"etl-assets sample: {landing} already holds files; pass --replace to delete "
                "them first, or choose another --out.",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(landing)
    try:
        manifest = generate_sample(
            args.out,
            start=args.start or _start_ending_yesterday(args.days),
            days=args.days,
            rows_per_day=args.rows_per_day,
            seed=args.seed,
        )
    except SampleError as exc:
        print(f"etl-assets sample: {exc}", file=sys.stderr)
        return 2
    lines = sum(day["lines"] for day in manifest["orders"].values())
    print(f"wrote {manifest['days']} days, {lines:,} order lines to {Path(args.out) / 'landing'}")
    return seed_postgres(args) if args.postgres_url else 0
