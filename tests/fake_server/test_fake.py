"""FakeBatchesAPI, the façade: test-author controls, the request log, live settings, threads, time.

(Auth, tenants, faults and Idempotency-Key are the handler's: tests/fake_server/test_app.py.)"""

from __future__ import annotations

import time

import pytest

from fake_server import FakeBatchesAPI, ManualClock, SystemClock, Timings
from tests.concurrency import run_concurrently
from tests.fake_server.calls import CHAT, KEY, call, chat_lines, create, get, jsonl, upload


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


def test_the_public_surface_is_whole() -> None:
    methods = {"handle", "reset", "batches", "files", "batch", "file_content", "advance", "sleep", "upload",
               "create_batch", "seed_batch", "complete", "fail", "expire", "cancel", "advance_until",
               "requests_adapter", "mount", "requests_session", "httpx_transport", "async_httpx_transport",
               "mock_httpx", "openai_client", "async_openai_client", "serve"}
    assert all(callable(getattr(FakeBatchesAPI, name)) for name in methods)
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=["sk-a"], seed=7, organization="org-z", max_recorded=5)
    assert (fake.api_keys, fake.seed, fake.organization) == ({"sk-a": None}, 7, "org-z")
    assert fake.timings == Timings() and fake.responder is None and fake.models is None
    assert fake.faults.seed == 7 and fake.requests == []
    assert repr(fake) == "<FakeBatchesAPI ManualClock(now=1700000000) batches=0 files=0>"


def test_settings_assigned_later_reach_the_running_handler(fake: FakeBatchesAPI) -> None:
    fake.api_keys = {"sk-other"}  # a plain set, as batches_ext's tests assign it
    assert call(fake, "GET", "/batches").status == 401
    assert call(fake, "GET", "/batches", key="sk-other").status == 200
    fake.api_keys = None
    fake.organization = "org-later"
    assert call(fake, "GET", "/batches").headers["openai-organization"] == "org-later"
    fake.timings = Timings(validation=1)
    batch = create(fake, chat_lines(1))
    fake.advance(1)
    assert get(fake, batch["id"])["status"] == "in_progress"
    fake.models = lambda model: False
    refused = create(fake, chat_lines(1))
    fake.advance(1)
    assert get(fake, refused["id"])["errors"]["data"][0]["code"] == "model_not_found"


def test_the_request_log_is_bounded() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), max_recorded=3)
    for _ in range(5):
        call(fake, "GET", "/batches")
    assert len(fake.requests) == 3
    fake.reset()
    assert fake.requests == []
