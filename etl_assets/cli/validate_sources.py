"""`etl-assets validate-sources`: load every source declaration on its own and report each
error; runs nothing.

Beyond the declaration's own fields, each valid one is built the way the code location
builds it (its suites, bronze and silver assets and checks, its connector resolved against
the environment), so a column named by an expectation that silver does not have, or
anything else the load would refuse, is reported here with its file and field."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


def register(commands) -> None:
    validate = commands.add_parser(
        "validate-sources",
        help="check every source declaration (file, field, allowed values); runs nothing",
    )
    validate.add_argument(
        "--dir", help="folder of declarations (default: $ETL_SOURCES_DIR or the bundled ones)"
    )
    validate.set_defaults(handler=_validate_sources)


def _validate_sources(args: argparse.Namespace) -> int:
    """Load every declaration on its own and report each error; runs nothing."""
    from etl_assets.settings import get_settings
    from etl_assets.sources import check_sources, default_sources_dir

    directory = Path(args.dir) if args.dir else get_settings().sources_dir or default_sources_dir()
    if not directory.is_dir():
        print(f"etl-assets validate-sources: {directory} is not a directory", file=sys.stderr)
        return 2
    specs, errors = check_sources(directory)
    specs, deep_errors = _built(specs, get_settings())
    errors = sorted([*errors, *deep_errors], key=lambda error: error.file)
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


def _built(specs: list, settings) -> tuple[list, list]:
    """The specs the code location can build, and an error for each one it cannot."""
    from etl_assets.assets.bronze import build_bronze_asset
    from etl_assets.assets.common import daily_partitions
    from etl_assets.assets.silver import build_silver_assets
    from etl_assets.quality.checks.build import build_quality_checks
    from etl_assets.sources import SourceDeclarationError, resolve_connector

    partitions = daily_partitions(settings.partitions_start, settings.timezone)
    built, errors = [], []
    for spec in specs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Dagster's beta/preview notes: not findings
                resolved = resolve_connector(spec, settings.source_urls)
                build_bronze_asset(resolved, partitions)
                build_silver_assets(resolved, partitions)
                build_quality_checks({resolved.name: resolved}, partitions)
        except SourceDeclarationError as error:
            errors.append(error)
            continue
        except Exception as error:  # what the load would show as a traceback: name the file
            errors.append(
                SourceDeclarationError(
                    spec.file,
                    "<declaration>",
                    f"the code location cannot be built from it: {type(error).__name__}: {error}",
                )
            )
            continue
        built.append(spec)
    return built, errors
