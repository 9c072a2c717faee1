"""Asset checks of every layer: a `@multi_asset_check` op runs the suites of the assets that
are materialized together, with great_expectations.

Per asset and partition there is one verdict per severity: `error_expectations` is blocking
(a failed error-level expectation stops the assets downstream in the run), and
`warn_expectations` reports. Each carries every expectation's figures, the failed ones'
details and masked samples, the partition's quality score and a summary table. (One check
per expectation would cost ~30 stored results per day: a 30-day backfill spent more time
storing check results than computing the data.) A partitioned asset's checks are partitioned
the same way and judge each partition on its own rows, also in a run over a range of days
(see partition_results.py). Bronze also gets `landing_columns`, `gold/daily_sales` its
reconciliation with silver (an error-level expectation), and silver and gold Dagster's column
schema change checks.

great_expectations is imported by the first check that runs, never when the code location
loads.
"""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from etl_assets.io.daily_frames import LakePartitions
from etl_assets.quality.checks.partition_results import (
    PartitionCheck,
    check_events,
    run_partition_keys,
)
from etl_assets.quality.checks.report import CHECK_NAMES, severity_checks
from etl_assets.quality.checks.schema_drift import (
    LANDING_COLUMNS_CHECK,
    landing_column_checks,
    non_null_rows,
)
from etl_assets.quality.engine.validation import Outcome, Partitions, validate_partitions
from etl_assets.quality.suites.source_suites import Suite
from etl_assets.resource_keys import LAKE_DAY_BY_DAY, QUALITY_RESOURCE
from etl_assets.sources.expectation_spec import ERROR, Expectation
from etl_assets.sources.reserved_columns import LINEAGE_COLUMNS as BRONZE_LINEAGE

CHUNK_ROWS = 2_000_000  # rows a check holds at once in a range run


@dataclass(frozen=True)
class ExtraRules:
    """Rules that run on a frame built from the asset and other inputs (reconciliation)."""

    rules: tuple[Expectation, ...]
    inputs: Mapping[str, dg.AssetKey]
    build: Callable[..., pd.DataFrame]  # (asset frame, **inputs) -> frame with the day column
    input_columns: Mapping[str, Sequence[str]] = field(default_factory=dict)  # read only these


@dataclass(frozen=True)
class SuiteCheck:
    """One asset's suite, as a check op runs it."""

    suite: Suite
    landing_columns: tuple[str, ...] | None = None  # bronze: the declared raw columns
    extra: ExtraRules | None = None
    rules: tuple[Expectation, ...] = field(init=False)

    def __post_init__(self) -> None:
        extra = self.extra.rules if self.extra else ()
        object.__setattr__(self, "rules", (*self.suite.expectations, *extra))

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey(self.suite.asset)

    @property
    def columns(self) -> list[str] | None:
        """The columns the checks read (None: all of them, for derived rules). The
        landing-columns check of a partitioned bronze reads the files' footers instead."""
        if self.extra is not None:
            return None
        needed = [c for rule in self.rules for c in rule.columns]
        if self.suite.partition_column:
            needed.append(self.suite.partition_column)
        return list(dict.fromkeys(needed))


def _partitions_of(frame: pd.DataFrame, column: str | None, keys: Sequence[str | None]):
    """Which of the run's partitions each row belongs to, by its day column."""
    if len(keys) == 1 or column is None:
        return Partitions.single(len(frame))
    days = frame[column].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    wanted = np.array(keys, dtype="datetime64[D]")
    index = np.minimum(np.searchsorted(wanted, days), len(wanted) - 1)
    outside = wanted[index] != days
    if outside.any():
        raise dg.Failure(
            description=f"{int(outside.sum())} rows have a {column} outside this run's "
            f"partitions {keys[0]}..{keys[-1]}: the lake file holds rows of another day."
        )
    return Partitions(index, len(keys))


def _rule_list(rules: Sequence[Expectation]) -> str:
    return "\n".join(f"- {r.name}: {r.description or r.summary()} ({r.origin})" for r in rules)


def _specs(
    check: SuiteCheck, partitions_def: dg.PartitionsDefinition | None
) -> list[dg.AssetCheckSpec]:
    """One spec per severity in the suite (and the bronze landing-columns check)."""
    deps = list(check.extra.inputs.values()) if check.extra else None
    specs = []
    for severity, name in CHECK_NAMES.items():
        rules = [r for r in check.rules if r.severity == severity]
        if not rules:
            continue
        blocking = severity == ERROR
        specs.append(
            dg.AssetCheckSpec(
                name,
                asset=check.asset_key,
                description=f"{'Blocking' if blocking else 'Reporting'} {severity}-level "
                f"expectations of {check.suite.name}:\n{_rule_list(rules)}",
                blocking=blocking,
                metadata={"expectations": [r.summary() for r in rules]},
                partitions_def=partitions_def,
                additional_deps=deps,
            )
        )
    if check.landing_columns is not None:
        specs.append(
            dg.AssetCheckSpec(
                LANDING_COLUMNS_CHECK,
                asset=check.asset_key,
                description="The landing file's columns are the declared ones; warns naming "
                "undeclared columns (kept in bronze) and declared ones absent from the file.",
                partitions_def=partitions_def,
            )
        )
    return specs


