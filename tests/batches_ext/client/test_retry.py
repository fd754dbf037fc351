"""The retry policy (pure functions) and the client's retries on the wire: Retry-After, 409 final, x-should-retry,
idempotency keys across retries.
"""

from __future__ import annotations

import json

import pytest
import requests

from batches_ext.client import BatchesClient
from batches_ext.client import retry as policy
from batches_ext.errors import (
    APITimeoutError,
    ConflictError,
    InternalServerError,
    RateLimitError,
)

from ..conftest import batch_payload, error_payload

# ------------------------------------------------------------------ retry policy (pure)


def test_backoff_schedule_and_jitter_bounds():
    assert [policy.backoff_delay(n, rand=lambda: 0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    low = policy.backoff_delay(0, rand=lambda: 0.999999)
    assert 0.375 < low <= 0.5


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "0"}, 1.0),  # not > 0: backoff (n=1)
        ({"retry-after": "61"}, 61.0),  # within SDK 3.x's 120 s cap
        ({"retry-after": "120"}, 120.0),
        ({"retry-after": "-3"}, 1.0),
        ({"retry-after": "nan"}, 1.0),
        ({"retry-after": "inf"}, 1.0),  # not finite: invalid, so backoff (not "wait inf s")
        ({"retry-after": "1e400"}, 1.0),
        ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),  # an invalid header yields to a valid sibling
        ({"retry-after-ms": "inf", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "-inf", "retry-after": "Wed, 21 Oct 2099 07:28:05 GMT"}, 1.0),  # date > cap: backoff
        ({"retry-after": "soon"}, 1.0),
        ({}, 1.0),
    ],
)
def test_retry_delay_honours_server_hints_within_cap(headers, expected):
    assert policy.retry_delay(1, headers, rand=lambda: 0.0) == expected


def test_retry_after_http_date():
    delay = policy.retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT"}, now=lambda: 1445412480.0)
    assert delay == 5.0


@pytest.mark.parametrize(
    ("status", "headers", "retry"),
    [
        (408, {}, True), (429, {}, True), (500, {}, True), (503, {}, True),
        (400, {}, False), (404, {}, False), (409, {}, False),
        (500, {"x-should-retry": "false"}, False), (400, {"x-should-retry": "true"}, True),
    ],
)
def test_which_statuses_retry(status, headers, retry):
    assert policy.should_retry_status(status, requests.structures.CaseInsensitiveDict(headers)) is retry


EMPTY = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_post_retries_keep_one_idempotency_key(scripted, adapter, sleeps):
    adapter.queue(500, error_payload("boom", "server_error")).queue(200, EMPTY).queue(502, b"bad gateway")
    adapter.queue(200, EMPTY).queue(200, batch_payload())
    scripted.create_batch("file-in")
    posts = [s for s in adapter.seen if s.method == "POST"]
    keys = {s.headers["Idempotency-Key"] for s in posts}
    assert len(posts) == 3 and len(keys) == 1 and keys.pop().startswith("batches_ext-")
    assert len({json.loads(s.body)["metadata"]["batches_ext_intent"] for s in posts}) == 1
    assert [s.method for s in adapter.seen] == ["POST", "GET", "POST", "GET", "POST"]  # look, then send again
    assert sleeps == [0.5, 1.0]


def test_each_post_call_gets_a_new_idempotency_key(scripted, adapter):
    adapter.queue(200, batch_payload()).queue(200, batch_payload())
    scripted.create_batch("file-in")
    scripted.create_batch("file-in")
    assert adapter.seen[0].headers["Idempotency-Key"] != adapter.seen[1].headers["Idempotency-Key"]


def test_429_retry_after_is_honoured(scripted, adapter, sleeps):
    adapter.queue(429, error_payload("slow down", "requests"), {"retry-after": "2"}).queue(200, batch_payload())
    assert scripted.retrieve_batch("batch_1").id == "batch_1"
    assert sleeps == [2.0]


@pytest.mark.parametrize("headers", [{"retry-after": "inf"}, {"retry-after": "1e400"}, {"retry-after-ms": "inf"}])
def test_an_infinite_retry_after_is_ignored_not_waited_for_or_reported(scripted, adapter, sleeps, headers):
    """`Retry-After: inf` gave "the server asks to wait inf s" and no retry; now it is invalid: backoff, retry."""
    adapter.queue(429, error_payload("slow down", "requests"), headers).queue(200, batch_payload())
    assert scripted.retrieve_batch("batch_1").id == "batch_1"
    assert sleeps == [0.5]


def test_a_nan_retry_after_ms_yields_to_a_valid_retry_after(scripted, adapter, sleeps):
    adapter.queue(429, error_payload("slow down", "requests"), {"retry-after-ms": "nan", "retry-after": "2"})
    adapter.queue(200, batch_payload())
    scripted.retrieve_batch("batch_1")
    assert sleeps == [2.0]
    adapter.queue(429, error_payload("slow down", "requests"), {"retry-after-ms": "nan", "retry-after": "500"})
    with pytest.raises(RateLimitError, match=r"not retried: the server asks to wait 500 s"):
        scripted.retrieve_batch("batch_1")


def test_retries_exhausted_raise_the_last_error(scripted, adapter, sleeps):
    for _ in range(3):
        adapter.queue(429, error_payload("Rate limit reached", "requests", "rate_limit_exceeded"),
                      {"retry-after-ms": "100"})
    with pytest.raises(RateLimitError) as info:
        scripted.list_batches()
    assert len(adapter.seen) == 3 and sleeps == [0.1, 0.1]
    assert info.value.code == "rate_limit_exceeded" and info.value.request_id == "req_3"


def test_409_is_final_after_one_request(scripted, adapter, sleeps):
    adapter.queue(409, error_payload("Cannot cancel a batch with status 'completed'."))
    with pytest.raises(ConflictError, match="Cannot cancel a batch with status 'completed'"):
        scripted.cancel_batch("batch_1")
    assert len(adapter.seen) == 1 and sleeps == []


def test_x_should_retry_overrides(scripted, adapter, sleeps):
    adapter.queue(503, error_payload("no"), {"x-should-retry": "false"})
    with pytest.raises(InternalServerError):
        scripted.retrieve_batch("batch_1")
    adapter.queue(400, error_payload("try again"), {"x-should-retry": "true"}).queue(200, batch_payload())
    scripted.retrieve_batch("batch_1")
    assert len(adapter.seen) == 3


def test_408_and_connection_errors_and_timeouts_are_retried(scripted, adapter, sleeps):
    adapter.queue(408, b"").queue_error(requests.ConnectionError("reset")).queue_error(requests.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        scripted.retrieve_batch("batch_1")
    assert len(adapter.seen) == 3 and sleeps == [0.5, 1.0]


def test_max_retries_zero_means_one_attempt(adapter):
    session = requests.Session()
    session.mount("https://api.test/", adapter)
    client = BatchesClient(api_key="sk-x", base_url="https://api.test/v1", max_retries=0, session=session)
    adapter.queue(500, error_payload("boom"))
    with pytest.raises(InternalServerError):
        client.retrieve_batch("batch_1")
    assert len(adapter.seen) == 1
