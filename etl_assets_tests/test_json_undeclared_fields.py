"""A JSON source whose records gain fields the declaration does not know: bronze keeps them
(as for an undeclared CSV column), the landing_columns check warns naming them for their
day, silver ignores them, and days with different extra fields are read back together."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd

from etl_assets.io.lake import ALLOW_MISSING_PARTITIONS
from etl_assets.sources.reserved_columns import LINEAGE_COLUMNS
from etl_assets_tests.conftest import range_tags

DAYS = ["2024-02-01", "2024-02-02", "2024-02-03"]
BRONZE = dg.AssetKey(["bronze", "tips"])

TIPS_YAML = """
name: tips
connector: files
format: json
path: tips/tips_{date}.json
partitioning: {type: daily}
columns:
  - {name: id, as: tip_id, type: int, required: true}
  - {name: amount, type: float, min: 0}
business_key: [tip_id]
"""

LANDING = {  # each day its own undeclared fields; the last day none
    DAYS[0]: json.dumps([{"id": 1, "amount": 2.5, "discount": 0.1}, {"id": 2, "amount": 3}]),
    DAYS[1]: '{"id": 3, "amount": 1, "coupon": {"code": "X", "pct": [5]}}\n',
    DAYS[2]: json.dumps([{"id": 4, "amount": 7}]),
}


def landing_checks(instance: dg.DagsterInstance, run_id: str) -> dict[str, object]:
    """partition -> the landing_columns evaluation of bronze/tips in the run."""
    found = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.check_name == "landing_columns":
            found[evaluation.partition] = evaluation
    return found


def test_undeclared_json_fields_are_kept_warned_about_and_ignored_by_silver(
    tmp_path: Path, defs_for, instance
):
    sources, data = tmp_path / "sources", tmp_path / "data"
    sources.mkdir()
    (sources / "tips.yaml").write_text(TIPS_YAML)
    landing = data / "landing" / "tips"
    landing.mkdir(parents=True)
    for day, text in LANDING.items():
        (landing / f"tips_{day}.json").write_text(text)
    defs, _ = defs_for(data, ETL_SOURCES_DIR=str(sources))

    result = defs.resolve_job_def("medallion").execute_in_process(
        instance=instance,
        tags=range_tags(DAYS[0], DAYS[-1]),
    )
    assert result.success  # the warning blocks nothing

    def lake(layer: str, name: str, day: str) -> pd.DataFrame:
        return pd.read_parquet(data / "lake" / layer / name / f"{day}.parquet")

    first, second, third = (lake("bronze", "tips", day) for day in DAYS)
    assert first["discount"].tolist() == ["0.1", pd.NA]  # kept as the string read
    assert second["coupon"].tolist() == ['{"code":"X","pct":[5]}']  # an object as compact JSON
    assert "discount" not in second.columns and "coupon" not in third.columns
    assert list(first.columns) == ["id", "amount", "discount", *LINEAGE_COLUMNS]

    checks = landing_checks(instance, result.run_id)
    assert sorted(checks) == DAYS
    for day, field in [(DAYS[0], "discount"), (DAYS[1], "coupon")]:
        assert not checks[day].passed and checks[day].severity == dg.AssetCheckSeverity.WARN
        assert checks[day].description == f"undeclared column(s) kept in bronze: {field}"
    assert checks[DAYS[2]].passed

    silver = pd.concat(lake("silver", "tips", day) for day in DAYS)
    assert silver["tip_id"].tolist() == [1, 2, 3, 4]
    assert not {"discount", "coupon"} & set(silver.columns)

    # A reader of every day gets the union of the days' columns, null where a day lacks one.
    seen = {}

    @dg.asset(ins={"bronze": dg.AssetIn(key=BRONZE, metadata={ALLOW_MISSING_PARTITIONS: True})})
    def every_day(bronze: pd.DataFrame) -> None:
        seen["frame"] = bronze

    read = dg.materialize(
        [defs.get_assets_def(BRONZE), every_day],
        selection=[every_day],
        resources=defs.resources,
        instance=instance,
    )
    assert read.success
    frame = seen["frame"]
    assert frame["id"].tolist() == ["1", "2", "3", "4"]
    assert frame["discount"].tolist() == ["0.1", pd.NA, pd.NA, pd.NA]
    assert frame["coupon"].notna().tolist() == [False, False, True, False]
