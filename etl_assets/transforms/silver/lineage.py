"""Column lineage of silver: for each silver column, the bronze columns it is computed from
(the assets turn these into Dagster's column lineage metadata)."""

from __future__ import annotations

from collections.abc import Sequence

from etl_assets.sources import SourceSpec
from etl_assets.sources.reserved_columns import LANDING_DATE, SILVER_LINEAGE_COLUMNS
from etl_assets.transforms.silver.duplicates import versioned_by
from etl_assets.transforms.silver.scd2 import HISTORY_COLUMNS


def bronze_sources(spec: SourceSpec, columns: Sequence[str]) -> dict[str, list[str]]:
    """Silver column -> the bronze columns it comes from, for `columns` and the derived ones."""
    raw_of = {c.target: c.name for c in spec.columns}
    deps: dict[str, list[str]] = {}
    for column in columns:
        if column in raw_of:
            deps[column] = [raw_of[column]]
        elif column in SILVER_LINEAGE_COLUMNS:
            deps[column] = [column]
    for derived in spec.derived:
        sources = derived.factors or (derived.column,)
        deps[derived.name] = [raw_of[s] for s in sources]
    if spec.is_daily and spec.partition_column in columns:
        day_source = raw_of[spec.date_column] if spec.date_column else LANDING_DATE
        # dict.fromkeys: without a date column both deps are _landing_date (must be unique)
        deps[spec.partition_column] = list(dict.fromkeys([day_source, LANDING_DATE]))
    if spec.is_history:
        watermark = versioned_by(spec)
        when = raw_of[watermark] if watermark else LANDING_DATE
        for column in HISTORY_COLUMNS:
            deps[column] = [when]
    return deps
