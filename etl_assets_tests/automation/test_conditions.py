"""Declarative automation: silver and gold follow their parents, across days and layers."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from etl_assets.automation.conditions import AUTOMATION_SENSOR, with_automation_conditions
from etl_assets.automation.sensors import LANDING_SENSOR
from etl_assets_tests.automation.conftest import DAY_AFTER_SAMPLE, evaluate_sensor, execute

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]
NEXT_DAY = "2024-01-04"
DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01")
LATE_ROWS = dg.TimeWindowPartitionMapping(
    start_offset=0, end_offset=1, allow_nonexistent_upstream_partitions=True
)
SILVER_DAY = ["silver/orders", "gold/daily_sales"]
MARTS = {"gold/customer_rfm", "gold/product_performance", "gold/cohort_retention"}


def medallion_shape() -> list[dg.AssetsDefinition]:
    """The shape of the real graph, without its computations: what the conditions see."""

    @dg.asset(key=["bronze", "orders"], partitions_def=DAILY)
    def bronze_orders(): ...

    @dg.asset(key=["bronze", "products"])
    def bronze_products(): ...

    @dg.asset(
        key=["silver", "orders"],
        partitions_def=DAILY,
        ins={"bronze": dg.AssetIn(key=["bronze", "orders"], partition_mapping=LATE_ROWS)},
        check_specs=[
            dg.AssetCheckSpec("row_accounting", asset=["silver", "orders"], blocking=True)
        ],
    )
    def silver_orders(bronze): ...

    @dg.asset(key=["silver", "products"], deps=[bronze_products])
    def silver_products(): ...

    @dg.asset(key=["gold", "daily_sales"], partitions_def=DAILY, deps=[silver_orders])
    def daily_sales(): ...

    marts = [
        dg.AssetSpec(dg.AssetKey.from_user_string(mart), deps=[silver_orders, silver_products])
        for mart in sorted(MARTS)
    ]

    @dg.multi_asset(specs=marts)
    def whole_history_marts(): ...

    return [
        bronze_orders, bronze_products, silver_orders, silver_products, daily_sales,
        whole_history_marts,
    ]  # fmt: skip


def requested(result: dg.EvaluateAutomationConditionsResult) -> set[tuple[str, str | None]]:
    return {
        (subset.key.to_user_string(), partition)
        for subset in result.results
        for partition in result.get_requested_partitions(subset.key)
    }


def run_of(day: str, keys: list[str]) -> dg.RunRequest:
    return dg.RunRequest(
        partition_key=day, asset_selection=[dg.AssetKey.from_user_string(k) for k in keys]
    )


class Shape:
    """The graph with the project's conditions, and an instance recording what happened."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.defs = dg.Definitions(assets=with_automation_conditions(medallion_shape()))
        self.instance = instance
        self.cursor = dg.evaluate_automation_conditions(self.defs, instance).cursor

    def materialized(self, keys, day=None, checks_pass=True):
        """Records materializations, parents first, as one run of them would."""
        for key in keys:
            asset_key = dg.AssetKey.from_user_string(key)
            self.instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key, partition=day)
            )
            if key == "silver/orders":
                self.instance.report_runless_asset_event(
                    dg.AssetCheckEvaluation(
                        asset_key=asset_key, check_name="row_accounting", passed=checks_pass
                    )
                )

    def tick(self) -> set[tuple[str, str | None]]:
        result = dg.evaluate_automation_conditions(self.defs, self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        return requested(result)

    def settled_history(self):
        for day in DAYS:  # `make run` materialized every day and layer
            self.materialized(["bronze/orders", *SILVER_DAY], day)
        self.materialized(["bronze/products", "silver/products", *sorted(MARTS)])
        assert self.tick() == set()  # parents updated before their children: settled


def test_silver_and_gold_carry_conditions_bronze_does_not(data_dir, defs_for):
    defs, _ = defs_for(data_dir)
    graph = defs.resolve_asset_graph()
    labels = {
        key.to_user_string(): (
            node.automation_condition.get_label() if node.automation_condition else None
        )
        for key, node in ((k, graph.get(k)) for k in graph.get_all_asset_keys())
    }
    assert {k: v for k, v in labels.items() if k.startswith("bronze/")} == {
        "bronze/orders": None,
        "bronze/customers": None,
        "bronze/products": None,
    }
    assert labels["silver/orders"] == labels["gold/daily_sales"] == "follows_parents"
    assert labels["silver/products"] == "follows_parents"
    for whole_history in ("silver/customers", *MARTS):
        assert labels[whole_history] == "follows_parents_whole_history"
    sensor = defs.resolve_sensor_def(AUTOMATION_SENSOR)
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)


