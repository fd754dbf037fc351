"""fake_server.idempotency: kept answers per (tenant, key) with their request's digest, one claim per key in flight."""

from __future__ import annotations

import threading

from fake_server.idempotency import KEY_REUSED, IdempotencyStore, request_digest, upload_digest
from tests.concurrency import until, within

TENANT = ("org-a", None)
D = request_digest("POST", "/v1/batches", b"{}")


def test_an_answer_is_replayed_only_for_the_same_request_and_tenant() -> None:
    store = IdempotencyStore()
    create = request_digest("POST", "/v1/batches", b'{"a": 1, "b": [2]}')
    assert create == request_digest("POST", "/v1/batches", b'{"b":[2],"a":1}')  # parsed: order, spaces ignored
    claim = store.claim(TENANT, "k", create)
    assert claim.answer is None
    store.release(claim, (200, {"id": "batch_1"}))
    assert store.answer(TENANT, "k", create) == (200, {"id": "batch_1"})
    assert store.claim(TENANT, "k", create).answer == (200, {"id": "batch_1"})
    assert store.answer(("org-b", None), "k", create) is None
    for other in (request_digest("POST", "/v1/batches", b'{"a": 2, "b": [2]}'),
                  request_digest("POST", "/v1/files", b'{"a": 1, "b": [2]}')):
        reused = store.claim(TENANT, "k", other)
        assert reused.answer is not None and reused.answer[0] == 422
        assert reused.answer[1]["error"]["message"] == KEY_REUSED
    assert store.answer(TENANT, "k", create) == (200, {"id": "batch_1"}) and len(store) == 1  # still the first
    store.clear()
    assert len(store) == 0


def test_an_upload_digest_ignores_nothing_but_the_boundary() -> None:
    base = upload_digest("POST", "/v1/files", "a.jsonl", {"purpose": "batch"}, "sha-1")
    assert base == upload_digest("POST", "/v1/files", "a.jsonl", {"purpose": "batch"}, "sha-1")
    assert len({base, upload_digest("POST", "/v1/files", "b.jsonl", {"purpose": "batch"}, "sha-1"),
                upload_digest("POST", "/v1/files", "a.jsonl", {"purpose": "user_data"}, "sha-1"),
                upload_digest("POST", "/v1/files", "a.jsonl", {"purpose": "batch"}, "sha-2")}) == 4


def test_a_twin_waits_for_the_claim_and_gets_its_answer() -> None:
    store = IdempotencyStore()
    first = store.claim(TENANT, "k", D)
    got: list = []
    twin = threading.Thread(target=lambda: got.append(store.claim(TENANT, "k", D)))
    twin.start()
    assert not until(lambda: got, timeout=0.2)  # still waiting: the first has not answered
    store.release(first, (200, {"id": "batch_1"}))
    twin.join(5)
    assert got[0].answer == (200, {"id": "batch_1"})


def test_a_twin_with_another_request_waits_then_gets_the_422() -> None:
    store = IdempotencyStore()
    first = store.claim(TENANT, "k", D)
    other = request_digest("POST", "/v1/batches", b'{"x": 1}')
    got: list = []
    twin = threading.Thread(target=lambda: got.append(store.claim(TENANT, "k", other)))
    twin.start()
    assert not until(lambda: got, timeout=0.2)  # never both run
    store.release(first, (200, {"id": "batch_1"}))
    twin.join(5)
    assert got[0].answer is not None and got[0].answer[0] == 422


def test_a_claim_released_without_an_answer_lets_the_twin_run() -> None:
    store = IdempotencyStore()
    first = store.claim(TENANT, "k", D)
    threading.Timer(0.05, lambda: store.release(first, None)).start()  # e.g. a 500: nothing kept
    second = within(5, lambda: store.claim(TENANT, "k", D))
    assert second.answer is None  # the twin now holds the claim itself
    store.release(second, (200, {"id": "batch_2"}))
    assert store.answer(TENANT, "k", D) == (200, {"id": "batch_2"})


def test_answers_expire_after_24_hours_of_simulated_time_and_are_bounded() -> None:
    store = IdempotencyStore(max_keys=3)
    store.release(store.claim(TENANT, "old", D, now=0.0), (200, {"id": "b0"}), now=0.0)
    assert store.answer(TENANT, "old", D, now=86_399.0) == (200, {"id": "b0"})
    assert store.answer(TENANT, "old", D, now=86_400.0) is None and len(store) == 0
    for i in range(5):
        store.release(store.claim(TENANT, f"k{i}", D, now=10.0), (200, {"id": f"b{i}"}), now=10.0)
    assert len(store) == 3 and store.answer(TENANT, "k0", D, now=10.0) is None
    assert store.answer(TENANT, "k4", D, now=10.0) == (200, {"id": "b4"})


def test_the_fake_ignores_the_key_unless_told_to_honour_it() -> None:
    from fake_server import FakeBatchesAPI, ManualClock
    from tests.fake_server.calls import CHAT, call, chat_lines, jsonl, upload

    fake = FakeBatchesAPI(clock=ManualClock())
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    ids = {call(fake, "POST", "/batches", body, headers={"idempotency-key": "same"}).json()["id"] for _ in range(2)}
    assert len(ids) == 2  # like the real API as far as the SDK shows: a repeated POST runs again
    fake.honour_idempotency_key = True
    again = {call(fake, "POST", "/batches", body, headers={"idempotency-key": "k"}).json()["id"] for _ in range(2)}
    assert len(again) == 1
    fake.advance(86_400)  # kept 24 h of simulated time
    assert call(fake, "POST", "/batches", body, headers={"idempotency-key": "k"}).json()["id"] not in again
