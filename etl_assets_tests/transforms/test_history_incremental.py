"""A day's snapshot applied to the current history (`apply_snapshots`) equals the history
rebuilt from every snapshot (`build_scd2`), for new days and for a reprocessed past day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etl_assets.transforms.history import apply_snapshots, build_scd2, history_before
from etl_assets_tests.transforms.test_history import CUSTOMER, snapshots

DAY = "snapshot_date"


def rebuild(frame: pd.DataFrame) -> pd.DataFrame:
    return build_scd2(frame, **CUSTOMER, day_column=DAY)


def day_by_day(frame: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each snapshot day applied on its own, in order, as daily runs do."""
    for _, rows in frame.groupby(DAY, sort=True):
        history = apply_snapshots(history, rows, **CUSTOMER, day_column=DAY)
    return history


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)


# customer 1 changes back and forth, 2 disappears and comes back, 3 disappears for good,
# 4 arrives late, 5 has a null country then gets one
STORY = snapshots(
    [
        (1, "a", "FR", "2024-01-01"),
        (2, "b", "UK", "2024-01-01"),
        (3, "c", "DE", "2024-01-01"),
        (5, "e", None, "2024-01-01"),
        (1, "a", "UK", "2024-01-02"),
        (3, "c", "DE", "2024-01-02"),
        (5, "e", None, "2024-01-02"),
        (1, "a", "FR", "2024-01-03"),
        (2, "b", "UK", "2024-01-03"),
        (4, "d", "IT", "2024-01-03"),
        (5, "e", "ES", "2024-01-03"),
        (1, "a2", "FR", "2024-01-05"),  # a gap between snapshot days closes nothing
        (2, "b", "UK", "2024-01-05"),
        (4, "d", "IT", "2024-01-05"),
        (5, "e", "ES", "2024-01-05"),
    ]
)


def test_days_applied_one_by_one_equal_the_rebuild():
    assert_same(day_by_day(STORY), rebuild(STORY))


def test_all_days_at_once_equal_the_rebuild():
    assert_same(apply_snapshots(None, STORY, **CUSTOMER, day_column=DAY), rebuild(STORY))


@pytest.mark.parametrize("replaced", ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05"])
def test_a_reprocessed_past_day_recomputes_the_history_from_that_day(replaced):
    history = day_by_day(STORY)
    # the day's file replaced: customer 1 flips, 3 vanishes, 6 appears
    day = pd.Timestamp(replaced)
    new_day = snapshots(
        [(1, "z", "NL", replaced), (2, "b", "UK", replaced), (6, "f", "PT", replaced)]
    )
    changed = pd.concat([STORY[STORY[DAY] != day], new_day]).sort_values(DAY, kind="stable")
    later = changed[changed[DAY] >= day]
    updated = apply_snapshots(history, later, **CUSTOMER, day_column=DAY)
    assert_same(updated, rebuild(changed.reset_index(drop=True)))


def test_history_before_a_day_is_the_history_of_the_days_before():
    for cut in ["2024-01-02", "2024-01-03", "2024-01-05"]:
        before = STORY[STORY[DAY] < pd.Timestamp(cut)].reset_index(drop=True)
        assert_same(history_before(rebuild(STORY), pd.Timestamp(cut)), rebuild(before))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_snapshots_day_by_day_and_reprocessed_equal_the_rebuild(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(25):
        present = rng.random(60) < 0.8
        day = str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(index * 1.5)))[:10]
        for customer in np.flatnonzero(present):
            rows.append(
                (
                    int(customer),
                    str(rng.integers(0, 2)),  # flips back and forth
                    rng.choice(["FR", "UK", None], p=[0.45, 0.45, 0.1]),
                    day,
                )
            )
    frame = snapshots(rows)
    assert_same(day_by_day(frame), rebuild(frame))
    days = sorted(frame[DAY].unique())
    replaced = days[10]
    redone = frame.copy()
    at = (redone[DAY] == replaced).to_numpy()
    redone.loc[at, "country"] = "DE"
    history = day_by_day(frame)
    updated = apply_snapshots(history, redone[redone[DAY] >= replaced], **CUSTOMER, day_column=DAY)
    assert_same(updated, rebuild(redone))


def test_an_empty_snapshot_changes_nothing():
    history = rebuild(STORY)
    assert_same(apply_snapshots(history, STORY.iloc[:0], **CUSTOMER, day_column=DAY), history)
