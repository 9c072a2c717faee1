"""Seeding the demo Postgres table `customers` from a sample: the `--postgres-url` step of
`etl-assets sample`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def seed_postgres(args: argparse.Namespace) -> int:
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
