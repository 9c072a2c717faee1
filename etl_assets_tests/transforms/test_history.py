import pandas as pd
import pytest

from etl_assets.transforms.history import build_scd2, scd2_from_versions

NAT = pd.NaT
STRING = "string[pyarrow]"
# the customer table both builders are tested on
CUSTOMER = {"key": ["customer_id"], "tracked": ["email_hash", "country"]}


def day(text):
    return pd.Timestamp(text)


def snapshots(rows):
    """rows: (customer_id, email_hash, country, snapshot_date)."""
    ids, emails, countries, days = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="Int64"),
            "email_hash": pd.array(emails, dtype=STRING),
            "country": pd.array(countries, dtype=STRING),
            "snapshot_date": pd.to_datetime(list(days)),
        }
    )


def history(rows):
    """rows: (customer_id, email_hash, country, valid_from, valid_to, is_current)."""
    ids, emails, countries, starts, ends, current = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="Int64"),
            "email_hash": pd.array(emails, dtype=STRING),
            "country": pd.array(countries, dtype=STRING),
            "valid_from": pd.to_datetime(list(starts)),
            "valid_to": pd.to_datetime(list(ends)),
            "is_current": pd.array(current, dtype="boolean"),
        }
    )


def scd2(frame):
    return build_scd2(frame, **CUSTOMER, day_column="snapshot_date")


def test_unchanged_days_keep_one_current_version():
    frame = snapshots(
        [
            (1, "h1", "France", "2024-01-01"),
            (1, "h1", "France", "2024-01-02"),
            (1, "h1", "France", "2024-01-03"),
        ]
    )
    expected = history([(1, "h1", "France", "2024-01-01", NAT, True)])
    pd.testing.assert_frame_equal(scd2(frame), expected)


def test_a_change_closes_the_version_and_opens_the_next():
    frame = snapshots(
        [
            (1, "h1", "France", "2024-01-01"),
            (1, "h1", "Germany", "2024-01-02"),
            (1, "h2", "Germany", "2024-01-03"),
            (1, "h2", "Germany", "2024-01-04"),
        ]
    )
    expected = history(
        [
            (1, "h1", "France", "2024-01-01", "2024-01-02", False),
            (1, "h1", "Germany", "2024-01-02", "2024-01-03", False),
            (1, "h2", "Germany", "2024-01-03", NAT, True),
        ]
    )
    pd.testing.assert_frame_equal(scd2(frame), expected)


def test_a_change_back_is_a_new_version():
    frame = snapshots(
        [
            (1, "h1", "France", "2024-01-01"),
            (1, "h1", "Spain", "2024-01-02"),
            (1, "h1", "France", "2024-01-03"),
        ]
    )
    expected = history(
        [
            (1, "h1", "France", "2024-01-01", "2024-01-02", False),
            (1, "h1", "Spain", "2024-01-02", "2024-01-03", False),
            (1, "h1", "France", "2024-01-03", NAT, True),
        ]
    )
    pd.testing.assert_frame_equal(scd2(frame), expected)


def test_disappearing_closes_on_the_first_missing_day_and_reappearing_reopens():
    frame = snapshots(
        [
            (1, "h1", "France", "2024-01-01"),
            (2, "h2", "Spain", "2024-01-01"),
            (2, "h2", "Spain", "2024-01-02"),
            (2, "h2", "Spain", "2024-01-03"),
            (1, "h1", "France", "2024-01-04"),
            (2, "h2", "Spain", "2024-01-04"),
        ]
    )
    expected = history(
        [
            (1, "h1", "France", "2024-01-01", "2024-01-02", False),
            (1, "h1", "France", "2024-01-04", NAT, True),
            (2, "h2", "Spain", "2024-01-01", NAT, True),
        ]
    )
    pd.testing.assert_frame_equal(scd2(frame), expected)


def test_a_key_gone_from_the_last_snapshot_is_not_current():
    frame = snapshots(
        [
            (1, "h1", "France", "2024-01-01"),
            (2, "h2", "Spain", "2024-01-01"),
            (2, "h2", "Spain", "2024-01-02"),
        ]
    )
    expected = history(
        [
            (1, "h1", "France", "2024-01-01", "2024-01-02", False),
            (2, "h2", "Spain", "2024-01-01", NAT, True),
        ]
    )
    pd.testing.assert_frame_equal(scd2(frame), expected)


def test_snapshot_days_are_the_days_present_so_gaps_between_snapshots_do_not_close():
    # no snapshot at all on 2024-01-02: customer 1 did not disappear
    frame = snapshots(
        [
            (1, "h1", "France", "2024-01-01"),
            (1, "h1", "France", "2024-01-03"),
        ]
    )
    expected = history([(1, "h1", "France", "2024-01-01", NAT, True)])
    pd.testing.assert_frame_equal(scd2(frame), expected)


