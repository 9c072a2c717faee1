"""Execution profiles (ETL_EXECUTOR): the executor, the backfill policy, the Celery config.

The default profile must stay exactly what it was (in process, single-run backfills); the
distributed ones split a backfill into one run per day; the Celery settings of the executor
and of the shipped worker config are the same, and both pass dagster-celery's validation.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config

from etl_assets.automation.executors import (
    CELERY_APP_SETTINGS,
    DEFAULT_CELERY_BACKEND,
    DEFAULT_CELERY_BROKER,
    WORKER_CONFIG,
    celery_executor_config,
    worker_command,
    worker_environment,
)
from etl_assets.definitions import build_definitions
from etl_assets.settings import SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]
DAILY = {"bronze/orders", "bronze/customers", "silver/orders", "gold/daily_sales"}
UNDATED = ("gold/customer_rfm", "gold/cohort_retention", "silver/customers", "bronze/products")


def _defs(tmp_path, **env: str) -> dg.Definitions:
    return build_definitions(load_settings({"ETL_DATA_DIR": str(tmp_path), **env}))


def _policies(defs: dg.Definitions) -> dict[str, dg.BackfillPolicy | None]:
    """Backfill policy of every executable asset, by asset key ("layer/name")."""
    return {
        key.to_user_string(): assets.backfill_policy
        for assets in defs.resolve_asset_graph().assets_defs
        if assets.is_executable
        for key in assets.keys
    }


def test_default_profile_is_in_process_with_single_run_backfills(tmp_path):
    defs = _defs(tmp_path)
    job = defs.resolve_job_def("medallion")
    assert job.executor_def is dg.in_process_executor
    policies = _policies(defs)
    assert {name: str(policies[name]) for name in DAILY} == dict.fromkeys(
        DAILY, str(dg.BackfillPolicy.single_run())
    )
    assert {policies[name] for name in UNDATED} == {None}  # undated: no policy, as before


@pytest.mark.parametrize(
    ("executor", "executor_name", "days_per_run"),
    [
        ("in_process", "in_process", None),
        ("multiprocess", "multiprocess", None),
        ("celery", "celery", 1),
        ("k8s", "k8s", 1),
    ],
)
def test_each_profile_picks_its_executor_and_backfill_policy(
    tmp_path, executor, executor_name, days_per_run
):
    defs = _defs(tmp_path, ETL_EXECUTOR=executor)
    assert defs.resolve_job_def("medallion").executor_def.name == executor_name
    policies = _policies(defs)
    for name in DAILY:
        assert policies[name].max_partitions_per_run == days_per_run, name
    for name in UNDATED:
        assert policies[name] is None, name  # undated: once, after the days


def test_days_per_run_of_a_distributed_backfill(tmp_path):
    policies = _policies(_defs(tmp_path, ETL_EXECUTOR="celery", ETL_BACKFILL_DAYS_PER_RUN="7"))
    assert {policies[name].max_partitions_per_run for name in DAILY} == {7}
    # In process the setting changes nothing: a range is one run.
    policies = _policies(_defs(tmp_path, ETL_BACKFILL_DAYS_PER_RUN="7"))
    assert {policies[name].max_partitions_per_run for name in DAILY} == {None}
    with pytest.raises(SettingsError, match="ETL_BACKFILL_DAYS_PER_RUN"):
        load_settings({"ETL_BACKFILL_DAYS_PER_RUN": "0"})


def test_unknown_executor_and_bad_queue_are_refused():
    with pytest.raises(SettingsError, match="in_process, multiprocess, celery, k8s"):
        load_settings({"ETL_EXECUTOR": "dask"})
    with pytest.raises(SettingsError, match="ETL_CELERY_QUEUE"):
        load_settings({"ETL_CELERY_QUEUE": "etl assets"})
    assert load_settings({"ETL_EXECUTOR": "In-Process"}).executor == "in_process"


def test_celery_urls_are_not_source_urls_and_never_in_config(tmp_path):
    secret = "pyamqp://etl:s3cret@broker.internal:5672//"
    settings = load_settings(
        {
            "ETL_DATA_DIR": str(tmp_path),
            "ETL_EXECUTOR": "celery",
            "ETL_CELERY_BROKER_URL": secret,
            "ETL_CELERY_BACKEND_URL": "redis://:s3cret@cache:6379/1",
        }
    )
    assert "ETL_CELERY_BROKER_URL" not in settings.source_urls
    assert "ETL_CELERY_BACKEND_URL" not in settings.source_urls
    config = celery_executor_config(settings)
    assert config["broker"] == {"env": "ETL_CELERY_BROKER_URL"}
    assert config["backend"] == {"env": "ETL_CELERY_BACKEND_URL"}
    assert "s3cret" not in repr(config) and "s3cret" not in repr(settings)


def test_celery_executor_config_defaults_and_validates(tmp_path, monkeypatch):
    from dagster_celery import celery_executor

    settings = load_settings({"ETL_DATA_DIR": str(tmp_path), "ETL_CELERY_QUEUE": "etl_q"})
    config = celery_executor_config(settings)
    assert config["broker"] == DEFAULT_CELERY_BROKER == "pyamqp://guest@127.0.0.1:5672//"
    assert config["backend"] == DEFAULT_CELERY_BACKEND
    assert config["config_source"] == {**CELERY_APP_SETTINGS, "task_default_queue": "etl_q"}
    # Redelivery of a lost worker's step rests on these two.
    assert config["config_source"]["task_acks_late"] is True
    assert config["config_source"]["task_reject_on_worker_lost"] is True
    result = validate_config(celery_executor.config_schema.config_type, config)
    assert result.success, result.errors


def test_worker_config_matches_the_executor_and_passes_dagster_celery(tmp_path, monkeypatch):
    """deploy/celery/worker.yaml, read the way `dagster-celery worker start -y` reads it."""
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("ETL_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("ETL_CELERY_BACKEND_URL", "redis://127.0.0.1:6379/0")
    validated = get_validated_config(str(WORKER_CONFIG))
    assert validated["broker"] == "redis://127.0.0.1:6379/0"
    assert validated["backend"] == "redis://127.0.0.1:6379/0"
    assert validated["config_source"] == dict(CELERY_APP_SETTINGS)


def test_worker_command_is_the_documented_one(tmp_path):
    settings = load_settings({"ETL_DATA_DIR": str(tmp_path), "ETL_EXECUTOR": "celery"})
    command = worker_command(settings, "worker1")
    assert Path(command[0]).name == "dagster-celery"
    assert command[1:] == [
        "worker",
        "start",
        "-A",
        "dagster_celery.app",
        "-y",
        str(WORKER_CONFIG),
        "-q",
        "etl_assets",
        "-n",
        "worker1",
        "-l",
        "INFO",
        "--",
        "--concurrency=1",
        "--without-mingle",
    ]
    documented = (
        "dagster-celery worker start -A dagster_celery.app -y deploy/celery/worker.yaml "
        "-q etl_assets -n worker1 -- --concurrency=1"
    )
    doc = (REPO / "docs" / "scale-out.md").read_text()
    assert documented in " ".join(doc.replace("\\\n", " ").split())
    env = worker_environment(settings, {"PATH": "/usr/bin"})
    assert env["ETL_EXECUTOR"] == "celery"
    assert env["ETL_CELERY_BROKER_URL"] == DEFAULT_CELERY_BROKER
    assert env["PATH"].endswith("/usr/bin")


def test_celery_instance_config_parses(tmp_path):
    """deploy/celery/dagster.yaml passes Dagster's own instance config validation."""
    shutil.copy(REPO / "deploy" / "celery" / "dagster.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_retries"] == {
        "enabled": True,
        "max_retries": 2,
        "retry_on_asset_or_op_failure": False,
    }
    limits = {limit["key"] for limit in config["run_queue"]["tag_concurrency_limits"]}
    # One run per day at a time (backfill runs carry the range tags, sensor runs the
    # partition tag); never one backfill run at a time, which would undo the fan-out.
    assert limits == {"dagster/asset_partition_range_start", "dagster/partition"}
    assert "dagster/backfill" not in limits
    raw = yaml.safe_load((REPO / "deploy" / "celery" / "dagster.yaml").read_text())
    assert raw["storage"]["postgres"]["postgres_db"]["password"] == {"env": "DAGSTER_PG_PASSWORD"}
