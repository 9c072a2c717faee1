"""The expectation suites of the gold marts, in Python beside the marts they guard.

Keys are unique and complete (error), scores and rates stay in their ranges (error), and the
money figures look like money (warn). `daily_sales` also reconciles with silver
(reconciliation.py).
"""

from __future__ import annotations

import pandas as pd

from etl_assets.quality.suites.source_suites import Suite
from etl_assets.sources.expectation_spec import ERROR, WARN, Expectation
from etl_assets.transforms.gold import GOLD_KEYS, rfm_segments

ORIGIN = "gold suite (quality/gold_suites.py)"


def _rule(name: str, type_: str, severity: str = ERROR, mostly: float = 1.0, **arguments):
    return Expectation(name, type_, arguments, severity, mostly, origin=ORIGIN)


def _at_least(column: str, minimum: float, severity: str = ERROR, mostly: float = 1.0):
    return _rule(
        f"{column}_at_least_{minimum:g}".replace(".", "_").replace("-", "minus_"),
        "expect_column_values_to_be_between",
        severity,
        mostly,
        column=column,
        min_value=minimum,
    )


def _between(column: str, low: float, high: float, severity: str = ERROR, mostly: float = 1.0):
    return _rule(
        f"{column}_in_range",
        "expect_column_values_to_be_between",
        severity,
        mostly,
        column=column,
        min_value=low,
        max_value=high,
    )


def _key_unique(mart: str) -> Expectation:
    key = GOLD_KEYS[mart]
    if len(key) == 1:
        return _rule("key_unique", "expect_column_values_to_be_unique", column=key[0])
    return _rule("key_unique", "expect_compound_columns_to_be_unique", column_list=key)


def _key_rules(mart: str) -> list[Expectation]:
    """Whole-history marts: one evaluation per run, so every key column is checked too."""
    not_null = [
        _rule(f"{column}_not_null", "expect_column_values_to_not_be_null", column=column)
        for column in GOLD_KEYS[mart]
    ]
    return [*not_null, _key_unique(mart)]


def rfm_segment_names() -> list[str]:
    """Every segment `rfm_segments` can name: its output over all 25 score pairs."""
    scores = pd.Series([r for r in range(1, 6) for _ in range(5)], dtype="Int64")
    frequency = pd.Series([f for _ in range(5) for f in range(1, 6)], dtype="Int64")
    return sorted(set(rfm_segments(scores, frequency)))


def gold_suites() -> dict[str, Suite]:
    """mart name -> its suite."""
    rules = {
        "daily_sales": [
            _key_unique("daily_sales"),
            _rule(
                "gross_covers_net",
                "expect_column_pair_values_a_to_be_greater_than_b",
                WARN,
                column_A="gross_revenue",
                column_B="net_revenue",
                or_equal=True,
            ),
            _rule("has_rows", "expect_table_row_count_to_be_between", WARN, min_value=1),
        ],
        "customer_rfm": [
            *_key_rules("customer_rfm"),
            *(_between(score, 1, 5) for score in ("r_score", "f_score", "m_score")),
            _at_least("recency_days", 1),
            _at_least("frequency", 1),
            _rule(
                "rfm_segment_known",
                "expect_column_values_to_be_in_set",
                column="rfm_segment",
                value_set=rfm_segment_names(),
            ),
        ],
        "product_performance": [
            *_key_rules("product_performance"),
            _at_least("revenue_rank", 1),
            _at_least("units_sold", 0, WARN, mostly=0.99),
            # above 1 is legal: returns of units sold in an earlier month
            _at_least("return_rate", 0),
        ],
        "cohort_retention": [
            *_key_rules("cohort_retention"),
            _at_least("month_offset", 0),
            _between("retention_rate", 0, 1),
            _rule(
                "cohort_covers_active",
                "expect_column_pair_values_a_to_be_greater_than_b",
                column_A="cohort_size",
                column_B="active_customers",
                or_equal=True,
            ),
        ],
    }
    return {
        mart: Suite(
            ("gold", mart),
            tuple(mart_rules),
            partition_column="order_date" if mart == "daily_sales" else None,
        )
        for mart, mart_rules in rules.items()
    }
