"""The `landing_observations` schedule and job: every `landing/<source>` observed on a
schedule; a run records the new or changed data versions, and only those."""

from __future__ import annotations

import dagster as dg

from etl_assets.automation.jobs import OBSERVATION_JOB
from etl_assets.automation.schedules import OBSERVATION_SCHEDULE

LANDING = [dg.AssetKey(["landing", name]) for name in ("customers", "orders", "products")]


def observations(instance, key: dg.AssetKey) -> list[dg.EventLogRecord]:
    return list(instance.fetch_observations(key, limit=1000).records)


def test_the_schedule_observes_every_landing_asset_and_is_off_by_default(data_dir, defs_for):
    defs, _ = defs_for(data_dir)
    schedule = defs.resolve_schedule_def(OBSERVATION_SCHEDULE)
    assert schedule.job_name == OBSERVATION_JOB
    assert schedule.cron_schedule == "*/15 * * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    job = defs.resolve_job_def(OBSERVATION_JOB)
    graph = defs.resolve_asset_graph()
    assert sorted(job.asset_layer.selected_asset_keys) == LANDING
    assert all(graph.get(key).is_observable for key in LANDING)
    prod, _ = defs_for(
        data_dir, ETL_ENV="prod", ETL_PII_HASH_KEY="k", ETL_WAREHOUSE_URL="postgresql://x@db/w"
    )
    assert (
        prod.resolve_schedule_def(OBSERVATION_SCHEDULE).default_status
        == dg.DefaultScheduleStatus.RUNNING
    )


def test_running_the_job_records_each_files_version_once(data_dir, defs_for):
    defs, _ = defs_for(data_dir)
    job = defs.resolve_job_def(OBSERVATION_JOB)
    orders = dg.AssetKey(["landing", "orders"])
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance).success
        first = observations(instance, orders)
        assert sorted(r.partition_key for r in first) == ["2024-01-01", "2024-01-02", "2024-01-03"]
        assert all(r.event_log_entry.tags["dagster/data_version"] for r in first)
        assert observations(instance, dg.AssetKey(["landing", "products"]))

        assert job.execute_in_process(instance=instance).success  # nothing changed
        assert len(observations(instance, orders)) == len(first)

        path = data_dir / "landing" / "orders" / "orders_2024-01-02.csv"
        path.write_bytes(path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n")
        assert job.execute_in_process(instance=instance).success
        latest = observations(instance, orders)[0]  # newest first
        assert len(observations(instance, orders)) == len(first) + 1
        assert latest.partition_key == "2024-01-02"
        old = next(r for r in first if r.partition_key == "2024-01-02")
        assert (
            latest.event_log_entry.tags["dagster/data_version"]
            != old.event_log_entry.tags["dagster/data_version"]
        )
