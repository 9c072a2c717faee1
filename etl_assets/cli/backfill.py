"""`etl-assets backfill`: launch a backfill of a day range from the command line, as the UI does.

    etl-assets backfill --from 2024-01-01 --to 2024-01-31 [--wait]
    make backfill FROM=2024-01-01 TO=2024-01-31

It sends the running webserver (`make dev`, or ETL_UI_URL) the GraphQL mutation of the
UI's "Materialize" with a partition range, so the daemon runs it: the daily assets over the
whole range in a single run (their backfill policy is single-run; one run per day would
load the code and the quality suites once per day), and the undated assets once. `--assets`
narrows it to some asset keys, e.g. `--assets bronze/orders silver/orders`.

With `--wait`, a range run that failed on some days is followed until the
`failed_range_days` sensor has run its good days (automation/range_follow_up.py): the
command prints one line per failed day and cause, and the follow-up runs, and exits 1 when
a day failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from etl_assets.automation.split_tags import (
    FAILED_DAYS_TAG,
    FOLLOW_UPS_TAG,
    SPLIT_OF_TAG,
    SPLIT_TAG,
)

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
    ... on PartitionBackfill { status runs(limit: 100) { runId status tags { key value } } }
    ... on PythonError { message }
  }
}
"""
_FOLLOW_UPS = """
query FollowUps($runId: ID!, $tag: String!, $value: String!) {
  runOrError(runId: $runId) { ... on Run { tags { key value } } }
  runsOrError(filter: { tags: [{ key: $tag, value: $value }] }) {
    ... on Runs { results { runId status tags { key value } } }
  }
}
"""
RUN_FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
DECISION_SECONDS = 120  # how long --wait waits for the failed_range_days sensor's decision
FINISHED = ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")


_RANGE_START = "dagster/asset_partition_range_start"
_RANGE_END = "dagster/asset_partition_range_end"


_NO_DECISION = (
    "no decision from the failed_range_days sensor: is it running? "
    "(`dagster sensor start failed_range_days`, or the UI's Sensors page)"
)


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


def _tags(run: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run.get("tags") or []}


def follow_ups_of(url: str, run_id: str, deadline: float, poll: float = 2.0) -> tuple[dict, list]:
    """A failed range run's tags once the `failed_range_days` sensor has decided (it ticks
    every 10 s; given up after DECISION_SECONDS), and its follow-up runs once they have
    finished (or at the deadline)."""
    undecided_until = min(deadline, time.monotonic() + DECISION_SECONDS)
    while True:
        data = _graphql(url, _FOLLOW_UPS, {"runId": run_id, "tag": SPLIT_OF_TAG, "value": run_id})
        tags = _tags(data["runOrError"])
        runs = (data["runsOrError"] or {}).get("results", [])
        if SPLIT_TAG not in tags:
            if time.monotonic() > undecided_until:
                return tags, runs
        elif len(runs) >= int(tags.get(FOLLOW_UPS_TAG, "0")) and all(
            r["status"] in RUN_FINISHED for r in runs
        ):
            return tags, runs
        if time.monotonic() > deadline:
            return tags, runs
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
    deadline = time.monotonic() + args.timeout
    try:
        failed_days = _print_follow_ups(url, runs, deadline)
    except BackfillError as error:
        print(f"backfill: {error}", file=sys.stderr)
        return 2
    ok = status.get("status") in ("COMPLETED", "COMPLETED_SUCCESS") and not failed_days
    return 0 if ok else 1


def _print_follow_ups(url: str, runs: list[dict], deadline: float, indent: str = "  ") -> bool:
    """Prints the runs; under each failed range run, the sensor's decision, one line per
    failed day and cause, and its follow-up runs (themselves split when they fail). True
    when a day failed."""
    failed = False
    for run in runs:
        print(f"{indent}{run['runId']}  {run['status']}{_follow_up_days(run)}")
        if run["status"] != "FAILURE" or not _tags(run).get(_RANGE_START):
            failed = failed or run["status"] != "SUCCESS"
            continue
        tags, follow = follow_ups_of(url, run["runId"], deadline)
        print(f"{indent}  {tags.get(SPLIT_TAG, _NO_DECISION)}")
        lines = [line for line in tags.get(FAILED_DAYS_TAG, "").splitlines() if line]
        print("".join(f"{indent}  FAILED {line}\n" for line in lines), end="")
        failed = True
        _print_follow_ups(url, follow, deadline, indent + "  ")
    return failed


def _follow_up_days(run: dict) -> str:
    tags = _tags(run)
    if SPLIT_OF_TAG not in tags:
        return ""
    return f"  (follow-up, {tags.get(_RANGE_START)} .. {tags.get(_RANGE_END)})"