def _outcomes(
    check: SuiteCheck, frame: pd.DataFrame, others: Mapping[str, pd.DataFrame], keys
) -> tuple[list[list[Outcome]], Partitions]:
    suite = check.suite
    partitions = _partitions_of(frame, suite.partition_column, keys)
    outcomes = validate_partitions(frame, suite.expectations, partitions)
    if check.extra:
        derived = check.extra.build(frame, **others)
        derived_partitions = _partitions_of(derived, suite.partition_column, keys)
        extra = validate_partitions(derived, check.extra.rules, derived_partitions)
        outcomes = [mine + theirs for mine, theirs in zip(outcomes, extra, strict=True)]
    return outcomes, partitions


def _write_docs(
    check: SuiteCheck, docs_dir: Path | None, key, outcomes: list[Outcome], run_id: str
) -> str | None:
    if docs_dir is None or all(o.success for o in outcomes):
        return None
    from etl_assets.quality.engine.data_docs import write_page

    return str(write_page(docs_dir, check.suite, key, outcomes, run_id))


def _evaluate(
    check: SuiteCheck,
    context,
    keys,
    frame: pd.DataFrame,
    others,
    docs_dir: Path | None,
    present: Mapping[str, Sequence[int]] | None = None,
) -> list[PartitionCheck]:
    """The verdicts of one asset's suite on the partitions `keys` of `frame`; `present`:
    each column's non-null rows per partition, when the frame holds only some columns."""
    started = time.perf_counter()
    outcomes, partitions = _outcomes(check, frame, others, keys)
    results: list[PartitionCheck] = []
    for key, partition_outcomes in zip(keys, outcomes, strict=True):
        docs = _write_docs(check, docs_dir, key, partition_outcomes, context.run.run_id)
        results.extend(severity_checks(partition_outcomes, check.suite, key, docs))
    if check.landing_columns is not None:
        if present is None:
            present = non_null_rows(frame, partitions)
        results.extend(
            landing_column_checks(
                present, partitions.rows, check.landing_columns, BRONZE_LINEAGE, keys
            )
        )
    context.log.info(
        f"{check.suite.name}: {len(check.rules)} expectations on {len(keys)} partition(s), "
        f"{len(frame):,} rows, evaluated in {time.perf_counter() - started:.2f} s"
    )
    return results


def _partition_groups(source: LakePartitions, keys: Sequence[str]) -> list[list[str]]:
    """The run's partitions in groups of at most CHUNK_ROWS rows, in order."""
    groups = source.chunks(CHUNK_ROWS)
    return groups if [key for group in groups for key in group] == list(keys) else [list(keys)]


def _run(check: SuiteCheck, context, keys, inputs: Mapping[str, object], docs_dir) -> list:
    """Evaluate a suite over the step's partitions, a bounded group of days at a time."""
    source = inputs[_input_name(check.asset_key)]
    extra_inputs = check.extra.inputs.items() if check.extra else ()
    if not isinstance(source, LakePartitions):  # unpartitioned: one frame
        others = {argument: inputs[_input_name(key)] for argument, key in extra_inputs}
        return _evaluate(check, context, keys, source, others, docs_dir)
    results: list[PartitionCheck] = []
    for group in _partition_groups(source, keys):
        # Rules see a column's distinct values: strings are read as categoricals, straight
        # from the Parquet dictionaries (no string object per row, no hashing to group them).
        # Not for derived rules: their frame is built by code that expects the plain columns.
        frame = source.read(group, check.columns, categories=check.extra is None)
        others = {
            argument: inputs[_input_name(key)].read(group, check.extra.input_columns.get(argument))
            for argument, key in extra_inputs
        }
        present = None
        if check.landing_columns is not None:  # from the footers: no column is read for it
            counts = source.non_null_rows(group)
            columns = dict.fromkeys(c for key in group for c in counts[key])
            present = {c: [counts[key].get(c, 0) for key in group] for c in columns}
        results.extend(_evaluate(check, context, group, frame, others, docs_dir, present))
    return results


def _input_name(key: dg.AssetKey) -> str:
    return key.to_python_identifier()


def suite_checks(
    name: str, checks: Sequence[SuiteCheck], partitions_def: dg.PartitionsDefinition | None
) -> dg.AssetChecksDefinition:
    """The suites of assets materialized together, as one check op (each frame loaded once)."""
    # Partitioned inputs are read a group of days at a time: a range run's check holds a
    # bounded number of rows, whatever the number of days.
    manager = {"input_manager_key": LAKE_DAY_BY_DAY} if partitions_def is not None else {}
    ins = {_input_name(c.asset_key): dg.AssetIn(key=c.asset_key, **manager) for c in checks}
    for check in checks:
        for key in check.extra.inputs.values() if check.extra else ():
            ins[_input_name(key)] = dg.AssetIn(key=key, **manager)

    @dg.multi_asset_check(
        name=name,
        specs=[spec for check in checks for spec in _specs(check, partitions_def)],
        ins=ins,
        description="Expectation suites (great_expectations) of "
        + ", ".join(c.suite.name for c in checks),
        compute_kind="great_expectations",
        can_subset=True,  # a job or the UI may select one check, or one asset's checks
        required_resource_keys={QUALITY_RESOURCE},
    )
    def _check(context, **inputs):
        docs_dir = getattr(context.resources, QUALITY_RESOURCE).docs_path
        keys = run_partition_keys(context, partitions_def is not None)
        for check in checks:
            selected = {
                k.name for k in context.selected_asset_check_keys if k.asset_key == check.asset_key
            }
            if not selected:
                continue
            results = _run(check, context, keys, inputs, docs_dir)
            chosen = [r for r in results if r.check_name in selected]
            yield from check_events(context, check.asset_key, chosen, {CHECK_NAMES[ERROR]: True})

    return _check
