"""FakeBatchesAPI as a whole: auth, tenant scoping, faults, idempotency, test-author controls, threads."""

from __future__ import annotations

import time

import pytest

from fake_server import DropConnection, FakeBatchesAPI, ManualClock, SystemClock
from tests.concurrency import run_concurrently
from tests.fake_server.calls import CHAT, KEY, call, chat_lines, create, get, jsonl, upload


@pytest.fixture
def fake() -> FakeBatchesAPI:
    return FakeBatchesAPI(clock=ManualClock())


def test_every_answer_has_a_unique_request_id(fake: FakeBatchesAPI) -> None:
    responses = [call(fake, "GET", "/batches"), call(fake, "GET", "/batches/nope"), call(fake, "GET", "/nowhere")]
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == 3 and all(i.startswith("req_") for i in ids)
    assert responses[2].status == 404
    assert responses[2].json()["error"]["message"] == "Invalid URL (GET /v1/nowhere)"


def test_missing_key_is_a_401_envelope(fake: FakeBatchesAPI) -> None:
    response = call(fake, "GET", "/batches", key=None)
    assert response.status == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "didn't provide an API key" in error["message"]


def test_only_accepted_keys_pass_and_the_key_is_never_echoed() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={"sk-good"})
    assert call(fake, "GET", "/batches", key="sk-good").status == 200
    bad = call(fake, "GET", "/batches", key="sk-CANARY-wrong")
    assert bad.status == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    assert b"CANARY" not in bad.read()
    assert all("authorization" not in r.headers for r in fake.requests)


def test_tenants_cannot_see_each_other(fake: FakeBatchesAPI) -> None:
    a, b = {"openai-organization": "org-a"}, {"openai-organization": "org-b", "openai-project": "proj_1"}
    batch = create(fake, chat_lines(1), headers=a)
    assert call(fake, "GET", f"/batches/{batch['id']}", headers=b).status == 404
    assert call(fake, "POST", f"/batches/{batch['id']}/cancel", headers=b).status == 404
    assert call(fake, "GET", "/batches", headers=b).json()["data"] == []
    assert call(fake, "GET", f"/files/{batch['input_file_id']}", headers=b).status == 404
    assert [x["id"] for x in call(fake, "GET", "/batches", headers=a).json()["data"]] == [batch["id"]]
    assert [x["id"] for x in fake.batches(organization="org-a")] == [batch["id"]]
    assert fake.batches(organization="org-b", project="proj_1") == []


def test_a_key_bound_to_an_organization_cannot_reach_another() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={"sk-a": "org-a"})
    assert call(fake, "GET", "/batches", key="sk-a").headers["openai-organization"] == "org-a"
    other = call(fake, "GET", "/batches", key="sk-a", headers={"openai-organization": "org-b"})
    assert other.status == 401 and other.json()["error"]["code"] == "mismatched_organization"


def test_rate_limit_fault_carries_retry_after_then_clears(fake: FakeBatchesAPI) -> None:
    fake.faults.fail_next(429, times=2, retry_after=3, path="/batches$")
    first = call(fake, "GET", "/batches")
    assert first.status == 429 and first.headers["retry-after"] == "3"
    assert first.json()["error"]["code"] == "rate_limit_exceeded"
    assert call(fake, "GET", "/batches").status == 429
    assert call(fake, "GET", "/batches").status == 200


def test_server_error_fault_by_method(fake: FakeBatchesAPI) -> None:
    fake.faults.fail_next(500, method="POST")
    assert call(fake, "GET", "/batches").status == 200
    failed = call(fake, "POST", "/batches", {"input_file_id": "f", "endpoint": CHAT, "completion_window": "24h"})
    assert failed.status == 500 and failed.json()["error"]["type"] == "server_error"
    assert fake.batches() == []


def test_drop_before_does_nothing_and_drop_after_commit_does_the_work(fake: FakeBatchesAPI) -> None:
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    fake.faults.drop_next(method="POST", path="/batches$")
    with pytest.raises(DropConnection) as before:
        call(fake, "POST", "/batches", body)
    assert not before.value.after_commit and fake.batches() == []
    fake.faults.drop_next(method="POST", path="/batches$", after_commit=True)
    with pytest.raises(DropConnection) as after:
        call(fake, "POST", "/batches", body, headers={"idempotency-key": "k1"})
    assert after.value.after_commit and len(fake.batches()) == 1
    retried = call(fake, "POST", "/batches", body, headers={"idempotency-key": "k1"})
    assert retried.status == 200 and retried.json()["id"] == fake.batches()[0]["id"]
    assert len(fake.batches()) == 1


