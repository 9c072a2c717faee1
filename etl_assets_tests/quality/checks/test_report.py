"""What an operator reads: masked samples, the quality score, one verdict per severity."""

import dagster as dg

from etl_assets.quality.checks.report import quality_score, severity_checks
from etl_assets.quality.engine.sample_masking import mask, masked_sample
from etl_assets.quality.engine.validation import Outcome
from etl_assets.quality.suites.source_suites import Suite
from etl_assets.sources.expectation_spec import parse_expectation

EMAIL = parse_expectation(
    {
        "type": "expect_column_values_to_match_regex",
        "column": "Email",
        "regex": "@",
        "mostly": 0.8,
        "severity": "warn",
    },
    "t",
)
KEY = parse_expectation(
    {
        "type": "expect_compound_columns_to_be_unique",
        "column_list": ["CustomerID", "Email"],
        "severity": "error",
    },
    "t",
)
SUITE = Suite(("bronze", "customers"), (EMAIL, KEY), frozenset({"Email"}))


def test_masking_keeps_a_shape_not_a_value():
    assert mask("jane.doe@example.com") == "j***m"
    assert mask("abcd") == "****" and mask(None) is None and mask(12345) == "1***5"


def test_samples_mask_pii_columns_only():
    emails = Outcome(EMAIL, False, 10, 3, 0, sample=(("jane.doe", 3),))
    keys = Outcome(KEY, False, 10, 2, 0, sample=(([17850, "jane@x.org"], 2),))
    assert masked_sample(emails, SUITE.pii_columns) == [{"value": "j***e", "rows": 3}]
    assert masked_sample(keys, SUITE.pii_columns) == [{"value": [17850, "j***g"], "rows": 2}]


def test_the_score_weighs_how_far_each_rule_is_from_its_bar():
    passing = Outcome(EMAIL, True, 10, 1, 0)
    assert quality_score([passing, passing]) == 100.0
    # 60% conforming against mostly=0.8: 0.75 of the bar; a failed key rule counts 0.4
    short = Outcome(EMAIL, False, 10, 4, 0)
    duplicates = Outcome(KEY, False, 10, 6, 0)
    assert quality_score([short, duplicates]) == round(100 * (0.75 + 0.4) / 2, 2)


def test_one_verdict_per_severity_with_the_failed_expectation_named():
    outcomes = [
        Outcome(EMAIL, True, 10, 1, 0),
        Outcome(KEY, False, 10, 6, 0, sample=(([17850, "jane@x.org"], 2),)),
    ]
    error, warn = severity_checks(outcomes, SUITE, "2024-01-02", "/docs/page.html")
    assert error.check_name == "error_expectations" and not error.passed
    assert error.severity == dg.AssetCheckSeverity.ERROR
    assert "customerid_email_unique: 6 of 10 rows unexpected (60.000%)" in error.description
    assert error.metadata["failed_expectations"].value == ["customerid_email_unique"]
    assert error.metadata["customerid_email_unique.unexpected_sample"].value == [
        {"value": [17850, "j***g"], "rows": 2}
    ]
    assert "| customerid_email_unique | **FAIL** |" in error.metadata["summary"].value
    assert warn.check_name == "warn_expectations" and warn.passed
    assert warn.metadata["email_matches.unexpected_percent"].value == 10.0
    assert error.metadata["quality_score"] == warn.metadata["quality_score"]


def test_a_failed_table_rule_says_what_was_expected():
    """An empty landing file: the summary line said `landing_file_not_empty: 0`."""
    not_empty = parse_expectation(
        {
            "name": "landing_file_not_empty",
            "type": "expect_table_row_count_to_be_between",
            "min_value": 1,
            "severity": "warn",
        },
        "t",
    )
    suite = Suite(("bronze", "orders"), (not_empty,), frozenset())
    [warn] = severity_checks(
        [Outcome(not_empty, False, 0, observed_value=0)], suite, "2024-02-01", None
    )
    assert not warn.passed
    assert warn.description.endswith(
        "landing_file_not_empty: observed 0, expected "
        "expect_table_row_count_to_be_between(min_value=1)"
    ), warn.description