def test_nulls_equal_nulls_but_not_values():
    frame = snapshots(
        [
            (1, None, "France", "2024-01-01"),
            (1, None, "France", "2024-01-02"),
            (1, "h1", "France", "2024-01-03"),
            (1, None, "France", "2024-01-04"),
        ]
    )
    expected = history(
        [
            (1, None, "France", "2024-01-01", "2024-01-03", False),
            (1, "h1", "France", "2024-01-03", "2024-01-04", False),
            (1, None, "France", "2024-01-04", NAT, True),
        ]
    )
    pd.testing.assert_frame_equal(scd2(frame), expected)


def test_output_is_sorted_by_key_then_valid_from_whatever_the_input_order():
    frame = snapshots(
        [
            (2, "h2", "Spain", "2024-01-02"),
            (1, "h1b", "France", "2024-01-02"),
            (2, "h2", "Spain", "2024-01-01"),
            (1, "h1", "France", "2024-01-01"),
        ]
    )
    expected = history(
        [
            (1, "h1", "France", "2024-01-01", "2024-01-02", False),
            (1, "h1b", "France", "2024-01-02", NAT, True),
            (2, "h2", "Spain", "2024-01-01", NAT, True),
        ]
    )
    pd.testing.assert_frame_equal(scd2(frame), expected)


def test_valid_to_chains_to_the_next_valid_from():
    frame = snapshots([(1, f"h{i % 3}", "France", f"2024-01-{i:02d}") for i in range(1, 11)])
    result = scd2(frame)
    assert list(result["valid_to"].iloc[:-1]) == list(result["valid_from"].iloc[1:])
    assert result["is_current"].tolist() == [False] * 9 + [True]


def test_empty_snapshots_give_an_empty_history_with_the_columns():
    result = scd2(snapshots([(1, "h", "France", "2024-01-01")]).iloc[:0])
    assert list(result.columns) == [
        "customer_id",
        "email_hash",
        "country",
        "valid_from",
        "valid_to",
        "is_current",
    ]
    assert len(result) == 0


def test_two_rows_for_one_key_and_day_are_refused():
    frame = snapshots([(1, "h1", "France", "2024-01-01"), (1, "h2", "France", "2024-01-01")])
    with pytest.raises(ValueError, match="one row per key per day"):
        scd2(frame)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="country"):
        scd2(snapshots([(1, "h1", "France", "2024-01-01")]).drop(columns="country"))


# ------------------------------------------------------- from versions (read by watermark)


def from_versions(rows):
    """rows: (customer_id, email_hash, country, updated_at), one per version read."""
    frame = snapshots(rows).rename(columns={"snapshot_date": "updated_at"})
    return scd2_from_versions(frame, **CUSTOMER, valid_from="updated_at")


def test_versions_chain_by_watermark_and_a_quiet_key_stays_current():
    result = from_versions(
        [
            (2, "h2", "Spain", "2024-01-01 08:00:00"),
            (1, "h1", "France", "2024-01-01 08:00:00"),
            (1, "h1", "Iceland", "2024-01-03 09:30:00"),
            (1, "h1", "France", "2024-01-02 10:00:00"),  # rows come in any order
            (1, "h9", "France", "2024-01-02 10:00:01"),
        ]
    )
    expected = history(
        [
            (1, "h1", "France", "2024-01-01 08:00:00", "2024-01-02 10:00:01", False),
            (1, "h9", "France", "2024-01-02 10:00:01", "2024-01-03 09:30:00", False),
            (1, "h1", "Iceland", "2024-01-03 09:30:00", NAT, True),
            # key 2 has no row in the later batches: unchanged, not gone (unlike a snapshot)
            (2, "h2", "Spain", "2024-01-01 08:00:00", NAT, True),
        ]
    )
    pd.testing.assert_frame_equal(result, expected)


def test_a_version_changing_only_untracked_columns_continues_and_a_change_back_is_new():
    result = from_versions(
        [
            (1, "h1", "France", "2024-01-01"),
            (1, "h1", "France", "2024-01-02"),  # say the phone changed: not tracked
            (1, "h1", "Spain", "2024-01-03"),
            (1, "h1", "France", "2024-01-04"),
        ]
    )
    expected = history(
        [
            (1, "h1", "France", "2024-01-01", "2024-01-03", False),
            (1, "h1", "Spain", "2024-01-03", "2024-01-04", False),
            (1, "h1", "France", "2024-01-04", NAT, True),
        ]
    )
    pd.testing.assert_frame_equal(result, expected)


def test_versions_refuse_two_rows_for_one_key_and_watermark_and_a_non_datetime():
    with pytest.raises(ValueError, match="one row per key and updated_at"):
        from_versions([(1, "h1", "France", "2024-01-01"), (1, "h2", "France", "2024-01-01")])
    frame = pd.DataFrame({"customer_id": [1], "country": ["France"], "version": [7]})
    with pytest.raises(ValueError, match="must be a datetime"):
        scd2_from_versions(frame, key=["customer_id"], tracked=["country"], valid_from="version")
    empty = snapshots([(1, "h1", "France", "2024-01-01")]).iloc[:0]
    result = scd2_from_versions(
        empty, key=["customer_id"], tracked=["country"], valid_from="snapshot_date"
    )
    assert len(result) == 0 and list(result.columns)[-3:] == [
        "valid_from",
        "valid_to",
        "is_current",
    ]
