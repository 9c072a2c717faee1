"""`dagster dev` (webserver, daemon and code server) for end-to-end tests.

Starts on a free port with its own DAGSTER_HOME and data directory, waits (bounded) until the
code location is loaded, speaks GraphQL to it, and always stops it: Ctrl-C as an operator
would, then SIGTERM and SIGKILL to its whole process group if it does not go in time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from dagster_graphql import DagsterGraphQLClient

REPO = Path(__file__).resolve().parents[2]
LOCATION = "etl_assets"
REPOSITORY = "__repository__"

_LOCATION_STATUS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""


class DagsterDevError(RuntimeError):
    """The server did not come up, or a GraphQL call failed."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dagster_command() -> Path:
    """The repository's .venv, else the environment running the tests (a worktree)."""
    local = REPO / ".venv" / "bin" / "dagster"
    return local if local.exists() else Path(sys.executable).parent / "dagster"


class DagsterDev:
    def __init__(self, home: Path, data_dir: Path, log_path: Path, **env: str) -> None:
        self.home = home
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "ETL_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.client = DagsterGraphQLClient("127.0.0.1", port_number=self.port)

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 120) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "dagster.yaml", self.home / "dagster.yaml")
        command = [
            str(_dagster_command()),
            "dev",
            "-w",
            str(REPO / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches every child
            )
        self.wait_for(self._location_loaded, timeout, "the code location to load")

    def stop(self, timeout: float = 30) -> bool:
        """Stops everything; True when it shut down cleanly on Ctrl-C within `timeout`."""
        if self.process is None:
            return True
        process, self.process = self.process, None
        deadline = time.monotonic() + timeout
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # The webserver, daemon and code servers exit a few seconds after `dagster dev` itself.
        while self.group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        clean = process.poll() is not None and not self.group_alive(process.pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self.group_alive(process.pid):
                break
            os.killpg(process.pid, sig)
            deadline = time.monotonic() + 10
            while self.group_alive(process.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
        if process.poll() is None:
            process.wait(timeout=10)
        return clean

    @staticmethod
    def group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # ------------------------------------------------------------------ GraphQL

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise DagsterDevError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def selector(self, **names: str) -> dict[str, str]:
        return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, **names}

    # ------------------------------------------------------------------ waiting

    def wait_for(self, condition: Callable[[], Any], timeout: float, what: str, every=0.5):
        """Polls `condition` until it returns something truthy; fails with the server log."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise DagsterDevError(
                    f"dagster dev exited while waiting for {what}:\n{self.log_tail()}"
                )
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise DagsterDevError(
                    f"timed out after {timeout} s waiting for {what}:\n{self.log_tail()}"
                )
            time.sleep(every)

    def _location_loaded(self) -> bool:
        try:
            data = self.graphql(_LOCATION_STATUS)
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError):
            return False
        entries = data["workspaceOrError"].get("locationEntries", [])
        for entry in entries:
            error = entry["locationOrLoadError"] or {}
            if error.get("__typename") == "PythonError":
                raise DagsterDevError(f"the code location failed to load: {error['message']}")
        return any(
            entry["loadStatus"] == "LOADED" and entry["locationOrLoadError"] for entry in entries
        )
