"""Days: the partition day of every row (its date within the late-arrival window of its
landing day, else the landing day), and the window of bronze days a silver day needs
(its own file plus the late rows for it in the following days' files)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl_assets.sources import SourceSpec
from etl_assets.transforms.silver.bronze_rows import BronzeRows, conform_bronze
from etl_assets.transforms.silver.casting import CastColumn, cast_column

NS_PER_DAY = 86_400 * 10**9
NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds


@dataclass(frozen=True)
class DayAssignment:
    """The partition day of every row, and which rows are dated outside the late window."""

    day: np.ndarray | None  # int64 ns of midnight; None for unpartitioned sources
    landing_day: np.ndarray | None  # the same for the row's landing file
    outside_window: np.ndarray

    def take(self, positions: np.ndarray) -> DayAssignment:
        if self.day is None:
            return DayAssignment(None, None, self.outside_window[positions])
        return DayAssignment(
            self.day[positions], self.landing_day[positions], self.outside_window[positions]
        )

    def late_rows(self) -> int:
        """Rows assigned to a day before the day of their landing file."""
        return 0 if self.day is None else int((self.day < self.landing_day).sum())


def _midnight(ns: np.ndarray) -> np.ndarray:
    """Each timestamp's day (int64 ns). Landing days are few: work on the distinct ones."""
    codes, distinct = pd.factorize(ns)
    return (distinct - distinct % NS_PER_DAY)[codes]  # numpy's % floors: pre-1970 works


def assign_days(
    bronze: BronzeRows, spec: SourceSpec, casts: dict[str, CastColumn]
) -> DayAssignment:
    """A row's day is its date's day when the line read cleanly and the date lies within
    [landing day - late_arrival_days, landing day]; otherwise its landing day."""
    no_rows = np.zeros(len(bronze), dtype=bool)
    if not spec.is_daily:
        return DayAssignment(None, None, no_rows)
    landing = bronze.numbers("_landing_date")
    if (landing == NAT).any():
        raise ValueError(
            f"source {spec.name!r} is daily but some bronze rows have no _landing_date; "
            "every bronze row of a daily source must come from a landing day"
        )
    landing = _midnight(landing)
    if spec.date_column is None:  # snapshots belong to the day of their file
        return DayAssignment(landing, landing, no_rows)
    date = casts[spec.date_column]
    date_day = date.values.dt.normalize().to_numpy().view(np.int64)[date.codes]
    parsed = date_day != NAT
    earliest = landing - spec.late_arrival_days * NS_PER_DAY
    in_window = parsed & (date_day >= earliest) & (date_day <= landing)
    # A line with a read error cannot be trusted to carry its own date.
    trusted = bronze.read_error[bronze.rows] < 0
    day = np.where(in_window & trusted, date_day, landing)
    return DayAssignment(day, landing, parsed & ~in_window)


def output_order(bronze: BronzeRows, day: np.ndarray | None) -> np.ndarray:
    """Run positions sorted by (day, _landing_date, _row_number, _source_file)."""
    file_codes, _ = pd.factorize(bronze.frame["_source_file"], sort=True)
    keys = [file_codes[bronze.rows], bronze.numbers("_row_number"), bronze.numbers("_landing_date")]
    if day is not None:
        keys.append(day)
    return np.lexsort(keys)  # the last key sorts first


def requested_days(days: Sequence[pd.Timestamp], spec: SourceSpec) -> np.ndarray:
    if not spec.is_daily:
        raise ValueError(f"source {spec.name!r} is not partitioned by day; pass days=None")
    wanted = pd.DatetimeIndex(pd.to_datetime(list(days)))
    if wanted.tz is not None:
        wanted = wanted.tz_localize(None)
    return wanted.normalize().as_unit("ns").asi8


def as_days(day_ns: np.ndarray) -> np.ndarray:
    return day_ns.view("datetime64[ns]")


def count_by_day(day_ns: np.ndarray | None) -> dict[pd.Timestamp, int]:
    if day_ns is None:
        return {}
    days, counts = np.unique(day_ns, return_counts=True)
    return {pd.Timestamp(d): int(n) for d, n in zip(days, counts, strict=True)}


def rows_of_days(
    bronze: pd.DataFrame, spec: SourceSpec, days: Sequence[pd.Timestamp]
) -> pd.DataFrame:
    """The rows of `bronze` that `clean_source(..., days=days)` assigns to `days`, found by
    casting the date column only: a day's late rows inside a later day's file, without
    cleaning that whole file. `clean_source` of a day's file plus these rows gives the
    same result as over both files."""
    date = [c for c in spec.columns if c.target == spec.date_column]
    rows = conform_bronze(bronze, spec, raw_columns=[c.name for c in date])
    casts = {column.target: cast_column(rows.frame[column.name], column) for column in date}
    assigned = assign_days(rows, spec, casts)
    keep = np.flatnonzero(np.isin(assigned.day, requested_days(days, spec)))
    return bronze.iloc[keep].reset_index(drop=True)


# ------------------------------------------------------------------ the late window


def late_window(spec: SourceSpec) -> pd.Timedelta:
    return pd.Timedelta(days=spec.late_arrival_days)


def later_days(spec: SourceSpec, last: pd.Timestamp, existing: Sequence[str]) -> list[str]:
    """The existing bronze days after `last` whose files may hold late rows for it."""
    return [k for k in existing if last < pd.Timestamp(k) <= last + late_window(spec)]


def day_after_window(spec: SourceSpec, key: str, existing: Sequence[str]) -> str | None:
    """The first existing bronze day that the days up to `key` do not need: the next day's
    own file, worth reading while they are cleaned."""
    after = [k for k in existing if pd.Timestamp(k) > pd.Timestamp(key) + late_window(spec)]
    return after[0] if after else None


def day_window(
    spec: SourceSpec,
    group: Sequence[str],
    existing: Sequence[str],
    read: Callable[[str], pd.DataFrame],
) -> pd.DataFrame:
    """The bronze rows the days of `group` (consecutive keys) need: their own files, plus
    the rows of the following days' files that are dated to them (`rows_of_days`)."""
    days = [pd.Timestamp(key) for key in group]
    later = later_days(spec, days[-1], existing)
    return pd.concat(
        [read(key) for key in group] + [rows_of_days(read(k), spec, days) for k in later],
        ignore_index=True,
    )


@dataclass(frozen=True)
class WindowGaps:
    """Bronze days missing from a run's window."""

    own: list[str]  # days of the run itself: nothing to clean them from
    missing: list[str]  # every missing day; the later ones' late rows are still pending


def window_gaps(missing: Sequence[str], days: Sequence[pd.Timestamp]) -> WindowGaps:
    own_days = {d.strftime("%Y-%m-%d") for d in days}
    return WindowGaps(own=sorted(set(missing) & own_days), missing=sorted(set(missing)))
