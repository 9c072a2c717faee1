"""The lake's checkpoints: a step's state kept between runs, whole or not at all."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from etl_assets.io.lake import LakeCheckpoints, UnreadableCheckpoint
from etl_assets.io.lake import checkpoints as checkpoints_module
from etl_assets.io.lake.checkpoints import MANIFEST

KEY = dg.AssetKey(["gold", "customer_rfm"])
FACTS = {"through": "2024-01-31", "storage_id": 42, "days": 31}


def _tables(offset: int = 0) -> dict:
    frame = pd.DataFrame(
        {
            "customer_id": pd.array([1 + offset, 2, None], dtype="Int64"),
            "name": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
            "day": pd.to_datetime(["2024-01-01", "2024-01-02", None]),
            "value": [1.5, -2.25, float("nan")],
        }
    )
    arrow = pa.table(
        {
            "customer_id": pa.array([7, 8], type=pa.int64()),
            "invoice_no": pa.array(["A1", "B2"], type=pa.large_string()),
        }
    )
    return {"totals": frame, "invoices": arrow}


def test_a_saved_checkpoint_loads_as_it_was_saved(tmp_path):
    store = LakeCheckpoints(str(tmp_path))
    assert store.load(KEY) is None, "none saved yet"
    tables = _tables()
    assert store.save(KEY, FACTS, tables)
    loaded = store.load(KEY)
    assert loaded.facts == FACTS
    pd.testing.assert_frame_equal(loaded.tables["totals"], tables["totals"], check_exact=True)
    assert isinstance(loaded.tables["invoices"], pa.Table)
    assert loaded.tables["invoices"].equals(tables["invoices"])  # types included
    assert (tmp_path / ".checkpoints" / "gold" / "customer_rfm" / MANIFEST).exists()


def test_saving_again_keeps_the_new_and_the_one_a_reader_may_still_read(tmp_path):
    store = LakeCheckpoints(str(tmp_path))
    directory = tmp_path / ".checkpoints" / "gold" / "customer_rfm"
    for offset in range(3):
        assert store.save(KEY, {**FACTS, "storage_id": offset}, _tables(offset))
    kept = sorted(p.name for p in directory.iterdir() if p.is_dir())
    assert len(kept) == 2
    loaded = store.load(KEY)
    assert loaded.facts["storage_id"] == 2
    assert loaded.tables["totals"]["customer_id"][0] == 3


def test_a_save_that_fails_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    store = LakeCheckpoints(str(tmp_path))
    assert store.save(KEY, FACTS, _tables())
    directory = tmp_path / ".checkpoints" / "gold" / "customer_rfm"
    before = sorted(p.name for p in directory.iterdir())

    def disk_full(table, sink):
        sink.write(b"PAR1")  # half a file, then the device is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints_module, "write_parquet", disk_full)
    assert store.save(KEY, {**FACTS, "storage_id": 43}, _tables(5)) is False
    assert sorted(p.name for p in directory.iterdir()) == before, "nothing of it left behind"
    assert store.load(KEY).facts == FACTS


@pytest.mark.parametrize("damage", ["manifest", "table", "missing table"])
def test_a_damaged_checkpoint_is_unreadable_not_wrong(tmp_path, damage):
    store = LakeCheckpoints(str(tmp_path))
    assert store.save(KEY, FACTS, _tables())
    directory = tmp_path / ".checkpoints" / "gold" / "customer_rfm"
    manifest = json.loads((directory / MANIFEST).read_text())
    table_file = directory / manifest["tables"]["totals"]["file"]
    if damage == "manifest":
        (directory / MANIFEST).write_text('{"write_id": "x", "tab')
    elif damage == "table":
        table_file.write_bytes(table_file.read_bytes()[:40])
    else:
        table_file.unlink()
    with pytest.raises(UnreadableCheckpoint, match="manifest.json"):
        store.load(KEY)


def test_a_partial_arrow_cannot_hold_is_not_saved_and_fails_nothing(tmp_path):
    store = LakeCheckpoints(str(tmp_path))
    mixed = pd.DataFrame({"value": [1, "one", 2.5]})  # object column of mixed types
    assert store.save(KEY, FACTS, {"partial": mixed}) is False
    assert store.load(KEY) is None
