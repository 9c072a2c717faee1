"""Every source runs on its own days: the runs of `etl-assets run` over a set of days.

Each daily files source has the days it has landed; an asset needs the daily sources it is
built from (its bronze ancestors). Consecutive days on which the same sources have landed
form a stretch, one range run (single-run backfill) of the assets all of whose sources are
there: a source without a file for a day leaves out that day's assets of that source only.
The undated assets (catalogue, type-2 histories, whole-history marts) run once, in the last
run. With every source landed every day (the sample) this is one run of everything, as
before. `--select` keeps the assets built from the named sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from etl_assets.quality.checks.run_lines import stretches


@dataclass(frozen=True)
class PlannedRun:
    days: list[str]  # [] for undated assets only
    assets: frozenset[dg.AssetKey] | None  # None: the whole job


def sources_needed(graph, bronze_of: Mapping[dg.AssetKey, str]) -> dict[dg.AssetKey, set[str]]:
    """Per asset, the sources whose bronze it is built from."""
    needed: dict[dg.AssetKey, set[str]] = {}

    def of(key: dg.AssetKey) -> set[str]:
        if key not in needed:
            found = {bronze_of[key]} if key in bronze_of else set()
            for parent in graph.get(key).parent_keys:
                if graph.has(parent):
                    found |= of(parent)
            needed[key] = found
        return needed[key]

    for key in graph.get_all_asset_keys():
        of(key)
    return needed


def plan_runs(
    graph,
    bronze_of: Mapping[dg.AssetKey, str],
    landed: Mapping[str, set[str]],
    days: Sequence[str],
    select: Sequence[str] | None = None,
) -> list[PlannedRun]:
    """The runs over `days`. `bronze_of`: bronze key -> source; `landed`: per daily source
    whose days are limited (files), the days it has; `select`: source names, or None."""
    needed = sources_needed(graph, bronze_of)
    keys = graph.get_all_asset_keys()
    if select:
        wanted = set(select)
        keys = {k for k in keys if needed[k] & wanted}
    daily = {k for k in keys if graph.get(k).is_partitioned}
    undated = keys - daily
    sources = set(bronze_of.values())
    runs: list[PlannedRun] = []
    by_presence: list[tuple[frozenset[str], list[str]]] = []
    for day in days:
        present = frozenset(s for s in sources if s not in landed or day in landed[s])
        last = by_presence[-1] if by_presence else None
        if last and last[0] == present and stretches([last[1][-1], day])[0][-1] == day:
            last[1].append(day)
        else:
            by_presence.append((present, [day]))
    for present, stretch in by_presence:
        assets = frozenset(k for k in daily if needed[k] <= present)
        if assets:
            runs.append(PlannedRun(stretch, assets))
    whole = not select and len(runs) == 1 and runs[0].assets == frozenset(daily)
    if whole:
        return [PlannedRun(runs[0].days, None)]
    if undated:
        if runs:
            last = runs[-1]
            runs[-1] = PlannedRun(last.days, last.assets | undated)
        else:
            runs.append(PlannedRun([], frozenset(undated)))
    return runs
