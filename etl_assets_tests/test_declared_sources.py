"""Sources written only in YAML, in a temporary folder, materialize through silver with
their checks: the docs' example (CSV, rules, a hook), JSON and Parquet files, an HTTP API."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.runner import run_pipeline
from etl_assets_tests.connectors.fault_server import FaultServer, always, paged

EXAMPLE = Path(__file__).parents[1] / "docs" / "examples" / "quakes"
QUAKE_DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]


# Each test starts with closed circuit breakers (conftest.fresh_breakers).
pytestmark = pytest.mark.usefixtures("fresh_breakers")


def lake(data_dir: Path, *parts: str) -> Path:
    return data_dir.joinpath("lake", *parts)


def checks_of(instance: dg.DagsterInstance, run_id: str) -> dict[str, object]:
    """check name -> evaluation, for the run."""
    found = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.event_type_value == "ASSET_CHECK_EVALUATION":
            found[event.event_specific_data.check_name] = event.event_specific_data
    return found


def quake_workspace(tmp_path: Path, with_hook: bool) -> tuple[Path, Path]:
    sources, data = tmp_path / "sources", tmp_path / "data"
    sources.mkdir()
    shutil.copy(EXAMPLE / "quakes.yaml", sources)
    if with_hook:
        shutil.copy(EXAMPLE / "quakes_hooks.py", sources)
        with (sources / "quakes.yaml").open("a") as declaration:
            declaration.write(
                "silver_hook:\n"
                "  function: quakes_hooks.py:updated_before_event\n"
                "  reasons: [updated_before_event]\n"
            )
    shutil.copytree(EXAMPLE / "landing", data / "landing" / "quakes")
    return sources, data


@pytest.mark.parametrize("with_hook", [False, True])
def test_docs_example_materializes_through_silver_with_checks(
    tmp_path, defs_for, instance, with_hook
):
    sources, data = quake_workspace(tmp_path, with_hook)
    defs, settings = defs_for(data, ETL_SOURCES_DIR=str(sources))
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"landing/quakes", "bronze/quakes", "silver/quakes", "silver/quakes_quarantine"}

    summary = run_pipeline(defs, settings, instance, days=QUAKE_DAYS)
    assert summary.success, summary.table()
    frames = {
        name: pd.concat(
            pd.read_parquet(lake(data, "silver", name, f"{day}.parquet")) for day in QUAKE_DAYS
        )
        for name in ("quakes", "quakes_quarantine")
    }
    reasons = sorted(frames["quakes_quarantine"]["_reject_reason"])
    expected = [
        "conflicting_duplicate_key",
        "latitude_on_earth",
        "magnitude_plausible",
        "missing_event_id",
        "unparseable_depth_km",
    ]
    if with_hook:
        expected = sorted([*expected, "updated_before_event"])
    assert reasons == expected
    # 38 bronze rows = silver + quarantine + 1 exact duplicate
    assert len(frames["quakes"]) + len(frames["quakes_quarantine"]) + 1 == 38
    rejected = frames["quakes_quarantine"].set_index("_reject_reason")
    assert rejected.loc["magnitude_plausible", "mag"] == "12.5"  # the original text
    late = frames["quakes"][frames["quakes"]["event_id"] == "ci1017"]
    assert late["event_date"].tolist() == [pd.Timestamp("2024-03-01")]  # late row moved back

    checks = checks_of(instance, summary.run_id)
    assert checks["row_accounting"].passed
    warn = checks["warn_rules"]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    assert "known_magnitude_type (1)" in warn.description
    assert "mlv" in frames["quakes"]["magnitude_type"].tolist()  # warned, kept
    assert_described_columns(instance)


def column_descriptions(instance: dg.DagsterInstance, *path: str) -> dict[str, str | None]:
    """column -> description, from the asset's latest materialization's column schema."""
    record = instance.get_latest_materialization_event(dg.AssetKey(list(path)))
    schema = record.asset_materialization.metadata["dagster/column_schema"].value
    return {column.name: column.description for column in schema.columns}


def assert_described_columns(instance: dg.DagsterInstance) -> None:
    """The example's declared descriptions reach bronze (by the name in the file), silver
    (by the `as` name, derived columns too) and the quarantine; the pipeline describes the
    columns it writes itself; a column declared without one has none."""
    magnitude = "Magnitude on the scale named by magnitude_type"
    bronze = column_descriptions(instance, "bronze", "quakes")
    assert bronze["mag"].startswith(f"As read, a string. {magnitude}")
    assert bronze["mag"].endswith("not measured it yet.")  # the folded block, one line
    assert "partition day of the landing file" in bronze["_landing_date"]
    assert bronze["place"] == "As read, a string."
    silver = column_descriptions(instance, "silver", "quakes")
    assert silver["magnitude"].startswith(magnitude)
    assert silver["depth_km"] == "Depth below the surface, km; null if unknown."
    assert silver["is_earthquake"] == "False for blasts and other events."
    assert silver["event_date"].startswith("The day of event_time (midnight)")
    assert "landing path" in silver["_source_file"]
    assert silver["place"] is None
    quarantine = column_descriptions(instance, "silver", "quakes_quarantine")
    assert quarantine["depth"].endswith("Depth below the surface, km; null if unknown.")
    assert quarantine["_reject_reason"].startswith("Why the row was quarantined")


CATALOGUE_YAML = """
name: {name}
connector: files
format: {fmt}
path: catalogue/{file}
partitioning: {{type: none}}
columns:
  - {{name: sku, as: sku, type: string, required: true}}
  - {{name: price, type: float, min: 0}}
  - {{name: meta.colour, as: colour, type: string, standardise: [trim, lower]}}
