"""The daily schedule and what is switched on by default in each profile; a sources folder
with no daily source, or none read from files, loads with what fits it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from etl_assets.automation.alerts import FAILURE_SENSOR
from etl_assets.automation.conditions import AUTOMATION_SENSOR
from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.automation.range_follow_up import FOLLOW_UP_SENSOR
from etl_assets.automation.schedules import DAILY_SCHEDULE
from etl_assets.automation.sensors import LANDING_SENSOR
from etl_assets_tests.automation.conftest import evaluate_sensor, execute
from etl_assets_tests.test_declared_sources import HTTP_YAML

PRODUCTS_YAML = Path(__file__).parents[2] / "etl_assets" / "sources" / "products.yaml"


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_daily_schedule_runs_yesterday_at_two_in_the_configured_timezone(
    data_dir, defs_for, timezone
):
    defs, _ = defs_for(data_dir, ETL_TIMEZONE=timezone)
    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE)
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == timezone
    tick_time = dt.datetime(2024, 1, 5, 2, 0, tzinfo=ZoneInfo(timezone))
    context = dg.build_schedule_context(
        scheduled_execution_time=tick_time, repository_def=defs.get_repository_def()
    )
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-01-04"
    assert request.run_key == "2024-01-04"  # a tick never launches twice
    assert request.job_name == MEDALLION_JOB
    assert request.asset_selection is None  # every layer with its checks


def test_partitions_follow_the_configured_timezone(data_dir, defs_for):
    defs, _ = defs_for(data_dir, ETL_TIMEZONE="Europe/Berlin")
    partitions = defs.resolve_job_def(MEDALLION_JOB).partitions_def
    window = partitions.time_window_for_partition_key("2024-01-04")
    assert window.start.isoformat() == "2024-01-04T00:00:00+01:00"


def test_nothing_runs_by_itself_locally_but_alerts(data_dir, defs_for):
    defs, _ = defs_for(data_dir)
    assert defs.resolve_schedule_def(DAILY_SCHEDULE).default_status == (
        dg.DefaultScheduleStatus.STOPPED
    )
    statuses = {name: defs.resolve_sensor_def(name).default_status for name in SENSORS}
    assert statuses == {
        LANDING_SENSOR: dg.DefaultSensorStatus.STOPPED,
        AUTOMATION_SENSOR: dg.DefaultSensorStatus.STOPPED,
        FAILURE_SENSOR: dg.DefaultSensorStatus.RUNNING,
        FOLLOW_UP_SENSOR: dg.DefaultSensorStatus.RUNNING,  # completes a range someone launched
    }


def test_everything_runs_by_itself_in_prod(data_dir, defs_for):
    defs, _ = defs_for(
        data_dir, ETL_ENV="prod", ETL_PII_HASH_KEY="k", ETL_WAREHOUSE_URL="postgresql://x@db/w"
    )
    assert defs.resolve_schedule_def(DAILY_SCHEDULE).default_status == (
        dg.DefaultScheduleStatus.RUNNING
    )
    for name in SENSORS:
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


def test_landing_sensor_interval_is_configurable(data_dir, defs_for):
    defs, _ = defs_for(data_dir, ETL_LANDING_SENSOR_INTERVAL_SECONDS="5")
    assert defs.resolve_sensor_def(LANDING_SENSOR).minimum_interval_seconds == 5


SENSORS = (LANDING_SENSOR, AUTOMATION_SENSOR, FAILURE_SENSOR, FOLLOW_UP_SENSOR)


def sources_folder(tmp_path: Path, *declarations: tuple[str, str]) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    for name, text in declarations:
        (folder / name).write_text(text)
    return folder


def test_undated_sources_only_load_with_a_daily_schedule_of_everything(
    data_dir, defs_for, tmp_path, persistent_instance
):
    sources = sources_folder(tmp_path, ("products.yaml", PRODUCTS_YAML.read_text()))
    defs, _ = defs_for(data_dir, ETL_SOURCES_DIR=str(sources), ETL_TIMEZONE="Asia/Tokyo")
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def(MEDALLION_JOB).partitions_def is None

    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE)
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Tokyo"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    tick_time = dt.datetime(2024, 1, 5, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    context = dg.build_schedule_context(
        scheduled_execution_time=tick_time, repository_def=defs.get_repository_def()
    )
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.run_key == "2024-01-05" and request.partition_key is None
    assert request.asset_selection is None  # every asset with its checks

    # The catalogue still lands as a file: the landing sensor runs it when it changes.
    first = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, None)
    [ready] = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, first.cursor).run_requests
    assert ready.partition_key is None
    assert execute(defs, persistent_instance, ready).success


def test_no_landing_sensor_when_no_source_lands_as_files(data_dir, defs_for, tmp_path):
    stations = HTTP_YAML.format(url="http://127.0.0.1:9/stations?day={date}")
    sources = sources_folder(tmp_path, ("stations.yaml", stations))
    defs, _ = defs_for(data_dir, ETL_SOURCES_DIR=str(sources))
    dg.Definitions.validate_loadable(defs)
    sensors = {sensor.name for sensor in defs.get_repository_def().sensor_defs}
    assert sensors == {AUTOMATION_SENSOR, FAILURE_SENSOR, FOLLOW_UP_SENSOR}
    partitions = defs.resolve_job_def(MEDALLION_JOB).partitions_def
    assert partitions is not None  # a daily HTTP source: yesterday's partition at 02:00
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2024, 1, 5, 2, tzinfo=ZoneInfo("UTC")),
        repository_def=defs.get_repository_def(),
    )
    [request] = defs.resolve_schedule_def(DAILY_SCHEDULE).evaluate_tick(context).run_requests
    assert request.partition_key == "2024-01-04"

    # Undated and read over HTTP only: loads too, still without a landing sensor.
    shutil.rmtree(sources)
    sources = sources_folder(tmp_path, ("products.yaml", PRODUCTS_YAML.read_text()))
    defs, _ = defs_for(
        data_dir, ETL_SOURCES_DIR=str(sources), ETL_CATALOGUE_URL="http://127.0.0.1:9/products"
    )
    dg.Definitions.validate_loadable(defs)
    assert {sensor.name for sensor in defs.get_repository_def().sensor_defs} == {
        AUTOMATION_SENSOR,
        FAILURE_SENSOR,
    }
