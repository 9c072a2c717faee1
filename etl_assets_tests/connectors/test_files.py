"""The landing directory resource: paths, bytes, listing, and refusing to leave the directory."""

from __future__ import annotations

import uuid

import pytest

from etl_assets.connectors.files import LandingFileMissing, LandingFiles, LandingPathError
from etl_assets.transforms.bronze import LandingFileError

PATTERN = "orders/orders_{date}.csv"


@pytest.fixture
def landing(tmp_path) -> LandingFiles:
    orders = tmp_path / "orders"
    orders.mkdir()
    for day in ("2024-01-02", "2024-01-01"):
        (orders / f"orders_{day}.csv").write_bytes(f"id\n{day}\n".encode())
    (orders / "orders_latest.csv").write_bytes(b"id\n")  # not a day: not listed
    (orders / "orders_2024-02-30.csv").write_bytes(b"id\n")  # not a calendar day
    return LandingFiles(base_dir=str(tmp_path))


def test_path_for_fills_the_day(landing):
    assert landing.path_for(PATTERN, "2024-01-02") == "orders/orders_2024-01-02.csv"
    assert landing.path_for("products/products.csv", None) == "products/products.csv"


@pytest.mark.parametrize(
    ("pattern", "day"),
    [
        (PATTERN, None),
        ("products/products.csv", "2024-01-02"),
        (PATTERN, "2024-1-2"),
        (PATTERN, "../../etc/passwd"),
        ("../outside/{date}.csv", "2024-01-02"),
        ("/etc/{date}.csv", "2024-01-02"),
        ("s3://bucket/{date}.csv", "2024-01-02"),
    ],
)
def test_path_for_refuses_bad_patterns_and_days(landing, pattern, day):
    with pytest.raises(LandingPathError):
        landing.path_for(pattern, day)


def test_read_bytes_and_exists(landing):
    assert landing.read_bytes("orders/orders_2024-01-01.csv") == b"id\n2024-01-01\n"
    assert landing.exists("orders/orders_2024-01-01.csv")
    assert not landing.exists("orders/orders_2024-03-01.csv")


def test_missing_file_error_names_the_path_and_what_to_do(landing, tmp_path):
    with pytest.raises(LandingFileMissing) as error:
        landing.read_bytes("orders/orders_2024-03-01.csv")
    assert isinstance(error.value, LandingFileError) and isinstance(error.value, FileNotFoundError)
    message = str(error.value)
    assert str(tmp_path / "orders" / "orders_2024-03-01.csv") in message
    assert "etl-assets sample" in message


@pytest.mark.parametrize("relative", ["../secret.csv", "orders/../../secret.csv", "/etc/passwd"])
def test_reading_outside_the_landing_dir_is_refused(landing, relative):
    with pytest.raises(LandingPathError):
        landing.read_bytes(relative)
    with pytest.raises(LandingPathError):
        landing.exists(relative)


def test_list_files_gives_days_in_order(landing):
    assert landing.list_files(PATTERN) == [
        ("2024-01-01", "orders/orders_2024-01-01.csv"),
        ("2024-01-02", "orders/orders_2024-01-02.csv"),
    ]
    assert landing.list_files("customers/customers_{date}.csv") == []
    with pytest.raises(LandingPathError):
        landing.list_files("products/products.csv")


def test_an_fsspec_url_works():
    base = f"memory://landing-{uuid.uuid4().hex}"
    landing = LandingFiles(base_dir=base)
    from upath import UPath

    (UPath(base) / "orders").mkdir(parents=True, exist_ok=True)
    (UPath(base) / "orders" / "orders_2024-01-05.csv").write_bytes(b"id\n1\n")
    assert landing.list_files(PATTERN) == [("2024-01-05", "orders/orders_2024-01-05.csv")]
    assert landing.read_bytes("orders/orders_2024-01-05.csv") == b"id\n1\n"
    with pytest.raises(LandingFileMissing):
        landing.read_bytes("orders/orders_2024-01-06.csv")
