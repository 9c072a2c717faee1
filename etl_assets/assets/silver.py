"""Silver assets, generated from the declarations: typed, standardised, deduplicated rows
beside a quarantine of every rejected row with its reason."""

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pandas as pd

from etl_assets.assets.bronze import bronze_key
from etl_assets.assets.common import (
    ALLOW_MISSING_PARTITIONS,
    column_lineage,
    frame_schema,
    partition_days,
    stopwatch,
    table_schema,
)
from etl_assets.connectors.pii_key import PiiKey
from etl_assets.io.day_by_day import GROUP_ROWS, DailyFrames, LakePartitions
from etl_assets.quality.accounting import (
    CHECK_NAME,
    account_days,
    accounting_check,
    accounting_events,
)
from etl_assets.quality.emit import check_events
from etl_assets.quality.types import dataframe_type
from etl_assets.resource_keys import LAKE_DAY_BY_DAY, LAKE_IO_MANAGER
from etl_assets.sources import SourceSpec
from etl_assets.sources.hooks import resolve_hook
from etl_assets.transforms.history import build_scd2, scd2_from_versions
from etl_assets.transforms.rules import apply_row_rules, describe_rule
from etl_assets.transforms.silver import (
    SilverResult,
    clean_source,
    combine_results,
    quarantine_schema,
    rows_of_days,
    silver_schema,
    versioned_by,
)

LINEAGE_COLUMNS = ("_source_file", "_batch_id", "_row_number", "_landing_date")
HISTORY_COLUMNS = {
    "valid_from": "datetime64[ns]",
    "valid_to": "datetime64[ns]",
    "is_current": "boolean",
}


def silver_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["silver", spec.name])


def quarantine_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["silver", f"{spec.name}_quarantine"])


def _history_schema(spec: SourceSpec) -> dict[str, str]:
    schema = silver_schema(spec)
    kept = list(spec.business_key) + [c for c in spec.history_tracked if c not in spec.business_key]
    return {**{c: schema[c] for c in kept}, **HISTORY_COLUMNS}


def _silver_lineage(spec: SourceSpec, columns: list[str]) -> dg.TableColumnLineage:
    bronze = bronze_key(spec)
    raw_of = {c.target: c.name for c in spec.columns}
    deps: dict[str, list[tuple[dg.AssetKey, str]]] = {}
    for column in columns:
        if column in raw_of:
            deps[column] = [(bronze, raw_of[column])]
        elif column in LINEAGE_COLUMNS:
            deps[column] = [(bronze, column)]
    for derived in spec.derived:
        sources = derived.factors or (derived.column,)
        deps[derived.name] = [(bronze, raw_of[s]) for s in sources]
    if spec.is_daily and spec.partition_column in columns:
        day_source = raw_of[spec.date_column] if spec.date_column else "_landing_date"
        # dict.fromkeys: without a date column both deps are _landing_date (must be unique)
        deps[spec.partition_column] = list(
            dict.fromkeys([(bronze, day_source), (bronze, "_landing_date")])
        )
    if spec.is_history:
        watermark = versioned_by(spec)
        when = raw_of[watermark] if watermark else "_landing_date"
        for column in ("valid_from", "valid_to", "is_current"):
            deps[column] = [(bronze, when)]
    return column_lineage(deps)


def _history(spec: SourceSpec, clean: pd.DataFrame) -> pd.DataFrame:
    """The type-2 history: from daily snapshots, or from the versions a watermark read."""
    watermark = versioned_by(spec)
    if watermark:
        return scd2_from_versions(
            clean, key=spec.business_key, tracked=spec.history_tracked, valid_from=watermark
        )
    return build_scd2(
        clean, key=spec.business_key, tracked=spec.history_tracked, day_column=spec.partition_column
    )


def _operator_metadata(result: SilverResult, seconds: float) -> dict:
    rejects = {reason: n for reason, n in sorted(result.reject_counts.items()) if n}
    return {
        "rows_in": result.rows_in,
        "rows_rejected": len(result.quarantine),
        "duplicates_removed": result.duplicates_removed,
        "late_rows": result.late_rows,
        "versions_superseded": result.superseded,
        "reject_reasons": dg.MetadataValue.json(rejects),
        "seconds": seconds,
    }


def _check_window_complete(
    context, spec: SourceSpec, missing: list[str], days: list[pd.Timestamp]
) -> bool:
    """Fails when a day of this run has no bronze; returns whether late rows are pending."""
    missing = set(missing)
    own_days = {d.strftime("%Y-%m-%d") for d in days}
    missing_own = sorted(missing & own_days)
    if missing_own:
        raise dg.Failure(
            description=(
                f"bronze/{spec.name} has no materialization for {', '.join(missing_own[:5])}"
                f"{' ...' if len(missing_own) > 5 else ''} ({len(missing_own)} day(s)): "
                f"materialize bronze/{spec.name} for these partitions first."
            )
        )
    if missing:
        context.log.info(
            f"bronze/{spec.name} {', '.join(sorted(missing))} not materialized yet: their late "
            "rows will join this partition when they land and it is re-materialized."
        )
    return bool(missing)


