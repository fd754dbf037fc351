"""fake_server.idempotency: kept answers per (tenant, key) and route, and one claim per key in flight."""

from __future__ import annotations

import threading

from fake_server.idempotency import IdempotencyStore
from tests.concurrency import until, within

TENANT = ("org-a", None)


def test_an_answer_is_replayed_only_on_its_route_and_tenant() -> None:
    store = IdempotencyStore()
    claim = store.claim(TENANT, "k", "/v1/batches")
    assert claim.answer is None
    store.release(claim, (200, {"id": "batch_1"}))
    assert store.answer(TENANT, "k", "/v1/batches") == (200, {"id": "batch_1"})
    assert store.claim(TENANT, "k", "/v1/batches").answer == (200, {"id": "batch_1"})
    assert store.answer(TENANT, "k", "/v1/files") is None
    assert store.answer(("org-b", None), "k", "/v1/batches") is None
    other = store.claim(TENANT, "k", "/v1/files")  # the key on another route runs, and replaces the answer
    store.release(other, (200, {"id": "file-1"}))
    assert store.answer(TENANT, "k", "/v1/batches") is None and len(store) == 1
    store.clear()
    assert len(store) == 0


def test_a_twin_waits_for_the_claim_and_gets_its_answer() -> None:
    store = IdempotencyStore()
    first = store.claim(TENANT, "k", "/v1/batches")
    got: list = []
    twin = threading.Thread(target=lambda: got.append(store.claim(TENANT, "k", "/v1/batches")))
    twin.start()
    assert not until(lambda: got, timeout=0.2)  # still waiting: the first has not answered
    store.release(first, (200, {"id": "batch_1"}))
    twin.join(5)
    assert got[0].answer == (200, {"id": "batch_1"})


def test_a_claim_released_without_an_answer_lets_the_twin_run() -> None:
    store = IdempotencyStore()
    first = store.claim(TENANT, "k", "/v1/batches")
    threading.Timer(0.05, lambda: store.release(first, None)).start()  # e.g. a 500: nothing kept
    second = within(5, lambda: store.claim(TENANT, "k", "/v1/batches"))
    assert second.answer is None  # the twin now holds the claim itself
    store.release(second, (200, {"id": "batch_2"}))
    assert store.answer(TENANT, "k", "/v1/batches") == (200, {"id": "batch_2"})
