"""Run-failure alerts as a resource: the alert's text and Slack payload, and its delivery.

Every alert goes to the log (the sensor tick's log in the UI, and the `etl_assets.alerts`
Python logger of the process that evaluates sensors). When `webhook_url` is set it is also
POSTed there as Slack-compatible JSON (`text` plus `blocks`), which Slack, Mattermost,
Rocket.Chat and Teams' Slack-compatible connectors accept.

A webhook that is down is retried a few times within the tick, then given up with an error
in the log: raising would stall the sensor on that one failure, and every later alert with it.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import dagster as dg

from etl_assets.settings import ALERT_WEBHOOK_VARIABLE

_LOGGER = logging.getLogger("etl_assets.alerts")


@dataclass(frozen=True)
class RunFailureAlert:
    job: str
    run_id: str
    partition: str | None
    summary: str
    failed_steps: tuple[tuple[str, str], ...]  # (step key, first line of its error)
    run_url: str

    @property
    def title(self) -> str:
        where = f" (partition {self.partition})" if self.partition else ""
        return f"Run failed: {self.job}{where}"

    def text(self) -> str:
        lines = [self.title, self.summary]
        lines += [f"- {step}: {error}" for step, error in self.failed_steps]
        lines.append(f"Run {self.run_id}: {self.run_url}")
        return "\n".join(lines)

    def slack_payload(self) -> dict:
        steps = "\n".join(f"• `{step}`: {error}" for step, error in self.failed_steps)
        details = f"{self.summary}\n{steps}" if steps else self.summary
        return {
            "text": f":red_circle: {self.title}",  # notifications, and clients without blocks
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": self.title}},
                {"type": "section", "text": {"type": "mrkdwn", "text": details}},
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": f"<{self.run_url}|Run {self.run_id[:8]}>"}
                    ],
                },
            ],
        }


class Alerts(dg.ConfigurableResource):
    """Delivers alerts: to the log always, and to `webhook_url` when it is set."""

    webhook_url: str | None = None
    ui_url: str = "http://localhost:3000"
    timeout_seconds: float = 5.0
    attempts: int = 3

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def send(self, alert: RunFailureAlert, log: logging.Logger | dg.DagsterLogManager) -> bool:
        """Logs the alert, then posts it to the webhook; True when the webhook took it."""
        text = alert.text()
        log.error(text)
        _LOGGER.error(text)
        if not self.webhook_url:
            return False
        body = json.dumps(alert.slack_payload()).encode("utf-8")
        for attempt in range(1, self.attempts + 1):
            problem = self._post(body)
            if problem is None:
                log.info(f"alert for run {alert.run_id} sent to the webhook")
                return True
            if attempt < self.attempts:
                time.sleep(0.5 * 2 ** (attempt - 1))
        # Never the URL itself: a Slack webhook URL is a credential.
        message = (
            f"alert for run {alert.run_id} NOT delivered to the webhook ({ALERT_WEBHOOK_VARIABLE}) "
            f"after {self.attempts} attempts: {problem}. It is in this log only."
        )
        log.error(message)
        _LOGGER.error(message)
        return False

    def _post(self, body: bytes) -> str | None:
        request = urllib.request.Request(
            self.webhook_url or "",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            return type(error).__name__ + (f" ({error.reason})" if hasattr(error, "reason") else "")
