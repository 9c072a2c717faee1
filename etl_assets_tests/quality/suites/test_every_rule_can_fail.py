"""Every rule of every suite passes on the clean sample and fails on data broken for it: no
check that cannot fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etl_assets.quality.engine.validation import Partitions, validate_partitions
from etl_assets.quality.suites.gold_suites import gold_suites
from etl_assets.quality.suites.reconciliation import RECONCILIATION, reconciliation_frame
from etl_assets.quality.suites.source_suites import Suite, source_suites
from etl_assets.sources import load_sources
from etl_assets.sources.expectation_spec import Expectation


def all_suites() -> list[Suite]:
    suites: list[Suite] = []
    for spec in load_sources().values():
        source = source_suites(spec)
        suites += [source.bronze, source.silver, source.quarantine]
    return suites + list(gold_suites().values())


CASES = [(suite, rule) for suite in all_suites() for rule in suite.expectations]


def read_asset(data_dir, asset: tuple[str, ...]) -> pd.DataFrame:
    path = data_dir.joinpath("lake", *asset)
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path.with_suffix(".parquet")]
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def with_a_row(frame: pd.DataFrame) -> pd.DataFrame:
    """An empty frame (a quarantine with nothing rejected) gets one all-null row to break."""
    if len(frame):
        return frame
    return frame.reindex(pd.RangeIndex(1))


def broken_for(frame: pd.DataFrame, rule: Expectation) -> pd.DataFrame:
    """`frame` changed on every row so that `rule` fails, whatever its `mostly`."""
    args = rule.arguments
    kind = rule.type
    frame = with_a_row(frame).copy()
    if kind == "expect_table_row_count_to_be_between":
        return frame.iloc[:0]
    if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return pd.concat([frame, frame], ignore_index=True)
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        frame[args["column_A"]] = frame[args["column_B"]].astype("Float64") - 1
        return frame
    column = args["column"]
    if kind == "expect_column_values_to_not_be_null":
        frame[column] = None
    elif kind == "expect_column_values_to_be_null":
        frame[column] = "not null"
    elif kind == "expect_column_values_to_be_in_set":
        frame[column] = "not in the set"
    elif kind == "expect_column_values_to_match_regex":
        frame[column] = "\t!!"
    elif kind == "expect_column_values_to_be_between":
        low, high = args.get("min_value"), args.get("max_value")
        value = low - 1 if low is not None else high + 1
        frame[column] = pd.array(np.full(len(frame), value), dtype=frame[column].dtype)
    else:
        raise AssertionError(f"no way to break {kind} yet: add one here")
    return frame


@pytest.mark.parametrize("suite, rule", CASES, ids=[f"{s.name}:{r.name}" for s, r in CASES])
def test_every_rule_passes_clean_and_fails_broken(clean, suite, rule):
    frame = read_asset(clean.data_dir, suite.asset)
    [[on_clean]] = validate_partitions(frame, [rule], Partitions.single(len(frame)))
    assert on_clean.success, on_clean
    broken = broken_for(frame, rule)
    [[on_broken]] = validate_partitions(broken, [rule], Partitions.single(len(broken)))
    assert not on_broken.success, on_broken


def test_reconciliation_fails_when_gold_drifts_from_silver(clean):
    gold = read_asset(clean.data_dir, ("gold", "daily_sales"))
    silver = read_asset(clean.data_dir, ("silver", "orders"))
    frame = reconciliation_frame(gold, silver)
    [[ok]] = validate_partitions(frame, [RECONCILIATION], Partitions.single(len(frame)))
    assert ok.success
    gold.loc[gold.index[-1], "net_revenue"] += 0.05
    frame = reconciliation_frame(gold, silver)
    [[drifted]] = validate_partitions(frame, [RECONCILIATION], Partitions.single(len(frame)))
    assert not drifted.success and drifted.unexpected_count == 1
