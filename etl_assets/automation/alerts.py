"""The run-failure sensor: every failed run of this code location becomes an alert.

The sensor sums the run up (job, partition, the first line of each failed step's error)
and hands it to the `alerts` resource (connectors/alerts.py), which delivers it to the log
and, when ETL_ALERT_WEBHOOK_URL is set, to a Slack-compatible webhook.
"""

from __future__ import annotations

import re

import dagster as dg

from etl_assets.connectors.alerts import Alerts, RunFailureAlert
from etl_assets.settings import ALERT_WEBHOOK_VARIABLE

FAILURE_SENSOR = "run_failure_alert"
_MAX_STEPS = 5  # failed steps spelled out in one alert
_MAX_ERROR_CHARS = 400
# "dagster._core.definitions.events.Failure: landing file not found" -> "landing file not found"
_EXCEPTION_TYPE = re.compile(r"^[\w.]*\.(?=[A-Z])\w+: ")


def failure_alert(context: dg.RunFailureSensorContext, alerts: Alerts) -> RunFailureAlert:
    run = context.dagster_run
    tags = run.tags
    partition = tags.get("dagster/partition") or _range(tags)
    steps = []
    for event in context.get_step_failure_events()[:_MAX_STEPS]:
        error = event.step_failure_data.error
        lines = (error.message if error else "no error recorded").strip().splitlines()
        first = _EXCEPTION_TYPE.sub("", lines[0] if lines else "")
        steps.append((event.step_key or "?", first[:_MAX_ERROR_CHARS]))
    return RunFailureAlert(
        job=run.job_name,
        run_id=run.run_id,
        partition=partition,
        summary=(context.failure_event.message or "the run failed")[:_MAX_ERROR_CHARS],
        failed_steps=tuple(steps),
        run_url=alerts.run_url(run.run_id),
    )


def _range(tags) -> str | None:
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    return f"{start}..{end}" if start and end else None


def build_failure_alert_sensor(default_status: dg.DefaultSensorStatus) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=FAILURE_SENSOR,
        default_status=default_status,
        description="Sends an alert for every failed run of this code location: to the log, "
        f"and to {ALERT_WEBHOOK_VARIABLE} (Slack-compatible) when it is set.",
    )
    def run_failure_alert(context: dg.RunFailureSensorContext, alerts: Alerts) -> None:
        alerts.send(failure_alert(context, alerts), context.log)

    return run_failure_alert
