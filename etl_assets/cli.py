"""`etl-assets`: operator commands.

etl-assets sample --out DIR [--start 2024-01-01 --days 30 --rows-per-day 20000 --seed 7]
etl-assets run [--first-day D --last-day D]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

DEFAULT_HOME = ".dagster_home"


def _sample(args: argparse.Namespace) -> int:
    from etl_assets.sample_data import SampleError, generate_sample

    landing = Path(args.out) / "landing"
    if landing.exists() and any(landing.iterdir()):
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
            start=args.start,
            days=args.days,
            rows_per_day=args.rows_per_day,
            seed=args.seed,
        )
    except SampleError as exc:
        print(f"etl-assets sample: {exc}", file=sys.stderr)
        return 2
    lines = sum(day["lines"] for day in manifest["orders"].values())
    print(f"wrote {manifest['days']} days, {lines:,} order lines to {Path(args.out) / 'landing'}")
    return 0


def instance_home() -> Path:
    """DAGSTER_HOME, or .dagster_home in the working directory with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    project_config = Path("dagster.yaml")
    if not (home / "dagster.yaml").exists() and project_config.exists():
        shutil.copy(project_config, home / "dagster.yaml")
    return home


def _run(args: argparse.Namespace) -> int:
    import dagster as dg

    from etl_assets.definitions import defs
    from etl_assets.runner import NothingToRun, landed_days, run_pipeline
    from etl_assets.settings import get_settings

    settings = get_settings()
    days = landed_days(settings)
    days = [
        d
        for d in days
        if (not args.first_day or d >= args.first_day) and (not args.last_day or d <= args.last_day)
    ]
    with dg.DagsterInstance.from_config(str(instance_home())) as instance:
        try:
            summary = run_pipeline(
                defs, settings, instance, days=days or None, log_level=args.log_level
            )
        except NothingToRun as exc:
            print(f"etl-assets run: {exc}", file=sys.stderr)
            return 2
    print(summary.table())
    return 0 if summary.success else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etl-assets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="write deterministic sample landing data")
    sample.add_argument("--out", required=True, help="data directory (landing/ is written in it)")
    sample.add_argument("--start", default="2024-01-01", help="first day, YYYY-MM-DD")
    sample.add_argument("--days", type=int, default=30)
    sample.add_argument("--rows-per-day", type=int, default=20_000)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument(
        "--replace", action="store_true", help="delete an existing landing/ directory first"
    )
    sample.set_defaults(handler=_sample)

    run = commands.add_parser(
        "run", help="materialize every asset for the landed days, headless, and summarise"
    )
    run.add_argument("--first-day", help="only days from this one, YYYY-MM-DD")
    run.add_argument("--last-day", help="only days up to this one, YYYY-MM-DD")
    run.add_argument(
        "--log-level",
        default="WARNING",
        help="Dagster console log level (DEBUG, INFO, WARNING, ERROR)",
    )
    run.set_defaults(handler=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
