"""What an operator reads about a suite run on one partition: one verdict per severity, with
every expectation's figures, the partition's quality score and a summary table. Sample values
of PII columns are masked before they leave the step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

from etl_assets.quality.checks.partition_results import ERROR, WARN, PartitionCheck
from etl_assets.quality.engine.sample_masking import masked_sample
from etl_assets.quality.engine.validation import Outcome
from etl_assets.quality.suites.source_suites import Suite
from etl_assets.sources.expectation_spec import ERROR as ERROR_LEVEL

# One check per severity: the error one is blocking, the warn one reports.
CHECK_NAMES = {"error": "error_expectations", "warn": "warn_expectations"}


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


def _why(outcome: Outcome) -> str:
    """What failed, as the run summary shows it: a table-level figure alone (`0`) says
    nothing, so it comes with what was expected."""
    if outcome.exception or outcome.unexpected_count is not None:
        return observed(outcome)
    return f"observed {observed(outcome)}, expected {outcome.expectation.summary()}"


def summary_table(outcomes: Sequence[Outcome]) -> str:
    lines = ["| expectation | result | observed | mostly |", "|---|---|---|---|"]
    for o in outcomes:
        status = "pass" if o.success else "**FAIL**"
        text = observed(o).replace("|", "\\|")
        lines.append(f"| {o.expectation.name} | {status} | {text} | {o.expectation.mostly:g} |")
    return "\n".join(lines)


def _figures(outcome: Outcome, pii_columns: frozenset[str]) -> dict[str, Any]:
    """`<rule>.<figure>` entries: the numbers always (numeric, to follow across runs), the
    details an operator acts on when the rule failed."""
    name = outcome.expectation.name
    figures: dict[str, Any] = {}
    if outcome.unexpected_percent is not None:
        figures[f"{name}.unexpected_percent"] = dg.MetadataValue.float(outcome.unexpected_percent)
    elif outcome.observed_value is not None:
        figures[f"{name}.observed_value"] = outcome.observed_value
    if not outcome.success:
        figures[f"{name}.expectation"] = outcome.expectation.summary()
        figures[f"{name}.observed"] = observed(outcome)
        if outcome.unexpected_count is not None:
            figures[f"{name}.unexpected_count"] = outcome.unexpected_count
        if outcome.sample:
            sample = masked_sample(outcome, pii_columns)
            figures[f"{name}.unexpected_sample"] = dg.MetadataValue.json(sample)
    return figures


def severity_checks(
    outcomes: Sequence[Outcome], suite: Suite, partition: str | None, docs: str | None
) -> list[PartitionCheck]:
    """The partition's verdict per severity present in the suite (error blocks, warn reports)."""
    where = suite.name + (f" {partition}" if partition else "")
    score = quality_score(outcomes)
    checks = []
    for severity, check_name in CHECK_NAMES.items():
        mine = [o for o in outcomes if o.expectation.severity == severity]
        if not mine:
            continue
        failed = [o for o in mine if not o.success]
        metadata: dict[str, Any] = {
            "quality_score": dg.MetadataValue.float(score),
            "expectations": len(mine),
            "failed_expectations": dg.MetadataValue.json([o.expectation.name for o in failed]),
            "summary": dg.MetadataValue.md(summary_table(mine)),
        }
        for outcome in mine:
            metadata.update(_figures(outcome, suite.pii_columns))
        if docs:
            metadata["data_docs"] = dg.MetadataValue.path(docs)
        if failed:
            details = "; ".join(f"{o.expectation.name}: {_why(o)}" for o in failed)
            description = f"FAILED on {where}: {details}"
        else:
            description = f"all {len(mine)} {severity}-level expectations passed on {where}"
        checks.append(
            PartitionCheck(
                check_name=check_name,
                partition=partition,
                passed=not failed,
                severity=ERROR if severity == ERROR_LEVEL else WARN,
                description=description,
                metadata=metadata,
            )
        )
    return checks
