"""The sample catalogue as a paged API: `etl-assets serve-sample-api`, and the products
source switching to it when ETL_CATALOGUE_URL is set."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import dagster as dg
import pandas as pd
import pytest

from etl_assets.cli import main
from etl_assets.connectors.http import reset_breakers
from etl_assets.sample.api import load_catalogue, make_server, page_of, serve_in_thread, url_of

PRODUCTS = [dg.AssetKey(["bronze", "products"]), dg.AssetKey(["silver", "products"])]
LINEAGE = ["_source_file", "_batch_id"]


@pytest.fixture
def catalogue_api(sample_dir):
    reset_breakers()
    server = make_server(load_catalogue(sample_dir / "landing"))
    thread = serve_in_thread(server)
    yield url_of(server)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    reset_breakers()


def materialize_products(defs: dg.Definitions, instance) -> None:
    result = dg.materialize(
        [defs.get_assets_def(key) for key in PRODUCTS], resources=defs.resources, instance=instance
    )
    assert result.success


def test_products_come_over_http_when_the_catalogue_url_is_set(
    data_dir, defs_for, instance, catalogue_api
):
    files_defs, _ = defs_for(data_dir)
    assert "csv" in files_defs.get_assets_def(PRODUCTS[0]).specs_by_key[PRODUCTS[0]].kinds
    materialize_products(files_defs, instance)
    lake = data_dir / "lake" / "silver" / "products.parquet"
    from_files = pd.read_parquet(lake)

    http_defs, _ = defs_for(data_dir, ETL_CATALOGUE_URL=catalogue_api)
    spec = http_defs.get_assets_def(PRODUCTS[0]).specs_by_key[PRODUCTS[0]]
    assert "http" in spec.kinds and catalogue_api in spec.description
    materialize_products(http_defs, instance)
    from_http = pd.read_parquet(lake)
    bronze = pd.read_parquet(data_dir / "lake" / "bronze" / "products.parquet")
    assert set(bronze["_source_file"]) == {catalogue_api}
    pd.testing.assert_frame_equal(from_http.drop(columns=LINEAGE), from_files.drop(columns=LINEAGE))
    event = instance.get_latest_materialization_event(PRODUCTS[0])
    metadata = event.asset_materialization.metadata
    assert metadata["http_pages"].value == len(bronze) // 500 + 1
    assert metadata["http_retries"].value == 0


def test_page_of_answers_pages_and_refuses_bad_parameters():
    records = [{"StockCode": str(i)} for i in range(5)]
    status, body = page_of(records, "page=2&page_size=2")
    assert status == 200 and body["items"] == records[2:4] and body["total"] == 5
    assert page_of(records, "page=0")[0] == 400
    assert page_of(records, "page_size=lots")[0] == 400


def test_serve_command_serves_until_stopped(sample_dir):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "etl_assets.cli",
            "serve-sample-api",
            "--port",
            "0",
            "--data-dir",
            str(sample_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        assert first_line.startswith("serving "), process.stderr.read()
        url = first_line.split(" at ")[1].split("?")[0]
        with urllib.request.urlopen(f"{url}?page=1&page_size=3", timeout=5) as response:
            body = json.load(response)
        assert len(body["items"]) == 3 and {"StockCode", "UnitPrice"} <= body["items"][0].keys()
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_serve_command_without_sample_data_says_what_to_do(tmp_path, capsys):
    assert main(["serve-sample-api", "--port", "0", "--data-dir", str(tmp_path)]) == 2
    assert "etl-assets sample" in capsys.readouterr().err


def test_validate_sources_lists_every_declaration(capsys):
    assert main(["validate-sources"]) == 0
    out = capsys.readouterr().out
    assert "ok     orders.yaml: orders (files, csv, daily" in out
    assert "3 valid, 0 invalid" in out


def test_validate_sources_reports_each_bad_file(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("name: a\nconnector: ftp\n")
    (tmp_path / "b.yaml").write_text("name: [unclosed\n")
    assert main(["validate-sources", "--dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "a.yaml: field 'columns': is required but missing" in captured.err
    assert "b.yaml: field '<document>': is not valid YAML" in captured.err
    assert "0 valid, 2 invalid" in captured.out
    assert main(["validate-sources", "--dir", str(tmp_path / "absent")]) == 2
