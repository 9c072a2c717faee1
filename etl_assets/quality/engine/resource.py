"""The checks' resource: where Data Docs go, and great_expectations warmed up early.

Importing great_expectations takes seconds. Dagster initializes a run's resources when the
run starts (in-process executor: once, before the first asset step), so this resource
starts the import in a background thread there: it overlaps the bronze and silver steps
instead of delaying the first check. With the multiprocess executor only check steps
initialize it, and they wait for the import as they would have anyway.
"""

from __future__ import annotations

import threading
from pathlib import Path

import dagster as dg

from etl_assets.quality.engine.validation import runtime


class QualityChecks(dg.ConfigurableResource):
    """Settings of the quality checks."""

    docs_dir: str | None = None  # Data Docs pages of failing partitions; None: none written

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Fully imported here, in the run's thread, before the warm-up starts: the import of
        # great_expectations imports sqlalchemy.orm, and a step's own SQLAlchemy query
        # (Dagster's event log) that met that module half-initialized in the other thread
        # failed with "partially initialized module 'sqlalchemy.orm.exc'". Not at code
        # location load: it would add 0.4 s there.
        import sqlalchemy.orm  # noqa: F401

        threading.Thread(target=runtime, name="great-expectations-warm-up", daemon=True).start()

    @property
    def docs_path(self) -> Path | None:
        return Path(self.docs_dir) if self.docs_dir else None
