"""PII masking of the unexpected values an outcome samples, before they leave the step.

Both readers of a sample mask it the same way: the check metadata (checks/report.py) and the
Data Docs pages (data_docs.py).
"""

from __future__ import annotations

from typing import Any

from etl_assets.quality.engine.validation import Outcome


def mask(value: Any) -> Any:
    """First and last character only: enough to recognise a pattern, not a person."""
    if value is None:
        return None
    text = str(value)
    return "*" * len(text) if len(text) <= 4 else f"{text[0]}***{text[-1]}"


def masked_sample(outcome: Outcome, pii_columns: frozenset[str]) -> list[dict[str, Any]]:
    columns = outcome.expectation.columns
    hidden = [c in pii_columns for c in columns]
    sample = []
    for value, rows in outcome.sample:
        if isinstance(value, list):
            value = [mask(v) if hide else v for v, hide in zip(value, hidden, strict=False)]
        elif any(hidden):
            value = mask(value)
        sample.append({"value": value, "rows": rows})
    return sample
