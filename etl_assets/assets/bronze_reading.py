"""What every bronze reader shares: declared secrets, landing errors that fail at once,
records read against the declaration, and the batch framed with its lineage."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dagster as dg
import pandas as pd

from etl_assets.sources import SourceSpec
from etl_assets.transforms.bronze import LandingFileError, LandingRead, frame_bronze
from etl_assets.transforms.readers import read_json_records


def declared_env(declaration: str, field: str, variable: str, holds: str) -> str:
    """The value of the environment variable a declaration's `field` names; unset fails the
    step at once (a retry would not set it)."""
    value = dg.EnvVar(variable).get_value()
    if not value:
        raise dg.Failure(
            description=f"{declaration}: {field} names {variable}, which is not set. "
            f"Set it to {holds}, then run again.",
            allow_retries=False,
        )
    return value


@contextmanager
def failing_bad_landing() -> Iterator[None]:
    """A missing or malformed file or record stays so on retry: fail at once. Other errors
    (storage, network) are left to the step's RetryPolicy."""
    try:
        yield
    except LandingFileError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


@contextmanager
def naming_the_day(day: pd.Timestamp | None, asset: str) -> Iterator[None]:
    """A failure reading one day carries that day and the asset (metadata `partition`,
    `asset`), so a range run can fail that day alone and land the others
    (automation/range_split.py)."""
    if day is None:
        yield
        return
    key = day.strftime("%Y-%m-%d")
    named = {"partition": key, "asset": asset}
    try:
        yield
    except dg.Failure as failure:
        raise dg.Failure(
            description=failure.description,
            metadata={**failure.metadata, **named},
            allow_retries=failure.allow_retries,
        ) from failure
    except OSError as error:  # unreadable, storage: still retried by the step's RetryPolicy
        raise dg.Failure(
            description=f"cannot read the landing data of {key}: {error}",
            metadata=named,
        ) from error


def read_records(
    spec: SourceSpec,
    pages: Sequence[Sequence[object]],
    *,
    source_file: str,
    sha256: str,
    size_bytes: int,
) -> LandingRead:
    """`read_json_records` against the declaration; a malformed record fails at once."""
    with failing_bad_landing():
        return read_json_records(
            pages,
            source_file=source_file,
            expected_columns=spec.raw_columns,
            declaration=spec.file,
            ignore_fields=spec.ignore_fields,
            sha256=sha256,
            size_bytes=size_bytes,
        )


def frame_batch(
    spec: SourceSpec,
    read: LandingRead,
    *,
    source_file: str,
    batch: str,
    ingested_at: pd.Timestamp,
    landing_date: pd.Timestamp | None,
) -> pd.DataFrame:
    """`frame_bronze` with the batch id `source:batch:checksum`: the same data read again
    gets the same id."""
    return frame_bronze(
        read,
        source_file=source_file,
        batch_id=f"{spec.name}:{batch}:{read.sha256[:16]}",
        ingested_at=ingested_at,
        landing_date=landing_date,
    )
