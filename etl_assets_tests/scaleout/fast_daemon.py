"""`dagster-daemon run`, with the backfill daemon looking every few seconds instead of 30.

For the scale-out test and benchmark only:

    python -m etl_assets_tests.scaleout.fast_daemon run -w workspace.yaml

Dagster's backfill daemon sleeps `DEFAULT_DAEMON_INTERVAL_SECONDS` (30 s) between looks, and a
backfill of per-day runs needs a few looks (bronze days, then silver days, then the marts):
about a minute of waiting that measures nothing. `ETL_TEST_DAEMON_INTERVAL` (default 2)
replaces that constant before the daemon starts; everything else is the stock daemon.
"""

from __future__ import annotations

import os
import sys

import dagster._daemon.controller as controller

controller.DEFAULT_DAEMON_INTERVAL_SECONDS = float(os.environ.get("ETL_TEST_DAEMON_INTERVAL", "2"))

from dagster._daemon.cli import main  # noqa: E402  (after the constant is replaced)

if __name__ == "__main__":
    sys.argv[0] = "dagster-daemon"
    sys.exit(main())
