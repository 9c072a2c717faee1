"""Declared expectations are validated when the code location loads, naming the field."""

from pathlib import Path

import pytest
import yaml

from etl_assets.quality.suites.source_suites import source_suites
from etl_assets.sources import SourceDeclarationError, load_source, load_sources
from etl_assets.sources.expectation_spec import (
    CATALOGUE,
    ExpectationError,
    default_name,
    parse_expectation,
    parse_suite_declaration,
)
from etl_assets_tests.sources.test_spec import VALID


def test_a_full_declaration_parses():
    rule = parse_expectation(
        {
            "type": "expect_column_values_to_be_between",
            "column": "amount",
            "min_value": 0,
            "mostly": 0.95,
            "severity": "warn",
            "description": "amounts are positive",
        },
        "expectations.silver[0]",
    )
    assert rule.name == "amount_between" and not rule.blocking and rule.mostly == 0.95
    assert rule.summary() == (
        "expect_column_values_to_be_between(column='amount', min_value=0, mostly=0.95)"
    )


@pytest.mark.parametrize(
    "change, field, problem",
    [
        ({"type": "expect_magic"}, "x.type", "is not one of"),
        ({"severity": "fatal"}, "x.severity", "not one of: error, warn"),
        ({"severity": None}, "x.severity", "is required"),
        ({"mostly": 1.5}, "x.mostly", "(0, 1]"),
        ({"colour": "red"}, "x.colour", "unknown field"),
        ({"column": None}, "x.column", "is required"),
        ({"min_value": "zero"}, "x.min_value", "expected a number"),
        ({"name": "Bad Name"}, "x.name", "lower_snake_case"),
    ],
)
def test_a_wrong_rule_names_its_field(change, field, problem):
    raw = {
        "type": "expect_column_values_to_be_between",
        "column": "amount",
        "min_value": 0,
        "severity": "error",
        **change,
    }
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(ExpectationError) as error:
        parse_expectation(raw, "x")
    assert error.value.field_path == field and problem in error.value.problem


def test_bounds_need_one_side_and_regex_must_compile():
    with pytest.raises(ExpectationError, match="at least one of"):
        parse_expectation(
            {"type": "expect_column_values_to_be_between", "column": "a", "severity": "warn"}, "x"
        )
    with pytest.raises(ExpectationError, match="not a valid regular expression"):
        parse_expectation(
            {
                "type": "expect_column_values_to_match_regex",
                "column": "a",
                "regex": "(",
                "severity": "warn",
            },
            "x",
        )


def test_table_rules_take_no_mostly():
    with pytest.raises(ExpectationError, match="takes no mostly"):
        parse_expectation(
            {
                "type": "expect_table_row_count_to_be_between",
                "min_value": 1,
                "mostly": 0.5,
                "severity": "warn",
            },
            "x",
        )


def test_default_names_say_column_and_rule():
    assert default_name("expect_column_values_to_not_be_null", {"column": "_read_error"}) == (
        "read_error_not_null"
    )
    assert default_name("expect_compound_columns_to_be_unique", {"column_list": ["a", "b"]}) == (
        "a_b_unique"
    )
    assert default_name("expect_table_row_count_to_be_between", {"min_value": 1}) == "row_count"


def test_every_catalogue_entry_is_a_great_expectations_class():
    import great_expectations as gx

    for type_, kind in CATALOGUE.items():
        expectation_class = getattr(gx.expectations, kind.ge_class)
        assert expectation_class.expectation_type == type_


def test_suite_section_validates_layers():
    with pytest.raises(ExpectationError, match="unknown field"):
        parse_suite_declaration({"gold": []})
    with pytest.raises(ExpectationError, match="expected a list"):
        parse_suite_declaration({"silver": {"type": "x"}})


def write(tmp_path: Path, data: dict) -> Path:
    file = tmp_path / "events.yaml"
    file.write_text(yaml.safe_dump(data))
    return file


def test_declaration_errors_name_the_file_and_field(tmp_path):
    data = {**VALID, "expectations": {"silver": [{"type": "expect_column_values_to_be_null"}]}}
    with pytest.raises(SourceDeclarationError) as error:
        load_source(write(tmp_path, data))
    assert error.value.field_path == "expectations.silver[0].severity"
    assert "events.yaml" in str(error.value)


def test_a_rule_on_an_unknown_column_fails_at_load(tmp_path):
    rule = {"type": "expect_column_values_to_not_be_null", "column": "amout", "severity": "error"}
    spec = load_source(write(tmp_path, {**VALID, "expectations": {"silver": [rule]}}))
    with pytest.raises(SourceDeclarationError) as error:
        source_suites(spec)
    assert error.value.field_path == "expectations.silver[0]"
    assert "'amout' is not a column of silver/events" in str(error.value)


def test_two_checks_of_one_asset_cannot_share_a_name(tmp_path):
    # business_key_unique is derived from the declaration's business_key
    rule = {
        "type": "expect_column_values_to_be_unique",
        "column": "event_id",
        "name": "business_key_unique",
        "severity": "error",
    }
    spec = load_source(write(tmp_path, {**VALID, "expectations": {"silver": [rule]}}))
    with pytest.raises(SourceDeclarationError, match="already a check of silver/events"):
        source_suites(spec)


def test_bundled_suites_derive_rules_from_the_declaration():
    suites = {name: source_suites(spec) for name, spec in load_sources().items()}
    orders = {rule.name: rule for rule in suites["orders"].silver.expectations}
    assert orders["unit_price_at_least_minimum"].origin == "columns[5].min"
    assert orders["business_key_unique"].arguments["column_list"][0] == "invoice_no"
    assert orders["country_known"].severity == "warn"
    quarantine = {rule.name for rule in suites["orders"].quarantine.expectations}
    assert {"reject_reason_not_null", "reject_reason_known"} <= quarantine
    assert suites["customers"].bronze.pii_columns == {"Email"}
    history_key = {r.name: r for r in suites["customers"].silver.expectations}
    assert history_key["business_key_unique"].arguments["column_list"] == [
        "customer_id",
        "valid_from",
    ]


def test_declared_error_rules_join_the_closed_set_of_reject_reasons(tmp_path):
    from etl_assets.quality.suites.source_suites import known_reject_reasons

    rules = [
        {"name": "amount_plausible", "column": "amount", "between": [0, 10], "severity": "error"},
        {"name": "amount_round", "column": "amount", "max": 5, "severity": "warn"},
    ]
    spec = load_source(write(tmp_path, {**VALID, "rules": rules}))
    reasons = known_reject_reasons(spec)
    assert "amount_plausible" in reasons and "amount_round" not in reasons
    assert "below_minimum_amount" in reasons
