"""The `failed_range_days` sensor on a real (SQLite) instance: a range run that failed on an
unreadable day is followed by runs of its good days only, which land them; a follow-up never
spawns another; a run that is not a range is left alone."""

from __future__ import annotations

import dagster as dg
import pytest

from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.automation.range_follow_up import (
    FAILED_DAYS_TAG,
    FOLLOW_UP_SENSOR,
    SPLIT_TAG,
    decide,
)
from etl_assets.automation.range_split import SPLIT_OF_TAG
from etl_assets_tests.conftest import copy_landing, range_tags

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
BAD_DAY = "2024-01-03"


@pytest.fixture
def sqlite_instance(tmp_path):
    (tmp_path / "home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        yield instance


@pytest.fixture
def bad_range(tmp_path, sample_of, defs_for):
    data = copy_landing(sample_of(days=4, rows_per_day=200, seed=5), tmp_path / "data")
    (data / "landing" / "orders" / f"orders_{BAD_DAY}.csv").write_text("no,orders\n1,2\n")
    defs, _ = defs_for(data)
    return data, defs


def _failed_run(defs, instance, tags, partition_key=None):
    result = defs.resolve_job_def(MEDALLION_JOB).execute_in_process(
        instance=instance, tags=tags, partition_key=partition_key, raise_on_error=False
    )
    assert not result.success
    return instance.get_run_by_id(result.run_id), result


def _sensor_on(defs, instance, run, result):
    sensor = defs.resolve_sensor_def(FOLLOW_UP_SENSOR)
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE]
    context = dg.build_run_status_sensor_context(
        sensor_name=FOLLOW_UP_SENSOR,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        repository_def=defs.get_repository_def(),
    ).for_run_failure()
    return sensor(context)


def _gold(data, day):
    return data / "lake" / "gold" / "daily_sales" / f"{day}.parquet"


def test_a_failed_range_run_is_followed_by_runs_of_its_good_days(bad_range, sqlite_instance):
    data, defs = bad_range
    run, result = _failed_run(defs, sqlite_instance, range_tags(DAYS[0], DAYS[-1]))
    assert not any(_gold(data, day).exists() for day in DAYS)  # one bad day failed them all

    requests = _sensor_on(defs, sqlite_instance, run, result)

    graph = defs.resolve_asset_graph()
    assert [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
    ] == [("2024-01-01", "2024-01-02"), ("2024-01-04", "2024-01-04")]
    for request in requests:
        assert request.tags[SPLIT_OF_TAG] == run.run_id
        assert request.run_key.startswith(f"{run.run_id}:")
        assert dg.AssetKey(["gold", "daily_sales"]) in request.asset_selection
        assert dg.AssetKey(["bronze", "orders"]) in request.asset_selection
        # Only daily assets: the undated whole-history marts stay blocked, as in the CLI.
        assert all(graph.get(key).is_partitioned for key in request.asset_selection)
    tags = sqlite_instance.get_run_by_id(run.run_id).tags
    assert tags[SPLIT_TAG].startswith(f"failed: {BAD_DAY}; 2 follow-up run(s)")
    [line] = tags[FAILED_DAYS_TAG].splitlines()
    assert line.startswith(f"bronze/orders {BAD_DAY}: orders/orders_{BAD_DAY}.csv: ")

    # What the daemon launches: the requested subset over the requested range, which lands.
    job = defs.resolve_job_def(MEDALLION_JOB)
    for request in requests:
        subset = job.get_subset(
            asset_selection=set(request.asset_selection),
            asset_check_selection=set(request.asset_check_keys),
        )
        assert subset.execute_in_process(instance=sqlite_instance, tags=request.tags).success
    for day in DAYS:
        assert _gold(data, day).exists() == (day != BAD_DAY), day
    bronze = sqlite_instance.get_materialized_partitions(dg.AssetKey(["bronze", "orders"]))
    assert sorted(bronze) == [d for d in DAYS if d != BAD_DAY]


def test_a_follow_up_run_never_spawns_another(bad_range, sqlite_instance):
    data, defs = bad_range
    tags = {**range_tags(DAYS[0], DAYS[-1]), SPLIT_OF_TAG: "an-earlier-run"}
    run, result = _failed_run(defs, sqlite_instance, tags)

    assert isinstance(_sensor_on(defs, sqlite_instance, run, result), dg.SkipReason)
    assert SPLIT_TAG not in sqlite_instance.get_run_by_id(run.run_id).tags


def test_a_single_day_run_is_not_split(bad_range, sqlite_instance):
    _, defs = bad_range
    run, _ = _failed_run(defs, sqlite_instance, {}, partition_key=BAD_DAY)
    graph = defs.resolve_asset_graph()

    decision = decide(run, sqlite_instance, graph)

    assert decision.requests == [] and decision.tags == {}
