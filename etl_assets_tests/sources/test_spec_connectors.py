"""Connectors, formats, http options, rules and hooks: each bad declaration gets its error,
naming the file, the field and what is allowed."""

from pathlib import Path

import pytest
import yaml

from etl_assets.sources import (
    SourceDeclarationError,
    check_sources,
    load_source,
    load_sources,
    resolve_connector,
)

HTTP = {
    "name": "stations",
    "connector": "http",
    "format": "json",
    "http": {
        "url": "https://api.example.org/stations",
        "records_path": "data.items",
        "total_path": "meta.total",
        "pagination": {"type": "offset", "page_size": 50},
    },
    "partitioning": {"type": "none"},
    "columns": [
        {"name": "id", "as": "station_id", "type": "int", "required": True},
        {"name": "geo.lat", "as": "latitude", "type": "float"},
        {"name": "opened", "type": "datetime"},
        {"name": "kind", "type": "string"},
    ],
    "business_key": ["station_id"],
    "ignore_fields": ["geo.elevation"],
    "rules": [
        {"name": "latitude_on_earth", "column": "latitude", "between": [-90, 90]},
        {"name": "opened_this_century", "column": "opened", "min": "2000-01-01"},
        {"name": "kind_known", "column": "kind", "in": ["a", "b"], "severity": "warn"},
        {"name": "kind_shape", "column": "kind", "matches": "[a-z]+"},
        {"name": "kind_given", "column": "kind", "not_null": True},
    ],
}


def write(tmp_path: Path, data, name: str = "stations.yaml") -> Path:
    file = tmp_path / name
    file.write_text(yaml.safe_dump(data))
    return file


def changed(path: str, value, base: dict = HTTP) -> dict:
    data = yaml.safe_load(yaml.safe_dump(base))
    target = data
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key = int(last) if last.isdigit() else last
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return data


def test_http_declaration_loads_with_its_options(tmp_path):
    spec = load_source(write(tmp_path, HTTP))
    assert spec.connector == "http" and spec.path is None
    assert spec.http.pagination.type == "offset" and spec.http.pagination.size_param == "limit"
    assert spec.http.records_path == "data.items" and spec.ignore_fields == ("geo.elevation",)
    assert [r.severity for r in spec.rules] == ["error", "error", "warn", "error", "error"]


@pytest.mark.parametrize(
    ("change", "value", "field", "words"),
    [
        ("connector", "ftp", "connector", "'ftp' is not one of: files, http, postgres"),
        ("connector", "postgres", "http.url_env", "only serves to switch the source to HTTP"),
        ("format", "csv", "format", "connector: http reads JSON pages"),
        ("format", "xml", "format", "is not one of: csv, json, parquet"),
        ("http", KeyError, "http", "needs an http: block"),
        ("http.url", "ftp://x", "http.url", "must start with http:// or https://"),
        ("http.url", KeyError, "http", "needs http.url or http.url_env"),
        ("http.url_env", "CATALOGUE", "http.url_env", "ETL_<SOMETHING>_URL"),
        ("http.token_env", "token", "http.token_env", "ETL_<NAME>"),
        ("http.records_path", "a..b", "http.records_path", "dotted path"),
        ("http.max_pages", 0, "http.max_pages", "whole number from 1"),
        ("http.timeout", 5, "http.timeout", "unknown field; allowed:"),
        ("http.pagination.type", "link", "http.pagination.type", "page, offset, cursor, none"),
        ("http.pagination.page_size", "big", "http.pagination.page_size", "whole number"),
        ("http.pagination.page_param", "p", "http.pagination.page_param", "unknown field"),
        ("path", "x.json", "path", "only connector: files reads a path"),
        ("rules.0.between", [90, -90], "rules[0].between", "above high"),
        ("rules.0.column", "nope", "rules[0].column", "'nope' is not a column"),
        ("rules.0.name", "missing_id", "rules[0].name", "a reason the framework uses"),
        ("rules.1.min", "someday", "rules[1].min", "not a date"),
        ("rules.2.severity", "fatal", "rules[2].severity", "'fatal' is not one of: error, warn"),
        ("rules.3.matches", "[a-", "rules[3].matches", "not a regular expression"),
        ("rules.3.column", "latitude", "rules[3].matches", "only string columns"),
        ("rules.4.not_null", False, "rules[4].not_null", "write not_null: true"),
        ("rules.4.min", 1, "rules[4]", "exactly one of: min, max, between"),
        ("rules.2.max", 3, "rules[2]", "exactly one of"),
        ("silver_hook", "hooks.py:check", "silver_hook", "expected a mapping"),
        (
            "silver_hook",
            {"function": "hooks.py", "reasons": ["x"]},
            "silver_hook.function",
            "file.py:function",
        ),
        (
            "silver_hook",
            {"function": "absent.py:check", "reasons": ["x"]},
            "silver_hook.function",
            "does not exist",
        ),
        (
            "silver_hook",
            {"function": "no_such_module_xyz:f", "reasons": ["x"]},
            "silver_hook.function",
            "cannot be imported",
        ),
        ("silver_hook", {"function": "json:loads"}, "silver_hook.reasons", "required"),
        (
            "silver_hook",
            {"function": "json:loads", "reasons": []},
            "silver_hook.reasons",
            "list every reason",
        ),
        (
            "silver_hook",
            {"function": "json:loads", "reasons": ["kind_given"]},
            "silver_hook.reasons[0]",
            "already a reason",
        ),
        (
            "silver_hook",
            {"function": "json:loads", "reasons": ["missing_x"]},
            "silver_hook.reasons[0]",
            "already a reason",
        ),
        (
            "silver_hook",
            {"function": "json:loads", "reasons": ["Bad"]},
            "silver_hook.reasons[0]",
            "lower_snake_case",
        ),
    ],
)
def test_wrong_declaration_names_file_and_field(tmp_path, change, value, field, words):
    file = write(tmp_path, changed(change, value))
    with pytest.raises(SourceDeclarationError) as error:
        load_source(file)
    assert error.value.field_path == field
    assert str(file) in str(error.value)
    assert words in str(error.value)


