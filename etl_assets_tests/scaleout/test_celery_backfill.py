"""A multi-day backfill fanned out over two Celery workers, one of them lost mid-step.

The code location runs with ETL_EXECUTOR=celery on the shipped Celery instance config
(deploy/celery/dagster.yaml, PostgreSQL), two workers started with the documented command
on RabbitMQ (results in Redis), and `dagster-daemon run`. A backfill of every asset over
three days must then:

- run one run per day for the daily assets and the undated marts once, after every day;
- have steps run to success on both workers (from dagster-celery's engine events);
- survive the loss of a worker: the first worker to start `silver__orders` is held right
  after that step's STEP_START (etl_assets_tests.scaleout.hold_step) and killed with
  SIGKILL, process group and all, as a lost machine would be. The broker gives the
  unacknowledged task to the other worker (acks-late), which runs the step to its end;
- end with every asset partition materialized exactly once, no failed run, and a lake
  equal to an in-process run of the same days (the per-run lineage columns aside).

The workers, the daemon and its code server, the broker queue, the Redis database and the
Postgres database are removed afterwards, pass or fail.
"""

from __future__ import annotations

import json
import time

import dagster as dg
import pytest

from etl_assets_tests import postgres_fixtures
from etl_assets_tests.conftest import copy_landing
from etl_assets_tests.postgres_fixtures import temporary_database
from etl_assets_tests.scaleout import cluster as scaleout

postgres_url = postgres_fixtures.postgres_url  # the shared fixture, bound for pytest
pytestmark = pytest.mark.scaleout  # processes and services: -m "not scaleout" skips

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]
ROWS_PER_DAY = 300
HELD_STEP = "silver__orders"
DAILY_ASSETS = (
    "bronze/orders",
    "bronze/customers",
    "silver/orders",
    "silver/orders_quarantine",
    "gold/daily_sales",
    "gold/customer_daily",  # the daily aggregates the whole-history marts combine
    "gold/product_daily",
)
UNDATED_ASSETS = (
    "bronze/products",
    "silver/products",
    "silver/products_quarantine",
    "silver/customers",
    "silver/customers_quarantine",
    "gold/customer_rfm",
    "gold/product_performance",
    "gold/cohort_retention",
)


@pytest.fixture
def services():
    """RabbitMQ and Redis answer (skip on a workstation without them; fail when CI=true)."""
    broker, redis = scaleout.broker_url(), scaleout.redis_url()
    for check, what, url, variable in (
        (scaleout.check_broker, "the Celery broker (RabbitMQ)", broker, scaleout.BROKER_VARIABLE),
        (scaleout.check_redis, "Redis", redis, scaleout.REDIS_VARIABLE),
    ):
        try:
            check(url)
        except Exception as error:  # any connection error: say which service
            scaleout.unavailable(what, url, error, variable)
    return broker, redis


def _wait_for(condition, timeout: float, what: str, cluster: scaleout.Cluster):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise scaleout.ClusterError(
                f"timed out after {timeout:.0f} s waiting for {what}\n"
                f"{cluster.log_tail('daemon.log')}"
            )
        time.sleep(0.5)


