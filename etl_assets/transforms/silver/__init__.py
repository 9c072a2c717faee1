"""Silver: bronze rows cast, checked, deduplicated and given a day (`clean_source`), then the
declared rules and the silver hook (`apply_row_rules`). One module per job:

- clean.py: the step itself (`clean_source`, `SilverResult`, `silver_schema`)
- bronze_rows.py: the bronze input of a run, conformed
- casting.py: raw strings to silver types, on distinct values
- days.py: each row's partition day, and the window of bronze days a day needs
- builtin_rules.py: read errors, required/type/minimum, the late-arrival window
- duplicates.py: duplicates of a business key, and versions of a watermarked source
- derived.py: the declared derived columns
- quarantine.py: reject reasons, the quarantine's schema and frame
- declared_rules.py: the `rules:` of a declaration and the silver hook, after cleaning
- scd2.py: the type-2 history a history source's declaration calls for
- lineage.py: the bronze columns each silver column comes from

Pure pandas, numpy and pyarrow: no dagster import here.
"""

from etl_assets.transforms.silver.casting import cast_column
from etl_assets.transforms.silver.clean import (
    SilverResult,
    clean_source,
    combine_results,
    silver_schema,
)
from etl_assets.transforms.silver.days import (
    day_after_window,
    day_window,
    rows_of_days,
    window_gaps,
)
from etl_assets.transforms.silver.declared_rules import (
    HookContractError,
    RuleOutcome,
    apply_row_rules,
    describe_rule,
)
from etl_assets.transforms.silver.duplicates import versioned_by
from etl_assets.transforms.silver.quarantine import quarantine_schema, reject_reasons

__all__ = [
    "HookContractError",
    "RuleOutcome",
    "SilverResult",
    "apply_row_rules",
    "cast_column",
    "clean_source",
    "combine_results",
    "day_after_window",
    "day_window",
    "describe_rule",
    "quarantine_schema",
    "reject_reasons",
    "rows_of_days",
    "silver_schema",
    "versioned_by",
    "window_gaps",
]