class _DayByDay:
    """Cleans a group of consecutive days at a time (one large day, or many small ones):
    their bronze files plus the late rows for them in the following days' files. Gathers
    the quarantine, counts and warn-rule results of every day, so the step emits them once
    the days are written."""

    def __init__(self, spec: SourceSpec, bronze: LakePartitions, pii_key, hook):
        self.spec, self.bronze, self.pii_key, self.hook = spec, bronze, pii_key, hook
        self.results: list[SilverResult] = []
        self.accounts: dict = {}
        self.warnings: dict[str, int] = {}
        self.schema: pd.Series | None = None
        self.seconds = 0.0
        # Bronze days being read or read: a day read as "next" is reused as "own", and the
        # day after is read in a thread (Parquet decoding releases the GIL) while one is cleaned.
        self._read: dict[str, Future] = {}
        self._reader = ThreadPoolExecutor(max_workers=1)
        self._combined: SilverResult | None = None

    def _bronze_day(self, key: str) -> pd.DataFrame:
        if key not in self._read:
            self._read[key] = self._reader.submit(self.bronze.read, [key])
        return self._read[key].result()

    def _read_ahead(self, key: str) -> None:
        existing = self.bronze.existing
        after = [k for k in existing if pd.Timestamp(k) > pd.Timestamp(key) + _late(self.spec)]
        if after and after[0] not in self._read:
            self._read[after[0]] = self._reader.submit(self.bronze.read, [after[0]])

    def clean(self, group: list[str]) -> pd.DataFrame:
        spec, days = self.spec, [pd.Timestamp(key) for key in group]
        last = days[-1]
        with stopwatch() as timing:
            later = [
                k for k in self.bronze.existing if last < pd.Timestamp(k) <= last + _late(spec)
            ]
            window = pd.concat(
                [self._bronze_day(key) for key in group]
                + [rows_of_days(self._bronze_day(k), spec, days) for k in later],
                ignore_index=True,
            )
            for old in [k for k in self._read if pd.Timestamp(k) <= last]:
                del self._read[old]  # no later group needs it
            self._read_ahead(group[-1])
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
            self._reader.shutdown(cancel_futures=True)
            self._combined = combine_results(self.results)
        return self._combined


def _late(spec: SourceSpec) -> pd.Timedelta:
    return pd.Timedelta(days=spec.late_arrival_days)


