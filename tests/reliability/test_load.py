"""Load: threads creating, listing and cancelling on one loopback fake lose nothing and duplicate nothing.

Each worker has its own `BatchesClient` (own session, own connections) against one `fake.serve()`
server whose `SystemClock` runs fast, so batches move through their statuses while the load runs.
Workers pick create (upload + create), list (page through every batch, or every file) or cancel at
random for a bounded time. While the load runs, every listing must hold each batch and file that any
worker had been given before the listing began, exactly once, and no timestamp a worker saw may change
later. Afterwards every id any worker was given must be in the fake and in the final listing exactly
once, every create call must have made exactly one batch (also when the server drops responses after
committing and the client retries), every accepted cancel must stick, and no call may have been answered
5xx except by injection. The same holds when one client is shared by the threads and by live table and
monitor views. Concurrent tenants (OpenAI-Organization) never see each other's batches. A burst of new
clients connecting at once is served. Throughput and latency are reported, never asserted.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import BatchesError, ConflictError, NotFoundError
from batches_ext.widgets import BatchMonitor, BatchTable
from fake_server import FakeBatchesAPI, SystemClock
from fake_server.server import serve
from fake_server.wire import DropConnection
from tests.concurrency import run_concurrently
from tests.reliability.conftest import bounded_or_long

KEY = "sk-load"
LINE = (b'{"custom_id": "r-%d", "method": "POST", "url": "/v1/chat/completions", '
        b'"body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi %d"}]}}\n')
RANK = {"validating": 0, "in_progress": 1, "finalizing": 2, "cancelling": 3}  # terminal statuses: 4
STAMPS = ("created_at", "in_progress_at", "finalizing_at", "completed_at", "cancelling_at", "cancelled_at",
          "expires_at")
KINDS = ("create", "list batches", "list files", "cancel", "peek")


class CountingDoor:
    """Stands in front of the fake on the loopback server and counts every answer by status (drops too)."""

    def __init__(self, fake: FakeBatchesAPI) -> None:
        self.fake = fake
        self.statuses: Counter[int | str] = Counter()
        self._lock = threading.Lock()

    def handle(self, request: Any) -> Any:
        try:
            response = self.fake.handle(request)
        except DropConnection:
            with self._lock:
                self.statuses["dropped"] += 1
            raise
        with self._lock:
            self.statuses[response.status] += 1
        return response

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if isinstance(status, int) and status >= 500)


@dataclass
class Registry:
    """One tenant's ids, appended only after the call that made them returned (so they surely exist)."""

    organization: str | None
    batches: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class Tally:
    """What one worker saw."""

    creates: list[tuple[str, str]] = field(default_factory=list)  # (input file id, batch id) per create call
    cancelled: list[str] = field(default_factory=list)  # cancels the server accepted
    cancels_refused: int = 0  # 409: the batch had finished
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    listings: int = 0
    missed: list[str] = field(default_factory=list)  # existed before a listing began, absent from it
    repeated: list[str] = field(default_factory=list)  # listed twice by one page-through
    stamps: dict[tuple[str, str], int] = field(default_factory=dict)  # first value seen per (batch, stamp)
    stamp_changes: list[tuple[str, str, int, int]] = field(default_factory=list)
    progress: dict[str, tuple[int, int]] = field(default_factory=dict)  # last (status rank, lines done) listed
    went_back: list[tuple[str, tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # every batch id this worker was shown
    peeks: int = 0
    peek_leaks: list[str] = field(default_factory=list)  # another tenant's id this worker could read


def _input(rng: random.Random) -> bytes:
    return b"".join(LINE % (i, i) for i in range(rng.randint(1, 5)))


def _page_through(kind: str, ids: list[str], before: set[str], tally: Tally) -> None:
    tally.listings += 1
    tally.missed.extend(sorted(before - set(ids)))
    tally.repeated.extend(i for i, n in Counter(ids).items() if n > 1)


def _watch(batch: Any, tally: Tally, listed: bool = False) -> None:
    """Stamps are set once; in successive listings (never replayed) status and progress only move on."""
    tally.seen.add(batch.id)
    for name in STAMPS:
        value = getattr(batch, name)
        if value is not None:
            first = tally.stamps.setdefault((batch.id, name), value)
            if first != value:
                tally.stamp_changes.append((batch.id, name, first, value))
    if listed:
        counts = batch.request_counts
        now = (RANK.get(batch.status, 4), counts.completed + counts.failed)
        before = tally.progress.get(batch.id, now)
        if now < before or now[1] < before[1]:
            tally.went_back.append((batch.id, before, now))
        tally.progress[batch.id] = now


def _worker(client: BatchesClient, mine: Registry, other: Registry | None, seconds: float, seed: int,
            tally: Tally) -> None:
    rng = random.Random(seed)
    kinds, weights = ["create", "list batches", "list files", "cancel"], [6, 2, 1, 2]
    if other is not None:
        kinds, weights = [*kinds, "peek"], [*weights, 2]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights=weights)[0]
        started = time.perf_counter()
        if kind == "create":
            file = client.upload_file(_input(rng), filename=f"load-{seed}.jsonl")
            mine.files.append(file.id)
            batch = client.create_batch(file.id, "/v1/chat/completions")
            _watch(batch, tally)
            tally.creates.append((file.id, batch.id))
            mine.batches.append(batch.id)
        elif kind == "list batches":
            before = set(mine.batches)
            listed = list(client.iter_batches(page_size=rng.choice([7, 50, 100])))
            for batch in listed:
                _watch(batch, tally, listed=True)
            _page_through(kind, [b.id for b in listed], before, tally)
        elif kind == "list files":
            before = set(mine.files)
            _page_through(kind, [f.id for f in client.iter_files(page_size=rng.choice([100, 1000]))], before, tally)
        elif kind == "cancel":
            if not tally.creates:
                continue
            batch_id = rng.choice(tally.creates)[1]
            try:
                batch = client.cancel_batch(batch_id)
            except ConflictError:
                tally.cancels_refused += 1  # cancelling a finished batch: a 409 is the right answer
            else:
                _watch(batch, tally)
                tally.cancelled.append(batch_id)
        elif other is not None and other.batches:  # peek: try to read or cancel another tenant's batch
            batch_id = rng.choice(other.batches)
            tally.peeks += 1
            try:
                (client.retrieve_batch if rng.random() < 0.5 else client.cancel_batch)(batch_id)
            except NotFoundError:
                pass
            else:
                tally.peek_leaks.append(batch_id)
        else:
            continue
        tally.latencies[kind].append(time.perf_counter() - started)


@dataclass
class Run:
    fake: FakeBatchesAPI
    door: CountingDoor
    seconds: float
    tallies: dict[str | None, list[Tally]]
    registries: dict[str | None, Registry]
    listed: dict[str | None, list[str]]  # final page-through, small pages
    listed_files: dict[str | None, list[str]]

    def all(self, org: str | None = None) -> list[Tally]:
        return [t for o, ts in self.tallies.items() if org is None or o == org for t in ts]


def _run(fake: FakeBatchesAPI, seconds: float, tenants: list, per_tenant: int, *, retries: int = 0,
         before_final=None) -> Run:
    """Run `per_tenant` workers per tenant for `seconds` on one loopback server, then read the final state."""
    door = CountingDoor(fake)
    registries = {org: Registry(org) for org in tenants}
    tallies: dict[str | None, list[Tally]] = {org: [Tally() for _ in range(per_tenant)] for org in tenants}
    with serve(door) as server:
        workers = []
        for t, org in enumerate(tenants):
            other = registries[tenants[1 - t]] if len(tenants) == 2 else None
            for w, tally in enumerate(tallies[org]):
                client = BatchesClient(api_key=KEY, base_url=server.base_url, organization=org, max_retries=retries)
                client.sleep = lambda _s: None  # retry delays are computed as usual, not slept

                def run(client=client, org=org, other=other, seed=t * 100 + w, tally=tally) -> None:
                    try:
                        _worker(client, registries[org], other, seconds, seed, tally)
                    finally:
                        client.close()

                workers.append(run)
        run_concurrently(workers, timeout=seconds + 60)
        if before_final is not None:
            before_final()
        listed, listed_files = {}, {}
        for org in tenants:  # the final state, read back over HTTP by each tenant, in small pages
            with BatchesClient(api_key=KEY, base_url=server.base_url, organization=org) as client:
                listed[org] = [b.id for b in client.iter_batches(page_size=7)]
                listed_files[org] = [f.id for f in client.iter_files(page_size=50)]
    return Run(fake, door, seconds, tallies, registries, listed, listed_files)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _report_throughput(run: Run, report, label: str) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    for tally in run.all():
        for kind, values in tally.latencies.items():
            latencies[kind].extend(values)
    ops = sum(len(v) for v in latencies.values())
    every = [x for v in latencies.values() for x in v]
    report.add("load", f"{label}: threads x seconds", f"{len(run.all())} x {run.seconds:g}")
    report.add("load", f"{label}: operations held", ops / run.seconds, "ops/s")
    report.add("load", f"{label}: p50 latency (all calls)", _percentile(every, 0.5) * 1e3, "ms")
    report.add("load", f"{label}: p99 latency (all calls)", _percentile(every, 0.99) * 1e3, "ms")
    for kind in KINDS:
        if latencies[kind]:
            report.add("load", f"{label}: {kind}", f"{len(latencies[kind]) / run.seconds:.1f} ops/s, p50 "
                       f"{_percentile(latencies[kind], 0.5) * 1e3:.1f} ms, p99 "
                       f"{_percentile(latencies[kind], 0.99) * 1e3:.1f} ms")
    return latencies


def _check_nothing_lost(run: Run, report, org: str | None = None) -> dict[str, Any]:
    """Measure losses and duplicates for one tenant (None: the only one) and report them; the figures."""
    tallies = run.all(org)
    creates = [pair for t in tallies for pair in t.creates]
    created = [b for _, b in creates]
    uploaded = [f for f, _ in creates]
    held = {b["id"]: b for b in run.fake.batches(organization=org or "org-fake")}
    held_files = {f["id"] for f in run.fake.files(organization=org or "org-fake")}
    listed, listed_files = run.listed[org], run.listed_files[org]

    per_input = Counter(b["input_file_id"] for b in held.values())
    figures = {
        "lost": [b for b in created if b not in held or b not in listed],
        "files lost": [f for f in uploaded if f not in held_files or f not in listed_files],
        # a create call that made two batches, a batch nobody was given, or an id listed twice
        "duplicated": (len(created) - len(set(created)) + sum(n - 1 for n in Counter(listed).values())
                       + sum(n - 1 for n in Counter(listed_files).values()) + (len(held) - len(set(created)))
                       + sum(n - 1 for n in per_input.values())),
        "wrong input": [b for f, b in creates if b in held and held[b]["input_file_id"] != f],
        "missed by a concurrent listing": [m for t in tallies for m in t.missed],
        "listed twice by a concurrent listing": [r for t in tallies for r in t.repeated],
        "cancels that did not stick": [b for t in tallies for b in t.cancelled
                                       if held.get(b, {}).get("status") not in ("cancelling", "cancelled")],
        "stamps that changed": [c for t in tallies for c in t.stamp_changes]
        + [(b, name, v, held[b][name]) for t in tallies for (b, name), v in t.stamps.items()
           if b in held and held[b][name] != v],
        "status or progress went backwards": [w for t in tallies for w in t.went_back],
    }
    who = f" ({org})" if org else ""
    report.add("load", f"batches created / files uploaded{who}", f"{len(created)} / {len(uploaded)}")
    report.add("load", "concurrent listings checked", sum(t.listings for t in tallies))
    report.add("load", f"cancels accepted / refused (409){who}",
               f"{sum(len(t.cancelled) for t in tallies)} / {sum(t.cancels_refused for t in tallies)}")
    report.loss("load", "batches lost", len(figures["lost"]))
    report.loss("load", "files lost", len(figures["files lost"]))
    report.loss("load", "batches duplicated (extra creates or listed twice)", figures["duplicated"])
    report.loss("load", "batches missed by a concurrent listing", len(figures["missed by a concurrent listing"]))
    report.loss("load", "ids listed twice by a concurrent listing",
                len(figures["listed twice by a concurrent listing"]))
    report.loss("load", "accepted cancels that did not stick", len(figures["cancels that did not stick"]))
    report.loss("load", "timestamps changed after being shown", len(figures["stamps that changed"]))
    report.loss("load", "status or progress went backwards between listings",
                len(figures["status or progress went backwards"]))
    return figures


def _assert_clean(figures: dict[str, Any]) -> None:
    for name, value in figures.items():
        assert not value, f"{name}: {value if isinstance(value, int) else value[:5]}"


@pytest.mark.parametrize("seconds", bounded_or_long(3.0, 60.0))
def test_concurrent_create_list_cancel_loses_and_duplicates_nothing(seconds: float, report) -> None:
    fake = FakeBatchesAPI(clock=SystemClock(speed=600), api_keys=[KEY], seed=7)
    run = _run(fake, seconds, [None], per_tenant=8)
    latencies = _report_throughput(run, report, "8 clients")
    figures = _check_nothing_lost(run, report)
    report.loss("load", "5xx answers", run.door.server_errors)

    assert all(latencies[kind] for kind in ("create", "list batches", "list files", "cancel")), \
        "the load must exercise every kind"
    assert sum(len(t.cancelled) for t in run.all()) > 0, "some cancel must have been accepted"
    _assert_clean(figures)
    assert run.door.server_errors == 0, run.door.statuses
    statuses = {b["status"] for b in fake.batches()}
    assert statuses - {"validating"}, "the clock must move batches along while the load runs"
    assert len(run.listed[None]) == len(fake.batches()) == len({b for t in run.all() for _, b in t.creates})


@pytest.mark.parametrize("seconds", bounded_or_long(2.0, 30.0))
def test_load_with_dropped_and_refused_calls_still_makes_one_batch_per_create(seconds: float, report) -> None:
    """The same load while the server drops responses after committing, drops requests, and answers 503
    and 429 at random: the clients retry (same Idempotency-Key), so each create call still made exactly
    one file and one batch, nothing is lost, and no error reached the caller."""
    fake = FakeBatchesAPI(clock=SystemClock(speed=600), api_keys=[KEY], seed=13)  # the key ignored, as the real API
    rules = {
        "503": fake.faults.fail_rate(0.04, status=503),
        "429": fake.faults.add(rate=0.04, status=429, retry_after=0.001, times=None),
        "dropped after commit (POST)": fake.faults.add(rate=0.06, drop="after", method="POST", times=None),
        "dropped before work": fake.faults.add(rate=0.03, drop="before", times=None),
    }
    fired: dict[str, int] = {}

    def stop_faults() -> None:
        fired.update({kind: rule.hits for kind, rule in rules.items()})
        fake.faults.clear()

    run = _run(fake, seconds, [None], per_tenant=8, retries=10, before_final=stop_faults)
    _report_throughput(run, report, "8 clients under faults")
    figures = _check_nothing_lost(run, report)
    for kind, hits in fired.items():
        report.add("load", f"faults survived under load ({kind})", hits)
    genuine = run.door.server_errors - fired["503"]
    report.loss("load", "5xx answers (not injected)", genuine)

    assert fired["dropped after commit (POST)"] > 0 and fired["503"] > 0 and fired["429"] > 0
    _assert_clean(figures)
    assert genuine == 0, run.door.statuses


@pytest.mark.parametrize("seconds", bounded_or_long(2.0, 30.0))
def test_concurrent_tenants_never_see_each_other(seconds: float, report) -> None:
    fake = FakeBatchesAPI(clock=SystemClock(speed=600), api_keys=[KEY], seed=11)
    run = _run(fake, seconds, ["org-a", "org-b"], per_tenant=3)
    _report_throughput(run, report, "2 tenants x 3 clients")
    leaks: list[str] = []
    for org, other in (("org-a", "org-b"), ("org-b", "org-a")):
        mine = {b for t in run.all(org) for _, b in t.creates}
        theirs = {b for t in run.all(other) for _, b in t.creates}
        their_files = {f for t in run.all(other) for f, _ in t.creates}
        leaks += sorted(theirs & set(run.listed[org]))  # in the final listing
        leaks += sorted(their_files & set(run.listed_files[org]))
        leaks += sorted({b for t in run.all(org) for b in t.seen} & theirs)  # in any listing during the load
        leaks += [b for t in run.all(org) for b in t.peek_leaks]  # read or cancelled by id
        assert mine and set(run.listed[org]) == mine
        assert {b["id"] for b in fake.batches(organization=org)} == mine
        _assert_clean(_check_nothing_lost(run, report, org))
    peeks = sum(t.peeks for t in run.all())
    report.add("load", "cross-tenant reads and cancels tried (all 404)", peeks)
    report.loss("load", "cross-tenant batches or files seen", len(leaks))
    assert peeks > 0
    assert not leaks
    assert run.door.server_errors == 0


BURST = 48


def test_a_burst_of_new_clients_connecting_at_once_is_served(report) -> None:
    """48 workers (notebook kernels, CI shards) each open their first connection to one loopback fake at
    the same instant, with a 0.5 s connect timeout and no retries: every one is connected and answered.
    (A connection is set up by the kernel, not by the busy server, so only a full listen queue can make
    it wait; a read timeout of 30 s keeps server load out of the picture.)"""
    fake = FakeBatchesAPI(clock=SystemClock(speed=600), api_keys=[KEY], seed=17)
    seeded = fake.seed_batch("in_progress", requests=3)["id"]
    answers: list[object] = []
    latencies: list[float] = []
    with fake.serve() as server:
        clients = [BatchesClient(api_key=KEY, base_url=server.base_url, connect_timeout=0.5, timeout=30,
                                 max_retries=0) for _ in range(BURST)]
        start = threading.Barrier(BURST)

        def first_call(client: BatchesClient) -> None:
            start.wait(10)
            began = time.perf_counter()
            try:
                answers.append([b.id for b in client.list_batches().data])
            except BatchesError as err:
                answers.append(type(err).__name__)
            latencies.append(time.perf_counter() - began)
            client.close()

        run_concurrently([functools.partial(first_call, c) for c in clients])
    failed = Counter(a for a in answers if isinstance(a, str))
    report.add("load", f"burst: {BURST} new clients at once, first call p50 / max",
               f"{_percentile(latencies, 0.5) * 1e3:.0f} ms / {max(latencies) * 1e3:.0f} ms")
    report.add("load", "burst: first calls that failed (connect timeout 0.5 s)", sum(failed.values()))
    assert len(answers) == BURST
    assert not failed, dict(failed)
    assert all(a == [seeded] for a in answers)


@pytest.mark.parametrize("seconds", bounded_or_long(1.5, 20.0))
def test_one_client_shared_by_threads_and_live_views_loses_nothing(seconds: float, report) -> None:
    """The notebook shape: ONE `BatchesClient` (one session, one connection pool) used at once by 6 worker
    threads and by a `BatchTable` and a `BatchMonitor` refreshing on their own threads every 10 ms.
    Nothing is lost or duplicated, no call fails, and neither view ever shows an error."""
    fake = FakeBatchesAPI(clock=SystemClock(speed=600), api_keys=[KEY], seed=19)
    door = CountingDoor(fake)
    mine = Registry(None)
    tallies = [Tally() for _ in range(6)]
    errors: list[BaseException] = []
    view_errors: list[str] = []
    with serve(door) as server:
        client = BatchesClient(api_key=KEY, base_url=server.base_url, max_retries=0)
        for n in (40, 80, 120):  # the monitored batches: made by the same client, counted like any other
            file = client.upload_file(b"".join(LINE % (i, i) for i in range(n)), filename="watched.jsonl")
            tallies[0].creates.append((file.id, client.create_batch(file.id).id))
            mine.files.append(file.id)
            mine.batches.append(tallies[0].creates[-1][1])
        watched = list(mine.batches)
        table = BatchTable(client, page_size=20, interval=0.01, namespace={})
        monitor = BatchMonitor(client, watched, interval=0.01, namespace={})

        def run(seed: int, tally: Tally) -> None:
            try:
                _worker(client, mine, None, seconds, seed, tally)
            except BaseException as err:  # noqa: BLE001 - re-raised in the test's thread
                errors.append(err)

        def watch_views() -> None:
            while any(t.is_alive() for t in threads):
                view_errors.extend(v.error for v in (table, monitor) if v.error)
                time.sleep(0.005)

        threads = [threading.Thread(target=run, args=(300 + w, t), daemon=True) for w, t in enumerate(tallies)]
        for thread in threads:
            thread.start()
        watch_views()
        for thread in threads:
            thread.join(seconds + 60)
        ticks = (table.refresher_thread is not None, table._refresher.ticks, monitor._refresher.ticks)
        table.close()
        monitor.close()
        client.close()
        if errors:
            raise errors[0]
        with BatchesClient(api_key=KEY, base_url=server.base_url) as reader:
            listed = {None: [b.id for b in reader.iter_batches(page_size=7)]}
            listed_files = {None: [f.id for f in reader.iter_files(page_size=50)]}
    run_ = Run(fake, door, seconds, {None: tallies}, {None: mine}, listed, listed_files)
    _report_throughput(run_, report, "1 client shared by 6 threads + 2 views")
    report.add("load", "view refreshes on the shared client (table / monitor)", f"{ticks[1]} / {ticks[2]}")
    figures = _check_nothing_lost(run_, report)
    report.loss("load", "view errors on the shared client", len(view_errors))
    report.loss("load", "5xx answers (shared client)", door.server_errors)

    _assert_clean(figures)
    assert ticks[0] and ticks[1] > 5, "the table's refresher must have run during the load"
    assert not view_errors, view_errors[:3]
    assert door.server_errors == 0, door.statuses
