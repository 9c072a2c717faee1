"""Test instrumentation for Celery workers: hold one step mid-execution, once.

Loaded into a worker with `-i etl_assets_tests.scaleout.hold_step` (never by the code
location). The first worker to start step `ETL_TEST_HOLD_STEP` claims the marker file
`ETL_TEST_HOLD_MARKER` (atomic create), writes its node name, pid and the step there, and
stops right after the step's STEP_START event reached the Dagster instance, until the test
kills it: a worker lost in the middle of a step, at a moment the test knows. Every other
start of that step (the redelivered task on another worker) runs normally.
"""

from __future__ import annotations

import json
import os
import time

import dagster_celery.tasks as tasks
from celery import current_task

_HOLD_STEP = os.environ.get("ETL_TEST_HOLD_STEP", "")
_MARKER = os.environ.get("ETL_TEST_HOLD_MARKER", "")
_HOLD_SECONDS = 600  # far longer than the test waits: it kills the worker before
_execute_plan_iterator = tasks.execute_plan_iterator


def _claim(event) -> bool:
    try:
        fd = os.open(_MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    hostname = current_task.request.hostname if current_task else None
    with os.fdopen(fd, "w") as marker:
        json.dump({"worker": hostname, "pid": os.getpid(), "step": event.step_key}, marker)
    return True


def _held(*args, **kwargs):
    for event in _execute_plan_iterator(*args, **kwargs):
        yield event
        if (
            _HOLD_STEP
            and _MARKER
            and event.event_type_value == "STEP_START"
            and event.step_key == _HOLD_STEP
            and _claim(event)
        ):
            time.sleep(_HOLD_SECONDS)


tasks.execute_plan_iterator = _held
