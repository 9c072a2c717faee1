"""The prod profile's warehouse under faults, against the test Postgres: unreachable, and
the run killed by SIGKILL in the middle of a publish. Each table holds its old content or
its new content, never part of either; no run stays STARTED; a plain re-run gives exactly
the tables of a clean run (content fingerprints). Under CI=true these tests never skip."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from psycopg2 import sql

from etl_assets_tests import postgres_fixtures
from etl_assets_tests.faults.fingerprints import lake_fingerprint
from etl_assets_tests.faults.runs import run_and_kill, run_here, statuses
from etl_assets_tests.postgres_fixtures import drop_schemas_starting_with, query, unique_name

postgres_url = postgres_fixtures.postgres_url

MARTS = ("cohort_retention", "customer_rfm", "daily_sales", "product_performance")
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1


def warehouse_fingerprint(url: str, schema: str) -> dict[str, str]:
    """{table: hash of its columns and of its rows in a fixed order} for a schema's tables."""
    prints = {}
    for (table,) in query(
        url, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
    ):
        columns = query(
            url,
            "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (schema, table),
        )[0][0]
        rows = query(
            url,
            sql.SQL(
                "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')), count(*) "
                "FROM {} AS t"
            ).format(sql.Identifier(schema, table)),
        )[0]
        prints[table] = f"{columns} | {rows[1]} rows | {rows[0]}"
    return prints


def prod_env(url: str, prefix: str) -> dict[str, str]:
    return {
        "ETL_ENV": "prod",
        "ETL_WAREHOUSE_URL": url,
        "ETL_WAREHOUSE_SCHEMA_PREFIX": prefix,
        "ETL_PII_HASH_KEY": "fault-suite-secret-key-0123456789abcdef",  # prod refuses none
    }


@pytest.fixture(scope="module")
def samples(sample_of) -> tuple[Path, Path]:
    """(old, new): the same two days with other orders, so every mart differs."""
    return sample_of(days=2, rows_per_day=150, seed=6), sample_of(days=2, rows_per_day=150, seed=5)


@pytest.fixture
def prefix(postgres_url):
    name = unique_name("faults")
    yield f"{name}_"
    drop_schemas_starting_with(postgres_url, name)


@pytest.fixture(scope="module")
def clean(tmp_path_factory, samples, postgres_url):
    """The lake and the warehouse tables of one clean prod run of the new sample."""
    name = unique_name("faults_clean")
    data = tmp_path_factory.mktemp("clean_prod")
    shutil.copytree(samples[1] / "landing", data / "landing")
    with pytest.MonkeyPatch.context() as patch:
        code, err = run_here(patch, data, data / "home", **prod_env(postgres_url, f"{name}_"))
    try:
        assert code == 0, err
        tables = warehouse_fingerprint(postgres_url, f"{name}_gold")
    finally:
        drop_schemas_starting_with(postgres_url, name)
    assert sorted(tables) == list(MARTS)
    return lake_fingerprint(data / "lake"), tables


def _old_then_new_landing(data: Path, samples, monkeypatch, url: str, prefix: str):
    """A clean prod run of the old sample, then the new sample landed in its place; the
    warehouse fingerprint of the old run."""
    old, new = samples
    shutil.copytree(old / "landing", data / "landing")
    code, err = run_here(monkeypatch, data, data / "home", **prod_env(url, prefix))
    assert code == 0, err
    shutil.rmtree(data / "landing")
    shutil.copytree(new / "landing", data / "landing")
    return warehouse_fingerprint(url, f"{prefix}gold")


def test_warehouse_unreachable_fails_after_retries_and_a_rerun_restores_exactly(
    tmp_path, samples, clean, postgres_url, prefix, monkeypatch
):
    clean_lake, clean_tables = clean
    home = tmp_path / "home"
    old = _old_then_new_landing(tmp_path, samples, monkeypatch, postgres_url, prefix)
    assert all(old[t] != clean_tables[t] for t in MARTS)  # every table would change

    code, err = run_here(monkeypatch, tmp_path, home, **prod_env(UNREACHABLE, prefix))
    assert code == 1
    assert "Cannot connect to the Postgres warehouse at 127.0.0.1:1" in err
    assert warehouse_fingerprint(postgres_url, f"{prefix}gold") == old  # nothing published
    assert statuses(home) == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        failed = instance.get_runs()[0].run_id
        waits: dict[str, list[float]] = {}
        for record in instance.get_records_for_run(
            failed, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY
        ).records:
            event = record.event_log_entry.dagster_event
            waits.setdefault(event.step_key, []).append(event.event_specific_data.seconds_to_wait)
    # Each publish step tried 4 times, waiting longer each time (backoff), then failed.
    assert sorted(waits) == sorted(f"warehouse__{mart}" for mart in MARTS)
    for step_waits in waits.values():
        assert len(step_waits) == 3 and step_waits == sorted(step_waits)

    code, err = run_here(monkeypatch, tmp_path, home, **prod_env(postgres_url, prefix))
    assert code == 0, err
    assert warehouse_fingerprint(postgres_url, f"{prefix}gold") == clean_tables
    assert lake_fingerprint(tmp_path / "lake") == clean_lake


def test_kill_9_mid_publish_leaves_old_or_new_tables_and_a_rerun_restores_exactly(
    tmp_path, samples, clean, postgres_url, prefix, monkeypatch
):
    clean_lake, clean_tables = clean
    home = tmp_path / "home"
    env = prod_env(postgres_url, prefix)
    old = _old_then_new_landing(tmp_path, samples, monkeypatch, postgres_url, prefix)

    # Killed with gold.daily_sales's days deleted and copied again, not yet committed.
    run_and_kill(tmp_path, home, "warehouse/daily_sales", "publish", **env)
    after_kill = warehouse_fingerprint(postgres_url, f"{prefix}gold")
    assert after_kill["daily_sales"] == old["daily_sales"]  # Postgres rolled it back
    for table in MARTS:  # published before the kill, or not yet: never a part
        assert after_kill[table] in (old[table], clean_tables[table]), table
    assert statuses(home) == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.STARTED]

    code, err = run_here(monkeypatch, tmp_path, home, **env)
    assert code == 0, err
    assert "FAILURE: etl-assets run (pid" in err  # the killed run, marked and named
    assert dg.DagsterRunStatus.STARTED not in statuses(home)
    assert warehouse_fingerprint(postgres_url, f"{prefix}gold") == clean_tables
    assert lake_fingerprint(tmp_path / "lake") == clean_lake
