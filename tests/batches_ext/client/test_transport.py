"""One call on the wire against a deliberately hostile loopback server (tests/.../hostile_server.py): every call
ends within its deadline, an error body is read only up to 64 KiB, Retry-After is honoured up to 120 s, a redirect
answering a POST or DELETE is refused naming its Location, a malformed 2xx is an APIResponseError, and a server
that ignores Idempotency-Key and loses the answer after committing gets one batch (one file), not two.

Times here are loose on purpose: each behaviour would run for a minute or more without its bound (a trickle
of ~100 s, a silence until the server stops), and the assertions are on what the call raised and what the server
saw, never on how fast it went.
"""

from __future__ import annotations

import tracemalloc

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
)
from batches_ext.spec import INTENT_KEY

from ..conftest import CANARY
from .hostile_server import BATCH, hostile_server


@pytest.fixture
def server():
    with hostile_server() as running:
        yield running


def client_for(server, behaviour: str, sleeps: list[float] | None = None, **settings) -> BatchesClient:
    client = BatchesClient(api_key=CANARY, base_url=server.url(behaviour), **settings)
    client.sleep = (sleeps if sleeps is not None else []).append  # backoff is booked, not waited
    client._random = lambda: 0.0
    return client


def test_a_trickling_body_is_cut_at_the_deadline(server):
    """One byte every 0.2 s never trips a 1 s read timeout; the 1 s deadline (timeout x 1, no retries) does."""
    client = client_for(server, "trickle", timeout=1, max_retries=0)
    assert client.deadline == 1.0
    with pytest.raises(APITimeoutError, match=r"no complete answer within the call's deadline \(1 s"):
        client.retrieve_batch("batch_1")
    assert len(server.seen) == 1


def test_trickling_headers_are_cut_at_the_deadline_too(server):
    client = client_for(server, "trickle-headers", timeout=5, max_retries=0, deadline=1.0)
    with pytest.raises(APITimeoutError, match="deadline"):
        client.list_batches()


def test_a_silent_server_costs_each_attempt_its_read_timeout(server):
    sleeps: list[float] = []
    client = client_for(server, "silence", sleeps, timeout=0.3, max_retries=2, deadline=60)
    with pytest.raises(APITimeoutError, match=r"^GET http://127\.0\.0\.1:\d+/silence/v1/batches/b: no answer "
                                              r"within the read timeout \(0\.3 s\)$"):
        client.retrieve_batch("b")
    assert len(server.seen) == 3 and sleeps == [0.5, 1.0]


def test_a_silent_server_is_left_at_the_deadline(server):
    """At the defaults (60 s read timeout, 2 retries) a silent server once held a call for 3 minutes and more;
    now the call ends at its deadline, whatever the read timeout."""
    client = client_for(server, "silence", timeout=60, max_retries=2, deadline=1.0)
    with pytest.raises(APITimeoutError, match=r"no complete answer within the call's deadline \(1 s"):
        client.retrieve_batch("b")
    assert len(server.seen) == 1


def test_a_huge_error_body_is_read_only_up_to_64_kib(server):
    client = client_for(server, "huge-error", max_retries=0)
    tracemalloc.start()
    try:
        with pytest.raises(InternalServerError) as caught:
            client.retrieve_batch("b")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(caught.value).startswith("500 Internal Server Error: overload overload")
    assert len(str(caught.value)) < 1200  # one line of a few hundred characters
    assert peak < 8 * 1024 * 1024  # not 300 MB (nor the 823 MB it once cost)
    assert server.sent < 100 * 1024 * 1024  # the server was stopped well short of its 300 MB


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_answering_a_post_or_delete_is_an_error_naming_the_location(server, code):
    client = client_for(server, f"redirect/{code}")
    for call in (lambda: client.create_batch("file-in"), lambda: client.cancel_batch("b"),
                 lambda: client.delete_file("file-1"), lambda: client.upload_file(b'{"a":1}\n')):
        with pytest.raises(APIResponseError) as caught:
            call()
        text = str(caught.value)
        assert f"answered {code} redirecting to http://127.0.0.1:9/elsewhere/v1/" in text and "not followed" in text
    assert [s.method for s in server.seen] == ["POST", "POST", "DELETE", "POST"]  # one request each, no retry


def test_a_connection_failing_after_a_redirect_names_where_it_was_sent(server):
    """A GET redirected to another origin that fails there was reported as "cannot connect to <base url>"."""
    client = client_for(server, "redirect-tls", max_retries=0)
    base = server.url("redirect-tls")
    port = base.split(":")[2].split("/")[0]
    with pytest.raises(APIConnectionError) as caught:
        client.retrieve_batch("b")
    assert str(caught.value) == (f"cannot connect to https://127.0.0.1:{port} (after a redirect from {base}): "
                                 "TLS handshake failed")
    client = client_for(server, "redirect/302", max_retries=0)
    with pytest.raises(APIConnectionError, match=r"^cannot connect to http://127\.0\.0\.1:9 \(after a redirect "
                                                 r"from http://127\.0\.0\.1:\d+/redirect/302/v1\): connection refused$"):
        client.retrieve_batch("b")


