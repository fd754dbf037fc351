"""fake_server.limits: the per-model enqueued-token quota and the creation rate limit, in simulated time."""

from __future__ import annotations

import json

import pytest

from fake_server import FakeBatchesAPI, ManualClock
from fake_server.limits import CreationRate, TokenQuota
from tests.fake_server.calls import CHAT, call, create, get, jsonl, upload


def _lines(n: int, words: int, model: str = "gpt-4o-mini") -> list[dict]:
    """`n` chat lines of `words` prompt tokens each (the fake counts words)."""
    return [{"custom_id": f"r-{i}", "method": "POST", "url": CHAT,
             "body": {"model": model, "messages": [{"role": "user", "content": " ".join(["w"] * words)}]}}
            for i in range(n)]


def test_a_batch_past_the_enqueued_token_limit_fails_and_tokens_come_back_when_batches_end() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), enqueued_token_limits={"gpt-4o-mini": 1_000})
    first = create(fake, _lines(3, 200))  # 600 tokens enqueued
    second = create(fake, _lines(2, 200, "gpt-4o-mini-2024-07-18"))  # a snapshot counts against its model: 1,000
    third = create(fake, _lines(1, 10))  # 1,010 > 1,000: refused
    other_model = create(fake, _lines(5, 400, "gpt-4o"))  # no limit for gpt-4o
    fake.advance(31)  # validated, no line finished yet
    statuses = [get(fake, b["id"])["status"] for b in (first, second, third, other_model)]
    assert statuses == ["in_progress", "in_progress", "failed", "in_progress"]
    refused = get(fake, third["id"])
    assert refused["errors"]["data"] == [{
        "code": "token_limit_exceeded", "param": None, "line": None,
        "message": "Enqueued token limit reached for gpt-4o-mini in organization org-fake. Limit: 1,000 enqueued "
                   "tokens. Please try again once some in_progress batches have been completed."}]
    assert refused["failed_at"] and refused["in_progress_at"] is None and refused["output_file_id"] is None
    fake.advance(3600)  # the first two end: their tokens are released
    assert get(fake, first["id"])["status"] == "completed"
    again = create(fake, _lines(1, 10))
    fake.advance(31)  # validated, no line finished yet
    assert get(fake, again["id"])["status"] == "in_progress"
    assert get(fake, first["id"])["usage"]["input_tokens"] == 600  # the quota counts what usage reports


def test_the_quota_is_per_organization() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), enqueued_token_limits={"gpt-4o-mini": 100})
    mine = create(fake, _lines(1, 90))
    theirs = create(fake, _lines(1, 90), headers={"openai-organization": "org-other"})
    fake.advance(31)  # validated, no line finished yet
    assert [get(fake, b["id"], headers)["status"] for b, headers in
            ((mine, None), (theirs, {"openai-organization": "org-other"}))] == ["in_progress", "in_progress"]


def test_a_cancelled_batch_gives_its_tokens_back() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), enqueued_token_limits={"gpt-4o-mini": 100})
    first = create(fake, _lines(1, 90))
    call(fake, "POST", f"/batches/{first['id']}/cancel")
    fake.advance(30)  # cancelled
    second = create(fake, _lines(1, 90))
    fake.advance(31)  # validated, no line finished yet
    assert get(fake, second["id"])["status"] == "in_progress"


def test_creation_is_limited_per_hour_of_simulated_time_with_retry_after() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())  # the real default: 2,000 per hour
    file_id = upload(fake, jsonl(_lines(1, 3))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    statuses = [call(fake, "POST", "/batches", body).status for _ in range(2_100)]
    assert statuses.count(200) == 2_000 and statuses[2_000:] == [429] * 100
    refused = call(fake, "POST", "/batches", body)
    assert refused.headers["retry-after"] == "3600"
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    assert "batches per hour" in error["message"] and "Limit 2,000" in error["message"]
    fake.advance(3599)
    assert call(fake, "POST", "/batches", body).headers["retry-after"] == "1"
    fake.advance(1)
    assert call(fake, "POST", "/batches", body).status == 200
    assert call(fake, "GET", "/batches").status == 200  # only creation is limited


def test_an_offline_client_waits_out_the_429_by_moving_the_clock() -> None:
    from batches_ext.client import BatchesClient

    fake = FakeBatchesAPI(clock=ManualClock(), batch_create_limit_per_hour=2)
    client = BatchesClient.offline(fake)
    file_id = fake.upload(_lines(1, 3))["id"]
    client.create_batch(file_id)
    client.create_batch(file_id)
    fake.advance(3600 - 5)  # the oldest creation leaves the window in 5 s
    before = fake.clock.now()
    third = client.create_batch(file_id)  # 429, retry-after 5: the client's wait moves the clock
    assert third.status == "validating" and fake.clock.now() >= before + 5
    statuses = [r.status for r in fake.requests if r.method == "POST" and r.path == "/v1/batches"]
    assert statuses == [200, 200, 429, 200]


def test_test_author_creates_are_not_rate_limited() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), batch_create_limit_per_hour=1)
    file_id = fake.upload(_lines(1, 3))["id"]
    assert len([fake.create_batch(file_id) for _ in range(3)]) == 3


def test_limit_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        CreationRate(0)
    with pytest.raises(ValueError):
        TokenQuota({"gpt-4o-mini": -1})
    assert TokenQuota({"gpt-4o": 5}).limit_for("gpt-4o-2024-08-06") == ("gpt-4o", 5)
    assert TokenQuota({"gpt-4o": 5}).limit_for("gpt-4o-mini") is None
    assert json.dumps(CreationRate(None).limit) == "null"