def test_switching_automation_on_requests_nothing_by_itself(instance):
    shape = Shape(instance)
    shape.settled_history()
    assert shape.tick() == set()


def test_a_new_day_refreshes_the_day_before_then_the_whole_history_marts(instance):
    shape = Shape(instance)
    shape.settled_history()
    # The landing sensor's run for the next day: that day's partitions only.
    shape.materialized(["bronze/orders", *SILVER_DAY], NEXT_DAY)
    assert shape.tick() == {
        ("silver/orders", DAYS[-1]),  # bronze of the new day holds its late rows
        ("gold/daily_sales", DAYS[-1]),  # follows silver within the same run
    }  # the marts wait: silver of the day before is about to change
    shape.materialized(SILVER_DAY, DAYS[-1])
    assert shape.tick() == {(mart, None) for mart in MARTS}
    shape.materialized(sorted(MARTS))
    assert shape.tick() == set()  # and then quiet


def test_the_last_landed_day_waits_for_its_next_day_before_following(instance):
    shape = Shape(instance)
    shape.settled_history()
    shape.materialized(["bronze/orders"], DAYS[-1])  # re-ingested by hand; no next day yet
    # The day before follows (its late rows are in this file); the day itself waits, as it
    # also reads the next day's file.
    assert shape.tick() == {("silver/orders", DAYS[-2]), ("gold/daily_sales", DAYS[-2])}
    shape.materialized(["bronze/orders"], NEXT_DAY)
    assert ("silver/orders", DAYS[-1]) in shape.tick()


def test_a_new_catalogue_flows_to_the_marts_that_read_it(instance):
    shape = Shape(instance)
    shape.settled_history()
    shape.materialized(["bronze/products"])
    assert shape.tick() == {("silver/products", None)}
    shape.materialized(["silver/products"])
    assert shape.tick() == {(mart, None) for mart in MARTS}


def test_a_day_materialized_by_hand_in_bronze_flows_to_gold(instance):
    shape = Shape(instance)
    shape.settled_history()
    shape.materialized(["bronze/orders"], DAYS[1])  # re-landed and re-ingested by hand
    assert shape.tick() == {
        ("silver/orders", DAYS[0]),
        ("silver/orders", DAYS[1]),
        ("gold/daily_sales", DAYS[0]),
        ("gold/daily_sales", DAYS[1]),
    }


def test_a_failed_blocking_check_stops_the_day_at_silver(instance):
    shape = Shape(instance)
    shape.settled_history()
    shape.materialized(["silver/orders"], DAYS[1], checks_pass=False)  # accounting fails
    assert shape.tick() == set()  # neither gold of the day nor the marts
    shape.materialized(["silver/orders"], DAYS[1])  # fixed and re-run
    assert shape.tick() == {("gold/daily_sales", DAYS[1]), *((m, None) for m in MARTS)}


def test_late_rows_of_a_new_day_reach_the_day_before(
    data_dir, defs_for, persistent_instance, instance, land_next_day
):
    """For real: the automation's run for silver D-1 picks up the late rows in file D."""
    defs, _ = defs_for(data_dir)
    cursor = dg.evaluate_automation_conditions(defs, instance).cursor
    day_before = DAYS[-1]
    whole_day = ["bronze/orders", "silver/orders", "silver/orders_quarantine", "gold/daily_sales"]
    assert execute(defs, instance, run_of(day_before, whole_day)).success
    silver_path = data_dir / "lake" / "silver" / "orders" / f"{day_before}.parquet"
    late_file = f"orders/orders_{DAY_AFTER_SAMPLE}.csv"
    assert not (pd.read_parquet(silver_path)["_source_file"] == late_file).any()
    cursor = dg.evaluate_automation_conditions(defs, instance, cursor=cursor).cursor

    land_next_day(["orders"])
    sensor_cursor = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, None).cursor
    [landing_run] = [
        r
        for r in evaluate_sensor(
            defs, persistent_instance, LANDING_SENSOR, sensor_cursor
        ).run_requests
        if r.partition_key == DAY_AFTER_SAMPLE
    ]
    assert execute(defs, instance, landing_run).success

    result = dg.evaluate_automation_conditions(defs, instance, cursor=cursor)
    refresh = sorted(key for key, day in requested(result) if day == day_before)
    assert refresh == ["gold/daily_sales", "silver/orders", "silver/orders_quarantine"]
    assert execute(defs, instance, run_of(day_before, refresh)).success
    late = pd.read_parquet(silver_path).query("_source_file == @late_file")
    assert len(late) > 0 and (late["order_date"] == pd.Timestamp(day_before)).all()
