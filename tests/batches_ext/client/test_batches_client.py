"""BatchesClient on the wire: headers, errors that never leak the key, streaming downloads, pagination; then
the real FakeBatchesAPI through its requests door.
"""

from __future__ import annotations

import json
import re
import traceback

import pytest
import requests

from batches_ext.client import USER_AGENT, BatchesClient
from batches_ext.errors import (
    APIConnectionError,
    BadRequestError,
    ConfigError,
    ConflictError,
    InputError,
    NotFoundError,
)

from ..conftest import CANARY, batch_payload, error_payload

# ------------------------------------------------------------------ retry policy (pure)


def test_headers_timeout_and_no_routing_headers_by_default(scripted, adapter):
    adapter.queue(200, batch_payload())
    scripted.retrieve_batch("batch_1")
    seen = adapter.seen[0]
    assert seen.method == "GET" and seen.url == "https://api.test/v1/batches/batch_1"
    assert seen.headers["Authorization"] == f"Bearer {CANARY}"
    assert seen.headers["User-Agent"] == USER_AGENT and USER_AGENT.startswith("batches_ext/")
    assert "OpenAI-Organization" not in seen.headers and "OpenAI-Project" not in seen.headers
    assert "Idempotency-Key" not in seen.headers
    assert seen.timeout == (10.0, 60.0)


def test_routing_headers_when_set(adapter, monkeypatch):
    session = requests.Session()
    session.mount("https://api.test/", adapter)
    client = BatchesClient(api_key="sk-x", base_url="https://api.test/v1", organization="org-1",
                           project="proj_1", session=session, timeout=5)
    adapter.queue(200, batch_payload())
    client.retrieve_batch("batch_1")
    h = adapter.seen[0].headers
    assert h["OpenAI-Organization"] == "org-1" and h["OpenAI-Project"] == "proj_1"
    assert adapter.seen[0].timeout == (5.0, 5.0)


@pytest.mark.parametrize("org", ["орг-1", "org\u2028x"])
def test_an_organization_a_header_cannot_carry_fails_when_the_client_is_built(org, monkeypatch):
    """Not at every call as a bare UnicodeEncodeError from http.client (`%batches list` showed a traceback)."""
    with pytest.raises(ConfigError, match="^organization \\(the organization argument\\) has a character an HTTP "
                                          "header cannot carry"):
        BatchesClient(api_key="sk-x", base_url="http://127.0.0.1:9/v1", organization=org)
    monkeypatch.setenv("OPENAI_ORG_ID", org)
    with pytest.raises(ConfigError, match="^organization \\(OPENAI_ORG_ID\\)"):
        BatchesClient(api_key="sk-x", base_url="http://127.0.0.1:9/v1")
    monkeypatch.delenv("OPENAI_ORG_ID")
    with pytest.raises(ConfigError, match="^project \\(the project argument\\)"):
        BatchesClient(api_key="sk-x", base_url="http://127.0.0.1:9/v1", project=org)


def test_no_key_anywhere_is_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        BatchesClient()


def test_client_repr_hides_key(scripted):
    assert CANARY not in repr(scripted) and CANARY not in repr(scripted.settings)
    assert "https://api.test/v1" in repr(scripted)


def test_empty_ids_are_rejected_client_side(scripted, adapter):
    for call in (scripted.retrieve_batch, scripted.cancel_batch, scripted.retrieve_file, scripted.delete_file):
        with pytest.raises(ValueError):
            call("")
    assert adapter.seen == []


def test_create_sends_json_body(scripted, adapter):
    adapter.queue(200, batch_payload(metadata={"a": "b"}))
    b = scripted.create_batch("file-in", metadata={"a": "b"})
    sent = json.loads(adapter.seen[0].body)
    intent = sent["metadata"].pop("batches_ext_intent")
    assert sent == {"input_file_id": "file-in", "endpoint": "/v1/chat/completions", "completion_window": "24h",
                    "metadata": {"a": "b"}}
    assert re.fullmatch(r"[0-9a-f]{32}", intent)
    assert adapter.seen[0].headers["Content-Type"] == "application/json"
    assert b.metadata == {"a": "b"} and b.request_id == "req_1"


