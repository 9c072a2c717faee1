"""Type-2 history (SCD2): one row per version of each key, built from daily snapshots
(`build_scd2`) or from the versions a source read by a watermark logs (`scd2_from_versions`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

VALID_FROM, VALID_TO, IS_CURRENT = "valid_from", "valid_to", "is_current"


def _differs(current: pd.Series, previous: pd.Series) -> np.ndarray:
    """Row-wise inequality where two nulls count as equal."""
    both_null = current.isna().to_numpy() & previous.isna().to_numpy()
    equal = current.eq(previous).fillna(False).to_numpy(dtype=bool)
    return ~(equal | both_null)


def _check_snapshots(snapshots: pd.DataFrame, key: list[str], day_column: str) -> None:
    if snapshots[day_column].isna().any():
        raise ValueError(f"snapshot rows without a {day_column} cannot be placed in history")
    repeated = snapshots.duplicated([*key, day_column], keep=False)
    if repeated.any():
        example = snapshots.loc[repeated, [*key, day_column]].iloc[0].to_dict()
        raise ValueError(
            f"snapshots must hold one row per key per day; {int(repeated.sum())} rows share "
            f"their key and day, e.g. {example}; deduplicate the snapshots first"
        )


def build_scd2(
    snapshots: pd.DataFrame, *, key: Sequence[str], tracked: Sequence[str], day_column: str
) -> pd.DataFrame:
    """Versions of each key across the snapshot days (the distinct values of `day_column`).

    A version starts on a key's first day, on the first day a tracked attribute differs
    from its previous version (nulls equal nulls), and on the day a key reappears after
    missing from a snapshot. It ends (valid_to) on the next snapshot day after its last
    day: the start of the next version or the first day the key was missing. Versions still
    present in the last snapshot are current (valid_to NaT). Sorted by key, valid_from.
    """
    key, tracked = list(key), list(tracked)
    missing = [c for c in (*key, *tracked, day_column) if c not in snapshots.columns]
    if missing:
        raise ValueError(f"snapshots lack the columns {missing}")
    _check_snapshots(snapshots, key, day_column)

    rows = snapshots[[*key, *tracked, day_column]]
    rows = rows.sort_values([*key, day_column], kind="stable").reset_index(drop=True)
    day = rows[day_column].to_numpy(dtype="datetime64[ns]")
    snapshot_days = np.unique(day)
    day_index = np.searchsorted(snapshot_days, day)

    key_id = rows.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    same_key = np.zeros(len(rows), dtype=bool)
    same_key[1:] = key_id[1:] == key_id[:-1]
    follows_previous_day = np.zeros(len(rows), dtype=bool)
    follows_previous_day[1:] = day_index[1:] == day_index[:-1] + 1
    changed = np.zeros(len(rows), dtype=bool)
    for column in tracked:
        changed |= _differs(rows[column], rows[column].shift())

    starts = ~(same_key & follows_previous_day) | changed
    start_rows = np.flatnonzero(starts)
    # a version's last row is the row before the next version's first row
    last_rows = np.append(start_rows[1:] - 1, len(rows) - 1)[: len(start_rows)]
    next_day_index = day_index[last_rows] + 1
    closed = next_day_index < len(snapshot_days)
    valid_to = np.full(len(start_rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    valid_to[closed] = snapshot_days[next_day_index[closed]]

    history = rows.loc[start_rows, [*key, *tracked]].reset_index(drop=True)
    history[VALID_FROM] = day[start_rows]
    history[VALID_TO] = valid_to
    history[IS_CURRENT] = pd.array(~closed, dtype="boolean")
    return history


def scd2_from_versions(
    versions: pd.DataFrame, *, key: Sequence[str], tracked: Sequence[str], valid_from: str
) -> pd.DataFrame:
    """Versions of each key from rows that each hold a key's values as of `valid_from` (a
    datetime: the watermark of a source extracted incrementally, one row per change seen).

    Unlike snapshots, a key absent from a batch is unchanged, not gone: a version starts at
    a key's first row and at each row whose tracked attributes differ from the row before
    (nulls equal nulls; a row changing only untracked columns continues its version), and
    ends (valid_to) where the key's next version starts. A key's last version is current:
    deletes are not seen by a watermark. A null valid_from is the oldest. Sorted by key,
    valid_from.
    """
    key, tracked = list(key), list(tracked)
    missing = [c for c in (*key, *tracked, valid_from) if c not in versions.columns]
    if missing:
        raise ValueError(f"versions lack the columns {missing}")
    if not pd.api.types.is_datetime64_any_dtype(versions[valid_from]):
        raise ValueError(f"valid_from column {valid_from!r} must be a datetime")
    repeated = versions.duplicated([*key, valid_from], keep=False)
    if repeated.any():
        example = versions.loc[repeated, [*key, valid_from]].iloc[0].to_dict()
        raise ValueError(
            f"versions must hold one row per key and {valid_from}; {int(repeated.sum())} rows "
            f"share them, e.g. {example}"
        )

    columns = list(dict.fromkeys([*key, *tracked, valid_from]))  # valid_from may be tracked
    rows = versions[columns].sort_values([*key, valid_from], kind="stable", na_position="first")
    rows = rows.reset_index(drop=True)
    key_id = rows.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    same_key = np.zeros(len(rows), dtype=bool)
    same_key[1:] = key_id[1:] == key_id[:-1]
    changed = np.zeros(len(rows), dtype=bool)
    for column in tracked:
        changed |= _differs(rows[column], rows[column].shift())

    start_rows = np.flatnonzero(~same_key | changed)
    when = rows[valid_from].to_numpy(dtype="datetime64[ns]")
    # a version is closed by the next version's start, when that is the same key's
    next_start = np.append(start_rows[1:], 0)[: len(start_rows)]
    closed = np.zeros(len(start_rows), dtype=bool)
    closed[:-1] = key_id[next_start[:-1]] == key_id[start_rows[:-1]]
    valid_to = np.full(len(start_rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    valid_to[closed] = when[next_start[closed]]

    history = rows.loc[start_rows, [*key, *tracked]].reset_index(drop=True)
    history[VALID_FROM] = when[start_rows]
    history[VALID_TO] = valid_to
    history[IS_CURRENT] = pd.array(~closed, dtype="boolean")
    return history
