"""The `failed_range_days` sensor on a real (SQLite) instance: a range run that failed on an
unreadable day is followed by runs of its good days only, which land them; a follow-up
finding another bad day is split again until no good day is left; a run that is not a
range is left alone."""

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


def _range_of(request):
    tags = request.tags
    return tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]


def _execute(defs, instance, request, tags=None):
    """What the daemon launches for a request: its subset of the job over its range."""
    subset = defs.resolve_job_def(MEDALLION_JOB).get_subset(
        asset_selection=set(request.asset_selection),
        asset_check_selection=set(request.asset_check_keys),
    )
    result = subset.execute_in_process(
        instance=instance, tags=tags or request.tags, raise_on_error=False
    )
    return instance.get_run_by_id(result.run_id), result


def _gold(data, day):
    return data / "lake" / "gold" / "daily_sales" / f"{day}.parquet"


def test_a_failed_range_run_is_followed_by_runs_of_its_good_days(bad_range, sqlite_instance):
    data, defs = bad_range
    run, result = _failed_run(defs, sqlite_instance, range_tags(DAYS[0], DAYS[-1]))
    assert not any(_gold(data, day).exists() for day in DAYS)  # one bad day failed them all

    requests = _sensor_on(defs, sqlite_instance, run, result)

    graph = defs.resolve_asset_graph()
    assert [_range_of(r) for r in requests] == [
        ("2024-01-01", "2024-01-02"),
        ("2024-01-04", "2024-01-04"),
    ]
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
    for request in requests:
        assert _execute(defs, sqlite_instance, request)[1].success
    for day in DAYS:
        assert _gold(data, day).exists() == (day != BAD_DAY), day
    bronze = sqlite_instance.get_materialized_partitions(dg.AssetKey(["bronze", "orders"]))
    assert sorted(bronze) == [d for d in DAYS if d != BAD_DAY]


def test_a_second_bad_day_found_by_a_follow_up_is_split_off_and_the_splitting_ends(
    tmp_path, sample_of, defs_for, sqlite_instance
):
    data = copy_landing(sample_of(days=5, rows_per_day=200, seed=5), tmp_path / "data")
    for day in (BAD_DAY, "2024-01-04"):  # bronze stops at the first: the 3rd
        (data / "landing" / "orders" / f"orders_{day}.csv").write_text("no,orders\n1,2\n")
    defs, _ = defs_for(data)
    run, result = _failed_run(defs, sqlite_instance, range_tags("2024-01-01", "2024-01-05"))
    requests = _sensor_on(defs, sqlite_instance, run, result)
    ranges = [_range_of(r) for r in requests]
    assert ranges == [("2024-01-01", "2024-01-02"), ("2024-01-04", "2024-01-05")]

    # The follow-up over the 4th and 5th finds the 4th unreadable: split again, the 5th only.
    [later] = [r for r in requests if _range_of(r)[0] == "2024-01-04"]
    follow_run, follow_result = _execute(defs, sqlite_instance, later)
    assert follow_run.tags[SPLIT_OF_TAG] == run.run_id
    [again] = _sensor_on(defs, sqlite_instance, follow_run, follow_result)
    assert _range_of(again) == ("2024-01-05", "2024-01-05")
    assert again.tags[SPLIT_OF_TAG] == follow_run.run_id
    assert _execute(defs, sqlite_instance, again)[1].success
    assert _gold(data, "2024-01-05").exists()
    assert not _gold(data, "2024-01-04").exists() and not _gold(data, BAD_DAY).exists()

    # A follow-up with no good day left asks for nothing: the splitting ends.
    single = dict(later.tags, **range_tags("2024-01-04", "2024-01-04"))
    lone_run, lone_result = _execute(defs, sqlite_instance, later, tags=single)
    assert isinstance(_sensor_on(defs, sqlite_instance, lone_run, lone_result), dg.SkipReason)
    assert "no other day left" in sqlite_instance.get_run_by_id(lone_run.run_id).tags[SPLIT_TAG]


def test_a_single_day_run_is_not_split(bad_range, sqlite_instance):
    _, defs = bad_range
    run, _ = _failed_run(defs, sqlite_instance, {}, partition_key=BAD_DAY)
    graph = defs.resolve_asset_graph()

    decision = decide(run, sqlite_instance, graph)

    assert decision.requests == [] and decision.tags == {}
