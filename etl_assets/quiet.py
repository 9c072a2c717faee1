"""Dagster's beta and preview notices, kept out of what a user reads.

The code location uses a few Dagster APIs that Dagster marks beta or preview (dagster-pandas
column types, backfill policies, partitioned check specs, column-schema-change checks). Each
use prints a `BetaWarning`/`PreviewWarning` with its source line: about a hundred lines
before `etl-assets run`'s summary. The commands (`etl-assets`) and the code location's
module-level build silence them; the tests do not (they build definitions themselves and
still see every warning).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


def _ignore_dagster_notices() -> None:
    from dagster import BetaWarning, PreviewWarning

    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)


@contextmanager
def dagster_notices_silenced() -> Iterator[None]:
    """Within the block, Dagster's BetaWarning and PreviewWarning are not shown."""
    with warnings.catch_warnings():
        _ignore_dagster_notices()
        yield


def silence_dagster_notices() -> None:
    """For the rest of this process (a code server or a run worker loading the location)."""
    _ignore_dagster_notices()
