"""Row accounting passes on a balanced result and fails on every way rows can go wrong."""

import dagster as dg
import pandas as pd

from etl_assets.quality.accounting import account_rows, accounting_check_result

KEY = dg.AssetKey(["silver", "orders"])


def rows(*numbers: int, file: str = "orders/orders_2024-01-01.csv") -> pd.DataFrame:
    return pd.DataFrame({"_source_file": [file] * len(numbers), "_row_number": list(numbers)})


BRONZE = rows(1, 2, 3, 4, 5)


def test_balanced_rows_pass():
    accounting = account_rows(BRONZE, rows(1, 2), rows(3), bronze_rows=4, duplicates_removed=1)
    assert accounting.balanced
    result = accounting_check_result(KEY, accounting)
    assert result.passed and result.metadata["difference"].value == 0


def test_a_lost_row_fails():
    accounting = account_rows(BRONZE, rows(1), rows(3), bronze_rows=4, duplicates_removed=1)
    assert not accounting.balanced and accounting.difference == 1
    assert not accounting_check_result(KEY, accounting).passed


def test_a_row_in_silver_and_quarantine_fails():
    accounting = account_rows(BRONZE, rows(1, 3), rows(3), bronze_rows=3, duplicates_removed=0)
    assert accounting.rows_seen_twice == 1 and not accounting.balanced


def test_a_row_bronze_never_had_fails():
    accounting = account_rows(BRONZE, rows(1, 9), rows(3), bronze_rows=3, duplicates_removed=0)
    assert accounting.rows_not_in_bronze == 1 and not accounting.balanced
