"""`etl-assets validate-sources`: load every source declaration on its own and report each
error; runs nothing."""

from __future__ import annotations

import argparse
import sys
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
