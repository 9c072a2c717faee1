"""The Celery profile on Redis as broker and result backend (ETL_CELERY_BROKER_URL=redis://...).

The backfill test uses RabbitMQ; this one checks the other broker the docs name, through the
same contracts: a worker started with the documented command on a Redis database of its
own, and `dagster asset materialize` of the product catalogue (bronze, silver and their
checks) with ETL_EXECUTOR=celery on the shipped Celery instance config. Every step must have
run on that worker, and the lake must hold the result.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from etl_assets_tests import postgres_fixtures
from etl_assets_tests.conftest import copy_landing
from etl_assets_tests.postgres_fixtures import temporary_database
from etl_assets_tests.scaleout import cluster as scaleout

postgres_url = postgres_fixtures.postgres_url  # the shared fixture, bound for pytest
pytestmark = pytest.mark.scaleout  # processes and services: -m "not scaleout" skips


def test_steps_run_on_a_worker_of_a_redis_broker(postgres_url, tmp_path, sample_of):
    redis = scaleout.redis_url()
    try:
        scaleout.check_redis(redis)
    except Exception as error:  # any connection error: say which service
        scaleout.unavailable("Redis", redis, error, scaleout.REDIS_VARIABLE)
    sample = sample_of(start="2024-01-01", days=1, rows_per_day=100, seed=3)
    data_dir = copy_landing(sample, tmp_path / "data")

    with (
        temporary_database(postgres_url, prefix="etl_redis") as database,
        scaleout.claimed_redis_db(redis) as url,
        scaleout.Cluster(
            root=tmp_path, data_dir=data_dir, database=database, broker=url, backend=url
        ) as cluster,
    ):
        worker = cluster.start_worker(f"redis-{cluster.queue}")
        cluster.wait_workers(timeout=180)
        materialize = subprocess.run(
            [
                str(Path(sys.executable).parent / "dagster"),
                "asset",
                "materialize",
                "-m",
                "etl_assets.definitions",
                "--select",
                "bronze/products,silver/products,silver/products_quarantine",
            ],
            cwd=scaleout.REPO,
            env=cluster.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        runs = cluster.instance.get_runs()
        run_ids = [run.run_id for run in runs]
        steps = scaleout.celery_steps(cluster.instance, run_ids)
        failed = scaleout.failures(cluster.instance, run_ids)

    assert materialize.returncode == 0, materialize.stderr[-3000:] + "\n".join(failed)
    assert [run.status.value for run in runs] == ["SUCCESS"]
    assert {"bronze__products", "silver__products"} <= {step.step_key for step in steps}
    assert all(step.succeeded and step.workers == (worker.node,) for step in steps), steps
    products = pd.read_parquet(data_dir / "lake" / "silver" / "products.parquet")
    assert len(products) > 0
