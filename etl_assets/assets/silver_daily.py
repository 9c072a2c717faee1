"""The silver step of a daily source over a range of days: each day's rows written as they
are cleaned (a group of consecutive days at a time, its bronze window read ahead), then
the quarantine, one row-accounting verdict per day and the warn-rule check."""

from dataclasses import replace

import dagster as dg
import pandas as pd

from etl_assets.assets.column_docs import silver_descriptions
from etl_assets.assets.common import partition_days, stopwatch, table_schema
from etl_assets.assets.day_figures import (
    quarantine_figures,
    reason_counts,
    rows_of_day,
    silver_day_figures,
)
from etl_assets.assets.silver_outputs import (
    operator_metadata,
    quarantine_key,
    quarantine_output,
    silver_key,
    silver_lineage,
    warn_rule_result,
)
from etl_assets.io.daily_frames import GROUP_ROWS, DailyFrames, LakePartitions
from etl_assets.io.read_ahead import ReadAhead
from etl_assets.quality.checks import reject_gate
from etl_assets.quality.checks.accounting import CHECK_NAME, account_days, accounting_check
from etl_assets.quality.checks.partition_results import check_events
from etl_assets.sources import SourceSpec
from etl_assets.transforms.silver import (
    SilverResult,
    apply_row_rules,
    clean_source,
    combine_results,
    day_after_window,
    day_window,
    window_gaps,
)


def _check_window_complete(context, spec: SourceSpec, missing, days) -> bool:
    """Fails when a day of this run has no bronze; returns whether late rows are pending."""
    gaps = window_gaps(missing, days)
    if gaps.own:
        raise dg.Failure(
            description=(
                f"bronze/{spec.name} has no materialization for {', '.join(gaps.own[:5])}"
                f"{' ...' if len(gaps.own) > 5 else ''} ({len(gaps.own)} day(s)): "
                f"materialize bronze/{spec.name} for these partitions first."
            )
        )
    if gaps.missing:
        context.log.info(
            f"bronze/{spec.name} {', '.join(gaps.missing)} not materialized yet: their late "
            "rows will join this partition when they land and it is re-materialized."
        )
    return bool(gaps.missing)


class _DayByDay:
    """Cleans a group of consecutive days at a time (one large day, or many small ones):
    their bronze window (see `day_window`), read ahead a day at a time. Gathers the
    quarantine, counts and warn-rule results of every day, so the step emits them once
    the days are written."""

    def __init__(self, spec: SourceSpec, bronze: LakePartitions, pii_key, hook):
        self.spec, self.bronze, self.pii_key, self.hook = spec, bronze, pii_key, hook
        self.results: list[SilverResult] = []
        self.accounts: dict = {}
        self.warnings: dict[str, int] = {}
        self.schema: pd.Series | None = None
        self.seconds = 0.0
        self._reader = ReadAhead(bronze)
        self._combined: SilverResult | None = None

    def clean(self, group: list[str]) -> pd.DataFrame:
        spec, days, existing = self.spec, [pd.Timestamp(key) for key in group], self.bronze.existing
        with stopwatch() as timing:
            window = day_window(spec, group, existing, self._reader.read)
            self._reader.release_through(group[-1])  # no later group needs them
            self._reader.prefetch(day_after_window(spec, group[-1], existing))
            outcome = apply_row_rules(
                clean_source(window, spec, pii_key=self.pii_key, days=days),
                window,
                spec,
                self.hook,
            )
            result = outcome.result
            self.accounts.update(
                account_days(
                    window,
                    result.clean,
                    result.quarantine,
                    day_column=spec.partition_column,
                    days=days,
                    bronze_rows_by_day=result.rows_in_by_day,
                    duplicates_by_day=result.duplicates_by_day,
                )
            )
        self.seconds += timing["seconds"]
        for name, count in outcome.warnings.items():
            self.warnings[name] = self.warnings.get(name, 0) + count
        # The day's rows are written by now: keep its counts, not its frame (even an empty
        # slice of it would keep every column's buffers alive).
        self.results.append(replace(result, clean=pd.DataFrame()))
        self.schema = result.clean.dtypes
        return result.clean

    def combined(self) -> SilverResult:
        """Every day's result as one; called once the days are written (by the output's
        summary, then for the quarantine), computed once."""
        if self._combined is None:
            self._reader.close()
            self._combined = combine_results(self.results)
        return self._combined


def add_day_figures(context, spec: SourceSpec, cleaner: _DayByDay, days, keys) -> None:
    """Each partition's own figures, silver and quarantine (assets/day_figures.py)."""
    result = cleaner.combined()
    seen = [reason for reason, n in sorted(result.reject_counts.items()) if n]
    for day, key in zip(days, keys, strict=True):
        rejected = rows_of_day(result.quarantine, spec.partition_column, day)
        figures = quarantine_figures(spec, rejected, seen)
        context.add_asset_metadata(figures, asset_key=quarantine_key(spec), partition_key=key)
        silver = silver_day_figures(cleaner.accounts[day], reason_counts(rejected))
        context.add_asset_metadata(silver, asset_key=silver_key(spec), partition_key=key)


def silver_day_by_day(context, spec: SourceSpec, bronze: LakePartitions, pii_key, hook):
    """The silver rows of each day of the run written as they are cleaned, then the
    quarantine, and one row-accounting verdict per day."""
    days = partition_days(context)
    pending = _check_window_complete(context, spec, bronze.missing, days)
    cleaner = _DayByDay(spec, bronze, pii_key, hook)

    def summary() -> dict:
        metadata = operator_metadata(cleaner.combined(), round(cleaner.seconds, 3))
        add_day_figures(context, spec, cleaner, days, keys)
        columns = list(cleaner.schema.index)
        return {
            **metadata,
            "late_rows_pending": pending,
            "dagster/column_schema": table_schema(
                cleaner.schema.to_dict(), silver_descriptions(spec)
            ),
            "dagster/column_lineage": silver_lineage(spec, columns),
        }

    keys = [day.strftime("%Y-%m-%d") for day in days]
    groups = bronze.chunks(GROUP_ROWS, keys=keys)
    yield dg.Output(
        DailyFrames(keys, cleaner.clean, summary=summary, groups=groups), output_name="silver"
    )
    result = cleaner.combined()
    yield quarantine_output(spec, result, {})  # its figures are each day's (above)
    checks = [
        accounting_check(cleaner.accounts[day], key) for day, key in zip(days, keys, strict=True)
    ]
    checks += reject_gate.gate_checks(
        cleaner.accounts,
        result.quarantine,
        day_column=spec.partition_column,
        days=days,
        keys=keys,
        bronze_rows=bronze.row_counts(),
        max_rate=spec.max_reject_rate,
    )
    blocking = {CHECK_NAME: True, reject_gate.CHECK_NAME: True}
    yield from check_events(context, silver_key(spec), checks, blocking=blocking)
    if cleaner.warnings:
        yield warn_rule_result(spec, cleaner.warnings)
