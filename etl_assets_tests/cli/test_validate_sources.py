"""`etl-assets validate-sources` finds what the code location load finds, naming file and
field, and `etl-assets run` reports a declaration error without a traceback."""

import shutil

import pytest
import yaml

from etl_assets.cli import main
from etl_assets.settings import get_settings
from etl_assets.sources import default_sources_dir


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """A copy of the bundled declarations; `edit(name, change)` changes one."""
    folder = tmp_path / "sources"
    shutil.copytree(default_sources_dir(), folder, ignore=shutil.ignore_patterns("*.py", "__*"))
    monkeypatch.setenv("ETL_SOURCES_DIR", str(folder))
    monkeypatch.setenv("ETL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()

    def edit(name, change):
        file = folder / f"{name}.yaml"
        data = yaml.safe_load(file.read_text())
        change(data)
        file.write_text(yaml.safe_dump(data, sort_keys=False))
        return file

    yield folder, edit
    get_settings.cache_clear()


def _silver_expectation_on(column):
    def change(data):
        data["expectations"]["silver"].append(
            {"type": "expect_column_values_to_not_be_null", "column": column, "severity": "warn"}
        )

    return change


def _hook(data):
    data["silver_hook"] = {"function": "broken_hooks.py:rule", "reasons": ["broken_rule"]}


def test_valid_folder_passes(sources, capsys):
    assert main(["validate-sources"]) == 0
    assert "3 valid, 0 invalid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (_silver_expectation_on("arr_dely"), "expectations.silver[5]", "'arr_dely' is not"),
        (
            lambda d: d["columns"][4].update(formats=["%H:%M"]),
            "columns[4].formats",
            "whole date",
        ),
        (lambda d: d.update(encoding="utf-9"), "encoding", "not a text encoding"),
        (_hook, "silver_hook.function", "failed to import"),
    ],
)
def test_declaration_errors_are_found_with_file_and_field(sources, capsys, change, field, words):
    folder, edit = sources
    (folder / "broken_hooks.py").write_text("import no_such_module\n")
    file = edit("orders", change)
    assert main(["validate-sources"]) == 1
    err = capsys.readouterr().err
    assert f"{file}: field '{field}'" in err
    assert words in err


def test_run_reports_a_declaration_error_without_traceback(sources, capsys):
    folder, edit = sources
    file = edit("orders", _silver_expectation_on("arr_dely"))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert f"etl-assets run: {file}: field 'expectations.silver[5]'" in err
    assert "Traceback" not in err
