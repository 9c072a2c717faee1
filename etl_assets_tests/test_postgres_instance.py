"""deploy/dagster.yaml really puts runs and event logs in Postgres.

The instance config is copied into a temporary DAGSTER_HOME and pointed, through the
DAGSTER_PG_* variables, at a database created for this test on the test server (and
dropped afterwards). A tiny materialization must then be readable straight from the
dagster-postgres tables.
"""

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from etl_assets_tests import postgres_fixtures
from etl_assets_tests.postgres_fixtures import temporary_database

postgres_url = postgres_fixtures.postgres_url  # the shared fixture, bound for pytest

DEPLOY_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"


@pytest.fixture
def deploy_home(postgres_url, tmp_path, monkeypatch):
    """A DAGSTER_HOME holding deploy/dagster.yaml, its DAGSTER_PG_* aimed at a fresh database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_CONFIG, home / "dagster.yaml")
    with temporary_database(postgres_url, prefix="etl_instance") as database:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("DAGSTER_PG_HOST", database.host)
        monkeypatch.setenv("DAGSTER_PG_PORT", str(database.port))
        monkeypatch.setenv("DAGSTER_PG_USER", database.user)
        # An empty variable counts as unset for Dagster; trust auth ignores any password.
        monkeypatch.setenv("DAGSTER_PG_PASSWORD", database.password or "unused")
        monkeypatch.setenv("DAGSTER_PG_DB", database.name)
        yield home, database


def test_deploy_instance_stores_runs_and_events_in_postgres(deploy_home):
    home, database = deploy_home

    @dg.asset
    def tiny() -> int:
        return 42

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        result = dg.materialize([tiny], instance=instance)
        assert result.success
        run_id = result.run_id

    with psycopg2.connect(database.url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute(
            "SELECT DISTINCT dagster_event_type FROM event_logs WHERE run_id = %s", (run_id,)
        )
        event_types = {event_type for (event_type,) in cursor.fetchall()}
        cursor.execute("SELECT asset_key FROM asset_keys")
        asset_keys = [asset_key for (asset_key,) in cursor.fetchall()]
    conn.close()
    # Dagster still stores the run's end under its legacy name, PIPELINE_SUCCESS.
    assert {"STEP_SUCCESS", "ASSET_MATERIALIZATION", "PIPELINE_SUCCESS"} <= event_types
    assert asset_keys == ['["tiny"]']
