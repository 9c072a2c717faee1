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
from typing import Any

import pandas as pd

from etl_assets.sources.expectation_spec import Expectation
from etl_assets.sources.spec import documentation

DAILY = "daily"  # one partition per day of its partition column; a run replaces its days
# replaced whole; computed from every day of silver, or of its daily aggregates
WHOLE_HISTORY = "whole_history"
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
class DailyAggregate:
    """An intermediate of gold, partitioned like silver (`gold/<name>`): a day of one silver
    source reduced to what whole-history marts need (e.g. a row per customer and invoice
    instead of a row per line). A mart that declares it combines every day of it instead of
    reading every silver day, so a daily run computes the aggregate of its own days and the
    marts read aggregates, not history. `compute` takes the input's frame of one or more days
    and gives the days' rows, independent of any other day."""

    name: str
    description: str
    input: MartInput
    columns: Mapping[str, str]  # column -> dtype string, in output order
    keys: tuple[str, ...]
    compute: Callable[[pd.DataFrame], pd.DataFrame]
    partition_column: str = "order_date"
    # columns the marts read back as pandas categoricals (few distinct values over many days)
    categories: tuple[str, ...] = ()
    # column -> what it holds, in words, for the column schema (documentation only)
    column_descriptions: Mapping[str, str] = documentation(dict)

    def __post_init__(self) -> None:
        named = (*self.keys, self.partition_column, *self.categories)
        unknown = [c for c in named if c not in self.columns]
        if unknown:
            raise ValueError(f"aggregate {self.name!r}: keys name columns it lacks: {unknown}")
        strays = [c for c in self.column_descriptions if c not in self.columns]
        blank = [c for c, text in self.column_descriptions.items() if not _is_text(text)]
        if strays or blank:
            raise ValueError(
                f"aggregate {self.name!r}: column_descriptions name columns it lacks {strays} "
                f"or are not non-empty strings {blank}"
            )

    @property
    def asset(self) -> tuple[str, str]:
        return ("gold", self.name)

    @property
    def inputs(self) -> tuple[MartInput, ...]:
        return (self.input,)

    @property
    def lineage(self) -> Mapping[str, tuple[tuple[str, str], ...]]:
        return {}


def _one_table(partial: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"partial": partial}


def _the_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    return tables["partial"]


@dataclass(frozen=True)
class Fold:
    """How a whole-history mart combines its daily aggregate a group of days at a time, so its
    memory follows one group and the partial result, not every day of history.

    `partial(days)` reduces some days of the aggregate to a partial result (any object the
    mart's functions agree on); `merge([partial, ...])` combines partial results of
    consecutive groups of days, in day order, into the partial result of all their days;
    `finish(partial, *others)` is the mart, `others` being the mart's other reads in order.
    The mart's `compute` over every day must equal `finish(partial(every day), *others)`,
    however the days are grouped, and `from_tables(to_tables(partial))` must finish the same
    as `partial`.
    """

    partial: Callable[[pd.DataFrame], Any]
    merge: Callable[[Sequence[Any]], Any]
    finish: Callable[..., pd.DataFrame]
    # The partial result as named tables (DataFrames or Arrow tables) and back, so the step can
    # keep it between runs (a checkpoint of the days before the current month). By default
    # the partial result is one DataFrame.
    to_tables: Callable[[Any], Mapping[str, Any]] = _one_table
    from_tables: Callable[[Mapping[str, Any]], Any] = _the_table

    def add(self, partial: Any | None, days: pd.DataFrame) -> Any:
        """The running partial result (None: no group yet) with the next group of days."""
        reduced = self.partial(days)
        return reduced if partial is None else self.merge([partial, reduced])


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
    # WHOLE_HISTORY: daily aggregates read instead of the silver inputs they reduce; `compute`
    # then takes each aggregate's frame (every day) in place of that input's.
    aggregates: tuple[DailyAggregate, ...] = ()
    # With its aggregate, and only then: how the step combines it a group of days at a time.
    fold: Fold | None = None

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
        if self.aggregates and self.partitioning != WHOLE_HISTORY:
            problems.append("only a whole-history mart reads daily aggregates")
        reduced = [a.input.source for a in self.aggregates]
        if not set(reduced) <= {i.source for i in self.inputs} or len(set(reduced)) != len(reduced):
            problems.append(f"each aggregate must reduce a different input of the mart: {reduced}")
        if len(self.aggregates) > 1 or bool(self.aggregates) != (self.fold is not None):
            problems.append(
                "a mart reads at most one daily aggregate, and declares a fold (partial, merge, "
                "finish) exactly when it does"
            )
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

    def reads(self) -> tuple[MartInput | DailyAggregate, ...]:
        """What `compute` takes, in order: each input, or the aggregate that reduces it."""
        by_source = {a.input.source: a for a in self.aggregates}
        return tuple(by_source.get(i.source, i) for i in self.inputs)

    def others(self) -> tuple[MartInput | DailyAggregate, ...]:
        """The reads a fold's `finish` takes after the partial: all but the folded aggregate."""
        return tuple(r for r in self.reads() if r not in self.aggregates)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def lineage_from(source: str, *columns: str) -> tuple[tuple[str, str], ...]:
    """The lineage entries of a gold column computed from `columns` of silver/<source>."""
    return tuple((source, c) for c in columns)


def aggregates_of(marts: Sequence[MartSpec]) -> tuple[DailyAggregate, ...]:
    """The daily aggregates the marts read, each once."""
    return tuple({a.name: a for m in marts for a in m.aggregates}.values())


def available(marts: Sequence[MartSpec], sources: Mapping[str, object]) -> tuple[MartSpec, ...]:
    """The marts of a domain when every source the domain reads is declared, else none: a
    domain's marts are built together or not at all."""
    needed = frozenset().union(*(m.sources for m in marts))
    return tuple(marts) if needed <= sources.keys() else ()


def step_name(marts: Sequence[MartSpec]) -> str:
    """The step that computes `marts` together, named for them: layer and asset names, joined
    the way Dagster names the step of one asset (`gold__daily_sales`)."""
    return "__".join(["gold", *(mart.name for mart in marts)])
