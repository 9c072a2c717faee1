"""Each partition's own figures, also in a range run, and what the quarantine shows a user.

In a single-run backfill Dagster copies a step's output metadata onto the materialization of
every partition it covers, so without more the UI plots the range's totals on each day.
The figures of one day go to that day's event with Dagster's own
`add_asset_metadata(..., partition_key=...)`, which overrides the copied entries of that
partition (silver: rows in, rejected, duplicates removed, reasons; the quarantine: the count
per reason and a preview of the rejected rows). The lake IO manager does the same for
`dagster/row_count` and `bytes` of every file it writes.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
import pandas as pd

from etl_assets.quality.checks.accounting import Accounting
from etl_assets.quality.engine.sample_masking import mask
from etl_assets.sources import SourceSpec
from etl_assets.sources.reserved_columns import REJECT_DETAIL_COLUMN, REJECT_REASON_COLUMN

PREVIEW_ROWS = 5  # rejected rows shown per day (one of each reason first)
PREVIEW_CHARS = 60  # a longer value is cut, so the table stays readable


def silver_day_figures(accounting: Accounting, reasons: dict[str, int]) -> dict:
    """The operator figures of one silver partition: what the day's plots show."""
    return {
        "rows_in": accounting.bronze_rows,
        "rows_rejected": accounting.quarantined_rows,
        "duplicates_removed": accounting.duplicates_removed,
        "reject_reasons": dg.MetadataValue.json(reasons),
    }


def reason_counts(rejected: pd.DataFrame) -> dict[str, int]:
    """Reason -> rows, most frequent first."""
    if rejected.empty:
        return {}
    counts = rejected[REJECT_REASON_COLUMN].astype("string").fillna("unknown").value_counts()
    return {str(reason): int(n) for reason, n in counts.items()}


def _preview_rows(rejected: pd.DataFrame) -> pd.DataFrame:
    """One row of each reason first (in order of frequency), then the next rows in order."""
    reasons = rejected[REJECT_REASON_COLUMN].astype("string").fillna("unknown")
    order = reasons.map(reasons.value_counts().rank(method="first", ascending=False))
    first_of_each = rejected[~reasons.duplicated()].assign(_order=order).sort_values("_order")
    rest = rejected[reasons.duplicated()]
    picked = pd.concat([first_of_each.drop(columns="_order"), rest]).head(PREVIEW_ROWS)
    return picked


def _cell(value, pii: bool) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value)
    if pii:
        return mask(text)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def preview_table(spec: SourceSpec, rejected: pd.DataFrame) -> dg.TableMetadataValue:
    """A few rejected rows as a Dagster table: line, original values, reason and detail.
    A PII column shows first and last character only (the quarantine holds its hash)."""
    pii = {c.name for c in spec.columns if c.pii}
    columns = ["_row_number", *spec.raw_columns, REJECT_REASON_COLUMN, REJECT_DETAIL_COLUMN]
    columns = [c for c in columns if c in rejected.columns]
    rows = _preview_rows(rejected) if not rejected.empty else rejected
    records = [
        dg.TableRecord({c: _cell(row[c], c in pii) for c in columns})
        for _, row in rows[columns].iterrows()
    ]
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c,
                type="int" if c == "_row_number" else "string",
                description="masked: PII" if c in pii else None,
            )
            for c in columns
        ]
    )
    return dg.MetadataValue.table(records=records, schema=schema)


def quarantine_figures(
    spec: SourceSpec, rejected: pd.DataFrame, reasons: Iterable[str] = ()
) -> dict:
    """What the quarantine's materialization (of a day, or of an unpartitioned source) shows:
    the count per reason (as numbers that plot, `reasons` included at 0 so every day of a run
    has the same entries, and as one JSON) and a preview table."""
    counts = reason_counts(rejected)
    return {
        "reject_reasons": dg.MetadataValue.json(counts),
        **{f"rejected_{reason}": counts.get(reason, 0) for reason in [*counts, *reasons]},
        "rejected_rows_preview": preview_table(spec, rejected),
    }


def rows_of_day(frame: pd.DataFrame, column: str, day: pd.Timestamp) -> pd.DataFrame:
    if frame.empty or column not in frame.columns:
        return frame.iloc[0:0]
    return frame[(pd.to_datetime(frame[column]) == day).to_numpy()]