def test_rule_bound_on_a_string_column_is_refused(tmp_path):
    data = changed("rules.4", {"name": "kind_min", "column": "kind", "min": 1})
    with pytest.raises(SourceDeclarationError, match="bounds apply to int, float, datetime"):
        load_source(write(tmp_path, data))


def test_files_connector_needs_a_path_and_takes_json_and_parquet(tmp_path):
    files = changed("connector", "files")
    del files["http"]
    with pytest.raises(SourceDeclarationError, match="'path': is required with connector: files"):
        load_source(write(tmp_path, files))
    for fmt in ("json", "parquet"):
        data = {**files, "format": fmt, "path": f"stations/stations.{fmt}"}
        if fmt == "parquet":
            data.pop("ignore_fields")
        assert load_source(write(tmp_path, data)).format == fmt
    with pytest.raises(SourceDeclarationError, match="ignore_fields.*JSON records only"):
        load_source(write(tmp_path, {**files, "format": "csv", "path": "s.csv"}))


def test_http_block_under_files_is_only_a_switch(tmp_path):
    base = {**changed("connector", "files"), "path": "stations/stations.json"}
    with pytest.raises(SourceDeclarationError, match="give url_env"):
        load_source(write(tmp_path, base))
    base["http"] = {**base["http"], "url_env": "ETL_STATIONS_URL"}
    del base["http"]["url"]
    spec = load_source(write(tmp_path, base))
    assert resolve_connector(spec, {}).connector == "files"
    switched = resolve_connector(spec, {"ETL_STATIONS_URL": "http://127.0.0.1:9/s"})
    assert switched.connector == "http" and switched.http.url == "http://127.0.0.1:9/s"


def test_http_source_without_its_url_variable_fails_naming_it(tmp_path):
    data = changed("http.url", KeyError)
    data["http"]["url_env"] = "ETL_STATIONS_URL"
    spec = load_source(write(tmp_path, data))
    with pytest.raises(SourceDeclarationError, match="ETL_STATIONS_URL is not set"):
        resolve_connector(spec, {})
    with pytest.raises(SourceDeclarationError, match="daily source needs \\{date\\}"):
        daily = changed("partitioning", {"type": "daily"}, base=data)
        resolve_connector(load_source(write(tmp_path, daily)), {"ETL_STATIONS_URL": "http://x/"})


def test_daily_http_url_needs_its_date(tmp_path):
    data = changed("partitioning", {"type": "daily"})
    with pytest.raises(SourceDeclarationError, match="'http.url'.*needs \\{date\\}"):
        load_source(write(tmp_path, data))
    data["http"]["url"] = "https://api.example.org/stations?day={date}"
    assert load_source(write(tmp_path, data)).is_daily


def test_hook_file_beside_the_declaration_is_resolved(tmp_path):
    (tmp_path / "station_hooks.py").write_text(
        "def check(frame):\n    return frame['kind'].where(frame['kind'] == 'x')\n"
    )
    hook = {"function": "station_hooks.py:check", "reasons": ["odd_kind"]}
    spec = load_source(write(tmp_path, changed("silver_hook", hook)))
    assert spec.silver_hook.function == "station_hooks.py:check"
    assert spec.silver_hook.reasons == ("odd_kind",)
    with pytest.raises(SourceDeclarationError, match="has no function named 'other'"):
        other = {**hook, "function": "station_hooks.py:other"}
        load_source(write(tmp_path, changed("silver_hook", other)))


def test_check_sources_reports_every_bad_file(tmp_path):
    write(tmp_path, HTTP, "a.yaml")
    write(tmp_path, changed("format", "xml"), "b.yaml")
    write(tmp_path, changed("connector", "ftp"), "c.yaml")
    write(tmp_path, HTTP, "d.yaml")  # same name as a.yaml
    specs, errors = check_sources(tmp_path)
    assert [s.name for s in specs] == ["stations"]
    assert [(Path(e.file).name, e.field_path) for e in errors] == [
        ("b.yaml", "format"),
        ("c.yaml", "connector"),
        ("d.yaml", "name"),
    ]
    with pytest.raises(SourceDeclarationError):
        load_sources(tmp_path)  # the loader stops at the first
