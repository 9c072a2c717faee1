"""Silver of a source read by a watermark (connector postgres): bronze logs every version of a
row, silver keeps the latest (or every version, for a history). Pure transforms, no server;
the end-to-end tests are in connectors/test_postgres_source_versions.py."""

import numpy as np
import pandas as pd
import pytest

from etl_assets.sources import load_source, load_sources
from etl_assets.sources.reserved_columns import CONFLICTING_DUPLICATE_KEY
from etl_assets.transforms.history import scd2_from_versions
from etl_assets.transforms.silver import clean_source, versioned_by

STRING = "string[pyarrow]"
LABEL = "postgres://127.0.0.1:5432/crm/public.accounts"
DECLARATION = """\
name: accounts
connector: postgres
format: json
postgres: {url_env: ETL_CRM_URL, table: public.accounts, watermark: changed}
partitioning: {type: none}
columns:
  - {name: id, as: account_id, type: int, required: true}
  - {name: country, as: country, type: string}
  - {name: plan, as: plan, type: string}
  - {name: changed, as: changed_at, type: datetime}
business_key: [account_id]
"""
HISTORY = "history: {type: scd2, tracked: [country]}\n"


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "accounts.yaml"
    path.write_text(DECLARATION, "utf-8")
    return load_source(path)


@pytest.fixture
def history_spec(tmp_path):
    path = tmp_path / "accounts.yaml"
    path.write_text(DECLARATION + HISTORY, "utf-8")
    return load_source(path)


def bronze(batches):
    """batches: one list of (id, country, plan, changed) per extraction, in extraction order;
    lineage as bronze_postgres writes it (row numbers run on across batches)."""
    rows = [(b, *row) for b, batch in enumerate(batches) for row in batch]
    batch, ids, countries, plans, changed = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "id": pd.array(ids, dtype=STRING),
            "country": pd.array(countries, dtype=STRING),
            "plan": pd.array(plans, dtype=STRING),
            "changed": pd.array(changed, dtype=STRING),
            "_source_file": pd.array([LABEL] * len(rows), dtype=STRING),
            "_batch_id": pd.array([f"accounts:batch{b}" for b in batch], dtype=STRING),
            "_ingested_at": pd.Series(
                [pd.Timestamp("2024-06-01", tz="UTC") + pd.Timedelta(minutes=b) for b in batch],
                dtype="datetime64[ns, UTC]",
            ),
            "_row_number": np.arange(1, len(rows) + 1, dtype=np.int64),
            "_landing_date": pd.Series([pd.NaT] * len(rows), dtype="datetime64[ns]"),
            "_read_error": pd.array([None] * len(rows), dtype=STRING),
        }
    )


def clean(frame, spec):
    result = clean_source(frame, spec)
    assert result.rows_in == len(result.clean) + len(result.quarantine) + result.duplicates_removed
    assert result.superseded <= result.duplicates_removed
    return result


def by_id(result):
    return result.clean.set_index("account_id")[["country", "plan"]].to_dict("index")


def test_only_sources_read_by_a_watermark_are_versioned(spec):
    assert versioned_by(spec) == "changed_at"
    assert all(versioned_by(s) is None for s in load_sources().values())  # the file sources


def test_the_latest_version_wins_whatever_its_place_in_bronze(spec):
    first = [
        ("1", "France", "free", "2024-03-01 08:00"),
        ("2", "Spain", "free", "2024-03-01 08:00"),
    ]
    update = [("2", "Iceland", "pro", "2024-03-01 09:00")]
    back = [("2", "Spain", "free", "2024-03-01 10:00")]
    frame = bronze([first, update, back])
    result = clean(frame, spec)
    assert by_id(result) == {
        1: {"country": "France", "plan": "free"},
        2: {"country": "Spain", "plan": "free"},
    }
    assert result.clean.loc[result.clean["account_id"] == 2, "_row_number"].item() == 4
    assert result.quarantine.empty
    assert (result.duplicates_removed, result.superseded) == (2, 2)
    # The order of the bronze frame does not matter: the watermark does.
    shuffled = clean(frame.iloc[[3, 0, 2, 1]].reset_index(drop=True), spec)
    pd.testing.assert_frame_equal(
        shuffled.clean.sort_values("account_id", ignore_index=True),
        result.clean.sort_values("account_id", ignore_index=True),
    )
    # A later watermark read in an earlier batch still wins over an older one read later.
    late = clean(bronze([update, first]), spec)
    assert by_id(late)[2] == {"country": "Iceland", "plan": "pro"}


def test_same_watermark_same_batch_conflicts_other_batch_wins_exact_repeat_is_removed(spec):
    batch = [
        ("1", "France", "free", "2024-03-01 08:00"),
        ("1", "France", "free", "2024-03-01 08:00"),  # an exact repeat: removed
        ("2", "Spain", "free", "2024-03-01 08:00"),
        ("2", "Portugal", "free", "2024-03-01 08:00"),  # same key and time: a conflict
    ]
    result = clean(bronze([batch]), spec)
    assert result.quarantine["_reject_reason"].tolist() == [CONFLICTING_DUPLICATE_KEY]
    assert result.quarantine["country"].tolist() == ["Spain"]  # the later row read is kept
    assert "differs in country" in result.quarantine["_reject_detail"].item()
    assert by_id(result)[2]["country"] == "Portugal"
    assert (result.duplicates_removed, result.superseded) == (1, 0)

    # The same key and time read again in a later batch (a full re-read) with other values:
    # the later read wins, no conflict.
    reread = [("1", "Andorra", "free", "2024-03-01 08:00")]
    result = clean(bronze([batch[:1], reread]), spec)
    assert by_id(result)[1]["country"] == "Andorra"
    assert result.quarantine.empty and result.superseded == 1


def test_a_row_failing_a_rule_is_quarantined_and_the_latest_valid_version_wins(spec):
    batches = [
        [("1", "France", "free", "2024-03-01 08:00")],
        [("1", "Iceland", "pro", "not a time")],
    ]
    result = clean(bronze(batches), spec)
    assert result.quarantine["_reject_reason"].tolist() == ["unparseable_changed_at"]
    assert by_id(result)[1]["country"] == "France"


def test_a_history_keeps_every_version_and_its_current_row_is_the_latest(history_spec):
    batches = [
        [("1", "France", "free", "2024-03-01 08:00"), ("2", "Spain", "free", "2024-03-01 08:00")],
        [("1", "Iceland", "free", "2024-03-01 09:00")],
        [("1", "Iceland", "pro", "2024-03-01 10:00")],  # untracked change: same version
        [("1", "Iceland", "pro", "2024-03-01 10:00")],  # read again: removed, not a version
    ]
    result = clean(bronze(batches), history_spec)
    assert len(result.clean) == 4 and result.quarantine.empty
    assert (result.duplicates_removed, result.superseded) == (1, 0)
    history = scd2_from_versions(
        result.clean, key=["account_id"], tracked=["country"], valid_from="changed_at"
    )
    assert history[["account_id", "country", "valid_from", "is_current"]].values.tolist() == [
        [1, "France", pd.Timestamp("2024-03-01 08:00"), False],
        [1, "Iceland", pd.Timestamp("2024-03-01 09:00"), True],
        [2, "Spain", pd.Timestamp("2024-03-01 08:00"), True],
    ]