business_key: [sku]
rules:
  - {{name: colour_known, column: colour, in: [red, blue]}}
quarantine: {{max_rate: 0.75}}  # three of the four rows are rejected on purpose
"""


def parquet_catalogue() -> bytes:
    table = pa.table(
        {
            "sku": ["A1", "A2", "A3", None],
            "price": [1.5, -2.0, 3.0, 4.0],
            "meta.colour": [" Red", "blue", "green", "red"],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


JSON_CATALOGUE = json.dumps(
    [
        {"sku": "A1", "price": 1.5, "meta": {"colour": " Red"}},
        {"sku": "A2", "price": -2.0, "meta": {"colour": "blue"}},
        {"sku": "A3", "price": 3, "meta": {"colour": "green"}},
        {"price": 4, "meta": {"colour": "red"}},
    ]
).encode()


@pytest.mark.parametrize(
    ("fmt", "file", "content"),
    [("json", "catalogue.json", JSON_CATALOGUE), ("parquet", "catalogue.parquet", None)],
)
def test_json_and_parquet_sources_need_only_yaml(tmp_path, defs_for, instance, fmt, file, content):
    sources, data = tmp_path / "sources", tmp_path / "data"
    sources.mkdir()
    (sources / "catalogue.yaml").write_text(
        CATALOGUE_YAML.format(name="catalogue", fmt=fmt, file=file)
    )
    (data / "landing" / "catalogue").mkdir(parents=True)
    (data / "landing" / "catalogue" / file).write_bytes(content or parquet_catalogue())
    defs, _ = defs_for(data, ETL_SOURCES_DIR=str(sources))
    result = dg.materialize(
        [
            defs.get_assets_def(dg.AssetKey(["bronze", "catalogue"])),
            defs.get_assets_def(dg.AssetKey(["silver", "catalogue"])),
        ],
        resources=defs.resources,
        instance=instance,
    )
    assert result.success
    silver = pd.read_parquet(lake(data, "silver", "catalogue.parquet"))
    quarantine = pd.read_parquet(lake(data, "silver", "catalogue_quarantine.parquet"))
    assert silver[["sku", "colour"]].values.tolist() == [["A1", "red"]]
    assert sorted(quarantine["_reject_reason"]) == [
        "below_minimum_price",
        "colour_known",
        "missing_sku",
    ]


HTTP_YAML = """
name: stations
connector: http
format: json
http:
  url: {url}
  records_path: items
  total_path: total
  pagination: {{type: page, page_size: 100}}
partitioning: {{type: daily}}
columns:
  - {{name: id, as: station_id, type: int, required: true}}
  - {{name: name, type: string}}
