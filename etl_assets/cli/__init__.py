"""`etl-assets`: operator commands.

etl-assets sample --out DIR [--start D --days 30 --rows-per-day 20000 --seed 7]
                  [--postgres-url URL --postgres-schema public]   (seed table customers)
etl-assets run [--from D --to D]   (also spelt --first-day, --last-day)
etl-assets validate-sources [--dir DIR]
etl-assets serve-sample-api [--port 8765 --host 127.0.0.1]
etl-assets backfill --from D --to D [--wait] [--assets KEY ...] [--url URL]
etl-assets workers [--count 2 --concurrency 1 --prefix worker]
"""

from __future__ import annotations

import argparse

from etl_assets.cli import backfill, run, sample, serve_sample_api, validate_sources, workers
from etl_assets.quiet import dagster_notices_silenced

# One module per command, in the order `--help` lists them.
_COMMANDS = (sample, run, validate_sources, serve_sample_api, backfill, workers)


class _DescribedParser(argparse.ArgumentParser):
    def __init__(self, **kwargs) -> None:
        super().__init__(formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etl-assets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # A command's docstring is its --help description, shown as written.
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_DescribedParser)
    for command in _COMMANDS:
        command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with dagster_notices_silenced():  # beta/preview notices are not for the operator
        return args.handler(args)