def _everything_about(err: BaseException) -> str:
    parts = [str(err), repr(err), repr(err.args), "".join(traceback.format_exception(err))]
    parts += [repr(v) for v in vars(err).values()]
    seen_chain = err.__cause__ or err.__context__
    while seen_chain is not None:
        parts.append(repr(seen_chain))
        seen_chain = seen_chain.__cause__ or seen_chain.__context__
    return "\n".join(parts)


def test_connection_error_has_no_chained_request_and_no_key(scripted, adapter):
    for _ in range(3):
        adapter.queue_error(requests.ConnectionError("connection reset by peer"))
    with pytest.raises(APIConnectionError) as info:
        scripted.retrieve_batch("batch_1")
    err = info.value
    assert err.__cause__ is None and err.__context__ is None
    assert "connection reset by peer" in str(err) and "GET https://api.test/v1/batches/batch_1" in str(err)
    assert CANARY not in _everything_about(err) and "Authorization" not in _everything_about(err)


def test_status_error_shape_and_no_key(scripted, adapter):
    adapter.queue(401, error_payload(f"Incorrect API key provided: {CANARY}.", code="invalid_api_key"),
                  {"x-request-id": "req_abc"})
    with pytest.raises(Exception) as info:
        scripted.retrieve_batch("batch_1")
    err = info.value
    assert type(err).__name__ == "AuthenticationError" and err.code == "invalid_api_key"
    assert str(err).startswith("401 Unauthorized: Incorrect API key provided: sk-***")
    assert str(err).endswith("(request req_abc)")
    assert CANARY not in _everything_about(err)


def test_404_envelope(scripted, adapter):
    adapter.queue(404, error_payload("No such File object: file-x", param="id"), {"x-request-id": "req_abc"})
    with pytest.raises(NotFoundError) as info:
        scripted.retrieve_file("file-x")
    assert str(info.value) == "404 Not Found: No such File object: file-x (request req_abc)"
    assert info.value.param == "id"


def test_non_json_error_body(scripted, adapter):
    adapter.queue(400, b"<html>nope</html>")
    with pytest.raises(BadRequestError, match="nope"):
        scripted.retrieve_batch("batch_1")


FILE = {"id": "file-1", "object": "file", "bytes": 3, "created_at": 1, "filename": "in.jsonl", "purpose": "batch",
        "status": "processed", "expires_at": None}


def test_file_content_streams_chunks_and_lines_decode_across_chunks(scripted, adapter):
    text = '{"é":1}\r\n{"b":"ü"}\n\nlast'.encode()
    adapter.queue(200, text).queue(200, text)
    chunks = list(scripted.file_content("file-1", chunk_size=3))
    assert b"".join(chunks) == text and max(map(len, chunks)) <= 3
    assert adapter.seen[0].headers["Accept"] == "application/binary"
    assert list(scripted.iter_file_lines("file-1", chunk_size=3)) == ['{"é":1}', '{"b":"ü"}', "", "last"]


def test_file_content_error_raises_at_call_time(scripted, adapter):
    adapter.queue(404, error_payload("No such File object: file-z"))
    with pytest.raises(NotFoundError):
        scripted.file_content("file-z")


def test_iter_batches_follows_last_id_and_stops_on_empty_page(scripted, adapter):
    adapter.queue(200, {"object": "list", "data": [batch_payload("b3"), batch_payload("b2")], "has_more": True,
                        "first_id": "b3", "last_id": "IGNORED"})
    adapter.queue(200, {"object": "list", "data": [], "has_more": True, "first_id": None, "last_id": None})
    ids = [b.id for b in scripted.iter_batches(page_size=2)]
    assert ids == ["b3", "b2"]
    assert "after" not in adapter.seen[0].url and "limit=2" in adapter.seen[0].url
    assert "after=b2" in adapter.seen[1].url


def test_list_batches_page(scripted, adapter):
    adapter.queue(200, {"object": "list", "data": [batch_payload("b1")], "has_more": False, "first_id": "b1",
                        "last_id": "b1"})
    page = scripted.list_batches(limit=5, after="b0")
    assert (len(page), page.has_more, page.first_id, page.last_id) == (1, False, "b1", "b1")
    assert "limit=5" in adapter.seen[0].url and "after=b0" in adapter.seen[0].url