def test_retry_after_within_120_s_is_honoured(server):
    sleeps: list[float] = []
    client = client_for(server, "retry-after/100", sleeps)
    assert client.retrieve_batch("b").id == BATCH["id"] and sleeps == [100.0]


def test_retry_after_above_120_s_is_not_retried_and_says_when_to_try_again(server):
    sleeps: list[float] = []
    client = client_for(server, "retry-after/121", sleeps)
    with pytest.raises(RateLimitError) as caught:
        client.retrieve_batch("b")
    assert caught.value.retry_after == 121.0 and sleeps == [] and len(server.seen) == 1
    assert "not retried: the server asks to wait 121 s; try again after that" in str(caught.value)


def test_a_retry_after_that_does_not_fit_the_deadline_is_not_waited_for(server):
    sleeps: list[float] = []
    client = client_for(server, "retry-after/30", sleeps, timeout=2, max_retries=2)  # deadline 7.5 s
    with pytest.raises(RateLimitError, match="the server asks to wait 30 s") as caught:
        client.retrieve_batch("b")
    assert caught.value.retry_after == 30.0 and sleeps == []


@pytest.mark.parametrize("shape", ["list", "null", "string", "not-json", "empty", "deep", "id-number", "no-id",
                                   "counts-list", "count-text", "created-text", "created-huge", "metadata-list",
                                   "errors-text", "status-number"])
def test_a_malformed_batch_is_an_api_response_error(server, shape):
    client = client_for(server, f"shape/{shape}")
    with pytest.raises(APIResponseError) as caught:
        client.retrieve_batch("batch_1")
    text = str(caught.value)
    assert text.startswith(f"malformed answer to GET http://127.0.0.1:{server.port}/shape/{shape}/v1/batches/batch_1 "
                           "(200")
    assert caught.value.status_code == 200 and "\n" not in text and len(text) < 400


@pytest.mark.parametrize(("shape", "what"), [("page-data-object", "`data` is an object, not a list"),
                                             ("page-item-null", "item 0 of `data`: the batch is null"),
                                             ("page-has-more-text", "`has_more` is a string, not a boolean")])
def test_a_malformed_page_is_an_api_response_error(server, shape, what):
    with pytest.raises(APIResponseError, match=what):
        client_for(server, f"shape/{shape}").list_batches()


# ------------------------------------------------------------------ a server that ignores Idempotency-Key


def test_a_lost_create_answer_is_adopted_not_created_again(server):
    """The server makes the batch, then closes the connection without answering, and would make another for the
    same request (it ignores Idempotency-Key): the retry lists the newest batches and adopts the one whose
    metadata carries this call's intent."""
    sleeps: list[float] = []
    client = client_for(server, "forgetful", sleeps)
    batch = client.create_batch("file-in", metadata={"run": "1"})
    assert len(server.batches) == 1 and batch.id == server.batches[0]["id"]
    assert batch.metadata == {"run": "1", INTENT_KEY: server.batches[0]["metadata"][INTENT_KEY]}
    assert [(s.method, s.path.split("?")[0]) for s in server.seen] == [("POST", "/forgetful/v1/batches"),
                                                                        ("GET", "/forgetful/v1/batches")]
    assert sleeps == [0.5]


def test_a_lost_upload_answer_is_adopted_not_uploaded_again(server):
    client = client_for(server, "forgetful")
    uploaded = client.upload_file(b'{"a":1}\n', filename="in.jsonl")
    assert len(server.files) == 1 and uploaded.id == server.files[0]["id"]
    assert [s.method for s in server.seen] == ["POST", "GET"] and "order=desc" in server.seen[1].path


def test_without_the_intent_lookup_such_a_server_makes_two_batches(server, monkeypatch):
    """The control: the same client with its lookup disabled sends the create again and gets a second batch."""
    from batches_ext.client import intents

    monkeypatch.setattr(intents.BatchIntent, "find", lambda self, transport, budget: None)
    client = client_for(server, "forgetful")
    client.create_batch("file-in")
    assert len(server.batches) == 2


def test_a_lookup_that_fails_counts_as_a_failed_attempt_and_nothing_is_sent_twice(server, monkeypatch):
    from batches_ext.client import intents

    def broken(self, transport, budget):
        raise APIConnectionError("lookup refused")

    monkeypatch.setattr(intents.BatchIntent, "find", broken)
    client = client_for(server, "forgetful", max_retries=2)
    with pytest.raises(APIConnectionError) as caught:
        client.create_batch("file-in")
    assert len(server.batches) == 1 and [s.method for s in server.seen] == ["POST"]
    tag = server.batches[0]["metadata"][INTENT_KEY]
    assert f"the batch may have been created: look for metadata {INTENT_KEY}={tag}" in str(caught.value)
