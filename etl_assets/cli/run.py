"""`etl-assets run`: materialize every asset for the runnable days, headless, and print the
summary."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

DEFAULT_HOME = ".dagster_home"


def register(commands) -> None:
    run = commands.add_parser(
        "run",
        help="materialize every asset for the runnable days (landed files; daily HTTP "
        "sources: every complete day), headless, and summarise",
    )
    run.add_argument(
        "--from",
        "--first-day",
        dest="first_day",
        type=_day,
        metavar="DAY",
        help="only days from this one, YYYY-MM-DD",
    )
    run.add_argument(
        "--to",
        "--last-day",
        dest="last_day",
        type=_day,
        metavar="DAY",
        help="only days up to this one, YYYY-MM-DD",
    )
    run.add_argument(
        "--select",
        type=_sources,
        metavar="SOURCE[,SOURCE...]",
        help="only these sources and what is built from them (default: every source)",
    )
    run.add_argument(
        "--changed",
        action="store_true",
        help="only the partitions whose landing data or code changed since their last "
        "materialization, and what depends on them",
    )
    run.add_argument(
        "--log-level",
        default="WARNING",
        help="Dagster console log level (DEBUG, INFO, WARNING, ERROR)",
    )
    run.set_defaults(handler=_run)


def instance_home() -> Path:
    """DAGSTER_HOME, or .dagster_home in the working directory with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    project_config = Path("dagster.yaml")
    if not (home / "dagster.yaml").exists() and project_config.exists():
        shutil.copy(project_config, home / "dagster.yaml")
    return home


def _day(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: use YYYY-MM-DD") from None
    if len(text) != 10:  # fromisoformat also takes 20240105; keys are YYYY-MM-DD
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: use YYYY-MM-DD")
    return text


def _sources(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one source, e.g. --select orders")
    return names


def _run(args: argparse.Namespace) -> int:
    from etl_assets.cli.run_changed import observe_landing, report, run_changed
    from etl_assets.instance_guard import LandingNotReady, RunConflict, guarded_run
    from etl_assets.runner import CannotRun, days_to_run, run_pipeline
    from etl_assets.settings import SettingsError, get_settings
    from etl_assets.sources import SourceDeclarationError

    try:
        # importing the module loads the code location: a declaration error is reported here
        from etl_assets.definitions import build_definitions

        settings = get_settings()
        # Built from this process's settings, not the code location's import-time ones.
        defs = build_definitions(settings)
        if args.changed and (args.first_day or args.last_day or args.select):
            raise CannotRun("--changed picks the partitions itself: drop --from/--to/--select.")
        days = (
            None
            if args.changed
            else days_to_run(defs, settings, args.first_day, args.last_day, select=args.select)
        )
    except (CannotRun, SettingsError, SourceDeclarationError) as exc:
        print(f"etl-assets run: {exc}", file=sys.stderr)
        return 2

    def work(instance):
        observe_landing(defs, settings, instance)  # landing data versions, before any run
        if args.changed:
            return run_changed(defs, instance, log_level=args.log_level)
        return run_pipeline(
            defs, settings, instance, days=days, log_level=args.log_level, select=args.select
        )

    try:  # one headless run at a time, dead runs failed, lake commits recovered
        outcome = guarded_run(instance_home(), settings, days or [], work)
    except (CannotRun, RunConflict, LandingNotReady) as exc:
        print(f"etl-assets run: {exc}", file=sys.stderr)
        return 2
    if args.changed:
        plan, summaries = outcome
        print(report(plan, summaries))
        return 0 if all(s.success for s in summaries) else 1
    summary = outcome
    print(summary.table())
    return 0 if summary.success else 1