def build_silver_assets(
    spec: SourceSpec, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """silver/<source> and silver/<source>_quarantine, with a blocking row-accounting check."""
    daily_rows = spec.is_daily and not spec.is_history
    clean_schema = _history_schema(spec) if spec.is_history else silver_schema(spec)
    required = [c.target for c in spec.columns if c.required and c.target in clean_schema]
    if daily_rows:
        required.append(spec.partition_column)
        mapping = dg.TimeWindowPartitionMapping(
            start_offset=0,
            end_offset=spec.late_arrival_days,
            allow_nonexistent_upstream_partitions=True,
        )
        bronze_in = dg.AssetIn(
            key=bronze_key(spec),
            partition_mapping=mapping,
            metadata=ALLOW_MISSING_PARTITIONS,
            input_manager_key=LAKE_DAY_BY_DAY,  # read a day at a time
        )
    else:
        # Unpartitioned silver reads every bronze day that has been materialized.
        bronze_in = dg.AssetIn(key=bronze_key(spec), metadata=ALLOW_MISSING_PARTITIONS)
    common = {
        "is_required": True,
        "io_manager_key": LAKE_IO_MANAGER,
        "owners": list(spec.owners),
        "group_name": "silver",
        "kinds": {"pandas", "parquet"},
        "metadata": {"partition_expr": spec.partition_column} if daily_rows else {},
    }
    silver_out = dg.AssetOut(
        key=silver_key(spec),
        description=spec.description,
        dagster_type=dataframe_type(f"silver_{spec.name}", clean_schema, required),
        tags={"layer": "silver", "source": spec.name},
        **common,
    )
    # Resolved when the code location loads, so a broken hook fails there, not mid-run.
    hook = resolve_hook(spec.silver_hook.function, Path(spec.file)) if spec.silver_hook else None
    quarantine_out = dg.AssetOut(
        key=quarantine_key(spec),
        description=(
            f"Rows of bronze/{spec.name} rejected by a rule, with the original values, "
            "_reject_reason and _reject_detail."
        ),
        dagster_type=dataframe_type(f"quarantine_{spec.name}", quarantine_schema(spec)),
        tags={"layer": "silver", "source": spec.name, "quarantine": "true"},
        **common,
    )

    # Daily rows read bronze day by day (a range run holds one day); the others read all of it.
    BronzeInput = LakePartitions if daily_rows else pd.DataFrame  # noqa: N806

    @dg.multi_asset(
        name=f"silver_{spec.name}",
        outs={"silver": silver_out, "quarantine": quarantine_out},
        ins={"bronze": bronze_in},
        partitions_def=partitions_def if daily_rows else None,
        backfill_policy=dg.BackfillPolicy.single_run() if daily_rows else None,
        check_specs=[
            dg.AssetCheckSpec(
                "row_accounting",
                asset=silver_key(spec),
                blocking=True,
                description="bronze rows = silver rows + quarantined rows + duplicates removed",
                partitions_def=partitions_def if daily_rows else None,  # one verdict per day
            ),
            *_warn_rule_specs(spec),
        ],
    )
    def _silver(context: dg.AssetExecutionContext, bronze: BronzeInput, pii: PiiKey):
        pii_key = pii.key_bytes(context.log) if any(c.pii for c in spec.columns) else None
        if daily_rows:
            yield from _silver_day_by_day(context, spec, bronze, pii_key, hook)
            return
        if bronze.empty and not len(bronze.columns):
            raise dg.Failure(description=f"bronze/{spec.name} has never been materialized.")
        with stopwatch() as timing:
            outcome = apply_row_rules(
                clean_source(bronze, spec, pii_key=pii_key), bronze, spec, hook
            )
            result = outcome.result
            clean = result.clean
            if spec.is_history:
                clean = _history(spec, result.clean)
        metadata = _operator_metadata(result, timing["seconds"])
        if spec.is_history:
            metadata["versions"] = len(clean)
            metadata["current_rows"] = int(clean["is_current"].sum())
        yield dg.Output(
            clean,
            output_name="silver",
            metadata={
                **metadata,
                "dagster/column_schema": frame_schema(clean),
                "dagster/column_lineage": _silver_lineage(spec, list(clean.columns)),
            },
        )
        yield _quarantine_output(result, metadata)
        yield from accounting_events(
            context, silver_key(spec), bronze, result, day_column=None, days=None
        )
        if outcome.warnings:
            yield _warn_rule_result(spec, outcome.warnings)

    return _silver


def _quarantine_output(result: SilverResult, metadata: dict) -> dg.Output:
    return dg.Output(
        result.quarantine,
        output_name="quarantine",
        metadata={
            "reject_reasons": metadata["reject_reasons"],
            "dagster/column_schema": frame_schema(result.quarantine),
        },
    )


def _silver_day_by_day(context, spec: SourceSpec, bronze: LakePartitions, pii_key, hook):
    """The silver rows of each day of the run written as they are cleaned, then the
    quarantine, and one row-accounting verdict per day."""
    days = partition_days(context)
    pending = _check_window_complete(context, spec, bronze.missing, days)
    cleaner = _DayByDay(spec, bronze, pii_key, hook)

    def summary() -> dict:
        metadata = _operator_metadata(cleaner.combined(), round(cleaner.seconds, 3))
        columns = list(cleaner.schema.index)
        return {
            **metadata,
            "late_rows_pending": pending,
            "dagster/column_schema": table_schema(cleaner.schema.to_dict()),
            "dagster/column_lineage": _silver_lineage(spec, columns),
        }

    keys = [day.strftime("%Y-%m-%d") for day in days]
    groups = bronze.chunks(GROUP_ROWS, keys=keys)
    yield dg.Output(
        DailyFrames(keys, cleaner.clean, summary=summary, groups=groups), output_name="silver"
    )
    result = cleaner.combined()
    yield _quarantine_output(result, _operator_metadata(result, cleaner.seconds))
    checks = [
        accounting_check(cleaner.accounts[day], key) for day, key in zip(days, keys, strict=True)
    ]
    yield from check_events(context, silver_key(spec), checks, blocking={CHECK_NAME: True})
    if cleaner.warnings:
        yield _warn_rule_result(spec, cleaner.warnings)


WARN_RULES_CHECK = "warn_rules"


def _warn_rule_specs(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    """A non-blocking check for the declared rules of severity warn, if there are any."""
    warned = [f"{r.name}: {r.column} {describe_rule(r)}" for r in spec.rules if not r.blocking]
    if not warned:
        return []
    return [
        dg.AssetCheckSpec(
            WARN_RULES_CHECK,
            asset=silver_key(spec),
            blocking=False,
            description="rows failing a rule of severity warn (kept in silver): "
            + "; ".join(warned),
        )
    ]


def _warn_rule_result(spec: SourceSpec, warnings: dict[str, int]) -> dg.AssetCheckResult:
    failing = {name: count for name, count in warnings.items() if count}
    return dg.AssetCheckResult(
        asset_key=silver_key(spec),
        check_name=WARN_RULES_CHECK,
        passed=not failing,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "every kept row passes the warn rules"
            if not failing
            else "kept rows failing warn rules: "
            + ", ".join(f"{name} ({count})" for name, count in failing.items())
        ),
        metadata={f"rows_failing_{name}": count for name, count in warnings.items()},
    )