def test_delete_file(scripted, adapter):
    adapter.queue(200, {"id": "file-1", "object": "file", "deleted": True})
    assert scripted.delete_file("file-1") is True
    assert adapter.seen[0].method == "DELETE"


CHAT_LINES = b"".join(
    json.dumps({"custom_id": f"request-{i}", "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {i}"}]}}).encode()
    + b"\n"
    for i in range(1, 4)
)


@pytest.fixture
def fake():
    from fake_server import FakeBatchesAPI, ManualClock

    return FakeBatchesAPI(clock=ManualClock())


@pytest.fixture
def live(fake, sleeps, monkeypatch):
    """A client on the fake's requests door, with the canary key and recorded sleeps."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    client = BatchesClient(api_key=CANARY, session=fake.requests_session())
    client.sleep = sleeps.append
    client._random = lambda: 0.0
    return client


def _posts(fake, path_tail):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(path_tail)]


def test_fake_full_lifecycle(live, fake, tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(CHAT_LINES)
    uploaded = live.upload_file(path)
    assert (uploaded.purpose, uploaded.bytes) == ("batch", len(CHAT_LINES))
    assert re.fullmatch(r"prompts\.[0-9a-f]{8}\.jsonl", uploaded.filename)
    assert live.retrieve_file(uploaded.id).id == uploaded.id
    assert b"".join(live.file_content(uploaded.id)) == CHAT_LINES

    batch = live.create_batch(uploaded.id, metadata={"run": "t1"})
    assert batch.status == "validating" and batch.request_id
    assert batch.metadata is not None and batch.metadata.pop("batches_ext_intent") and batch.metadata == {"run": "t1"}
    assert not batch.is_terminal and batch.is_cancellable

    fake.advance_until(batch.id, "completed")
    done = live.retrieve_batch(batch.id)
    assert done.status == "completed" and done.is_terminal and done.request_counts.total == 3
    lines = [json.loads(line) for line in live.iter_file_lines(done.output_file_id)]
    assert sorted(line["custom_id"] for line in lines) == ["request-1", "request-2", "request-3"]

    assert done.output_file_id in {f.id for f in live.iter_files()}
    assert done.output_file_id in {f.id for f in live.list_files(purpose="batch_output")}
    assert live.delete_file(done.output_file_id) is True
    with pytest.raises(NotFoundError):
        live.retrieve_file(done.output_file_id)


def test_fake_cancel_running_then_409_on_completed_after_one_request(live, fake):
    running = fake.seed_batch("in_progress")
    assert live.cancel_batch(running["id"]).status in ("cancelling", "cancelled")
    completed = fake.seed_batch("completed")
    before = len(_posts(fake, "/cancel"))
    with pytest.raises(ConflictError, match="Cannot cancel a batch with status 'completed'") as info:
        live.cancel_batch(completed["id"])
    assert len(_posts(fake, "/cancel")) == before + 1
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_fake_429_retry_after_is_honoured(live, fake, sleeps):
    seeded = fake.seed_batch("completed")
    fake.faults.fail_next(429, retry_after=1)
    assert live.retrieve_batch(seeded["id"]).id == seeded["id"]
    assert sleeps == [1.0]


def test_fake_500_is_retried_with_backoff(live, fake, sleeps):
    file_id = fake.upload(CHAT_LINES)["id"]
    fake.faults.fail_next(500)
    batch = live.create_batch(file_id)
    assert sleeps == [0.5] and len(fake.batches()) == 1 and fake.batches()[0]["id"] == batch.id


def test_fake_lost_create_response_is_retried_without_a_duplicate(live, fake, sleeps):
    """The answer is dropped after the batch was made: the retry finds it by its intent and sends nothing again."""
    file_id = fake.upload(CHAT_LINES)["id"]
    fake.faults.drop_next(after_commit=True, method="POST", path="/batches$")
    batch = live.create_batch(file_id)
    assert [b["id"] for b in fake.batches()] == [batch.id] and batch.status == "validating"
    assert len(_posts(fake, "/batches")) == 1
    assert [r.method for r in fake.requests if r.path.endswith("/batches")] == ["POST", "GET"]
    assert sleeps == [0.5]


def test_fake_dropped_connections_exhaust_retries(live, fake):
    fake.faults.drop_next(3, method="GET")
    with pytest.raises(APIConnectionError) as info:
        live.list_batches()
    assert info.value.__context__ is None and CANARY not in _everything_about(info.value)


def test_fake_pagination_over_2500_batches(live, fake):
    for _ in range(2500):
        fake.seed_batch("completed", requests=1)
    expected = [b["id"] for b in fake.batches()]
    got = [b.id for b in live.iter_batches(page_size=100)]
    assert got == expected and len(set(got)) == 2500
    pages = [r for r in fake.requests if r.method == "GET" and r.path.endswith("/batches")]
    assert len(pages) == 25
    page = live.list_batches(limit=7)
    assert len(page) == 7 and page.has_more and page.last_id == page[-1].id


def test_fake_wrong_key_never_shows_the_key(fake):
    from fake_server import FakeBatchesAPI, ManualClock

    strict = FakeBatchesAPI(clock=ManualClock(), api_keys=["sk-the-right-one"])
    client = BatchesClient(api_key=CANARY, session=strict.requests_session())
    with pytest.raises(Exception) as info:
        client.list_batches()
    assert type(info.value).__name__ == "AuthenticationError" and str(info.value).startswith("401 Unauthorized")
    assert CANARY not in _everything_about(info.value) and CANARY not in repr(client)


def test_fake_routing_headers_scope_the_tenant(fake, monkeypatch):
    monkeypatch.delenv("OPENAI_PROJECT_ID", raising=False)
    client = BatchesClient(api_key="sk-t", organization="org-mine", project="proj_1",
                           session=fake.requests_session())
    file_id = client.upload_file(CHAT_LINES).id
    client.create_batch(file_id)
    assert len(fake.batches(organization="org-mine", project="proj_1")) == 1
    assert fake.batches(organization="org-other") == []


def test_offline_client(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    client = BatchesClient.offline(fake)
    assert client.is_offline and client.fake is fake and "offline=True" in repr(client)
    assert client.settings.api_key == "sk-offline-fake"
    f = client.upload_file(CHAT_LINES, filename="x.jsonl")
    assert client.create_batch(f.id).status == "validating"
    fresh = BatchesClient.offline(speed=600)
    assert fresh.fake is not None and fresh.fake is not fake and fresh.list_batches().data == []


def test_upload_rejections_come_back_as_bad_request(live):
    with pytest.raises(BadRequestError, match="Must be .jsonl"):
        live.upload_file(b"{}\n", filename="notes.txt")


def test_file_lines_that_are_not_utf8_are_an_input_error_naming_the_line():
    from fake_server import FakeBatchesAPI, ManualClock

    fake = FakeBatchesAPI(clock=ManualClock())
    client = BatchesClient.offline(fake=fake)
    file_id = fake.upload(b'{"a": 1}\n{"b": 2}\n\xff\xfe oops\n', filename="x.jsonl")["id"]
    with pytest.raises(InputError, match=rf"file {file_id} is not valid UTF-8 \(line 3\)") as caught:
        list(client.iter_file_lines(file_id))
    assert caught.value.line == 3
    with pytest.raises(InputError, match=r"\(line 41\)"):
        list(client.iter_file_lines(fake.upload(b"ok\n" * 40 + b"\xc3(\n", filename="y.jsonl")["id"], chunk_size=7))


def test_one_client_shared_by_16_threads_stays_correct(fake):
    """16 threads share one client over real sockets (the loopback fake), each uploading, creating, retrieving,
    listing and downloading while the fake drops answers after committing and fails calls with 500s: every thread
    gets its own file and batch back (no duplicate, none lost, none crossed with another thread's), and every
    download is its own file's content."""
    from tests.concurrency import run_concurrently

    fake.faults.drop_next(6, method="POST", path="/batches$", after_commit=True)
    fake.faults.drop_next(4, method="POST", path="/files$", after_commit=True)
    fake.faults.fail_next(500, times=6, method="GET")
    results: dict[int, tuple[str, str]] = {}
    # max_retries 8: one call may meet a drop and then all six 500s on its lookups (7 failures in a row)
    with fake.serve() as server, BatchesClient(api_key=CANARY, base_url=server.base_url, max_retries=8) as client:
        client.sleep = lambda _: None

        def worker(n: int) -> None:
            body = CHAT_LINES.replace(b"hi ", f"thread {n} says hi ".encode())
            uploaded = client.upload_file(body, filename=f"t{n}.jsonl")
            batch = client.create_batch(uploaded.id, metadata={"thread": str(n)})
            assert client.retrieve_batch(batch.id).metadata["thread"] == str(n)
            assert b"".join(client.file_content(uploaded.id)) == body
            assert batch.id in {b.id for b in client.iter_batches()}
            results[n] = (uploaded.id, batch.id)

        run_concurrently([lambda n=n: worker(n) for n in range(16)], timeout=120)
    assert len(results) == 16
    lookups = [r for r in fake.requests if r.method == "GET" and r.path == "/v1/batches"]
    assert len(_posts(fake, "/batches")) == 16 and len(lookups) >= 16 + 6  # the 6 lost answers were looked up
    batches, files = fake.batches(), fake.files()
    assert len(batches) == 16 and len({b["id"] for b in batches}) == 16  # no duplicate, whatever was dropped
    assert len(files) == 16
    by_id = {b["id"]: b for b in batches}
    for n, (file_id, batch_id) in results.items():
        assert by_id[batch_id]["input_file_id"] == file_id and by_id[batch_id]["metadata"]["thread"] == str(n)


class _NoIdempotencyKey(requests.adapters.BaseAdapter):
    """A door to the fake that strips Idempotency-Key, so the fake acts as the real API may: ignoring it."""

    def __init__(self, inner: requests.adapters.BaseAdapter) -> None:
        super().__init__()
        self.inner = inner

    def send(self, request, **kwargs):
        request.headers.pop("Idempotency-Key", None)
        return self.inner.send(request, **kwargs)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def keyless(fake, sleeps, monkeypatch):
    """A client whose requests reach the fake without Idempotency-Key (see `_NoIdempotencyKey`)."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    session = requests.Session()
    door = fake.requests_session().get_adapter("https://api.openai.com/v1")  # the fake's requests door
    session.mount("https://api.openai.com/", _NoIdempotencyKey(door))
    client = BatchesClient(api_key=CANARY, session=session)
    client.sleep = sleeps.append
    client._random = lambda: 0.0
    return client


def test_a_lost_create_is_adopted_by_a_server_that_ignores_idempotency_keys(keyless, fake):
    fake.faults.drop_next(method="POST", path="/files$", after_commit=True)
    fake.faults.drop_next(method="POST", path="/batches$", after_commit=True)
    uploaded = keyless.upload_file(CHAT_LINES, filename="in.jsonl")
    batch = keyless.create_batch(uploaded.id, metadata={"run": "1"})
    assert [f["id"] for f in fake.files()] == [uploaded.id] and [b["id"] for b in fake.batches()] == [batch.id]
    assert not any("idempotency-key" in {k.lower() for k in r.headers} for r in fake.requests)
    assert [(r.method, r.path) for r in fake.requests] == [("POST", "/v1/files"), ("GET", "/v1/files"),
                                                           ("POST", "/v1/batches"), ("GET", "/v1/batches")]


def test_without_intents_that_server_makes_two_batches(keyless, fake, monkeypatch):
    """The control for the test above: the lookup disabled, the retried create makes a second batch."""
    from batches_ext.client import intents

    monkeypatch.setattr(intents.BatchIntent, "find", lambda self, transport, budget: None)
    file_id = fake.upload(CHAT_LINES)["id"]
    fake.faults.drop_next(method="POST", path="/batches$", after_commit=True)
    keyless.create_batch(file_id)
    assert len(fake.batches()) == 2
