"""Day-by-day exchange between range-run assets and the lake, so a run of N days holds one
day in memory instead of N.

- An asset returns ``DailyFrames``: the partitions it covers and a function that computes
  one of them. The lake IO manager calls it for each day in turn, writes that day's file,
  and drops the frame before asking for the next.
- An input read through the ``lake_day_by_day`` input manager (``ParquetLakeIOManager``
  with ``day_by_day=True``) is given as ``LakePartitions``: the partitions the step may
  read, loaded when and as far as the asset asks (a day, a few days, some columns). An
  input manager key, not input metadata, because Dagster allows no metadata on the input
  of an asset check's own asset.

Dagster hands an output to its IO manager as soon as the asset yields it, so a multi-asset
can yield a ``DailyFrames`` output, then outputs and check results built while it was
written (silver yields its quarantine and row accounting after its rows).
No library served: Dagster's IO managers load and store whole partition sets, and
``UPathIOManager`` refuses an output covering several partitions.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

COLUMNS = "columns"  # AssetIn metadata: read only these columns
# AssetIn metadata: these string columns (True: every one) as pandas categoricals, decoded
# from the Parquet dictionaries: no string object per row, and the codes come for free.
CATEGORIES = "categories"


GROUP_ROWS = 1_000_000  # consecutive small days are computed together, up to this many rows


def consecutive_groups(rows_per_key: Mapping[str, int], max_rows: int) -> list[list[str]]:
    """Keys in order, grouped so a group holds at most ``max_rows`` rows (a key larger
    than that is a group of its own)."""
    groups: list[list[str]] = []
    size = 0
    for key, rows in rows_per_key.items():
        if groups and size + rows <= max_rows:
            groups[-1].append(key)
            size += rows
        else:
            groups.append([key])
            size = rows
    return groups


@dataclass
class DailyFrames:
    """An output covering ``keys`` (partition keys, in order), computed a group of
    consecutive keys at a time (``groups``; default: one key per group).

    ``produce(group)`` returns the rows of the group's partitions, which the lake splits by
    the asset's ``partition_expr``. Small days go together (one call for many days costs
    less than many calls); a large day is a group of its own. ``summary()``, called once
    every partition is written, returns the output metadata the producer gathered.
    """

    keys: Sequence[str]
    produce: Callable[[list[str]], pd.DataFrame]
    summary: Callable[[], Mapping[str, object]] = dict
    groups: list[list[str]] | None = None
    _checks: list[Callable[[str, pd.DataFrame], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.groups is None:
            self.groups = [[key] for key in self.keys]
        if [key for group in self.groups for key in group] != list(self.keys):
            raise ValueError("DailyFrames: the groups must cover the keys, in order")

    def add_check(self, check: Callable[[str, pd.DataFrame], None]) -> None:
        """Run ``check(label, frame)`` on every frame before it is written (a type check)."""
        self._checks.append(check)

    def frames(self) -> Iterator[tuple[list[str], pd.DataFrame]]:
        for group in self.groups:
            frame = self.produce(group)
            label = group[0] if len(group) == 1 else f"{group[0]}..{group[-1]}"
            for check in self._checks:
                check(label, frame)
            yield group, frame


class LakePartitions:
    """The partitions of an input in this step, read on demand.

    ``keys``: every partition the step's partition mapping asks for, in order; ``missing``:
    those with no file (only when the input allows missing partitions).
    """

    def __init__(
        self,
        keys: Sequence[str],
        missing: Sequence[str],
        read: Callable[[Sequence[str], Sequence[str] | None, bool | Sequence[str]], pd.DataFrame],
        rows: Callable[[Sequence[str]], dict[str, int]],
        non_null_rows: Callable[[Sequence[str]], dict[str, dict[str, int]]],
    ):
        self.keys = list(keys)
        self.missing = list(missing)
        self._read = read
        self._rows = rows
        self._non_null_rows = non_null_rows

    @property
    def existing(self) -> list[str]:
        missing = set(self.missing)
        return [key for key in self.keys if key not in missing]

    def read(
        self,
        keys: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
        categories: bool | Sequence[str] = False,
    ) -> pd.DataFrame:
        """The rows of ``keys`` (default: all) that have a file, concatenated in key order;
        ``categories``: string columns read as categoricals (see CATEGORIES)."""
        wanted = self.existing if keys is None else [k for k in keys if k not in self.missing]
        return self._read(wanted, columns, categories)

    def row_counts(self) -> dict[str, int]:
        """Rows per existing partition, from the files' footers (no data read)."""
        return self._rows(self.existing)

    def non_null_rows(self, keys: Sequence[str]) -> dict[str, dict[str, int]]:
        """Per key, each column's non-null rows, from the files' statistics (no data read)."""
        return self._non_null_rows([k for k in keys if k not in self.missing])

    def chunks(self, max_rows: int, keys: Sequence[str] | None = None) -> list[list[str]]:
        """Consecutive existing keys (of ``keys``, default all) grouped so each group holds
        at most ``max_rows`` rows: bounded memory, few calls per group."""
        # only the wanted keys' footers: a fold after a checkpoint wants this month's days
        missing = set(self.missing)
        wanted = self.existing if keys is None else [k for k in keys if k not in missing]
        return consecutive_groups(self._rows(wanted), max_rows)