def test_backfill_spreads_over_two_celery_workers_and_survives_losing_one(
    services, postgres_url, tmp_path, sample_of
):
    broker, redis = services
    sample = sample_of(start=DAYS[0], days=len(DAYS), rows_per_day=ROWS_PER_DAY, seed=5)
    data_dir = copy_landing(sample, tmp_path / "data")
    marker = tmp_path / "held.json"
    hold_env = {"ETL_TEST_HOLD_STEP": HELD_STEP, "ETL_TEST_HOLD_MARKER": str(marker)}

    with (
        temporary_database(postgres_url, prefix="etl_celery") as database,
        scaleout.claimed_redis_db(redis) as backend,
        scaleout.Cluster(
            root=tmp_path, data_dir=data_dir, database=database, broker=broker, backend=backend
        ) as cluster,
    ):
        for name in ("alpha", "beta"):
            cluster.start_worker(
                f"{name}-{cluster.queue}",
                includes=["etl_assets_tests.scaleout.hold_step"],
                extra_env=hold_env,
            )
        cluster.start_daemon()
        # While they start: the same days in this process, into a lake of its own.
        reference_lake = tmp_path / "reference_lake"
        assert scaleout.reference_run(data_dir, reference_lake, DAYS)
        cluster.wait_workers(timeout=180)
        backfill_id = cluster.launch_backfill(DAYS)

        # A worker reaches silver__orders and is held there; kill it as a lost machine.
        held = json.loads(
            _wait_for(
                lambda: marker.exists() and marker.read_text(),
                timeout=300,
                what=f"a worker to start {HELD_STEP}",
                cluster=cluster,
            )
        )
        lost = next(w for w in cluster.pool.workers if w.node == held["worker"])
        cluster.pool.kill(lost)
        assert not lost.alive()

        status = cluster.wait_backfill(backfill_id, timeout=600)
        runs = cluster.runs(backfill_id)
        run_ids = [run.run_id for run in runs]
        records = {r: cluster.instance.get_run_record_by_id(r) for r in run_ids}
        steps = scaleout.celery_steps(cluster.instance, run_ids)
        counts = scaleout.materializations(cluster.instance, run_ids)
        workers = {w.node for w in cluster.pool.workers}
        failed = scaleout.failures(cluster.instance, run_ids)
        silver_orders = cluster.instance.fetch_materializations(
            dg.AssetKey(["silver", "orders"]), limit=100
        ).records

    assert status == "COMPLETED_SUCCESS", failed
    assert {run.status.value for run in runs} == {"SUCCESS"}, "\n".join(failed)

    # One run per day for the daily assets; the undated marts in runs of no day, after them.
    by_day: dict[str | None, list] = {}
    for run in runs:
        by_day.setdefault(run.tags.get("dagster/asset_partition_range_start"), []).append(run)
    assert set(by_day) == {*DAYS, None}
    for day in DAYS:
        for run in by_day[day]:
            assert run.tags["dagster/asset_partition_range_end"] == day
    marts = {"gold/customer_rfm", "gold/product_performance", "gold/cohort_retention"}
    # Each mart starts when its own inputs are ready: in one run or in several.
    mart_runs = [r for r in runs if marts & {k.to_user_string() for k in r.asset_selection}]
    assert mart_runs and all(
        r.tags.get("dagster/asset_partition_range_start") is None for r in mart_runs
    )
    # The marts start once every day of silver/orders is materialized (the day's run may
    # still be finishing its check steps: the backfill launches on materializations).
    assert sorted(r.partition_key for r in silver_orders) == sorted(DAYS)
    last_silver = max(r.timestamp for r in silver_orders)
    assert all(last_silver <= records[r.run_id].start_time for r in mart_runs)

    # Steps ran on both workers, every step on a worker, and every one succeeded.
    assert all(step.succeeded for step in steps), [s for s in steps if not s.succeeded]
    assert all(step.worker in workers for step in steps)
    finished_on = {step.worker for step in steps}
    assert finished_on == workers, f"steps finished only on {finished_on}"

    # The held step was started by the lost worker and finished by the other one.
    (redelivered,) = [s for s in steps if len(s.workers) > 1]
    assert redelivered.step_key == HELD_STEP
    assert redelivered.workers == (lost.node, next(iter(workers - {lost.node})))

    # Every partition of the backfill materialized exactly once; the lake equals the
    # in-process run of the same days.
    expected = {(asset, day) for asset in DAILY_ASSETS for day in DAYS}
    expected |= {(asset, None) for asset in UNDATED_ASSETS}
    assert set(counts) == expected
    assert {key: n for key, n in counts.items() if n != 1} == {}
    assert scaleout.lake_differences(data_dir / "lake", reference_lake) == []
