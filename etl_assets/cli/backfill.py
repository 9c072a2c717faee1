"""`etl-assets backfill`: launch a backfill of a day range from the command line, as the UI does.

    etl-assets backfill --from 2024-01-01 --to 2024-01-31 [--wait]
    make backfill FROM=2024-01-01 TO=2024-01-31

It sends the running webserver (`make dev`, or ETL_UI_URL) the GraphQL mutation of the
UI's "Materialize" with a partition range, so the daemon runs it: the daily assets over the
whole range in a single run (their backfill policy is single-run; one run per day would
load the code and the quality suites once per day), and the undated assets once. `--assets`
narrows it to some asset keys, e.g. `--assets bronze/orders silver/orders`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

_NODES = "{ assetNodes { assetKey { path } isPartitioned } }"
_LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 100) { runId status } }
    ... on PythonError { message }
  }
}
"""
FINISHED = ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")


class BackfillError(RuntimeError):
    """The webserver refused the backfill or is not reachable."""


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    import requests  # here, not at import: every `etl-assets` command loads this module

    try:
        response = requests.post(
            f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
    except requests.ConnectionError as error:
        raise BackfillError(
            f"no Dagster webserver at {url}: start it with `make dev`, or pass --url"
        ) from error
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise BackfillError(f"{url} refused the request: {body['errors'][0]['message']}")
    return body["data"]


def launch_backfill(
    url: str, first_day: str, last_day: str, assets: list[str] | None = None
) -> str:
    """Submits the backfill; returns its id."""
    nodes = _graphql(url, _NODES)["assetNodes"]
    wanted = set(assets or [])
    selection = []
    for node in nodes:
        key = "/".join(node["assetKey"]["path"])
        if wanted and key not in wanted:
            continue
        entry: dict = {"assetKey": {"path": node["assetKey"]["path"]}}
        if node["isPartitioned"]:
            entry["partitions"] = {"range": {"start": first_day, "end": last_day}}
        selection.append(entry)
    unknown = wanted - {"/".join(n["assetKey"]["path"]) for n in nodes}
    if unknown:
        raise BackfillError(f"no such asset(s): {', '.join(sorted(unknown))}")
    params = {
        "partitionsByAssets": selection,
        "title": f"{first_day}..{last_day}",
        "tags": [{"key": "etl/launched_by", "value": "backfill-cli"}],
    }
    result = _graphql(url, _LAUNCH, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise BackfillError(f"backfill refused: {result.get('message', result['__typename'])}")
    return result["backfillId"]


def backfill_status(url: str, backfill_id: str) -> dict:
    return _graphql(url, _STATUS, {"id": backfill_id})["partitionBackfillOrError"]


def wait_for_backfill(url: str, backfill_id: str, timeout: float, poll: float = 2.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = backfill_status(url, backfill_id)
        if status.get("status") in FINISHED or time.monotonic() > deadline:
            return status
        time.sleep(poll)


def _day(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD") from error


def register(commands) -> None:
    parser = commands.add_parser(
        "backfill",
        help="launch a single-run backfill of a day range through the running webserver",
        description=__doc__,
    )
    parser.add_argument("--from", dest="first_day", type=_day, required=True)
    parser.add_argument("--to", dest="last_day", type=_day, required=True)
    parser.add_argument("--assets", nargs="*", help="asset keys (layer/name); default: all")
    parser.add_argument("--url", help="webserver URL (default: ETL_UI_URL)")
    parser.add_argument("--wait", action="store_true", help="wait until it has finished")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds --wait waits")
    parser.set_defaults(handler=lambda args: _backfill(args, parser))


def _backfill(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from etl_assets.settings import get_settings

    if args.last_day < args.first_day:
        parser.error("--to is before --from")
    url = (args.url or get_settings().ui_url).rstrip("/")
    try:
        backfill_id = launch_backfill(url, args.first_day, args.last_day, args.assets)
        print(f"backfill {backfill_id} launched: {url}/runs/b/{backfill_id}")
        if not args.wait:
            return 0
        status = wait_for_backfill(url, backfill_id, args.timeout)
    except BackfillError as error:
        print(f"backfill: {error}", file=sys.stderr)
        return 2
    runs = status.get("runs", [])
    print(f"backfill {backfill_id}: {status.get('status', 'UNKNOWN')}, {len(runs)} run(s)")
    for run in runs:
        print(f"  {run['runId']}  {run['status']}")
    return 0 if status.get("status") in ("COMPLETED", "COMPLETED_SUCCESS") else 1
