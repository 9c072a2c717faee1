"""The units of work `make test` hands its xdist workers (etl_assets_tests/parallel.py)."""

from pathlib import Path

from etl_assets_tests.parallel import SERVERS, SLOWEST, scope_of

ROOT = Path(__file__).parents[1]


def test_a_module_is_one_unit_classes_and_parameters_included():
    assert scope_of("etl_assets_tests/faults/test_runs.py::test_a[bronze/orders-staging]") == (
        "etl_assets_tests/faults/test_runs.py"
    )
    assert (
        scope_of("etl_assets_tests/io/test_x.py::TestY::test_z") == "etl_assets_tests/io/test_x.py"
    )


def test_every_test_that_starts_servers_is_in_one_unit():
    assert scope_of("etl_assets_tests/e2e/test_dagster_dev.py::test_shuts_down_cleanly") == SERVERS
    assert scope_of("etl_assets_tests/e2e/test_unsynced.py::test_a") == SERVERS
    assert scope_of("etl_assets_tests/scaleout/test_celery_backfill.py::test_b") == SERVERS


def test_the_slowest_modules_named_for_the_order_exist():
    assert [name for name in SLOWEST if not (ROOT / name).is_file()] == []
    assert not any(scope_of(name) == SERVERS for name in SLOWEST)
