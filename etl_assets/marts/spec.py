"""The model of a gold mart: what it is called, how it is partitioned, its shape, its suite,
what it reads from silver and how it is computed.

A mart is data: the gold assets, the warehouse publishing and the quality checks are built
from a `MartSpec` and name no mart themselves. Today `compute` is a pure function of
transforms/gold; a mart declared in a file (a SQL query over silver, run by DuckDB) would fill
the same fields, with `compute` built from its query. No dagster import here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from etl_assets.sources.expectation_spec import Expectation
from etl_assets.sources.spec import documentation

DAILY = "daily"  # one partition per day of its partition column; a run replaces its days
WHOLE_HISTORY = "whole_history"  # recomputed from every day of silver, replaced whole
PARTITIONINGS = (DAILY, WHOLE_HISTORY)

SILVER = "silver"


@dataclass(frozen=True)
class MartInput:
    """A silver asset a mart reads, and which of its columns (None: all of them)."""

    source: str  # the declared source: the mart reads silver/<source>
    columns: tuple[str, ...] | None = None
    categories: tuple[str, ...] = ()  # columns read as pandas categoricals (fewer bytes)

    @property
    def asset(self) -> tuple[str, str]:
        return (SILVER, self.source)


@dataclass(frozen=True)
class MartSpec:
    """One gold mart. `compute` takes the inputs' frames, in the order of `inputs`, and returns
    the mart with `columns` in order and dtype, sorted by `keys`."""

    name: str
    description: str
    partitioning: str  # DAILY or WHOLE_HISTORY
    keys: tuple[str, ...]
    columns: Mapping[str, str]  # column -> dtype string, in output order
    inputs: tuple[MartInput, ...]
    compute: Callable[..., pd.DataFrame]
    suite: tuple[Expectation, ...] = ()
    # column -> the (source, column) pairs of silver it is computed from
    lineage: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    partition_column: str | None = None  # DAILY: the day column of the output
    # column -> what it holds, in words (units, nulls, how computed), for the column schema;
    # documentation only: it decides no row and no version
    column_descriptions: Mapping[str, str] = documentation(dict)

    def __post_init__(self) -> None:
        problems = []
        if self.partitioning not in PARTITIONINGS:
            problems.append(f"partitioning {self.partitioning!r} is not one of {PARTITIONINGS}")
        if (self.partitioning == DAILY) != (self.partition_column is not None):
            problems.append("a daily mart, and only a daily mart, names its partition_column")
        for what, names in [
            ("keys", self.keys),
            ("lineage", self.lineage),
            ("column_descriptions", self.column_descriptions),
            ("partition_column", [self.partition_column] if self.partition_column else []),
        ]:
            unknown = [n for n in names if n not in self.columns]
            if unknown:
                problems.append(f"{what} name columns it does not have: {unknown}")
        blank = [n for n, text in self.column_descriptions.items() if not _is_text(text)]
        if blank:
            problems.append(f"column_descriptions must be non-empty strings: {blank}")
        sources = [i.source for i in self.inputs]
        if not sources or len(set(sources)) != len(sources):
            problems.append(f"inputs must name each source once, and at least one: {sources}")
        if problems:
            raise ValueError(f"mart {self.name!r}: " + "; ".join(problems))

    @property
    def asset(self) -> tuple[str, str]:
        return ("gold", self.name)

    @property
    def is_daily(self) -> bool:
        return self.partitioning == DAILY

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(i.source for i in self.inputs)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def lineage_from(source: str, *columns: str) -> tuple[tuple[str, str], ...]:
    """The lineage entries of a gold column computed from `columns` of silver/<source>."""
    return tuple((source, c) for c in columns)


def available(marts: Sequence[MartSpec], sources: Mapping[str, object]) -> tuple[MartSpec, ...]:
    """The marts of a domain when every source the domain reads is declared, else none: a
    domain's marts are built together or not at all."""
    needed = frozenset().union(*(m.sources for m in marts))
    return tuple(marts) if needed <= sources.keys() else ()


def step_name(marts: Sequence[MartSpec]) -> str:
    """The step that computes `marts` together, named for them: layer and asset names, joined
    the way Dagster names the step of one asset (`gold__daily_sales`)."""
    return "__".join(["gold", *(mart.name for mart in marts)])
