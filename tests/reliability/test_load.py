"""Load: threads creating, listing and cancelling on one loopback fake lose nothing and duplicate nothing.

Each worker has its own `BatchesClient` (own session, own connections) against one `fake.serve()`
server whose `SystemClock` runs fast, so batches move through their statuses while the load runs.
Workers pick create (upload + create), list (page through everything) or cancel at random for a
bounded time. Afterwards every id any worker was given must be in the fake and in the final listing
exactly once, every create must have made exactly one batch, and no call may have been answered 5xx.
The throughput is reported, never asserted.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import APIStatusError, ConflictError
from fake_server import FakeBatchesAPI, SystemClock
from tests.reliability.conftest import bounded_or_long

KEY = "sk-load"
LINE = (b'{"custom_id": "r-%d", "method": "POST", "url": "/v1/chat/completions", '
        b'"body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi %d"}]}}\n')


@dataclass
class Tally:
    """What one worker saw: the ids it was given, its latencies per kind, and any server errors."""

    batches: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: list[str] = field(default_factory=list)
    cancels_refused: int = 0


def _input(rng: random.Random) -> bytes:
    return b"".join(LINE % (i, i) for i in range(rng.randint(1, 5)))


def _worker(base_url: str, organization: str | None, seconds: float, seed: int, tally: Tally) -> None:
    rng = random.Random(seed)
    client = BatchesClient(api_key=KEY, base_url=base_url, organization=organization, max_retries=0)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            kind = rng.choices(["create", "list", "cancel"], weights=[5, 2, 2])[0]
            started = time.perf_counter()
            try:
                if kind == "create":
                    file = client.upload_file(_input(rng), filename=f"load-{seed}.jsonl")
                    tally.files.append(file.id)
                    tally.batches.append(client.create_batch(file.id, "/v1/chat/completions").id)
                elif kind == "list":
                    sum(1 for _ in client.iter_batches(page_size=rng.choice([7, 50, 100])))
                elif tally.batches:
                    client.cancel_batch(rng.choice(tally.batches))
            except ConflictError:
                tally.cancels_refused += 1  # cancelling a finished batch: a 409 is the right answer
            except APIStatusError as err:
                if err.status_code >= 500:
                    tally.server_errors.append(str(err))
                raise
            tally.latencies[kind].append(time.perf_counter() - started)
    finally:
        client.close()


def _run(fake: FakeBatchesAPI, seconds: float, tenants: list, per_tenant: int) -> tuple[dict, dict]:
    """Run `per_tenant` workers per tenant for `seconds`; (tallies by tenant, final listings by tenant)."""
    tallies: dict[str | None, list[Tally]] = {org: [Tally() for _ in range(per_tenant)] for org in tenants}
    errors: list[BaseException] = []
    with fake.serve() as server:
        threads = []
        for t, org in enumerate(tenants):
            for w, tally in enumerate(tallies[org]):
                def run(org=org, seed=t * 100 + w, tally=tally) -> None:
                    try:
                        _worker(server.base_url, org, seconds, seed, tally)
                    except BaseException as err:  # noqa: BLE001 - re-raised below
                        errors.append(err)
                threads.append(threading.Thread(target=run, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
        assert not any(thread.is_alive() for thread in threads), "a worker hung"
        if errors:
            raise errors[0]
        # the final state, read back over HTTP by each tenant
        listed = {}
        for org in tenants:
            with BatchesClient(api_key=KEY, base_url=server.base_url, organization=org) as client:
                listed[org] = [b.id for b in client.iter_batches(page_size=100)]
                listed[(org, "files")] = [f.id for f in client.iter_files()]
    return tallies, listed


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@pytest.mark.parametrize("seconds", bounded_or_long(3.0, 60.0))
def test_concurrent_create_list_cancel_loses_and_duplicates_nothing(seconds: float, report) -> None:
    fake = FakeBatchesAPI(clock=SystemClock(speed=600), api_keys=[KEY], seed=7)
    tallies, listed = _run(fake, seconds, [None], per_tenant=8)
    workers = tallies[None]
    created = [b for t in workers for b in t.batches]
    uploaded = [f for t in workers for f in t.files]
    held = {b["id"] for b in fake.batches()}

    lost = [b for b in created if b not in held or b not in listed[None]]
    duplicated = sum(n - 1 for n in Counter(listed[None]).values() if n > 1) + (len(created) - len(set(created)))
    files_lost = [f for f in uploaded if f not in listed[(None, "files")]]
    extra = len(held) - len(set(created))  # a batch nobody was told about: a create that made two
    server_errors = [e for t in workers for e in t.server_errors]

    latencies = defaultdict(list)
    for t in workers:
        for kind, values in t.latencies.items():
            latencies[kind].extend(values)
    ops = sum(len(v) for v in latencies.values())
    report.add("load", f"threads x seconds ({'bounded' if seconds < 10 else 'long'})", f"8 x {seconds:g}")
    report.add("load", "operations held (create/list/cancel)", ops / seconds, "ops/s")
    for kind in ("create", "list", "cancel"):
        report.add("load", f"{kind}: calls / p50 / p99 ms",
                   f"{len(latencies[kind])} / {_percentile(latencies[kind], .5) * 1e3:.1f} / "
                   f"{_percentile(latencies[kind], .99) * 1e3:.1f}")
    report.add("load", "batches created / files uploaded", f"{len(created)} / {len(uploaded)}")
    report.loss("load", "batches lost", len(lost))
    report.loss("load", "batches duplicated (listing or extra creates)", duplicated + max(extra, 0))
    report.loss("load", "files lost", len(files_lost))
    report.loss("load", "5xx answers", len(server_errors))

    assert created and latencies["list"] and latencies["cancel"], "the load must exercise every kind"
    assert not lost and not duplicated and extra == 0 and not files_lost
    assert not server_errors
    assert len(listed[None]) == len(held) == len(set(created))


@pytest.mark.parametrize("seconds", bounded_or_long(2.0, 30.0))
def test_concurrent_tenants_never_see_each_other(seconds: float, report) -> None:
    fake = FakeBatchesAPI(clock=SystemClock(speed=600), api_keys=[KEY], seed=11)
    tallies, listed = _run(fake, seconds, ["org-a", "org-b"], per_tenant=3)
    leaks = 0
    for org, other in (("org-a", "org-b"), ("org-b", "org-a")):
        mine = {b for t in tallies[org] for b in t.batches}
        theirs = {b for t in tallies[other] for b in t.batches}
        assert mine and mine == set(listed[org])
        leaks += len(theirs & set(listed[org]))
        assert {b["id"] for b in fake.batches(organization=org)} == mine
    report.add("load", "two tenants: batches created", sum(len(t.batches) for ts in tallies.values() for t in ts))
    report.loss("load", "cross-tenant batches listed", leaks)
    assert leaks == 0
