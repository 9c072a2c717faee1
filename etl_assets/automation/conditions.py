"""Declarative automation: silver, gold and the warehouse copies follow their parents.

Bronze is driven by the landing sensor and the daily schedule. Silver, gold and warehouse carry
`follows_parents()`, evaluated by the automation sensor `medallion_automation`. It is
Dagster's `AutomationCondition.eager()` with these changes:

- every partition is eligible, not only the latest time window: a landing file for day D
  changes silver D-1 (late rows: silver D-1 reads bronze D-1..D), and a re-landed old day
  must flow through too;
- "a parent updated" also counts updates made by a run that materialized this asset in
  another partition. The landing sensor's run for day D materializes silver D, and eager()
  would then ignore bronze D for silver D-1. The asset's own partition updated in that same
  run is no trigger: the run handled it, after its parent;
- blocking checks of the parents (row accounting and the quality suites) must have passed,
  or run in the same run: a silver day that fails them stops there instead of flowing on;
- whole-history assets (undated with daily parents: silver/customers and the RFM, product
  and cohort marts) need some data in each parent, not every day: most days of the
  calendar have none. Day-partitioned assets keep eager()'s rule that no parent partition
  may be missing, so silver D waits for bronze D (and D+1 when that day exists);
- whole-history assets also wait while a parent has itself a parent updated since the last
  tick: that parent is about to follow (silver D-1 after bronze D). Dagster runs each
  partition in its own run, so the mart and silver D-1 would otherwise run side by side
  and the mart could read the old D-1 (`will_be_requested` cannot tell across partitionings).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

AUTOMATION_SENSOR = "medallion_automation"
AUTOMATED_LAYERS = ("silver", "gold", "warehouse")

AC = dg.AutomationCondition


def follows_parents(*, whole_history: bool = False) -> dg.AutomationCondition:
    any_parent_updated = AC.any_deps_match(AC.newly_updated() | AC.will_be_requested()).with_label(
        "any_parent_updated"
    )
    if whole_history:
        parents_ready = AC.all_deps_match(~AC.missing() | AC.will_be_requested()).with_label(
            "every_parent_has_data"
        ) & ~AC.any_deps_match(AC.any_deps_match(AC.newly_updated())).with_label(
            "a_parent_is_about_to_follow"
        )
    else:
        parents_ready = ~AC.any_deps_missing()
    # A parent requested on this tick runs with its checks in the same run, where a failing
    # blocking check stops this asset: no need to wait for the check's result here.
    parents_checks_passed = AC.all_deps_match(
        AC.all_checks_match(AC.check_passed(), blocking_only=True) | AC.will_be_requested()
    ).with_label("parents_blocking_checks_passed")
    return (
        (AC.newly_missing() | any_parent_updated).since_last_handled()
        & parents_ready
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & parents_checks_passed
    ).with_label("follows_parents_whole_history" if whole_history else "follows_parents")


def with_automation_conditions(
    assets: Sequence[dg.AssetsDefinition],
) -> list[dg.AssetsDefinition]:
    """The assets with `follows_parents()` on every silver, gold and warehouse asset that has
    none yet."""
    partitioned = {spec.key: spec.partitions_def is not None for a in assets for spec in a.specs}

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key.path[0] not in AUTOMATED_LAYERS or spec.automation_condition is not None:
            return spec
        whole_history = spec.partitions_def is None and any(
            partitioned.get(dep.asset_key, False) for dep in spec.deps
        )
        condition = follows_parents(whole_history=whole_history)
        return spec.replace_attributes(automation_condition=condition)

    return list(dg.map_asset_specs(attach, assets))


def build_automation_sensor(
    default_status: dg.DefaultSensorStatus,
) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=default_status,
        description="Evaluates the automation conditions: silver and gold follow their parents "
        "(the day before a new landing day for late rows, whole-history marts after any day).",
    )
