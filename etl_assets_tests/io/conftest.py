"""Fixtures of the IO manager tests: a lake directory of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"