business_key: [station_id]
"""

STATIONS = [{"id": str(i), "name": f"station {i}"} for i in range(1, 251)]


def test_http_source_loads_and_a_failed_run_leaves_the_partition_whole(
    tmp_path, defs_for, instance
):
    state = {"fail": False}

    def fail_page_3_when_asked(handler) -> bool:
        if state["fail"]:
            handler.send_json(b'{"items": [ broken')
            return True
        return False

    respond = paged(STATIONS, faults={3: fail_page_3_when_asked})
    with FaultServer(respond) as server:
        sources, data = tmp_path / "sources", tmp_path / "data"
        sources.mkdir()
        url = server.base + "/stations?day={date}"
        (sources / "stations.yaml").write_text(HTTP_YAML.format(url=url))
        defs, _ = defs_for(data, ETL_SOURCES_DIR=str(sources))
        job = defs.resolve_job_def("medallion")
        selection = [
            dg.AssetKey(["bronze", "stations"]),
            dg.AssetKey(["silver", "stations"]),
            dg.AssetKey(["silver", "stations_quarantine"]),
        ]
        first = job.execute_in_process(
            instance=instance, partition_key="2024-01-05", asset_selection=selection
        )
        assert first.success
        partition = lake(data, "bronze", "stations", "2024-01-05.parquet")
        bronze = pd.read_parquet(partition)
        assert len(bronze) == 250 and bronze["_source_file"].iloc[0].endswith("day=2024-01-05")
        assert (
            pd.read_parquet(lake(data, "silver", "stations", "2024-01-05.parquet")).shape[0] == 250
        )
        written = partition.read_bytes()

        state["fail"] = True
        second = job.execute_in_process(
            instance=instance,
            partition_key="2024-01-05",
            asset_selection=selection[:1],
            raise_on_error=False,
        )
        assert not second.success
        errors = [str(e.step_failure_data.error) for e in second.get_step_failure_events()]
        assert any("not valid JSON" in e and "page=3" in e for e in errors)
        assert partition.read_bytes() == written  # the earlier load, whole


def test_http_page_with_another_schema_is_kept_and_warned_about(tmp_path, defs_for, instance):
    renamed = [{"station": str(i), "label": "y"} for i in range(100)]  # a full page
    other = always(lambda h: h.send_json({"items": renamed, "total": 250}))
    with FaultServer(paged(STATIONS, faults={2: other})) as server:
        sources, data = tmp_path / "sources", tmp_path / "data"
        sources.mkdir()
        url = server.base + "/stations?day={date}"
        # 100 of 250 records lack the id: quarantined, allowed here (the gate's default is 5 %)
        declaration = HTTP_YAML.format(url=url) + "quarantine: {max_rate: 0.5}\n"
        (sources / "stations.yaml").write_text(declaration)
        defs, _ = defs_for(data, ETL_SOURCES_DIR=str(sources))
        result = defs.resolve_job_def("medallion").execute_in_process(
            instance=instance,
            partition_key="2024-01-05",
            asset_selection=[
                dg.AssetKey(["bronze", "stations"]),
                dg.AssetKey(["silver", "stations"]),
                dg.AssetKey(["silver", "stations_quarantine"]),
            ],
        )
    assert result.success
    bronze = pd.read_parquet(lake(data, "bronze", "stations", "2024-01-05.parquet"))
    assert len(bronze) == 250
    assert bronze["label"].notna().sum() == 100 and bronze["station"].iloc[100] == "0"
    assert bronze["id"].isna().sum() == 100  # the declared field those records lack
    landing = checks_of(instance, result.run_id)["landing_columns"]
    assert not landing.passed and landing.severity == dg.AssetCheckSeverity.WARN
    assert landing.partition == "2024-01-05"
    assert "undeclared column(s) kept in bronze: station, label" in landing.description
    silver = pd.read_parquet(lake(data, "silver", "stations", "2024-01-05.parquet"))
    assert "label" not in silver.columns and len(silver) == 150
    quarantine = pd.read_parquet(lake(data, "silver", "stations_quarantine", "2024-01-05.parquet"))
    assert len(quarantine) == 100  # no station_id: quarantined, not crashed on
