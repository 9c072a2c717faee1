"""Freshness of the gold marts: a day late is a warning, two days a failure.

Dagster evaluates the policy from the last materialization's time and shows the state (pass,
warn, fail) in the UI; no run is needed to notice that the daily run stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg

GOLD_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=dt.timedelta(days=2), warn_window=dt.timedelta(days=1)
)


def with_gold_freshness(
    assets: Sequence[dg.AssetsDefinition],
) -> list[dg.AssetsDefinition]:
    """The gold assets with the gold freshness policy on each of their specs."""
    return list(
        dg.map_asset_specs(
            lambda spec: spec.replace_attributes(freshness_policy=GOLD_FRESHNESS), assets
        )
    )
