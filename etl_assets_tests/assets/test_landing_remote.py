"""`landing/<source>` for HTTP and Postgres sources: the data version is what the connector
would read (an API's first page, a table's greatest watermark and row count), observed with
one request or one aggregate query, against the local fault server and the test Postgres
(skips without a server on a workstation, fails under CI=true)."""

from __future__ import annotations

import dagster as dg
from psycopg2 import sql

from etl_assets.assets.landing_remote import HTTP_DAYS_OBSERVED
from etl_assets.automation.changed import _resolver
from etl_assets.automation.jobs import OBSERVATION_JOB
from etl_assets_tests import postgres_fixtures
from etl_assets_tests.connectors.fault_server import FaultServer, paged
from etl_assets_tests.postgres_fixtures import query
from etl_assets_tests.test_declared_sources import HTTP_YAML, STATIONS

postgres_url = postgres_fixtures.postgres_url
pg_schema = postgres_fixtures.pg_schema

VERSION = "dagster/data_version"


def _observations(instance, key: dg.AssetKey) -> list[dg.EventLogRecord]:
    return list(instance.fetch_observations(key, limit=1000).records)


def _observe(defs, instance) -> None:
    assert defs.resolve_job_def(OBSERVATION_JOB).execute_in_process(instance=instance).success


def _stale_causes(defs, instance, key: dg.AssetKey, partition=None) -> list[str]:
    resolver = _resolver(instance, defs.resolve_asset_graph())
    return [
        f"{c.reason} ({c.dependency.asset_key.to_user_string()})"
        for c in resolver.get_stale_causes(key, partition)
        if c.dependency
    ]


def test_an_api_is_observed_by_its_first_page_per_day(tmp_path, defs_for, fresh_breakers):
    edited: dict[str, list[dict]] = {}

    def respond(handler, path, query_args) -> None:  # each day its own records
        records = edited.get(query_args.get("day"), STATIONS)
        paged(records)(handler, path, query_args)

    with FaultServer(respond) as server:
        sources, data = tmp_path / "sources", tmp_path / "data"
        sources.mkdir()
        (sources / "stations.yaml").write_text(
            HTTP_YAML.format(url=server.base + "/stations?day={date}")
        )
        defs, _ = defs_for(data, ETL_SOURCES_DIR=str(sources))
        day = defs.resolve_job_def("medallion").partitions_def.get_partition_keys()[-1]
        key = dg.AssetKey(["landing", "stations"])
        bronze = dg.AssetKey(["bronze", "stations"])
        assert key in defs.resolve_asset_graph().get(bronze).parent_keys
        with dg.instance_for_test() as instance:
            _observe(defs, instance)
            # One request per day observed, each for the first page only: never a full read.
            assert len(server.requests) == HTTP_DAYS_OBSERVED
            assert all("page=1&" in r or r.endswith("page=1") for r in server.requests)
            first = _observations(instance, key)
            days = sorted(r.partition_key for r in first)
            assert len(days) == HTTP_DAYS_OBSERVED and day in days
            metadata = first[0].event_log_entry.asset_observation.metadata
            assert metadata["first_page_bytes"].value > 0

            job = defs.resolve_job_def("medallion")
            assert job.execute_in_process(
                instance=instance, partition_key=day, asset_selection=[bronze]
            ).success
            assert _stale_causes(defs, instance, bronze, day) == []

            _observe(defs, instance)  # nothing changed: nothing new recorded
            assert len(_observations(instance, key)) == len(first)

            # The API now answers that day with a renamed station on its first page.
            edited[day] = [{**STATIONS[0], "name": "renamed"}, *STATIONS[1:]]
            _observe(defs, instance)
            latest = _observations(instance, key)
            assert len(latest) == len(first) + 1 and latest[0].partition_key == day
            assert _stale_causes(defs, instance, bronze, day) == [
                "has a new dependency data version (landing/stations)"
            ]


ACCOUNTS_YAML = """\
name: accounts
connector: postgres
format: json
postgres: {{url_env: ETL_CRM_URL, table: {table}, watermark: updated_at}}
partitioning: {{type: none}}
columns:
  - {{name: id, as: account_id, type: int, required: true}}
  - {{name: updated_at, as: updated_at, type: datetime, required: true}}
business_key: [account_id]
"""


def test_a_table_is_observed_by_its_watermark_and_row_count(
    tmp_path, data_dir, defs_for, postgres_url, pg_schema, monkeypatch
):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "accounts.yaml").write_text(ACCOUNTS_YAML.format(table=f"{pg_schema}.accounts"))
    monkeypatch.setenv("ETL_CRM_URL", postgres_url)
    defs, _ = defs_for(data_dir, ETL_SOURCES_DIR=str(sources), ETL_CRM_URL=postgres_url)
    table = sql.Identifier(pg_schema, "accounts")

    def execute(statement: str) -> None:
        query(postgres_url, sql.SQL(statement).format(t=table))

    execute("CREATE TABLE {t} (id int, updated_at timestamptz)")
    execute("INSERT INTO {t} VALUES (1, '2024-03-01 08:00+00'), (2, '2024-03-01 09:00+00')")
    key, bronze = dg.AssetKey(["landing", "accounts"]), dg.AssetKey(["bronze", "accounts"])
    with dg.instance_for_test() as instance:

        def latest() -> tuple[str, dict]:
            record = _observations(instance, key)[0]
            metadata = record.event_log_entry.asset_observation.metadata
            return record.event_log_entry.tags[VERSION], {k: v.value for k, v in metadata.items()}

        _observe(defs, instance)
        version, metadata = latest()
        assert metadata["max_watermark"] == "2024-03-01 09:00:00+00"
        assert metadata["row_count"] == 2
        assert dg.materialize(
            [defs.get_assets_def(bronze)], resources=defs.resources, instance=instance
        ).success
        _observe(defs, instance)
        assert latest()[0] == version  # unchanged table, same version
        assert _stale_causes(defs, instance, bronze) == []

        execute("UPDATE {t} SET updated_at = '2024-03-02 10:00+00' WHERE id = 1")
        _observe(defs, instance)
        updated, metadata = latest()
        assert updated != version and metadata["max_watermark"] == "2024-03-02 10:00:00+00"
        assert _stale_causes(defs, instance, bronze) == [
            "has a new dependency data version (landing/accounts)"
        ]

        execute("DELETE FROM {t} WHERE id = 2")  # the watermark stays; the count moves
        _observe(defs, instance)
        deleted, metadata = latest()
        assert deleted != updated and metadata["row_count"] == 1


def test_an_unreachable_table_fails_the_observation_naming_it(
    tmp_path, data_dir, defs_for, monkeypatch
):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "accounts.yaml").write_text(ACCOUNTS_YAML.format(table="crm.accounts"))
    url = "postgresql://nobody@127.0.0.1:9/none"
    monkeypatch.setenv("ETL_CRM_URL", url)
    defs, _ = defs_for(data_dir, ETL_SOURCES_DIR=str(sources), ETL_CRM_URL=url)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(OBSERVATION_JOB).execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert not result.success
        [failure] = [e for e in result.all_events if e.is_step_failure]
        message = failure.step_failure_data.error.message
        assert "crm.accounts" in message and "ETL_CRM_URL" in message
        assert not _observations(instance, dg.AssetKey(["landing", "accounts"]))
