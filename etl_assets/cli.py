"""`etl-assets`: operator commands.

etl-assets sample --out DIR [--start 2024-01-01 --days 30 --rows-per-day 20000 --seed 7]
                  [--postgres-url URL --postgres-schema public]   (seed table customers)
etl-assets run [--from D --to D]   (also spelt --first-day, --last-day)
etl-assets validate-sources [--dir DIR]
etl-assets serve-sample-api [--port 8765 --host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

DEFAULT_HOME = ".dagster_home"


def _sample(args: argparse.Namespace) -> int:
    from etl_assets.sample import SampleError, generate_sample

    landing = Path(args.out) / "landing"
    if landing.exists() and any(landing.iterdir()):
        if args.postgres_url and not args.replace:
            return _seed_postgres(args)  # seed the demo table from the sample already there
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
    return _seed_postgres(args) if args.postgres_url else 0


def _seed_postgres(args: argparse.Namespace) -> int:
    from etl_assets.connectors.postgres import redact_url
    from etl_assets.sample.postgres import seed_customers

    try:
        customers, changed = seed_customers(
            Path(args.out) / "landing", args.postgres_url, args.postgres_schema
        )
    except (ConnectionError, FileNotFoundError) as exc:
        print(f"etl-assets sample: {exc}", file=sys.stderr)
        return 2
    print(
        f"seeded {args.postgres_schema}.customers at {redact_url(args.postgres_url)}: "
        f"{customers:,} customers, {changed:,} rows inserted or changed"
    )
    return 0


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


def _run(args: argparse.Namespace) -> int:
    import dagster as dg

    from etl_assets.definitions import build_definitions
    from etl_assets.runner import CannotRun, days_to_run, run_pipeline
    from etl_assets.settings import SettingsError, get_settings
    from etl_assets.sources import SourceDeclarationError

    try:
        settings = get_settings()
        # Built from this process's settings, not the code location's import-time ones.
        defs = build_definitions(settings)
        days = days_to_run(defs, settings, args.first_day, args.last_day)
    except (CannotRun, SettingsError, SourceDeclarationError) as exc:
        print(f"etl-assets run: {exc}", file=sys.stderr)
        return 2
    with dg.DagsterInstance.from_config(str(instance_home())) as instance:
        summary = run_pipeline(defs, settings, instance, days=days, log_level=args.log_level)
    print(summary.table())
    return 0 if summary.success else 1


def _validate_sources(args: argparse.Namespace) -> int:
    """Load every declaration on its own and report each error; runs nothing."""
    from etl_assets.settings import get_settings
    from etl_assets.sources import check_sources
    from etl_assets.sources.spec import default_sources_dir

    directory = Path(args.dir) if args.dir else get_settings().sources_dir or default_sources_dir()
    if not directory.is_dir():
        print(f"etl-assets validate-sources: {directory} is not a directory", file=sys.stderr)
        return 2
    specs, errors = check_sources(directory)
    for spec in specs:
        partitioning = "daily" if spec.is_daily else "unpartitioned"
        print(
            f"ok     {Path(spec.file).name}: {spec.name} ({spec.connector}, {spec.format}, "
            f"{partitioning}, {len(spec.columns)} columns, {len(spec.rules)} rules)"
        )
    for error in errors:
        print(f"error  {error}", file=sys.stderr)
    if not specs and not errors:
        print(f"etl-assets validate-sources: no *.yaml declaration in {directory}", file=sys.stderr)
        return 2
    print(f"{len(specs)} valid, {len(errors)} invalid declaration(s) in {directory}")
    return 1 if errors else 0


def _serve_sample_api(args: argparse.Namespace) -> int:
    from etl_assets.sample.api import SampleApiError, load_catalogue, make_server, url_of
    from etl_assets.settings import get_settings

    landing = Path(args.data_dir) / "landing" if args.data_dir else get_settings().landing_dir
    try:
        records = load_catalogue(landing)
    except SampleApiError as exc:
        print(f"etl-assets serve-sample-api: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(records, host=args.host, port=args.port)
    except OSError as exc:
        print(
            f"etl-assets serve-sample-api: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 2
    url = url_of(server)
    print(f"serving {len(records):,} products at {url}?page=1&page_size=100 (Ctrl-C stops)")
    print(f"read the catalogue from it with:  export ETL_CATALOGUE_URL={url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


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
    sample.add_argument(
        "--postgres-url",
        help="also seed table customers (one row per customer, with updated_at) in this "
        "database, for the connector: postgres demo; with an existing sample, seed only",
    )
    sample.add_argument("--postgres-schema", default="public", help="schema of that table")
    sample.set_defaults(handler=_sample)

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
        "--log-level",
        default="WARNING",
        help="Dagster console log level (DEBUG, INFO, WARNING, ERROR)",
    )
    run.set_defaults(handler=_run)

    validate = commands.add_parser(
        "validate-sources",
        help="check every source declaration (file, field, allowed values); runs nothing",
    )
    validate.add_argument(
        "--dir", help="folder of declarations (default: $ETL_SOURCES_DIR or the bundled ones)"
    )
    validate.set_defaults(handler=_validate_sources)

    serve = commands.add_parser(
        "serve-sample-api", help="serve the sample product catalogue as a paged JSON API"
    )
    serve.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    serve.add_argument(
        "--data-dir", help="data directory holding landing/ (default: $ETL_DATA_DIR)"
    )
    serve.set_defaults(handler=_serve_sample_api)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
