"""great_expectations Data Docs pages of suite results, written under the data directory.

Each page is great_expectations' own validation-results page, rendered from the row-level
outcomes of one asset partition (not from the compact frames the rules ran on), so its counts
and percents are those of the partition. Pages are written for partitions where something
failed: that is what an operator opens from a check's `data_docs` link; rendering every
passing partition would cost more than the checks themselves.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

from etl_assets.quality.engine.sample_masking import masked_sample
from etl_assets.quality.engine.validation import Outcome, runtime
from etl_assets.quality.suites.source_suites import Suite


def page_path(docs_dir: Path, suite: Suite, partition: str | None) -> Path:
    return docs_dir.joinpath(*suite.asset, f"{partition or 'latest'}.html")


def _result(outcome: Outcome, suite: Suite):
    from great_expectations.core import ExpectationValidationResult

    ge = runtime()
    result = outcome.ge_result()
    if "partial_unexpected_list" in result:  # PII never reaches a page in clear
        sample = masked_sample(outcome, suite.pii_columns)
        result["partial_unexpected_list"] = [s["value"] for s in sample]
        result["partial_unexpected_counts"] = [
            {"value": s["value"], "count": s["rows"]} for s in sample
        ]
    return ExpectationValidationResult(
        success=outcome.success,
        expectation_config=ge.expectation(outcome.expectation).configuration,
        result=result,
        exception_info={
            "raised_exception": outcome.exception is not None,
            "exception_message": outcome.exception,
            "exception_traceback": None,
        },
    )


def write_page(
    docs_dir: Path, suite: Suite, partition: str | None, outcomes: Sequence[Outcome], run_id: str
) -> Path:
    """Render the partition's results as a Data Docs page; written atomically."""
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    results = [_result(o, suite) for o in outcomes]
    passed = sum(r.success for r in results)
    name = suite.name + (f" {partition}" if partition else "")
    validation = ExpectationSuiteValidationResult(
        success=passed == len(results),
        results=results,
        suite_name=name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100.0 * passed / len(results) if results else 100.0,
        },
        meta={
            "run_id": RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.UTC)),
            "batch_spec": {"data_asset_name": suite.name, "partition": partition or "-"},
        },
    )
    html = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(validation))
    path = page_path(docs_dir, suite, partition)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(html, encoding="utf-8")
    os.replace(temporary, path)
    return path
