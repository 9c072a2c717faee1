"""Which tests may run at once: the scheduler behind `make test` (`-n 2 --dist loadscope`).

pytest-xdist runs the suite on two workers (pyproject.toml, `addopts`). The tests share no
port, directory, database, schema, Redis database or broker queue: each makes its own (free
ports, `tmp_path`, temporary databases and schemas, a claimed Redis database, a broker queue
named per cluster). So any two tests may run at once, except that one worker runs, one after
another:

- the tests of one module (xdist's `loadscope`): a module-scoped fixture (a corpus run, a clean
  prod run, a `dagster dev`) is made once per worker that needs it, and the tests that share
  one build on each other in file order (the last e2e test stops the server the others used);
- every test that starts servers, in `e2e/` (`dagster dev`, headless Chromium) and
  `scaleout/` (Celery workers, dagster-daemon): one scope, SERVERS. They share nothing
  either, but each is several processes that want both cores: two at once would slow each
  other towards their bounded waits. They mostly wait on those processes, while the other
  worker runs the rest.

The longest units go out first (SERVERS, then SLOWEST), so that none of them starts near the
end while the other worker has nothing left; the rest by number of tests, as xdist does.

Not `xdist_group` marks with `--dist loadgroup`: xdist carries a test's group in its node id,
which pytest 9.2 no longer lets it change, so the groups are silently ignored (pytest-xdist
issue #1386).
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

SERVERS = "servers"
SERVER_TESTS = ("etl_assets_tests/e2e/", "etl_assets_tests/scaleout/")
# The slowest modules after SERVERS, slowest first (`pytest --durations=0`, summed per
# module). Only the order of the run depends on this list: a module missing here runs later.
SLOWEST = (
    "etl_assets_tests/faults/test_runs.py",  # 100 s or more with two workers
    "etl_assets_tests/faults/test_warehouse.py",
    "etl_assets_tests/test_pipeline_end_to_end.py",
    "etl_assets_tests/automation/test_changed.py",
    "etl_assets_tests/test_corpus_end_to_end.py",
    "etl_assets_tests/automation/test_range_follow_up.py",
    "etl_assets_tests/test_reprocess_a_day.py",
    "etl_assets_tests/cli/test_quiet_commands.py",  # about 35 s
)


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to: SERVERS, or its module."""
    if nodeid.startswith(SERVER_TESTS):
        return SERVERS
    return nodeid.split("::", 1)[0]


class ModuleAndServersScheduling(LoadScopeScheduling):
    """xdist's loadscope, by module (classes included), with every server test in one scope;
    the longest units go out first."""

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)

    def _assign_work_unit(self, node) -> None:
        for scope in reversed((SERVERS, *SLOWEST)):  # each moved to the front: SERVERS first
            if scope in self.workqueue:
                self.workqueue.move_to_end(scope, last=False)
        super()._assign_work_unit(node)
