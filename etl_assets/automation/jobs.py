"""Jobs over the asset graph."""

from __future__ import annotations

import dagster as dg

MEDALLION_JOB = "medallion"


def medallion_job(partitioned: bool = True) -> dg.UnresolvedAssetJobDefinition:
    """Every layer with its checks; run for one day, or a range as a single-run backfill.

    Without a daily source nothing is partitioned, and a run materializes every asset once.
    """
    return dg.define_asset_job(
        MEDALLION_JOB,
        selection=dg.AssetSelection.all(),
        description=(
            "Bronze, silver and gold with their checks, for a day or a range of days."
            if partitioned
            else "Bronze, silver and gold with their checks (no source is daily: all at once)."
        ),
    )


OBSERVATION_JOB = "landing_observations"


def landing_observation_job(
    keys: list[dg.AssetKey],
) -> dg.UnresolvedAssetJobDefinition:
    """Observes every `landing/<source>`: one run records each source's new or changed data
    versions (every partition at once), which is what marks bronze unsynced."""
    return dg.define_asset_job(
        OBSERVATION_JOB,
        selection=dg.AssetSelection.assets(*keys),
        description="Observe the landing data of every source (files, APIs, tables): new or "
        "changed data versions mark what they feed unsynced. Nothing is materialized.",
    )
