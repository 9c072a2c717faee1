"""Looking at a landing directory: files, fingerprints, links, and a directory that is gone."""

from __future__ import annotations

import hashlib
import os
import uuid

import fsspec
import pytest

from etl_assets.connectors.landing_scan import LandingDirectoryMissing, scan_landing, sha256_of


def by_name(base_dir: str):
    return {entry.relative: entry for entry in scan_landing(base_dir)}


def test_local_scan_lists_nested_files_with_sizes(tmp_path):
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "orders_2024-01-01.csv").write_bytes(b"a,b\n1,2\n")
    (tmp_path / "manifest.json").write_text("{}")
    found = by_name(str(tmp_path))
    assert set(found) == {"orders/orders_2024-01-01.csv", "manifest.json"}
    assert found["orders/orders_2024-01-01.csv"].size == 8
    assert found["orders/orders_2024-01-01.csv"].outside_target is None


def test_fingerprint_changes_with_content_even_when_size_and_mtime_are_kept(tmp_path):
    path = tmp_path / "orders_2024-01-01.csv"
    path.write_bytes(b"one\n")
    before = by_name(str(tmp_path))["orders_2024-01-01.csv"].fingerprint
    assert by_name(str(tmp_path))["orders_2024-01-01.csv"].fingerprint == before
    kept = os.stat(path)
    path.write_bytes(b"two\n")  # same size...
    os.utime(path, ns=(kept.st_atime_ns, kept.st_mtime_ns))  # ...and the old mtime
    changed = by_name(str(tmp_path))["orders_2024-01-01.csv"].fingerprint
    assert changed != before  # the change time gives it away
    staged = tmp_path / "staged.bin"
    staged.write_bytes(b"six\n")
    os.utime(staged, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    staged.rename(path)  # moved into place, size and mtime identical
    assert by_name(str(tmp_path))["orders_2024-01-01.csv"].fingerprint != changed


def test_link_outside_is_reported_with_its_target_and_inside_links_are_files(tmp_path):
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    outside = tmp_path / "secret.csv"
    outside.write_text("password\n")
    (landing / "orders" / "orders_2024-01-01.csv").symlink_to(outside)
    real = landing / "orders" / "orders_2024-01-02.csv"
    real.write_text("a\n1\n")
    (landing / "orders" / "orders_2024-01-03.csv").symlink_to(real)
    (landing / "elsewhere").symlink_to(tmp_path)  # a folder outside
    (landing / "loop").symlink_to(landing)  # a folder inside: not followed, no endless walk
    found = by_name(str(landing))
    assert found["orders/orders_2024-01-01.csv"].outside_target == str(outside)
    assert found["elsewhere"].outside_target == str(tmp_path)
    assert found["orders/orders_2024-01-03.csv"].outside_target is None
    assert found["orders/orders_2024-01-03.csv"].size == 4
    assert "loop" not in found and not any(name.startswith("loop/") for name in found)


def test_folder_removed_during_the_scan_is_skipped(tmp_path, monkeypatch):
    for name in ("orders", "customers"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}_2024-01-01.csv").write_text("a\n")
    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("customers"):
            raise FileNotFoundError(path)  # removed between the listing of its parent and now
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert set(by_name(str(tmp_path))) == {"orders/orders_2024-01-01.csv"}


def test_missing_directory_raises_a_clear_error(tmp_path):
    with pytest.raises(LandingDirectoryMissing, match="does not exist"):
        scan_landing(str(tmp_path / "gone"))


def test_sha256_of_streams_the_file(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"x" * 3_000_000)
    assert sha256_of(str(tmp_path), "a.csv") == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_remote_filesystem_is_scanned_through_fsspec():
    root = f"memory://landing-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    fs.pipe(f"{root}/orders/orders_2024-01-01.csv", b"a\n1\n")
    fs.pipe(f"{root}/products/products.csv", b"b\n")
    found = by_name(root)
    assert set(found) == {"orders/orders_2024-01-01.csv", "products/products.csv"}
    assert found["orders/orders_2024-01-01.csv"].size == 4
    assert sha256_of(root, "products/products.csv") == hashlib.sha256(b"b\n").hexdigest()
    with pytest.raises(LandingDirectoryMissing):
        scan_landing(f"memory://nothing-{uuid.uuid4().hex}")
