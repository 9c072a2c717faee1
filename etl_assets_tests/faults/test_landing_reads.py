"""A landing file rewritten while bronze reads it, or still being written when a headless
run starts: never ingested in part."""

from __future__ import annotations

import hashlib

import pytest
from upath import UPath

from etl_assets.connectors.files import LandingFiles
from etl_assets.connectors.stable_read import LandingFileChanging, read_whole, unsettled
from etl_assets.transforms.bronze import LandingFileError
from etl_assets.transforms.csv_reader import read_landing_csv

OLD = b"InvoiceNo,Quantity\n" + b"".join(b"%d,1\n" % n for n in range(5_000))
NEW = b"InvoiceNo,Quantity\n" + b"".join(b"%d,2\n" % n for n in range(9_000))


def _rewrite_while_read(monkeypatch, path, times: int) -> None:
    """The first `times` reads of `path` see an uploader writing over it: they return a
    prefix while the file grows to its new content."""
    cls = type(UPath(path))
    original = cls.read_bytes
    state = {"reads": 0}

    def read_bytes(self):
        data = original(self)
        if str(self) == str(UPath(path)) and state["reads"] < times:
            state["reads"] += 1
            with open(path, "wb") as handle:  # written over in place, like `cp`
                handle.write(NEW[: len(NEW) // 2] if state["reads"] < times else NEW)
            return data[: len(data) // 3]
        return data

    monkeypatch.setattr(cls, "read_bytes", read_bytes)


def test_a_file_rewritten_during_the_read_is_read_again_once_stable(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    path = landing / "orders" / "orders_2024-01-01.csv"
    path.write_bytes(OLD)
    _rewrite_while_read(monkeypatch, path, times=1)
    data = LandingFiles(base_dir=str(landing)).read_bytes("orders/orders_2024-01-01.csv")
    assert data == NEW  # one whole version, the one on disk now
    read = read_landing_csv(
        data, source_file="x", expected_columns=("InvoiceNo", "Quantity"), required_columns=()
    )
    assert read.sha256 == hashlib.sha256(NEW).hexdigest() and read.size_bytes == len(NEW)
    assert read.frame.shape[0] == 9_000


def test_a_file_that_never_holds_still_fails_naming_it(tmp_path, monkeypatch):
    path = tmp_path / "orders_2024-01-01.csv"
    path.write_bytes(OLD)
    _rewrite_while_read(monkeypatch, path, times=99)
    with pytest.raises(LandingFileChanging) as error:
        read_whole(UPath(path), pauses=(0, 0), sleep=lambda _: None)
    message = str(error.value)
    assert str(path) in message
    assert "changed while it was read; re-run when the upload has finished" in message
    assert isinstance(error.value, LandingFileError)  # bronze fails at once, not retried


def test_the_cli_rule_for_still_being_written(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "growing.csv").write_bytes(OLD)
    (tmp_path / "done.csv").write_bytes(OLD)

    def meanwhile(_seconds):  # an upload goes on while we wait between the two looks
        with open(tmp_path / "growing.csv", "ab") as handle:
            handle.write(b"5000,1\n")

    busy = unsettled(str(tmp_path), ["empty.csv", "growing.csv", "done.csv"], sleep=meanwhile)
    assert busy["empty.csv"] == "empty: still being written"
    assert "still being written" in busy["growing.csv"]
    assert "done.csv" not in busy


def test_files_changed_long_ago_are_looked_at_once(tmp_path):
    (tmp_path / "old.csv").write_bytes(OLD)
    slept = []
    far_future = lambda: 10**19  # noqa: E731
    assert unsettled(str(tmp_path), ["old.csv"], sleep=slept.append, now_ns=far_future) == {}
    assert slept == []


def test_a_last_line_cut_mid_record_is_flagged(tmp_path):
    cut = OLD[:-3]  # "4999,1\n" cut to "4999"
    read = read_landing_csv(
        cut, source_file="x", expected_columns=("InvoiceNo", "Quantity"), required_columns=()
    )
    assert read.frame["_read_error"].iloc[-1] == "malformed_line"
    assert read.frame.shape[0] == 5_000  # kept and flagged, not dropped
