"""Row accounting passes on a balanced result and fails on every way rows can go wrong."""

import dagster as dg
import pandas as pd

from etl_assets.quality.checks.accounting import account_rows, accounting_check_result

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


def dated(frame: pd.DataFrame, day: str) -> pd.DataFrame:
    return frame.assign(order_date=pd.Timestamp(day))


def test_each_day_is_accounted_on_its_own():
    from etl_assets.quality.checks.accounting import account_days

    day1, day2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")
    silver = pd.concat([dated(rows(1), "2024-01-01"), dated(rows(3), "2024-01-02")])
    quarantine = dated(rows(2), "2024-01-01")
    accounts = account_days(
        BRONZE,
        silver,
        quarantine,
        day_column="order_date",
        days=[day1, day2],
        bronze_rows_by_day={day1: 2, day2: 2},  # day 2 lost a row: 2 in, 1 out
        duplicates_by_day={},
    )
    assert accounts[day1].balanced
    assert not accounts[day2].balanced and accounts[day2].difference == 1