def test_idempotency_key_is_per_key(fake: FakeBatchesAPI) -> None:
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    first = call(fake, "POST", "/batches", body, headers={"idempotency-key": "a"}).json()
    assert call(fake, "POST", "/batches", body, headers={"idempotency-key": "a"}).json()["id"] == first["id"]
    assert call(fake, "POST", "/batches", body, headers={"idempotency-key": "b"}).json()["id"] != first["id"]


@pytest.mark.parametrize(
    "status", ["validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled"]
)
def test_seed_batch_in_any_status(fake: FakeBatchesAPI, status: str) -> None:
    batch = fake.seed_batch(status, requests=4, metadata={"seeded": "yes"})
    assert batch["status"] == status
    assert get(fake, batch["id"]) == batch
    if status in ("expired", "cancelled"):
        assert batch["request_counts"]["completed"] == 2


def test_complete_fail_expire_move_one_batch_along(fake: FakeBatchesAPI) -> None:
    a, b, c = (create(fake, chat_lines(3)) for _ in range(3))
    fake.advance(31)
    assert fake.complete(a["id"])["status"] == "completed"
    failed = fake.fail(b["id"], errors=[{"code": "token_limit_exceeded", "message": "quota", "param": None,
                                        "line": None}])
    assert failed["status"] == "failed" and failed["errors"]["data"][0]["code"] == "token_limit_exceeded"
    assert failed["in_progress_at"] is not None
    assert fake.expire(c["id"])["status"] == "expired"
    with pytest.raises(ValueError, match="already 'completed'"):
        fake.expire(a["id"])
    assert get(fake, a["id"])["request_counts"] == {"total": 3, "completed": 3, "failed": 0}


def test_advance_until_lands_exactly_on_a_status(fake: FakeBatchesAPI) -> None:
    batch = create(fake, chat_lines(5))
    assert fake.advance_until(batch["id"], "finalizing")["status"] == "finalizing"
    assert fake.advance_until(batch["id"], "completed")["status"] == "completed"
    with pytest.raises(ValueError):
        fake.advance_until(batch["id"], "expired")


def test_recorded_requests_keep_what_a_test_needs(fake: FakeBatchesAPI) -> None:
    call(fake, "GET", "/batches", query="limit=5", headers={"openai-project": "proj_x"})
    [recorded] = fake.requests
    assert (recorded.method, recorded.path, recorded.query, recorded.status) == ("GET", "/v1/batches", "limit=5", 200)
    assert recorded.headers["openai-project"] == "proj_x"
    assert KEY not in repr(recorded)


def test_concurrent_creates_lose_nothing(fake: FakeBatchesAPI) -> None:
    file_id = upload(fake, jsonl(chat_lines(2))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}

    def worker() -> None:
        for _ in range(25):
            assert call(fake, "POST", "/batches", body).status == 200
            call(fake, "GET", "/batches", query="limit=100")

    run_concurrently([worker] * 8)
    ids = [b["id"] for b in fake.batches()]
    assert len(ids) == len(set(ids)) == 200


def test_default_timings_finish_100_requests_in_about_ten_real_seconds(fake: FakeBatchesAPI) -> None:
    from fake_server import DEFAULT_SPEED

    batch = create(fake, chat_lines(100))
    done = fake.advance_until(batch["id"], "completed")
    real_seconds = (done["completed_at"] - done["created_at"]) / DEFAULT_SPEED
    assert 7 <= real_seconds <= 12


def test_concurrent_clients_on_the_loopback_server_lose_no_update(fake: FakeBatchesAPI) -> None:
    import requests

    file_id = upload(fake, jsonl(chat_lines(2))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    made: list[str] = []

    with fake.serve() as server:

        def worker() -> None:
            session = requests.Session()
            for _ in range(15):
                r = session.post(server.base_url + "/batches", json=body, headers={"Authorization": f"Bearer {KEY}"})
                made.append(r.json()["id"])
                session.post(f"{server.base_url}/batches/{made[-1]}/cancel",
                             headers={"Authorization": f"Bearer {KEY}"}).raise_for_status()

        run_concurrently([worker] * 6)
    held = {b["id"]: b["status"] for b in fake.batches()}
    assert sorted(held) == sorted(made) and len(made) == 90
    assert set(held.values()) == {"cancelling"}


def test_sleep_moves_a_manual_clock_and_really_sleeps_on_a_system_clock(fake: FakeBatchesAPI) -> None:
    before = fake.clock.now()
    fake.sleep(90)
    assert fake.clock.now() == before + 90
    fake.sleep(-5)  # never backwards
    assert fake.clock.now() == before + 90
    live = FakeBatchesAPI(clock=SystemClock(speed=1))
    started = time.monotonic()
    live.sleep(0.05)
    assert time.monotonic() - started >= 0.05
