"""The summary says why: one line per failed or warning check of a run, its days grouped.

    silver/orders reject_rate 2024-01-03: 100.0 % of 1,912 rows rejected (...), 5 % allowed
    bronze/flights landing_columns 2024-01-01 .. 2024-01-07 (7 days): declared column(s) ...

The reason is the evaluation's `reason` metadata when the check gives one (the same for
every day it applies to), else its description. Days with the same check and reason share
a line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import dagster as dg

FAILED_PREFIX = "FAILED on "


def stretches(days: Sequence[str]) -> list[list[str]]:
    """`days` (YYYY-MM-DD) in order, cut into runs of consecutive calendar days."""
    cut: list[list[str]] = []
    for day in sorted(days):
        if cut and dt.date.fromisoformat(day) - dt.date.fromisoformat(cut[-1][-1]) == dt.timedelta(
            days=1
        ):
            cut[-1].append(day)
        else:
            cut.append([day])
    return cut


def day_groups(days: Sequence[str]) -> str:
    """`2024-01-03`, `2024-01-01 .. 2024-01-07 (7 days)`, `2024-01-01, 2024-01-05 (2 days)`."""
    if not days:
        return ""
    parts = [s[0] if len(s) == 1 else f"{s[0]} .. {s[-1]}" for s in stretches(days)]
    shown = ", ".join(parts[:4]) + (", ..." if len(parts) > 4 else "")
    return shown if len(days) == 1 else f"{shown} ({len(days)} days)"


def reason_of(evaluation: dg.AssetCheckEvaluation) -> str:
    reason = evaluation.metadata.get("reason")
    if reason is not None:
        return str(reason.value)
    text = (evaluation.description or "failed").strip()
    if text.startswith(FAILED_PREFIX) and ": " in text:  # "FAILED on <asset> <day>: why"
        text = text.split(": ", 1)[1]
    return text


def check_lines(evaluations: Iterable[dg.AssetCheckEvaluation]) -> list[str]:
    """One line per (asset, check, severity, reason) that did not pass, errors first."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for evaluation in evaluations:
        if evaluation.passed:
            continue
        severity = "error" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "warn"
        key = (
            severity,
            evaluation.asset_key.to_user_string(),
            evaluation.check_name,
            reason_of(evaluation),
        )
        days = groups.setdefault(key, [])
        if evaluation.partition and evaluation.partition not in days:
            days.append(evaluation.partition)
    lines = []
    for (severity, asset, check, reason), days in sorted(groups.items()):
        where = f" {day_groups(days)}" if days else ""
        lines.append(f"{severity:<5} {asset} {check}{where}: {reason}")
    return lines
