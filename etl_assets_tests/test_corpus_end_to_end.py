"""The hostile corpus (corpus.py) end to end: every case lands as its own day of ONE range,
between ordinary sample days, and `run_pipeline` (what `etl-assets run` calls) runs it once.

Each case ends in one of three ways, and nothing else happens to any day:

- exact accounting: the day's bronze rows = its silver + quarantined rows + duplicates
  removed, read back from the lake, and its `row_accounting` check passed;
- a reject-rate gate failure (the case quarantines more than the 5 % allowed): the same
  exact accounting, its silver and quarantine written, its gold not built, the summary's
  FAILED line says how many rows were rejected and why;
- a clear read failure: the summary's FAILED line names the day's file and what to do,
  while every other day of the range has bronze, silver and gold.

Cases read by the shipped orders.yaml are days of `orders`. A case that needs another
declaration (a declared encoding or delimiter, a compressed path, offsets in its formats) is
a day of a source of its own beside `orders` (one source per distinct declaration), on a day
where the sample's orders land too; its bronze and silver are checked the same way (gold
reads `orders` only).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from etl_assets.definitions import build_definitions
from etl_assets.runner import run_pipeline
from etl_assets_tests.conftest import copy_landing, settings_for
from etl_assets_tests.corpus import CorpusCase, corpus_cases, declaration

SOURCES = Path(__file__).parents[1] / "etl_assets" / "sources"
START = dt.date(2024, 1, 1)
LEAD, TRAIL = 2, 2  # ordinary sample days before and after the cases
MAX_RATE = 0.05  # the shipped default (docs/quality.md)
SHIPPED = yaml.safe_dump(declaration(CorpusCase("shipped", bytes, "accounting")))
CASES = corpus_cases()


def _day(n: int) -> str:
    return (START + dt.timedelta(days=n)).isoformat()


def gated(case: CorpusCase) -> bool:
    """The case reads, but quarantines more than the 5 % its day may."""
    e = case.expected
    total = e.silver + e.quarantined + e.duplicates
    return case.outcome == "accounting" and total > 0 and e.quarantined / total > MAX_RATE


def ending(case: CorpusCase) -> str:
    if case.outcome == "failure":
        return "read failure"
    return "gate failure" if gated(case) else "exact accounting"


@dataclass(frozen=True)
class Placed:
    case: CorpusCase
    source: str  # the source whose day it is
    day: str

    @property
    def relative(self) -> str:  # the landing file, as bronze names it
        return f"{self.source}/{self.case.file_name(self.day)}"


def _layout(cases: list[CorpusCase]) -> tuple[list[Placed], dict[str, dict], list[Placed]]:
    """Each case on its own day. Shipped-declaration cases first: good ones, the unreadable
    ones, the gated ones, good ones again (each bad stretch between good days); then the
    cases with a declaration of their own, a group of days per declaration. Returns the
    placed cases, the extra sources' declarations, and ordinary lead files of extra sources
    (a case whose rows belong to the day before needs that day in the same run)."""
    shipped = [c for c in cases if yaml.safe_dump(declaration(c)) == SHIPPED]
    good = [c for c in shipped if ending(c) == "exact accounting"]
    half = len(good) // 2
    ordered = [
        *good[:half],
        *[c for c in shipped if ending(c) == "read failure"],
        *[c for c in shipped if ending(c) == "gate failure"],
        *good[half:],
    ]
    n = LEAD
    placed = []
    for case in ordered:
        placed.append(Placed(case, "orders", _day(n)))
        n += 1
    n += TRAIL
    groups: dict[str, list[CorpusCase]] = {}
    for case in cases:
        text = yaml.safe_dump(declaration(case))
        if text != SHIPPED:
            groups.setdefault(text, []).append(case)
    extra: dict[str, dict] = {}
    leads: list[Placed] = []
    plain = next(c for c in cases if c.name == "utf8")
    for members in groups.values():
        source = f"orders_{members[0].name}"  # named after the first case declaring it
        data = declaration(members[0])
        suffix = members[0].suffix
        data["name"] = source
        data["path"] = f"{source}/orders_{{date}}{suffix}"
        extra[source] = data
        if any(c.column_overrides for c in members) and suffix == ".csv":
            # offsets move a row to the day before: land that day too, an ordinary file
            leads.append(Placed(plain, source, _day(n)))
            n += 1
        for case in members:
            placed.append(Placed(case, source, _day(n)))
            n += 1
    return placed, extra, leads


@dataclass
class Outcome:
    data: Path
    summary: object
    placed: list[Placed]
    days: list[str]
    checks: dict[tuple[str, str, str], bool]  # (asset, check, day) -> passed
    figures: dict[tuple[str, str], dict]  # (asset, day) -> materialization metadata


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, sample_of) -> Outcome:
    placed, extra, leads = _layout(CASES)
    days = [_day(n) for n in range(max(_date_index(p.day) for p in placed) + 1)]
    data = copy_landing(
        sample_of(days=len(days), rows_per_day=200, seed=23), tmp_path_factory.mktemp("corpus")
    )
    landing = data / "landing"
    for p in [*leads, *placed]:
        target = landing / p.relative
        if p.source == "orders":
            for old in (landing / "orders").glob(f"orders_{p.day}.*"):
                old.unlink()  # the sample's file of the day makes way for the case's
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.case.build(p.day))
    sources = data / "sources"
    sources.mkdir()
    for shipped in SOURCES.glob("*.yaml"):
        (sources / shipped.name).write_text(shipped.read_text())
    for name, decl in extra.items():
        (sources / f"{name}.yaml").write_text(yaml.safe_dump(decl, sort_keys=False))

    settings = settings_for(data, ETL_SOURCES_DIR=str(sources))
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        summary = run_pipeline(defs, settings, instance, log_level="WARNING")
        checks, figures = _recorded(instance, summary.runs)
    return Outcome(data, summary, placed, days, checks, figures)


def _date_index(day: str) -> int:
    return (dt.date.fromisoformat(day) - START).days


def _recorded(instance, run_ids):
    checks, figures = {}, {}
    kinds = {dg.DagsterEventType.ASSET_CHECK_EVALUATION, dg.DagsterEventType.ASSET_MATERIALIZATION}
    for run_id in run_ids:
        for record in instance.get_records_for_run(run_id, of_type=kinds, limit=100_000).records:
            event = record.event_log_entry.dagster_event
            if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                check = event.asset_check_evaluation_data
                key = (check.asset_key.to_user_string(), check.check_name, check.partition)
                checks[key] = check.passed
            else:
                m = event.step_materialization_data.materialization
                figures[(m.asset_key.to_user_string(), m.partition)] = {
                    k: v.value for k, v in m.metadata.items()
                }
    return checks, figures


def lake(data: Path, layer: str, name: str, day: str) -> Path:
    return data / "lake" / layer / name / f"{day}.parquet"


def rows_of(data: Path, layer: str, name: str, days: list[str], source_file: str) -> int:
    """Rows of `source_file` in the partitions of `days` that exist."""
    found = 0
    for day in days:
        path = lake(data, layer, name, day)
        if path.exists():
            frame = pd.read_parquet(path, columns=["_source_file"])
            found += int((frame["_source_file"] == source_file).sum())
    return found


def _previous(day: str) -> str:
    return (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()


def _line(outcome: Outcome, p: Placed) -> str | None:
    lines = [
        line
        for line in outcome.summary.table().splitlines()
        if line.startswith("FAILED ") and f"/{p.source} {p.day}:" in line
    ]
    assert len(lines) <= 1, lines
    return lines[0] if lines else None


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.outcome == "accounting"],
    ids=lambda c: f"{c.name}-{ending(c).split()[0]}",
)
def test_case_lands_with_exact_accounting(case, outcome):
    [p] = [p for p in outcome.placed if p.case is case]
    data, source, day = outcome.data, p.source, p.day
    bronze = pd.read_parquet(lake(data, "bronze", source, day), columns=["_source_file"])
    assert set(bronze["_source_file"]) <= {p.relative}
    # a row dated the day before is on that day (offsets): look there too
    both = [_previous(day), day]
    silver = rows_of(data, "silver", source, both, p.relative)
    quarantined = rows_of(data, "silver", f"{source}_quarantine", both, p.relative)
    duplicates = outcome.figures[(f"silver/{source}", day)]["duplicates_removed"]
    assert len(bronze) == silver + quarantined + duplicates, (len(bronze), silver, quarantined)
    expected = case.expected
    assert (silver, quarantined, duplicates) == (
        expected.silver,
        expected.quarantined,
        expected.duplicates,
    )
    assert outcome.checks[(f"silver/{source}", "row_accounting", day)] is True
    if bronze.empty:  # an empty file is a warning that says what it expected
        assert any(
            line.startswith(f"warn  bronze/{source} ")
            and "landing_file_not_empty: observed 0, expected" in line
            for line in outcome.summary.check_lines
        ), outcome.summary.check_lines
    line = _line(outcome, p)
    if gated(case):
        assert outcome.checks[(f"silver/{source}", "reject_rate", day)] is False
        assert not lake(data, "gold", "daily_sales", day).exists()
        assert line is not None and re.fullmatch(
            rf"FAILED silver/{source} {day}: \d+\.\d % of [\d,]+ rows rejected "
            r"\([a-z_]+ [\d,]+(, [a-z_]+ [\d,]+)*\), 5 % allowed",
            line,
        ), line
        for reason in expected.reasons:
            assert reason in line, line
    else:
        assert line is None, line
        assert outcome.checks[(f"silver/{source}", "reject_rate", day)] is True
        if source == "orders":
            assert lake(data, "gold", "daily_sales", day).exists()


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome == "failure"], ids=lambda c: c.name)
def test_case_fails_its_own_day_naming_its_file(case, outcome):
    [p] = [p for p in outcome.placed if p.case is case]
    line = _line(outcome, p)
    assert line is not None and line.startswith(
        f"FAILED bronze/{p.source} {p.day}: {p.relative}: "
    ), line
    for words in case.failure_words:
        assert words in line, (words, line)
    for layer, name in [("bronze", p.source), ("silver", p.source)]:
        assert not lake(outcome.data, layer, name, p.day).exists()


def test_every_other_day_lands_and_only_the_bad_days_fail(outcome):
    summary = outcome.summary
    assert not summary.success
    assert summary.failures == []  # every failure is some day's
    bad = {p.day for p in outcome.placed if ending(p.case) != "exact accounting"}
    assert set(summary.failed_days) == bad
    for day in outcome.days:
        if day in bad:
            continue
        for layer, name in [("bronze", "orders"), ("silver", "orders"), ("gold", "daily_sales")]:
            assert lake(outcome.data, layer, name, day).exists(), (layer, name, day)
        assert outcome.checks[("silver/orders", "row_accounting", day)] is True, day
    # the failure lines of each bad day name only that day's own source
    for p in outcome.placed:
        if p.day in bad:
            [cause] = summary.failed_days[p.day]
            assert cause.asset.endswith(f"/{p.source}"), cause


def test_report(outcome):
    """The figures the issue asks for (printed with -s)."""
    endings = [ending(p.case) for p in outcome.placed]
    counts = {name: endings.count(name) for name in dict.fromkeys(endings)}
    print(
        f"\ncorpus cases: {len(outcome.placed)}; "
        + ", ".join(f"{k}: {v}" for k, v in counts.items())
    )
    for p in outcome.placed:
        print(f"{p.case.name:32} {p.source:28} {p.day}  {ending(p.case)}")
    print(outcome.summary.table())
    assert sum(counts.values()) == len(CASES) >= 30
