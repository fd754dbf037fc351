"""The loopback door under abuse (issue 14): no client can stall another, oversized and malformed bodies are
4xx at once, and the server keeps serving after each. These assert what a user sees, never speed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from fake_server import validation
from fake_server.fake import FakeBatchesAPI
from fake_server.server import ServerHandle, serve
from tests.concurrency import run_concurrently, within
from tests.fake_server.conftest import batch_input

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-abuse"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def server(fake: FakeBatchesAPI):
    with serve(fake, control=True, read_timeout=1.0) as handle:
        yield handle


def _head(server: ServerHandle, method: str, path: str, extra: str = "") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\n{extra}\r\n").encode()


def _reply(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (every answer here closes it)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data



@contextlib.contextmanager
def gated_answers(fake: FakeBatchesAPI, work: Callable[[], object], model: str = "gpt-4o") -> Iterator[threading.Event]:
    """Run `work` on a daemon thread while the fake's answers to lines of `model` block until the block ends;
    yields the event set once such an answer is being computed (a batch's lines are mid-answer). On exit the
    answers are released, then the thread is joined."""
    answering, release = threading.Event(), threading.Event()

    def responder(line):
        if line.model == model:
            answering.set()
            release.wait(10)  # answer generation gated: blocked until the block ends
        return None

    fake.responder = responder
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield answering
    finally:
        release.set()
        thread.join(10)

def test_a_probe_is_answered_while_fifty_clients_stall_mid_body_and_each_staller_gets_a_408(
    server: ServerHandle, fake: FakeBatchesAPI
) -> None:
    fake.honour_idempotency_key = True  # a stalled body that repeats a stored key must not hold anyone either
    fake.upload(batch_input(1))
    stalled = []
    for i in range(50):
        sock = socket.create_connection((server.host, server.port), timeout=10)
        key = f"Idempotency-Key: same-{i % 3}\r\n" if i % 2 else ""  # half repeat a key the probe will store
        sock.sendall(_head(server, "POST", "/v1/batches", f"Content-Length: 1000\r\n{key}") + b'{"input_')
        stalled.append(sock)
    try:
        with requests.Session() as probe:
            for _ in range(5):  # the 8 s timeout of the finding: a probe now gets through every time
                answer = probe.get(f"{server.base_url}/batches?limit=1", headers=AUTH, timeout=8)
                assert answer.status_code == 200
            created = probe.post(f"{server.base_url}/batches", headers={**AUTH, "Idempotency-Key": "same-1"},
                                 json={"input_file_id": fake.files()[0]["id"], "endpoint": "/v1/chat/completions",
                                       "completion_window": "24h"}, timeout=8)
            assert created.status_code == 200
        replies = [within(10, lambda s=sock: _reply(s)) for sock in stalled[0:6:2]]  # keyless ones
        for reply in replies:  # the server gave up on them: a 408 in the envelope, and the connection closed
            assert reply.startswith(b"HTTP/1.1 408 ") and b'"error"' in reply and b"Connection: close" in reply
        # one that repeated the probe's key gets its own 408: a body never read cannot be the same request
        assert within(10, lambda: _reply(stalled[1])).startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in stalled:
            sock.close()


def test_a_10_gb_content_length_is_refused_at_once_with_413(server: ServerHandle) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(_head(server, "POST", "/v1/files", "Content-Type: multipart/form-data; boundary=b\r\n"
                                                         "Content-Length: 10737418240\r\n") + b"x" * 1_000_000)
        reply = within(5, lambda: _reply(sock))  # not after reading 10 GB, nor after the read timeout
    assert reply.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in reply
    body = reply.split(b"\r\n\r\n", 1)[1]
    assert json.loads(body[: body.rindex(b"}") + 1])["error"]["code"] == "request_too_large"
    with socket.create_connection((server.host, server.port), timeout=10) as sock:  # JSON routes: 1 MB
        sock.sendall(_head(server, "POST", "/v1/batches", "Content-Length: 2000000\r\n"))
        assert within(5, lambda: _reply(sock)).startswith(b"HTTP/1.1 413 ")
    assert requests.get(f"{server.base_url}/batches", headers=AUTH, timeout=5).status_code == 200


def test_a_chunked_body_past_its_cap_is_a_413(server: ServerHandle) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(_head(server, "POST", "/v1/batches", "Transfer-Encoding: chunked\r\n"))
        chunk = b"x" * 65536
        try:
            for _ in range(40):  # 2.5 MB, past the 1 MB cap of a JSON route
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server may close before we finish: that is the point
        assert within(5, lambda: _reply(sock)).startswith(b"HTTP/1.1 413 ")


@pytest.mark.parametrize("body", [
    b"[" * 1000 + b"]" * 1000,
    b'{"input_file_id":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"input_file_id": "f", "endpoint": "/v1/chat/completions", "completion_window": "24h", "x": NaN}',
    b'{"input_file_id": "f", "endpoint": "/v1/chat/completions", "completion_window": "24h", "x": 1e999}',
    b'{"metadata": {"a": Infinity}}',
], ids=["1000-deep", "100000-deep", "NaN", "1e999", "Infinity"])
def test_deep_or_non_finite_json_is_a_400_and_the_server_keeps_serving(server: ServerHandle, body: bytes) -> None:
    with requests.Session() as session:
        answer = session.post(f"{server.base_url}/batches", headers={**AUTH, "Content-Type": "application/json"},
                              data=body, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error"
        assert session.get(f"{server.base_url}/batches", headers=AUTH, timeout=5).status_code == 200


@pytest.mark.parametrize("payload", [
    b'{"advance": NaN}', b'{"advance": Infinity}', b'{"advance": 1e999}', b'{"advance": -1}',
    b'{"advance": 1e12}', b'{"advance": "10"}', b'{"advance": true}', b'{"set": NaN}', b'{"set": 0}',
    b'{"advance": 1, "speed": 2}', b"[" * 500 + b"]" * 500, b"not json",
], ids=lambda p: p.decode()[:24])
def test_the_control_clock_refuses_every_bad_number_and_creates_still_work(
    server: ServerHandle, fake: FakeBatchesAPI, payload: bytes
) -> None:
    now = fake.clock.now()
    with requests.Session() as session:
        answer = session.post(f"{server.url}/__fake__/clock", data=payload, timeout=5)
        assert answer.status_code == 400 and set(answer.json()["error"]) == {"message", "type", "param", "code"}
        assert fake.clock.now() == now
        file_id = fake.upload(batch_input(1))["id"]
        created = session.post(f"{server.base_url}/batches", headers=AUTH, timeout=5, json={
            "input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"})
        assert created.status_code == 200 and created.json()["created_at"] == int(now)


def test_no_lock_is_held_while_an_input_file_is_validated(server: ServerHandle, fake: FakeBatchesAPI,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A create whose (big) input is being validated holds no lock: a GET on another batch is answered."""
    other = fake.seed_batch("in_progress")
    file_id = fake.upload(batch_input(2))["id"]
    validating, release = threading.Event(), threading.Event()
    real = validation.validate_input

    def slow_validation(*args, **kwargs):
        validating.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(validation, "validate_input", slow_validation)
    results: list = []

    def create() -> None:
        results.append(requests.post(f"{server.base_url}/batches", headers=AUTH, timeout=15, json={
            "input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}))

    thread = threading.Thread(target=create, daemon=True)
    thread.start()
    try:
        assert validating.wait(10)
        got = within(5, lambda: requests.get(f"{server.base_url}/batches/{other['id']}", headers=AUTH, timeout=5))
        assert got.status_code == 200 and got.json()["status"] == "in_progress"
        assert within(5, lambda: requests.get(f"{server.base_url}/files", headers=AUTH, timeout=5)).ok
    finally:
        release.set()
        thread.join(15)
    assert results and results[0].status_code == 200


def test_no_lock_is_held_while_a_batch_s_answers_are_computed(fake: FakeBatchesAPI) -> None:
    """A slow responder answering one batch's lines does not delay a view of another batch."""
    slow = fake.seed_batch("in_progress", requests=3, model="gpt-4o")
    quick = fake.seed_batch("in_progress", requests=3)
    fake.advance(3600)
    with gated_answers(fake, lambda: fake.batch(slow["id"])) as answering:
        assert answering.wait(10)
        assert within(5, lambda: fake.batch(quick["id"]))["status"] == "completed"


def test_views_answer_each_line_once_however_often_a_batch_is_read(fake: FakeBatchesAPI) -> None:
    """Counts and usage are carried as the clock moves: reading a finished batch again computes nothing."""
    answered: list[str] = []
    fake.responder = lambda line: answered.append(line.custom_id)
    batch = fake.seed_batch("in_progress", requests=40)
    for _ in range(20):
        fake.advance(7)
        fake.batch(batch["id"])
        fake.files()
    fake.advance(3600)
    for _ in range(50):
        done = fake.batch(batch["id"])
        fake.files()
    assert done["status"] == "completed" and done["request_counts"] == {"total": 40, "completed": 40, "failed": 0}
    assert sorted(answered) == sorted(f"request-{i}" for i in range(1, 41))  # each line once, no more


def test_a_header_flood_stays_bounded_in_the_log_and_reset_releases_every_tenant(fake: FakeBatchesAPI) -> None:
    from fake_server.wire import Request

    huge = "x" * (5 * 1024 * 1024)
    for _ in range(30):
        fake.handle(Request("GET", "/v1/batches", "", {"authorization": "Bearer sk-flood", "x-big": huge,
                                                       **{f"x-h{j}": "v" for j in range(100)}}))
    for i in range(3000):
        fake.handle(Request("GET", "/v1/files", "", {"authorization": "Bearer sk-flood",
                                                     "openai-organization": f"org-{i}"}))
    log = fake.request_log
    assert len(log) == 3030 and log.bytes < 4 * 1024 * 1024
    assert all(len(r.headers) <= 32 and all(len(v) <= 256 for v in r.headers.values()) for r in fake.requests)
    assert all("authorization" not in r.headers for r in fake.requests)
    assert fake.backend.counts() == (0, 0) and not fake.backend._tenants  # reads create no tenant
    fake.upload(batch_input(1), organization="org-7")
    fake.reset()
    assert not fake.backend._tenants and len(fake.request_log) == 0


def test_sigterm_and_sigkill_leave_no_spill_file(tmp_path: Path) -> None:
    """A >8 MB upload spills to an anonymous temporary file: it never has a name in the temporary directory,
    and the process holds it only while it runs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    content = batch_input(40_000, pad=200)
    assert len(content) > 8 * 1024 * 1024
    for sig in (signal.SIGTERM, signal.SIGKILL):
        proc = subprocess.Popen([sys.executable, "-m", "fake_server", "--port", "0"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            base_url = within(20, proc.stdout.readline).strip()
            uploaded = requests.post(f"{base_url}/files", headers=AUTH, timeout=30, data={"purpose": "batch"},
                                     files={"file": ("big.jsonl", content)})
            assert uploaded.status_code == 200 and uploaded.json()["bytes"] == len(content)
            held = [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{proc.pid}/fd")]
            assert any(str(tmp_path) in link and "(deleted)" in link for link in held), held  # spilled, unlinked
            assert list(tmp_path.iterdir()) == []
            proc.send_signal(sig)
            proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
        assert list(tmp_path.iterdir()) == []


def test_many_clients_at_once_are_all_served(server: ServerHandle) -> None:
    def client() -> None:
        with requests.Session() as session:
            for _ in range(5):
                assert session.get(f"{server.base_url}/batches", headers=AUTH, timeout=10).status_code == 200

    run_concurrently([client] * 16, timeout=60)


@pytest.mark.parametrize(("raw", "status"), [
    (b"TRACE /v1/batches HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
    (b"FOO /v1/batches HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
    (b"GET /v1/batches HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    (b"GET /v1/batches HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n", 431),
    (b"GET /v1/" + b"a" * 1_000_000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GARBAGE\r\n\r\n", 400),
    (b"a b c d\r\n\r\n", 400),
], ids=["TRACE", "FOO", "70KB-header", "200-headers", "1MB-url", "garbage", "four-words"])
def test_what_the_http_layer_refuses_is_json_in_the_envelope_with_a_request_id(
        server: ServerHandle, raw: bytes, status: int) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(raw)
        reply = _reply(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), head[:80]
    assert b"\r\nx-request-id: req_" in head and b"content-type: application/json" in head
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert b"<html" not in body.lower()
    assert requests.get(f"{server.base_url}/batches", headers=AUTH, timeout=10).status_code == 200  # still serving


def test_a_list_never_waits_for_a_batch_whose_answers_another_request_is_computing(fake: FakeBatchesAPI) -> None:
    """Issue 14 / audit: the first view of a finished big batch computes its answers; meanwhile another client's
    batch list and files list answer at once, showing that batch as it was last shown (never half-updated)."""
    from tests.fake_server.calls import call

    big = fake.seed_batch("in_progress", requests=50, model="gpt-4o")
    quiet = fake.seed_batch("in_progress", requests=2)
    fake.advance(5000)
    with gated_answers(fake, lambda: fake.batch(big["id"])) as answering:
        assert answering.wait(10)
        page = within(5, lambda: call(fake, "GET", "/batches", query="limit=10"))
        assert page.status == 200
        shown = {b["id"]: b for b in page.json()["data"]}
        assert shown[quiet["id"]]["status"] == "completed"  # a batch nobody is answering: carried to now
        as_was = shown[big["id"]]
        assert (as_was["status"], as_was["request_counts"], as_was["output_file_id"]) == (
            "in_progress", {"total": 50, "completed": 0, "failed": 0}, None)
        assert within(5, lambda: call(fake, "GET", "/files")).status == 200  # the files listing does not wait
        assert within(5, lambda: call(fake, "GET", f"/batches/{quiet['id']}")).json()["status"] == "completed"
    done = {b["id"]: b for b in call(fake, "GET", "/batches").json()["data"]}[big["id"]]
    assert done["status"] == "completed" and done["request_counts"]["completed"] == 50
    listed_files = {f["id"] for f in call(fake, "GET", "/files").json()["data"]}
    assert done["output_file_id"] in listed_files


def test_a_seed_computing_its_answers_does_not_hold_up_listings(fake: FakeBatchesAPI) -> None:
    """`POST /__fake__/seed` of a completed batch answers its lines; listings meanwhile answer at once."""
    from tests.fake_server.calls import call

    seeded: list[dict] = []
    seed = lambda: seeded.append(fake.seed_batch("completed", requests=5, model="gpt-4o"))  # noqa: E731
    with gated_answers(fake, seed) as answering:
        assert answering.wait(10)
        assert within(5, lambda: call(fake, "GET", "/files", query="limit=1")).status == 200
        page = within(5, lambda: call(fake, "GET", "/batches", query="limit=1")).json()
        assert [b["status"] for b in page["data"]] in ([], ["validating"])  # never 'completed' without its file
    assert seeded and seeded[0]["status"] == "completed" and seeded[0]["output_file_id"]
    assert call(fake, "GET", "/batches").json()["data"][0]["output_file_id"] == seeded[0]["output_file_id"]
