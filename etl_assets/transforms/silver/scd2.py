"""Silver of a history source (`history:` declared): which type-2 builder of
transforms/history.py its declaration calls for, and the schema of what it returns."""

from __future__ import annotations

import pandas as pd

from etl_assets.sources import SourceSpec
from etl_assets.transforms.history import build_scd2, scd2_from_versions
from etl_assets.transforms.silver.clean import silver_schema
from etl_assets.transforms.silver.duplicates import versioned_by

HISTORY_COLUMNS = {
    "valid_from": "datetime64[ns]",
    "valid_to": "datetime64[ns]",
    "is_current": "boolean",
}
HISTORY_COLUMN_DESCRIPTIONS = {
    "valid_from": "When this version starts: the first snapshot day (or watermark) on which "
    "the tracked attributes held these values.",
    "valid_to": "When the next version (or the key's absence from a snapshot) ends this "
    "one; null while the version is current.",
    "is_current": "True for the version in force now (valid_to is null).",
}


def history_schema(spec: SourceSpec) -> dict[str, str]:
    """Column -> dtype of the history: the business key, the tracked columns, the validity."""
    schema = silver_schema(spec)
    kept = list(spec.business_key) + [c for c in spec.history_tracked if c not in spec.business_key]
    return {**{c: schema[c] for c in kept}, **HISTORY_COLUMNS}


def history_of(spec: SourceSpec, clean: pd.DataFrame) -> pd.DataFrame:
    """The type-2 history: from daily snapshots, or from the versions a watermark read."""
    watermark = versioned_by(spec)
    if watermark:
        return scd2_from_versions(
            clean, key=spec.business_key, tracked=spec.history_tracked, valid_from=watermark
        )
    return build_scd2(
        clean, key=spec.business_key, tracked=spec.history_tracked, day_column=spec.partition_column
    )
