"""Two fixed costs of great_expectations 1.x that the checks do not need, switched off.

Measured on this project's suites (bench/bench_checks.py, docs/benchmarks.md):

- **An expectation's configuration is rebuilt ~170 times per validation.** In 1.x
  `Expectation.configuration` is a property that converts the pydantic model to a dict and
  builds a new `ExpectationConfiguration` on every access, and validation reads it for each
  success and domain keyword (`_get_success_kwargs`, `get_validation_dependencies`, ...):
  about 3.5 ms per expectation and call, half of great_expectations' time on a small suite.
  While one of our validations runs, each expectation's configuration is built once and
  reused. The expectations are created for that validation only and great_expectations
  does not mutate them or the returned configuration during it, so the result is the same
  (the tests compare every outcome with a plain great_expectations run).
- **Every batch is fingerprinted.** The pandas execution engine hashes each frame under 1 GB
  (`hash_pandas_dataframe`) only to store the digest as a batch marker, which the checks
  never read: 15 ms per million rows. `HASH_THRESHOLD = 0` turns the fingerprint off.

great_expectations offers no setting for either. The configuration cache is active only
inside `memoized_configurations`, around our own validations; the fingerprint is switched
off for the process when `install` runs (every great_expectations call here is ours). If a
future release changes these internals, `install` does nothing and validation stays
correct, only slower.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _disable_batch_fingerprint() -> None:
    from great_expectations.execution_engine import pandas_execution_engine

    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0


class _Configurations:
    """A caching stand-in for `Expectation.configuration`, active inside `memoized`."""

    def __init__(self, original: property):
        self.original = original
        # id(expectation) -> (expectation, configuration). Holding the expectation keeps its
        # id from being reused by another object (validation copies expectations) while cached.
        self.cache: dict[int, tuple[Any, Any]] | None = None

    def get(self, expectation: Any) -> Any:
        if self.cache is None:
            return self.original.fget(expectation)
        entry = self.cache.get(id(expectation))
        if entry is None or entry[0] is not expectation:
            entry = self.cache[id(expectation)] = (expectation, self.original.fget(expectation))
        return entry[1]

    @contextmanager
    def memoized(self) -> Iterator[None]:
        self.cache = {}
        try:
            yield
        finally:
            self.cache = None


_configurations: _Configurations | None = None


def install() -> None:
    """Put the caching property in place (inactive until `memoized_configurations`)."""
    global _configurations
    from great_expectations.expectations.expectation import Expectation

    _disable_batch_fingerprint()
    original = Expectation.__dict__.get("configuration")
    if _configurations is not None or not isinstance(original, property):
        return
    _configurations = _Configurations(original)
    Expectation.configuration = property(_configurations.get, doc=original.__doc__)


@contextmanager
def memoized_configurations() -> Iterator[None]:
    """Within the block, each expectation's configuration is built once. The caller holds
    the lock that serialises validations (the cache is process-wide)."""
    if _configurations is None:
        yield
        return
    with _configurations.memoized():
        yield
