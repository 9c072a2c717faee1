"""The landing sensor's decisions, tick by tick, on fabricated directory listings."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from etl_assets.automation.landing_watch import (
    PartitionBounds,
    TickInputs,
    WatchedSource,
    WatchState,
    is_temporary,
    plan_tick,
)
from etl_assets.connectors.landing_scan import LandingEntry

ORDERS = WatchedSource.of("orders", "orders/orders_{date}.csv", ["bronze", "orders"])
PRODUCTS = WatchedSource.of("products", "products/products.csv", ["bronze", "products"])
BOUNDS = PartitionBounds(first="2024-01-01", last="2024-01-31")
SECOND = 1_000_000_000
TICK = 30 * SECOND  # the sensor's interval


class FakeLanding:
    """A landing directory as the sensor sees it, with a clock that ticks between looks."""

    def __init__(self) -> None:
        self.now = 1_700_000_000 * SECOND
        self.files: dict[str, tuple[bytes, int, int]] = {}  # name -> (bytes, version, ctime)
        self.reads: list[str] = []

    def put(self, relative: str, content: bytes) -> None:
        version = self.files[relative][1] + 1 if relative in self.files else 1
        self.files[relative] = (content, version, self.now)
        self.now += SECOND // 10

    def entries(self) -> list[LandingEntry]:
        return [
            LandingEntry(name, len(data), f"{len(data)}:{version}", changed)
            for name, (data, version, changed) in sorted(self.files.items())
        ]

    def checksum(self, relative: str) -> str:
        self.reads.append(relative)
        return hashlib.sha256(self.files[relative][0]).hexdigest()

    def tick(self, state: WatchState | None, **changes):
        inputs = TickInputs(
            sources=[ORDERS, PRODUCTS],
            bounds=BOUNDS,
            checksum=self.checksum,
            max_ready=50,
            now_ns=self.now,
            clock_margin_ns=SECOND,
        )
        plan = plan_tick(self.entries(), state, replace(inputs, **changes))
        self.now += TICK
        # What the next tick gets back is the stored cursor.
        plan.state = WatchState.decode(plan.state.encode())
        return plan

    def settle(self, state: WatchState | None = None, **changes):
        """Two looks: the first sees files arrive, the second finds them settled."""
        return self.tick(self.tick(state, **changes).state, **changes)


def test_new_file_waits_one_look_then_is_ready_once():
    landing = FakeLanding()
    landing.put("orders/orders_2024-01-05.csv", b"header\nrow\n")
    first = landing.tick(WatchState())
    assert first.ready == []
    assert first.waiting == [
        ("orders/orders_2024-01-05.csv", "settling (new or changed since the last look)")
    ]
    assert landing.reads == []  # an unsettled file is not read

    second = landing.tick(first.state)
    [ready] = second.ready
    assert (ready.relative, ready.day, ready.source.name) == (
        "orders/orders_2024-01-05.csv",
        "2024-01-05",
        "orders",
    )
    assert ready.sha256 == hashlib.sha256(b"header\nrow\n").hexdigest()

    third = landing.tick(second.state)
    assert third.ready == [] and third.waiting == []
    assert third.known == 1 and third.state.files == {}  # below the watermark: not tracked
    assert landing.reads == ["orders/orders_2024-01-05.csv"]


def test_undated_source_file_is_ready_without_a_day():
    landing = FakeLanding()
    landing.put("products/products.csv", b"StockCode\nA\n")
    [ready] = landing.settle().ready
    assert ready.day is None and ready.source is PRODUCTS


def test_file_still_growing_waits_until_two_looks_agree():
    landing = FakeLanding()
    landing.put("orders/orders_2024-01-05.csv", b"header\n")
    state = landing.tick(WatchState()).state
    landing.put("orders/orders_2024-01-05.csv", b"header\nrow 1\n")  # the writer goes on
    growing = landing.tick(state)
    assert growing.ready == [] and "settling" in growing.waiting[0][1]
    [ready] = landing.tick(growing.state).ready
    assert ready.sha256 == hashlib.sha256(b"header\nrow 1\n").hexdigest()


@pytest.mark.parametrize(
    "name",
    [
        "orders/orders_2024-01-05.csv.part",
        "orders/orders_2024-01-05.csv.tmp",
        "orders/.orders_2024-01-05.csv.x7Gq2",  # rsync's hidden temporary
        "orders/~orders_2024-01-05.csv",
        "orders/_temporary/orders_2024-01-05.csv",
        "orders/orders_2024-01-05.csv._COPYING_",
    ],
)
def test_temporary_names_wait_and_are_never_run(name):
    assert is_temporary(name)
    landing = FakeLanding()
    landing.put(name, b"header\nrow\n")
    plan = landing.settle()
    assert plan.ready == [] and plan.newly_skipped == []
    assert plan.waiting == [(name, "temporary name: still being written")]


def test_empty_file_waits_until_it_has_content():
    landing = FakeLanding()
    landing.put("orders/orders_2024-01-05.csv", b"")
    empty = landing.settle()
    assert empty.ready == [] and "empty" in empty.waiting[0][1]
    landing.put("orders/orders_2024-01-05.csv", b"header\nrow\n")
    assert len(landing.settle(empty.state).ready) == 1


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("orders/orders_2024-1-5.csv", "matches no source pattern"),
        ("orders/orders-2024-01-05.csv", "matches no source pattern"),
        ("orders/2024-01-05/orders.csv", "matches no source pattern"),
        ("notes.txt", "matches no source pattern"),
        ("orders/orders_2024-02-30.csv", "not a calendar day"),
        ("orders/orders_2023-12-31.csv", "before the first partition"),
    ],
)
def test_names_outside_the_pattern_are_skipped_with_a_reason_once(name, words):
    landing = FakeLanding()
    landing.put(name, b"header\nrow\n")
    first = landing.tick(WatchState())
    assert first.ready == [] and first.waiting == []
    [(skipped, reason)] = first.newly_skipped
    assert skipped == name and words in reason
    second = landing.tick(first.state)
    third = landing.tick(second.state)
    assert second.newly_skipped == [] and third.newly_skipped == []  # once, not every tick
    landing.put(name, b"header\nrow\nanother\n")
    assert [n for n, _ in landing.tick(third.state).newly_skipped] == [name]


def test_link_resolving_outside_the_landing_directory_is_skipped():
    landing = FakeLanding()
    entry = LandingEntry("orders/orders_2024-01-05.csv", 0, "", None, outside_target="/etc/passwd")
    inputs = TickInputs([ORDERS], BOUNDS, landing.checksum, 50, landing.now, SECOND)
    plan = plan_tick([entry], WatchState(), inputs)
    [(name, reason)] = plan.newly_skipped
    assert name == entry.relative and "outside the landing directory (to /etc/passwd)" in reason
    assert landing.reads == []


def test_day_that_is_not_over_waits_then_runs_when_it_is():
    landing = FakeLanding()
    landing.put("orders/orders_2024-02-01.csv", b"header\nrow\n")
    early = landing.settle()
    assert early.ready == [] and "not over yet" in early.waiting[0][1]
    later = PartitionBounds(first="2024-01-01", last="2024-02-01")
    [ready] = landing.tick(early.state, bounds=later).ready
    assert ready.day == "2024-02-01"


def test_replaced_content_runs_again_with_its_new_checksum():
    landing = FakeLanding()
    name = "orders/orders_2024-01-05.csv"
    landing.put(name, b"header\nrow\n")
    first_run = landing.settle()
    [first] = first_run.ready
    quiet = landing.tick(first_run.state)

    landing.put(name, b"header\nrow\n")  # rewritten with the same bytes (touched)
    touched = landing.settle(quiet.state)
    [same] = touched.ready
    assert same.sha256 == first.sha256  # same run key: the daemon does not run it again

    landing.put(name, b"header\nfixed row\n")  # replaced with different content
    [second] = landing.settle(touched.state).ready
    assert second.relative == name and second.sha256 != first.sha256


def test_removed_file_is_forgotten():
    landing = FakeLanding()
    name = "orders/orders_2024-01-05.csv"
    landing.put(name, b"header\nrow\n")
    arrived = landing.tick(WatchState())
    del landing.files[name]
    assert landing.tick(arrived.state).state.files == {}


def test_without_a_cursor_what_bronze_ingested_decides():
    """A new or reset cursor: a file whose SHA-256 bronze already ingested never runs; one
    whose bytes differ from what bronze ingested runs once; an observation that saw the same
    fingerprint before counts as the second look."""
    landing = FakeLanding()
    for day in ("2024-01-05", "2024-01-06", "2024-01-07"):
        landing.put(f"orders/orders_{day}.csv", f"header\nrow {day}\n".encode())
    ingested = {
        "2024-01-05": landing.checksum("orders/orders_2024-01-05.csv"),  # in sync
        "2024-01-06": "the sha256 of an older file",  # changed while the sensor was off
    }  # 2024-01-07: never ingested
    landing.reads.clear()

    def ingested_sha(source, day):
        return ingested.get(day)

    first = landing.tick(None, ingested=ingested_sha)
    assert first.ready == []  # one look only: every file waits for a second
    second = landing.tick(first.state, ingested=ingested_sha)
    assert [r.relative for r in second.ready] == [
        "orders/orders_2024-01-06.csv",
        "orders/orders_2024-01-07.csv",
    ]
    assert second.ready[0].ingested == "the sha256 of an older file"
    assert landing.tick(second.state, ingested=ingested_sha).ready == []
    # A reset cursor: the in-sync file never runs; an observation counts as the first look.
    reset = landing.tick(None, ingested=ingested_sha, observed_stable=lambda relative: True)
    assert [r.relative for r in reset.ready] == [
        "orders/orders_2024-01-06.csv",
        "orders/orders_2024-01-07.csv",
    ]


def test_ready_files_per_tick_are_capped_and_the_rest_follow():
    landing = FakeLanding()
    for day in range(1, 6):
        landing.put(f"orders/orders_2024-01-{day:02d}.csv", b"header\nrow\n")
    state = landing.tick(WatchState(), max_ready=2).state
    processed = []
    for _ in range(3):
        plan = landing.tick(state, max_ready=2)
        processed += [r.relative for r in plan.ready]
        state = plan.state
    assert sorted(processed) == sorted(landing.files)


def test_cursor_stays_small_however_many_files_are_known():
    landing = FakeLanding()
    for day in range(10_000):
        landing.put(f"orders/orders_{day:05d}.csv", b"x")  # names skipped: cheap to set up
    state = landing.settle().state
    quiet = landing.tick(state)
    assert quiet.known == 10_000 and quiet.newly_skipped == []
    assert len(quiet.state.encode()) < 100


@pytest.mark.parametrize("cursor", [None, "", "not json", '{"v": 1, "files": {}}'])
def test_missing_or_foreign_cursor_means_no_state(cursor):
    assert WatchState.decode(cursor) is None


def test_store_without_change_times_is_followed_by_fingerprint():
    landing = FakeLanding()
    entry = LandingEntry("orders/orders_2024-01-05.csv", 11, "11:etag-1", None)
    landing.files[entry.relative] = (b"header\nrow\n", 1, 0)

    def look(state, entries):
        inputs = TickInputs([ORDERS], BOUNDS, landing.checksum, 50, landing.now, SECOND)
        landing.now += TICK
        return plan_tick(entries, state, inputs)

    arrived = look(WatchState(), [entry])
    ran = look(arrived.state, [entry])
    quiet = look(ran.state, [entry])
    assert len(ran.ready) == 1 and quiet.ready == [] and quiet.waiting == []
    changed = look(quiet.state, [replace(entry, fingerprint="11:etag-2")])
    assert changed.ready == [] and "settling" in changed.waiting[0][1]
