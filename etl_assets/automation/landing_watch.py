"""What the landing sensor decides on one tick, as plain Python (no Dagster here).

A file is ready when
- its name matches a files source's pattern (`orders/orders_{date}.csv`) with a calendar
  day that is a partition (a day before the first partition is skipped; a day not over
  yet waits);
- it is not a temporary name (`.part`, `.tmp`, `~`, a hidden name...) and not empty;
- two consecutive looks saw the same fingerprint (size, times, inode): nobody is writing it.

It runs when its checksum (its observed data version) differs from the SHA-256 bronze
ingested for its partition: a file rewritten with the same bytes runs nothing, with or
without a cursor.

The state between ticks (the sensor's cursor, which Dagster stores with every tick) stays
small whatever the size of the landing zone: a watermark, the time of the previous look
less a clock margin, below which every file is known; and the few files changed since then
or still waiting. A file with a change time at or below the watermark that is not tracked
has been handled (or reported, when skipped) and costs one integer comparison per tick.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from etl_assets.connectors.landing_scan import LandingEntry

DATE_PLACEHOLDER = "{date}"
TEMPORARY_SUFFIXES = (
    ".tmp", ".temp", ".part", ".partial", ".filepart", ".crdownload", ".download", ".swp",
    ".lock", "~", "._copying_",
)  # fmt: skip
CURSOR_VERSION = 2
_SHORT_FINGERPRINT = 5  # bytes of a blake2b digest: compares two versions of one file


@dataclass(frozen=True)
class WatchedSource:
    """A files source: its pattern relative to landing/ and the bronze asset it feeds."""

    name: str
    pattern: str
    bronze_key: tuple[str, ...]
    daily: bool
    regex: re.Pattern = field(compare=False)

    @classmethod
    def of(cls, name: str, pattern: str, bronze_key: Sequence[str]) -> WatchedSource:
        daily = DATE_PLACEHOLDER in pattern
        regex = re.escape(pattern).replace(re.escape(DATE_PLACEHOLDER), r"(\d{4}-\d{2}-\d{2})")
        return cls(name, pattern, tuple(bronze_key), daily, re.compile(regex))


@dataclass(frozen=True)
class ReadyFile:
    relative: str
    source: WatchedSource
    day: str | None
    sha256: str
    ingested: str | None = None  # the SHA-256 bronze holds for the day (None: none yet)


@dataclass(frozen=True)
class Tracked:
    seen: str  # short fingerprint at the last look
    handled: bool  # run requested, skip reported, or ingested before the sensor ran


@dataclass
class WatchState:
    watermark_ns: int | None = None  # files changed at or before it are known
    files: dict[str, Tracked] = field(default_factory=dict)

    def encode(self) -> str:
        files = {path: [t.seen, int(t.handled)] for path, t in sorted(self.files.items())}
        data = {"v": CURSOR_VERSION, "watermark_ns": self.watermark_ns, "files": files}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> WatchState | None:
        """The state in a cursor; None when there is none or it is of another version."""
        try:
            data = json.loads(cursor or "")
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
            return None
        files = {
            path: Tracked(seen, bool(handled)) for path, (seen, handled) in data["files"].items()
        }
        return cls(watermark_ns=data["watermark_ns"], files=files)


@dataclass
class TickPlan:
    ready: list[ReadyFile] = field(default_factory=list)
    waiting: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    newly_skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    known: int = 0  # files below the watermark, not looked at further
    state: WatchState = field(default_factory=WatchState)


@dataclass(frozen=True)
class PartitionBounds:
    first: str  # first partition key, YYYY-MM-DD
    last: str | None  # last existing partition key (None: no day is over yet)


def is_temporary(relative: str) -> bool:
    """Names that writers use while a file is incomplete: hidden, `~lock`, `.part`, ..."""
    parts = relative.split("/")
    if any(part.startswith((".", "~")) or part == "_temporary" for part in parts):
        return True
    return parts[-1].lower().endswith(TEMPORARY_SUFFIXES)


def match_source(
    relative: str, sources: Iterable[WatchedSource]
) -> tuple[WatchedSource, str | None] | None:
    for source in sources:
        match = source.regex.fullmatch(relative)
        if match:
            return source, (match.group(1) if source.daily else None)
    return None


def short_fingerprint(fingerprint: str) -> str:
    return hashlib.blake2b(fingerprint.encode(), digest_size=_SHORT_FINGERPRINT).hexdigest()


@dataclass(frozen=True)
class TickInputs:
    sources: Sequence[WatchedSource]
    bounds: PartitionBounds
    checksum: Callable[[str], str]  # the file's SHA-256 (its observed data version)
    max_ready: int
    now_ns: int  # when the look started
    clock_margin_ns: int
    # The SHA-256 bronze ingested for a file's partition (None: never ingested). A file whose
    # checksum equals it never runs, whatever the cursor says; one that differs runs once.
    ingested: Callable[[WatchedSource, str | None], str | None] = lambda source, day: None
    # Whether the last observation of the file saw its present fingerprint: a second look
    # that lets a file the cursor does not know run without waiting a tick.
    observed_stable: Callable[[str], bool] = lambda relative: False


def plan_tick(
    entries: Iterable[LandingEntry], previous: WatchState | None, inputs: TickInputs
) -> TickPlan:
    """Sort every landing file into ready, waiting, skipped or known, and the next state."""
    previous = previous or WatchState()
    plan = TickPlan()
    changed_at: dict[str, int | None] = {}
    for entry in entries:
        tracked = previous.files.get(entry.relative)
        if tracked is None and _below(entry.changed_ns, previous.watermark_ns):
            plan.known += 1
            continue
        changed_at[entry.relative] = entry.changed_ns
        _plan_entry(plan, entry, tracked, inputs)
    watermark = inputs.now_ns - inputs.clock_margin_ns
    plan.state.watermark_ns = max(watermark, previous.watermark_ns or watermark)
    # Handled files that the new watermark covers need no tracking any more.
    plan.state.files = {
        path: tracked
        for path, tracked in plan.state.files.items()
        if not (tracked.handled and _below(changed_at[path], plan.state.watermark_ns))
    }
    return plan


def _below(changed_ns: int | None, watermark_ns: int | None) -> bool:
    return changed_ns is not None and watermark_ns is not None and changed_ns <= watermark_ns


def _plan_entry(
    plan: TickPlan,
    entry: LandingEntry,
    tracked: Tracked | None,
    inputs: TickInputs,
) -> None:
    relative = entry.relative
    if is_temporary(relative):
        plan.waiting.append((relative, "temporary name: still being written"))
        return
    seen = short_fingerprint(entry.fingerprint)
    files = plan.state.files
    reason = _skip_reason(entry, inputs)
    if reason is not None:
        if tracked is None or tracked.seen != seen:
            plan.newly_skipped.append((relative, reason))
        files[relative] = Tracked(seen, handled=True)
        return
    source, day = match_source(relative, inputs.sources)  # type: ignore[misc]  # matched
    wait = _wait_reason(entry, day, inputs.bounds)
    if wait is not None:
        files[relative] = Tracked(seen, handled=False)
        plan.waiting.append((relative, wait))
        return
    settled = tracked is not None and tracked.seen == seen
    if not settled and not (tracked is None and inputs.observed_stable(relative)):
        files[relative] = Tracked(seen, handled=False)
        plan.waiting.append((relative, "settling (new or changed since the last look)"))
        return
    if tracked is not None and settled and tracked.handled:
        files[relative] = tracked
        return
    if len(plan.ready) >= inputs.max_ready:
        files[relative] = Tracked(seen, handled=False)
        plan.waiting.append((relative, f"more than {inputs.max_ready} files ready: next tick"))
        return
    try:
        sha256 = inputs.checksum(relative)
    except FileNotFoundError:
        return  # removed since the scan: forgotten, like any removed file
    ingested = inputs.ingested(source, day)
    if sha256 != ingested:
        plan.ready.append(ReadyFile(relative, source, day, sha256, ingested))
    files[relative] = Tracked(seen, handled=True)


def _skip_reason(entry: LandingEntry, inputs: TickInputs) -> str | None:
    if entry.outside_target is not None:
        return f"resolves outside the landing directory (to {entry.outside_target})"
    matched = match_source(entry.relative, inputs.sources)
    if matched is None:
        patterns = ", ".join(s.pattern for s in inputs.sources)
        return f"name matches no source pattern ({patterns})"
    _, day = matched
    if day is None:
        return None
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        return f"'{day}' is not a calendar day"
    if day < inputs.bounds.first:
        return (
            f"day {day} is before the first partition {inputs.bounds.first} (ETL_PARTITIONS_START)"
        )
    return None


def _wait_reason(entry: LandingEntry, day: str | None, bounds: PartitionBounds) -> str | None:
    if day is not None and (bounds.last is None or day > bounds.last):
        return f"day {day} is not over yet"
    if entry.size == 0:
        return "empty: still being written"
    return None
