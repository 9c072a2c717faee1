"""`etl-assets` commands: sample data, and a clear message when there is nothing to run."""

import json

from etl_assets.cli import main


def test_sample_writes_landing_zone(tmp_path, capsys):
    code = main(["sample", "--out", str(tmp_path), "--days", "2", "--rows-per-day", "300"])
    assert code == 0
    assert "2 days, 600 order lines" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "landing" / "manifest.json").read_text())
    assert sorted(manifest["orders"]) == ["2024-01-01", "2024-01-02"]
    assert (tmp_path / "landing" / "products" / "products.csv").exists()


def test_sample_refuses_to_mix_with_existing_files(tmp_path, capsys):
    args = ["sample", "--out", str(tmp_path), "--days", "3", "--rows-per-day", "100"]
    assert main(args) == 0
    shorter = ["sample", "--out", str(tmp_path), "--days", "1", "--rows-per-day", "100"]
    assert main(shorter) == 2
    assert "--replace" in capsys.readouterr().err
    assert main([*shorter, "--replace"]) == 0
    assert len(list((tmp_path / "landing" / "orders").iterdir())) == 1


def test_sample_rejects_bad_arguments(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path), "--days", "0"]) == 2
    assert "days" in capsys.readouterr().err


def test_run_without_landing_files_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ETL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    from etl_assets.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["run"]) == 2
    finally:
        get_settings.cache_clear()
    assert "etl-assets sample" in capsys.readouterr().err
