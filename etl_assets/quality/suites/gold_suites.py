"""The expectation suites of the gold marts, as the marts' registry declares them.

Keys are unique and complete (error), scores and rates stay in their ranges (error), and the
money figures look like money (warn): see marts/retail.py. `daily_sales` also reconciles with
silver (reconciliation.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from etl_assets.marts.retail import RETAIL_MARTS
from etl_assets.marts.spec import MartSpec
from etl_assets.quality.suites.source_suites import Suite


def mart_suite(mart: MartSpec) -> Suite:
    return Suite(mart.asset, tuple(mart.suite), partition_column=mart.partition_column)


def gold_suites(marts: Sequence[MartSpec] = RETAIL_MARTS) -> dict[str, Suite]:
    """mart name -> its suite."""
    return {mart.name: mart_suite(mart) for mart in marts}
