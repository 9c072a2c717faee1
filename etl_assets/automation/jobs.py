"""Jobs over the asset graph."""

from __future__ import annotations

import dagster as dg

MEDALLION_JOB = "medallion"


def medallion_job() -> dg.UnresolvedAssetJobDefinition:
    """Every layer with its checks; run for one day, or a range as a single-run backfill."""
    return dg.define_asset_job(
        MEDALLION_JOB,
        selection=dg.AssetSelection.all(),
        description="Bronze, silver and gold with their checks, for a day or a range of days.",
    )
