"""What an operator reads about a suite run: per-check metadata, the partition's quality score
and a summary table. Sample values of PII columns are masked before they leave the step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

from etl_assets.quality.emit import ERROR, WARN, PartitionCheck
from etl_assets.quality.suites import Suite
from etl_assets.quality.validation import Outcome

QUALITY_SCORE_CHECK = "quality_score"


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


def contribution(outcome: Outcome) -> float:
    """1 for a passing rule; a failing one counts how close it came to its own bar
    (conformance / mostly), a failed table rule or an error counts 0."""
    if outcome.success:
        return 1.0
    if outcome.exception or outcome.unexpected_percent is None:
        return 0.0
    return min(1.0, outcome.conformance / outcome.expectation.mostly)


def quality_score(outcomes: Sequence[Outcome]) -> float:
    """0..100: the mean contribution of the partition's rules."""
    if not outcomes:
        return 100.0
    return round(100.0 * sum(contribution(o) for o in outcomes) / len(outcomes), 2)


def observed(outcome: Outcome) -> str:
    if outcome.exception:
        return f"not evaluated: {outcome.exception}"
    if outcome.unexpected_count is None:
        return f"{outcome.observed_value:,}"
    percent = outcome.unexpected_percent
    shown = "n/a" if percent is None else f"{percent:.3f}%"
    return f"{outcome.unexpected_count:,} of {outcome.considered_count:,} rows unexpected ({shown})"


def _description(outcome: Outcome, where: str) -> str:
    rule = outcome.expectation
    if outcome.success:
        return f"passed on {where}: {observed(outcome)}"
    bar = f"; mostly={rule.mostly} allows {100 * (1 - rule.mostly):.2f}%" if rule.mostly < 1 else ""
    return f"FAILED on {where}: {rule.summary()}: {observed(outcome)}{bar}"


def outcome_check(
    outcome: Outcome, suite: Suite, partition: str | None, docs: str | None
) -> PartitionCheck:
    rule = outcome.expectation
    where = suite.name + (f" {partition}" if partition else "")
    metadata: dict[str, Any] = {
        "expectation": rule.summary(),
        "severity": "error (blocking)" if rule.blocking else "warn",
        "observed_value": observed(outcome),
        "element_count": outcome.element_count,
    }
    if outcome.unexpected_count is not None:
        metadata["unexpected_count"] = outcome.unexpected_count
        if outcome.unexpected_percent is not None:
            metadata["unexpected_percent"] = dg.MetadataValue.float(outcome.unexpected_percent)
        if outcome.missing_count is not None:
            metadata["missing_count"] = outcome.missing_count
        if outcome.sample:
            sample = masked_sample(outcome, suite.pii_columns)
            metadata["unexpected_sample"] = dg.MetadataValue.json(sample)
    elif outcome.observed_value is not None:
        metadata["observed"] = outcome.observed_value
    if docs:
        metadata["data_docs"] = dg.MetadataValue.path(docs)
    return PartitionCheck(
        check_name=rule.name,
        partition=partition,
        passed=outcome.success,
        severity=ERROR if rule.blocking else WARN,
        description=_description(outcome, where),
        metadata=metadata,
    )


def summary_table(outcomes: Sequence[Outcome]) -> str:
    lines = ["| check | severity | result | observed |", "|---|---|---|---|"]
    for o in outcomes:
        status = "pass" if o.success else "**FAIL**"
        observed_text = observed(o).replace("|", "\\|")
        lines.append(f"| {o.expectation.name} | {o.expectation.severity} | {status} | "
                     f"{observed_text} |")
    return "\n".join(lines)


def score_check(
    outcomes: Sequence[Outcome], suite: Suite, partition: str | None, docs: str | None
) -> PartitionCheck:
    """Non-blocking: warns when the partition's score falls below the suite's minimum."""
    score = quality_score(outcomes)
    failed = [o for o in outcomes if not o.success]
    metadata: dict[str, Any] = {
        "quality_score": dg.MetadataValue.float(score),
        "min_quality_score": dg.MetadataValue.float(suite.min_quality_score),
        "expectations": len(outcomes),
        "failed_errors": sum(o.expectation.blocking for o in failed),
        "failed_warnings": sum(not o.expectation.blocking for o in failed),
        "summary": dg.MetadataValue.md(summary_table(outcomes)),
    }
    if docs:
        metadata["data_docs"] = dg.MetadataValue.path(docs)
    passed = score >= suite.min_quality_score
    where = suite.name + (f" {partition}" if partition else "")
    return PartitionCheck(
        check_name=QUALITY_SCORE_CHECK,
        partition=partition,
        passed=passed,
        severity=WARN,
        description=(
            f"quality score of {where}: {score:.2f} "
            f"({'at least' if passed else 'BELOW'} the minimum {suite.min_quality_score:g}); "
            f"{len(failed)} of {len(outcomes)} expectations failed"
        ),
        metadata=metadata,
    )
