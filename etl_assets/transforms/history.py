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


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lack the columns {missing}")


def _require_one_row_per(
    frame: pd.DataFrame, columns: list[str], rule: str, advice: str = ""
) -> None:
    repeated = frame.duplicated(columns, keep=False)
    if repeated.any():
        example = frame.loc[repeated, columns].iloc[0].to_dict()
        raise ValueError(
            f"{rule}; {int(repeated.sum())} rows share their {', '.join(columns)}, "
            f"e.g. {example}{advice}"
        )


def _runs(rows: pd.DataFrame, key: list[str], tracked: list[str]) -> tuple[np.ndarray, ...]:
    """Per row of `rows` (sorted by key): its key's group number, whether the row before has
    the same key, and whether a tracked attribute differs from the row before's."""
    key_id = rows.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    same_key = np.zeros(len(rows), dtype=bool)
    same_key[1:] = key_id[1:] == key_id[:-1]
    changed = np.zeros(len(rows), dtype=bool)
    for column in tracked:
        changed |= _differs(rows[column], rows[column].shift())
    return key_id, same_key, changed


def _history(
    rows: pd.DataFrame,
    columns: list[str],
    start_rows: np.ndarray,
    valid_from: np.ndarray,
    closed: np.ndarray,
    closed_at: np.ndarray,
) -> pd.DataFrame:
    """One row per version, from its first row: `columns`, then valid_from, valid_to (the
    closed versions' `closed_at`, NaT for the others) and is_current (not closed)."""
    valid_to = np.full(len(start_rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    valid_to[closed] = closed_at
    history = rows.loc[start_rows, columns].reset_index(drop=True)
    history[VALID_FROM] = valid_from
    history[VALID_TO] = valid_to
    history[IS_CURRENT] = pd.array(~closed, dtype="boolean")
    return history


def _check_snapshots(snapshots: pd.DataFrame, key: list[str], day_column: str) -> None:
    if snapshots[day_column].isna().any():
        raise ValueError(f"snapshot rows without a {day_column} cannot be placed in history")
    _require_one_row_per(
        snapshots,
        [*key, day_column],
        "snapshots must hold one row per key per day",
        "; deduplicate the snapshots first",
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
    _require_columns(snapshots, [*key, *tracked, day_column], "snapshots")
    _check_snapshots(snapshots, key, day_column)

    rows = snapshots[[*key, *tracked, day_column]]
    rows = rows.sort_values([*key, day_column], kind="stable").reset_index(drop=True)
    day = rows[day_column].to_numpy(dtype="datetime64[ns]")
    snapshot_days = np.unique(day)
    day_index = np.searchsorted(snapshot_days, day)

    _, same_key, changed = _runs(rows, key, tracked)
    follows_previous_day = np.zeros(len(rows), dtype=bool)
    follows_previous_day[1:] = day_index[1:] == day_index[:-1] + 1

    starts = ~(same_key & follows_previous_day) | changed
    start_rows = np.flatnonzero(starts)
    # a version's last row is the row before the next version's first row
    last_rows = np.append(start_rows[1:] - 1, len(rows) - 1)[: len(start_rows)]
    next_day_index = day_index[last_rows] + 1
    closed = next_day_index < len(snapshot_days)
    closed_at = snapshot_days[next_day_index[closed]]
    return _history(rows, [*key, *tracked], start_rows, day[start_rows], closed, closed_at)


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
    _require_columns(versions, [*key, *tracked, valid_from], "versions")
    if not pd.api.types.is_datetime64_any_dtype(versions[valid_from]):
        raise ValueError(f"valid_from column {valid_from!r} must be a datetime")
    _require_one_row_per(
        versions, [*key, valid_from], f"versions must hold one row per key and {valid_from}"
    )

    columns = list(dict.fromkeys([*key, *tracked, valid_from]))  # valid_from may be tracked
    rows = versions[columns].sort_values([*key, valid_from], kind="stable", na_position="first")
    rows = rows.reset_index(drop=True)
    key_id, same_key, changed = _runs(rows, key, tracked)
    start_rows = np.flatnonzero(~same_key | changed)
    when = rows[valid_from].to_numpy(dtype="datetime64[ns]")
    # a version is closed by the next version's start, when that is the same key's
    next_start = np.append(start_rows[1:], 0)[: len(start_rows)]
    closed = np.zeros(len(start_rows), dtype=bool)
    closed[:-1] = key_id[next_start[:-1]] == key_id[start_rows[:-1]]
    closed_at = when[next_start[closed]]
    return _history(rows, [*key, *tracked], start_rows, when[start_rows], closed, closed_at)
