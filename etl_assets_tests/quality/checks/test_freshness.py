"""Gold marts carry the freshness policy: a day late warns, two days late fails."""

import asyncio
import datetime as dt

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator
from dagster._core.loader import LoadingContextForTest
from dagster._core.test_utils import freeze_time

from etl_assets.quality.checks.freshness import GOLD_FRESHNESS

GOLD = ["daily_sales", "customer_rfm", "product_performance", "cohort_retention"]


def test_every_gold_mart_has_the_policy_and_nothing_else_does(clean):
    graph = clean.defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        assert policy == (GOLD_FRESHNESS if key.path[0] == "gold" else None), key


def freshness_at(instance, node, moment: dt.datetime) -> FreshnessState:
    with freeze_time(moment):
        return asyncio.run(
            TimeWindowFreshnessPolicyEvaluator().evaluate_freshness(
                LoadingContextForTest(instance), node
            )
        )


def test_a_day_late_warns_and_two_days_fail(clean):
    graph = clean.defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["gold", "customer_rfm"]))
    record = clean.instance.get_latest_materialization_event(node.key)
    materialized = dt.datetime.fromtimestamp(record.timestamp, dt.UTC)
    hours = dt.timedelta(hours=1)
    assert freshness_at(clean.instance, node, materialized + 23 * hours) == FreshnessState.PASS
    assert freshness_at(clean.instance, node, materialized + 25 * hours) == FreshnessState.WARN
    assert freshness_at(clean.instance, node, materialized + 49 * hours) == FreshnessState.FAIL
