"""Silver: bronze rows cast, checked, deduplicated and given a day; split into one module
per job next."""

from etl_assets.transforms.silver.clean import (
    CONFLICTING_DUPLICATE_KEY,
    DATE_OUTSIDE_LATE_WINDOW,
    LINEAGE_COLUMNS,
    READ_ERROR_COLUMN,
    REJECT_DETAIL_COLUMN,
    REJECT_REASON_COLUMN,
    REJECT_REASON_PREFIXES,
    SilverResult,
    _check_accounting,
    cast_column,
    clean_source,
    combine_results,
    quarantine_schema,
    reject_reasons,
    rows_of_days,
    silver_schema,
    versioned_by,
)

__all__ = [
    "CONFLICTING_DUPLICATE_KEY",
    "DATE_OUTSIDE_LATE_WINDOW",
    "LINEAGE_COLUMNS",
    "READ_ERROR_COLUMN",
    "REJECT_DETAIL_COLUMN",
    "REJECT_REASON_COLUMN",
    "REJECT_REASON_PREFIXES",
    "SilverResult",
    "_check_accounting",
    "cast_column",
    "clean_source",
    "combine_results",
    "quarantine_schema",
    "reject_reasons",
    "rows_of_days",
    "silver_schema",
    "versioned_by",
]
