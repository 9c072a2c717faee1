"""Retries: transient I/O errors are retried with backoff and jitter; bad data fails at once."""

from __future__ import annotations

import dagster as dg

from etl_assets.assets import retries
from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.connectors.files import LandingFiles

BRONZE_ORDERS = dg.AssetKey(["bronze", "orders"])


def retry_policy_of(defs: dg.Definitions, key: str) -> dg.RetryPolicy | None:
    assets_def = defs.resolve_assets_def(dg.AssetKey.from_user_string(key))
    return assets_def.op.retry_policy


def retried_steps(result) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_io_steps_retry_with_exponential_backoff_and_jitter(data_dir, defs_for):
    defs, _ = defs_for(data_dir)
    for key in ("bronze/orders", "bronze/products", "gold/daily_sales", "gold/customer_rfm"):
        policy = retry_policy_of(defs, key)
        assert policy is not None, key
        assert policy.max_retries == 3
        assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter == dg.Jitter.PLUS_MINUS
    assert retry_policy_of(defs, "silver/orders") is None  # pure computation: a retry fails alike


def test_transient_read_error_is_retried_and_the_run_succeeds(
    data_dir, defs_for, instance, monkeypatch
):
    quick = dg.RetryPolicy(
        max_retries=2, delay=0.01, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    )
    monkeypatch.setattr(retries, "LANDING_READ_RETRY", quick)  # read when assets are built
    defs, _ = defs_for(data_dir)
    real_read = LandingFiles.read_bytes
    failures = {"left": 1}

    def flaky_read(self, relative_path):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionResetError("connection reset by the storage service")
        return real_read(self, relative_path)

    monkeypatch.setattr(LandingFiles, "read_bytes", flaky_read)
    result = defs.resolve_job_def(MEDALLION_JOB).execute_in_process(
        instance=instance, partition_key="2024-01-01", asset_selection=[BRONZE_ORDERS]
    )
    assert result.success
    assert retried_steps(result) == ["bronze__orders"]


def test_missing_landing_file_fails_without_retrying(data_dir, defs_for, instance):
    defs, _ = defs_for(data_dir)
    result = defs.resolve_job_def(MEDALLION_JOB).execute_in_process(
        instance=instance,
        partition_key="2024-02-01",
        asset_selection=[BRONZE_ORDERS],
        raise_on_error=False,
    )
    assert not result.success
    assert retried_steps(result) == []
    [failure] = result.get_step_failure_events()
    assert "orders_2024-02-01.csv" in str(failure.step_failure_data.error)
