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


# ------------------------------------------------- snapshots applied to the current history


def history_before(history: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The history as it stood before snapshot `day` (and any later one) was applied: versions
    that start on or after it are dropped, versions it (or a later day) closed are open again.
    Exact for a history built from snapshots (`build_scd2`, `apply_snapshots`): a version
    closed on or after `day` was present on the last snapshot day before it."""
    day = pd.Timestamp(day)
    kept = history[(history[VALID_FROM] < day).to_numpy(dtype=bool)].reset_index(drop=True)
    reopened = (kept[VALID_TO] >= day).fillna(False).to_numpy(dtype=bool)
    kept.loc[reopened, VALID_TO] = pd.NaT
    kept.loc[reopened, IS_CURRENT] = True
    return kept


def apply_snapshot(
    history: pd.DataFrame,
    snapshot: pd.DataFrame,
    *,
    key: Sequence[str],
    tracked: Sequence[str],
    day: pd.Timestamp,
) -> pd.DataFrame:
    """The history after one more snapshot, of `day` (later than every day applied so far).

    A current version whose key is in the snapshot with the same tracked values continues;
    with other values it is closed on `day` and a new version starts; a current version
    whose key is missing is closed on `day`; a key with no current version starts one. An
    empty snapshot is no snapshot day (as in `build_scd2`): the history is unchanged."""
    key, tracked = list(key), list(tracked)
    if snapshot.empty:
        return history
    columns = [*key, *tracked]
    _require_columns(snapshot, columns, "the snapshot")
    _require_one_row_per(snapshot, key, "a snapshot must hold one row per key")
    day = np.datetime64(pd.Timestamp(day).as_unit("ns"))
    is_current = history[IS_CURRENT].fillna(False).to_numpy(dtype=bool)
    current = history[is_current]
    # "right" is the snapshot; the indicator says who has the key
    matched = current[key].merge(
        snapshot[columns].rename(columns={c: f"_new_{c}" for c in tracked}),
        on=key,
        how="outer",
        indicator=True,
        sort=False,
    )
    in_current = matched["_merge"].isin(["both", "left_only"]).to_numpy(dtype=bool)
    in_snapshot = matched["_merge"].isin(["both", "right_only"]).to_numpy(dtype=bool)
    changed = np.zeros(len(matched), dtype=bool)
    both = in_current & in_snapshot
    if both.any():
        position = current.reset_index(drop=True)
        lookup = matched[both][key].merge(
            position[key].reset_index(), on=key, how="left", sort=False
        )["index"]
        old = position.loc[lookup.to_numpy(), tracked].reset_index(drop=True)
        new = matched.loc[both, [f"_new_{c}" for c in tracked]].reset_index(drop=True)
        differs = np.zeros(int(both.sum()), dtype=bool)
        for column in tracked:
            differs |= _differs(new[f"_new_{column}"], old[column])
        changed[np.flatnonzero(both)] = differs
    closing = in_current & (~in_snapshot | changed)
    opening = in_snapshot & (~in_current | changed)

    # close: current versions whose key closes, found by key
    closes = matched.loc[closing, key]
    updated = history.copy()
    if len(closes):
        hit = current[key].reset_index().merge(closes, on=key, how="inner")["index"]
        updated.loc[hit.to_numpy(), VALID_TO] = day
        updated.loc[hit.to_numpy(), IS_CURRENT] = False
    opened = snapshot[columns].merge(matched.loc[opening, key], on=key, how="inner", sort=False)
    opened[VALID_FROM] = np.full(len(opened), day, dtype="datetime64[ns]")
    opened[VALID_TO] = np.full(len(opened), np.datetime64("NaT"), dtype="datetime64[ns]")
    opened[IS_CURRENT] = pd.array([True] * len(opened), dtype="boolean")
    combined = pd.concat([updated, opened.astype(updated.dtypes.to_dict())], ignore_index=True)
    return combined.sort_values([*key, VALID_FROM], kind="stable").reset_index(drop=True)


def empty_history(snapshots: pd.DataFrame, key: Sequence[str], tracked: Sequence[str]):
    """A history with no version, typed like one built from `snapshots`."""
    history = snapshots[[*key, *tracked]].iloc[:0].reset_index(drop=True)
    history[VALID_FROM] = pd.Series([], dtype="datetime64[ns]")
    history[VALID_TO] = pd.Series([], dtype="datetime64[ns]")
    history[IS_CURRENT] = pd.array([], dtype="boolean")
    return history


def apply_snapshots(
    history: pd.DataFrame | None,
    snapshots: pd.DataFrame,
    *,
    key: Sequence[str],
    tracked: Sequence[str],
    day_column: str,
    since: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """`history` (None: none yet) with the snapshot days of `snapshots` applied in order,
    after undoing the days from the first of them (or `since`, if earlier) on
    (`history_before`): a new day is appended, a reprocessed past day recomputes the history
    from that day (pass `since` when that day's snapshot may now be empty). The result equals
    `build_scd2` over every snapshot (the days before, kept in `history`, and these)."""
    key, tracked = list(key), list(tracked)
    _require_columns(snapshots, [*key, *tracked, day_column], "snapshots")
    _check_snapshots(snapshots, key, day_column)
    days = snapshots[day_column].to_numpy(dtype="datetime64[ns]")
    order = np.argsort(days, kind="stable")
    snapshot_days, starts = np.unique(days[order], return_index=True)
    if history is None:
        history = empty_history(snapshots, key, tracked)
    firsts = [pd.Timestamp(d) for d in [since, *snapshot_days[:1]] if d is not None]
    if not firsts:
        return history
    history = history_before(history, min(firsts))
    bounds = np.append(starts, len(order))
    for index, day in enumerate(snapshot_days):
        rows = snapshots.iloc[order[bounds[index] : bounds[index + 1]]]
        history = apply_snapshot(history, rows, key=key, tracked=tracked, day=day)
    return history
