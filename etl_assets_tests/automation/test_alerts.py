"""Failure alerts: a real failed run, the run-failure sensor, and a local webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from etl_assets.automation.alerts import FAILURE_SENSOR
from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.connectors.alerts import Alerts
from etl_assets.resources import alerts_resource
from etl_assets_tests.conftest import settings_for

MISSING_DAY = "2024-02-01"  # no landing file: bronze fails


class Webhook:
    """A Slack-style incoming webhook on 127.0.0.1 that records what it receives."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                length = int(self.headers["Content-Length"])
                webhook.received.append(
                    {
                        "path": self.path,
                        "content_type": self.headers["Content-Type"],
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                self.send_response(webhook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def failed_run(data_dir, defs_for, instance):
    """A real failure: the medallion job for a day whose landing file is missing."""
    defs, _ = defs_for(data_dir)
    result = defs.resolve_job_def(MEDALLION_JOB).execute_in_process(
        instance=instance, partition_key=MISSING_DAY, raise_on_error=False
    )
    assert not result.success
    return defs, instance, result


def alert_for(failed_run, alerts: Alerts) -> None:
    defs, instance, result = failed_run
    context = dg.build_run_status_sensor_context(
        sensor_name=FAILURE_SENSOR,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"alerts": alerts},
    )
    defs.resolve_sensor_def(FAILURE_SENSOR)(context)


def test_failed_run_posts_a_slack_compatible_alert(failed_run, capsys):
    run_id = failed_run[2].run_id
    with Webhook() as webhook:
        alert_for(failed_run, Alerts(webhook_url=webhook.url, ui_url="http://dagster.example"))
    [request] = webhook.received
    assert request["path"] == "/services/T000/B000/secret"
    assert request["content_type"] == "application/json"
    payload = request["body"]
    assert payload["text"] == f":red_circle: Run failed: {MEDALLION_JOB} (partition {MISSING_DAY})"
    blocks = json.dumps(payload["blocks"])
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context"]
    assert f"orders_{MISSING_DAY}.csv" in blocks  # the failed step says which file is missing
    assert f"http://dagster.example/runs/{run_id}" in blocks
    log = capsys.readouterr().err
    assert f"Run failed: {MEDALLION_JOB} (partition {MISSING_DAY})" in log  # logged as well
    assert "sent to the webhook" in log


def test_without_a_webhook_the_alert_goes_to_the_log(failed_run, capsys):
    alert_for(failed_run, Alerts())
    log = capsys.readouterr().err
    assert f"Run failed: {MEDALLION_JOB} (partition {MISSING_DAY})" in log
    assert f"orders_{MISSING_DAY}.csv" in log
    assert "sent to the webhook" not in log and "NOT delivered" not in log


def test_webhook_that_fails_is_retried_then_reported_without_its_url(failed_run, capsys):
    with Webhook(status=500) as webhook:
        alert_for(failed_run, Alerts(webhook_url=webhook.url, attempts=2))
    assert len(webhook.received) == 2
    log = capsys.readouterr().err
    assert "NOT delivered to the webhook (ETL_ALERT_WEBHOOK_URL) after 2 attempts: HTTP 500" in log
    assert "secret" not in log  # the URL is a credential


def test_unreachable_webhook_does_not_stop_the_sensor(failed_run, capsys):
    with Webhook() as webhook:
        url = webhook.url
    alert_for(failed_run, Alerts(webhook_url=url, attempts=1, timeout_seconds=2))  # port closed
    assert "NOT delivered" in capsys.readouterr().err


def test_webhook_url_comes_from_the_environment_and_stays_out_of_config(tmp_path, monkeypatch):
    monkeypatch.setenv("ETL_ALERT_WEBHOOK_URL", "https://hooks.example/T1/B2/s3cret")
    settings = settings_for(
        tmp_path,
        ETL_ALERT_WEBHOOK_URL="https://hooks.example/T1/B2/s3cret",
        ETL_UI_URL="https://dagster.example/",
    )
    resource = alerts_resource(settings)
    assert "s3cret" not in repr(resource._get_non_default_public_field_values())
    assert resource.run_url("abc") == "https://dagster.example/runs/abc"
    assert alerts_resource(settings_for(tmp_path)).webhook_url is None
