"""The summary says why: one line per failed or warning check, days grouped."""

import dagster as dg

from etl_assets.quality.checks.reject_gate import gate_check
from etl_assets.quality.checks.run_lines import check_lines, day_groups
from etl_assets.quality.checks.schema_drift import landing_column_checks

FLIGHTS = dg.AssetKey(["bronze", "flights"])
DAYS = [f"2024-01-0{n}" for n in range(1, 8)]


def evaluation(key, check) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=key,
        check_name=check.check_name,
        passed=check.passed,
        severity=check.severity,
        description=check.description,
        metadata=check.metadata,
        partition=check.partition,
    )


def test_a_misspelled_column_on_seven_days_is_one_line():
    present = {"dep_delay": [5] * 7, "arr_dely": [0] * 7}
    checks = landing_column_checks(present, [5] * 7, ["dep_delay", "arr_dely"], [], DAYS)
    lines = check_lines(evaluation(FLIGHTS, c) for c in checks)
    assert lines == [
        "warn  bronze/flights landing_columns 2024-01-01 .. 2024-01-07 (7 days): "
        "declared column(s) absent (null on every row): arr_dely"
    ]


def test_the_gate_line_names_the_rate_the_reasons_and_the_limit():
    check = gate_check(
        "2024-01-03",
        rows_in=1912,
        rejected=1912,
        silver_rows=0,
        bronze_rows=1912,
        reasons={"unparseable_invoice_date": 1912},
        max_rate=0.05,
    )
    assert not check.passed
    assert check_lines([evaluation(dg.AssetKey(["silver", "orders"]), check)]) == [
        "error silver/orders reject_rate 2024-01-03: 100.0 % of 1,912 rows rejected "
        "(unparseable_invoice_date 1,912), 5 % allowed"
    ]


def day_gate(bronze_rows: int, max_rate: float = 0.05, **counts):
    figures = {"rows_in": 0, "rejected": 0, "silver_rows": 0, "reasons": {}, **counts}
    return gate_check("2024-01-01", bronze_rows=bronze_rows, max_rate=max_rate, **figures)


def test_the_gate_passes_at_its_limit_and_catches_an_empty_day():
    at_limit = {"rows_in": 100, "rejected": 5, "silver_rows": 95}
    assert day_gate(100, **at_limit).passed
    assert not day_gate(100, 0.04, **at_limit).passed
    empty = day_gate(40)
    assert not empty.passed and "silver is empty although bronze has 40 rows" in empty.description
    # An empty landing file gives an empty silver day: nothing lost, the gate passes.
    assert day_gate(0).passed


def test_days_are_grouped_in_stretches():
    assert day_groups(["2024-01-03"]) == "2024-01-03"
    assert day_groups(["2024-01-01", "2024-01-02", "2024-01-05"]) == (
        "2024-01-01 .. 2024-01-02, 2024-01-05 (3 days)"
    )
