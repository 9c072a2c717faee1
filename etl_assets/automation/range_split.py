"""A bad day fails alone: what a failed range run leaves to run again, without its bad days.

A range of days runs as one run (single-run backfill policy): bronze, silver and gold are
one step each over the range, which reads the code location and the quality suites once.
Dagster fails such a step whole: a landing file of one day that cannot be read fails the
bronze step of every day, and a blocking check that fails on one day (row accounting, the
reject-rate gate) skips the gold of every day. The step still knows which day was bad:
the evaluation carries its partition, and bronze names the day it could not read
(`FAILED_PARTITION` in the failure's metadata).

So a failed range is followed by runs over the stretches of good days, selecting only what
the failed run did not materialize (the steps it skipped) and the checks it did not
evaluate: the bad days stay failed, with their own message, and every other day lands.
A failure no day can be blamed for (a gold step, the warehouse) is not split: every day of
the range stays failed. The undated assets that read every day (the whole-history marts)
are not run again: a blocking failure upstream blocks them, as Dagster would.

`etl-assets run` does this in process (runner.py); after a range run the daemon launched (a
backfill from the UI, `make backfill`), the `failed_range_days` sensor asks for the same
follow-ups (range_follow_up.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from etl_assets.automation.split_tags import SPLIT_OF_TAG
from etl_assets.quality.checks.run_lines import reason_of, stretches

__all__ = ["SPLIT_OF_TAG", "Cause", "RunOutcome", "fails_a_day", "follow_ups", "outcome_of"]

# Metadata of a step's dagster.Failure: the partition (day) it could not process, and the
# asset it was building (`bronze/orders`; the step key when absent).
FAILED_PARTITION = "partition"
FAILED_ASSET = "asset"


@dataclass(frozen=True)
class Cause:
    """Why a day failed: the asset, and the reason (a check's, or the step's error)."""

    asset: str
    reason: str

    def __str__(self) -> str:
        return f"{self.asset}: {self.reason}"

    def line(self, day: str) -> str:
        """`silver/orders 2024-01-03: 100.0 % of 1,912 rows rejected (...), 5 % allowed`"""
        return f"{self.asset} {day}: {self.reason}"


@dataclass
class RunOutcome:
    """What one run did, day by day."""

    bad_days: dict[str, list[Cause]] = field(default_factory=dict)  # day -> why
    unattributed: list[str] = field(default_factory=list)  # failures of no particular day
    materialized: set[dg.AssetKey] = field(default_factory=set)
    evaluated: set[dg.AssetCheckKey] = field(default_factory=set)

    def blame(self, day: str, cause: Cause) -> None:
        causes = self.bad_days.setdefault(day, [])
        if cause not in causes:
            causes.append(cause)


def _failure_cause(event: dg.DagsterEvent) -> tuple[str | None, Cause]:
    data = event.step_failure_data
    user = data.user_failure_data if data else None
    step = event.step_key or "?"
    if user is not None:
        day = user.metadata.get(FAILED_PARTITION)
        asset = user.metadata.get(FAILED_ASSET)
        cause = Cause(asset.value if asset is not None else step, user.description or "failed")
        return (day.value if day is not None else None), cause
    message = data.error.message.strip() if data and data.error else "failed"
    return None, Cause(step, message)


def _blocks(check: dg.AssetCheckEvaluation) -> bool:
    return not check.passed and check.blocking and check.severity == dg.AssetCheckSeverity.ERROR


def fails_a_day(check: dg.AssetCheckEvaluation) -> bool:
    """A failed blocking check of one day: that day's failure (its line says it), not a
    check line of its own."""
    return _blocks(check) and bool(check.partition)


def outcome_of(events: Iterable[dg.DagsterEvent]) -> RunOutcome:
    """A run's outcome from its events (an in-process result's, or the instance's)."""
    outcome = RunOutcome()
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            outcome.materialized.add(event.asset_key)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.asset_check_evaluation_data
            outcome.evaluated.add(check.asset_check_key)
            if _blocks(check):
                cause = Cause(check.asset_key.to_user_string(), reason_of(check))
                if check.partition:
                    outcome.blame(check.partition, cause)
                else:
                    outcome.unattributed.append(f"{cause.asset} {check.check_name}: {cause.reason}")
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            day, cause = _failure_cause(event)
            if day:
                outcome.blame(day, cause)
            elif "blocking asset check" not in cause.reason:  # blamed on their evaluations
                outcome.unattributed.append(str(cause))
    return outcome


@dataclass(frozen=True)
class FollowUp:
    """A run over `days` of the assets and checks a failed run left undone."""

    days: list[str]
    assets: frozenset[dg.AssetKey]
    checks: frozenset[dg.AssetCheckKey]


def follow_ups(
    days: Sequence[str],
    outcome: RunOutcome,
    planned_assets: Iterable[dg.AssetKey],
    planned_checks: Iterable[dg.AssetCheckKey],
    partitioned: Iterable[dg.AssetKey],
) -> list[FollowUp]:
    """The runs that complete a failed range run's good days (none when a failure is not
    tied to a day, or when every day was bad)."""
    if outcome.unattributed or not outcome.bad_days:
        return []
    good = [day for day in days if day not in outcome.bad_days]
    daily = set(partitioned)
    assets = frozenset(k for k in planned_assets if k in daily and k not in outcome.materialized)
    checks = frozenset(
        c for c in planned_checks if c.asset_key in daily and c not in outcome.evaluated
    )
    if not good or not (assets or checks):
        return []
    return [FollowUp(stretch, assets, checks) for stretch in stretches(good)]
