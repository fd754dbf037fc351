"""The loopback door (`serve`) and `python -m fake_server`."""

from __future__ import annotations

import glob
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from requests_toolbelt import MultipartEncoder

from fake_server.clock import ManualClock
from fake_server.fake import FakeBatchesAPI
from fake_server.server import ServerHandle, serve
from tests.concurrency import within
from tests.fake_server.conftest import batch_input

ROOT = Path(__file__).resolve().parents[2]


def test_json_round_trip_and_handle_shape(
    server: ServerHandle, session: requests.Session, auth: dict
) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1" and server.host == "127.0.0.1"
    file = server.fake.upload(batch_input(2))
    created = session.post(
        f"{server.base_url}/batches",
        headers=auth,
        json={"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    )
    assert created.status_code == 200 and created.headers["content-type"] == "application/json"
    assert int(created.headers["content-length"]) == len(created.content)
    assert created.json()["status"] == "validating"
    missing = session.get(f"{server.base_url}/batches/batch_nope", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["message"]


def test_uploads_stream_in_by_length_and_chunked_and_downloads_go_out_chunked(
    server: ServerHandle, session: requests.Session, auth: dict
) -> None:
    content = batch_input(3000, pad=50)
    encoder = MultipartEncoder({"purpose": "batch", "file": ("in.jsonl", content, "application/jsonl")})
    by_length = session.post(
        f"{server.base_url}/files", headers={**auth, "Content-Type": encoder.content_type}, data=encoder
    )
    assert by_length.status_code == 200 and by_length.json()["bytes"] == len(content)

    encoder = MultipartEncoder({"purpose": "batch", "file": ("in.jsonl", content, "application/jsonl")})
    chunked = session.post(
        f"{server.base_url}/files",
        headers={**auth, "Content-Type": encoder.content_type},
        data=iter(lambda: encoder.read(8192), b""),
    )  # a generator: Transfer-Encoding: chunked
    assert chunked.status_code == 200 and chunked.json()["bytes"] == len(content)

    url = f"{server.base_url}/files/{chunked.json()['id']}/content"

    def download() -> tuple[dict, bytes, list[bytes]]:
        with session.get(url, headers=auth, stream=True) as response:
            data = b"".join(response.iter_content(None))
        with session.get(url, headers=auth, stream=True) as response:
            lines = list(response.iter_lines())
        return dict(response.headers), data, lines

    headers, data, lines = within(5, download)
    assert headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in headers
    assert data == content and lines == content.splitlines()
    # The connection stayed usable after a body the fake never read (unknown route).
    assert session.post(f"{server.base_url}/nowhere", headers=auth, data=b"x" * 100_000).status_code == 404
    assert session.get(f"{server.base_url}/batches", headers=auth).status_code == 200


def test_keep_alive_reuses_one_connection_with_nodelay(
    server: ServerHandle, session: requests.Session, auth: dict
) -> None:
    accepted = []
    original = server._server.get_request

    def spy():
        sock, address = original()
        accepted.append(sock)
        return sock, address

    server._server.get_request = spy  # type: ignore[method-assign]
    for _ in range(20):
        assert session.get(f"{server.base_url}/batches", headers=auth).status_code == 200
    assert len(accepted) == 1  # 20 requests, one connection
    assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_dropped_connection_closes_the_socket_without_an_answer(
    server: ServerHandle, session: requests.Session, auth: dict
) -> None:
    server.fake.faults.drop_next(path="/batches")
    with pytest.raises(requests.ConnectionError):
        session.get(f"{server.base_url}/batches", headers=auth)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=2)
    server.fake.faults.drop_next(path="/batches")
    conn.request("GET", "/v1/batches", headers=auth)
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    assert session.get(f"{server.base_url}/batches", headers=auth).status_code == 200


def test_bad_chunked_framing_is_a_400_and_a_cut_body_gets_no_answer(server: ServerHandle, auth: dict) -> None:
    head = (f"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: {auth['Authorization']}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(head + b"zz\r\nhello\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(head + b"400\r\n--b\r\n")
        sock.shutdown(socket.SHUT_WR)  # the client is gone mid-chunk
        assert sock.recv(4096) == b""  # closed without an answer: not a 500
    assert server.fake.files() == []


def test_an_upload_cut_off_after_spilling_to_disk_leaves_no_file(server: ServerHandle, auth: dict) -> None:
    spilled = lambda: set(glob.glob(os.path.join(tempfile.gettempdir(), "fake_server-*")))  # noqa: E731
    before = spilled()
    head = (f"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: {auth['Authorization']}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 99999999\r\n\r\n").encode()
    part = (b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--b\r\n'
            b'Content-Disposition: form-data; name="file"; filename="big.jsonl"\r\n\r\n')
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(head + part + b'{"custom_id": "x"}\n' * 600_000)  # ~11 MB: past the 8 MiB spill threshold
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(4096) == b""
    deadline = time.monotonic() + 5
    while spilled() != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert spilled() == before and server.fake.files() == []


def test_control_plane(server: ServerHandle, session: requests.Session, auth: dict) -> None:
    server.fake.seed_batch("in_progress")
    now = session.get(f"{server.url}/__fake__/clock").json()["now"]
    assert session.post(f"{server.url}/__fake__/clock", json={"advance": 90}).json() == {"now": now + 90}
    state = session.get(f"{server.url}/__fake__/state").json()
    assert len(state["batches"]) == 1 and len(state["files"]) >= 1
    assert session.post(f"{server.url}/__fake__/reset").json() == {"ok": True}
    assert session.get(f"{server.base_url}/batches", headers=auth).json()["data"] == []
    assert session.post(f"{server.url}/__fake__/clock", json={"advance": -1}).status_code == 400
    assert session.get(f"{server.url}/__fake__/nothing").status_code == 404


def test_control_plane_is_off_by_default(fake: FakeBatchesAPI) -> None:
    with serve(fake) as server, requests.Session() as session:
        response = session.post(f"{server.url}/__fake__/reset")
        assert response.status_code == 404 and "control plane is off" in response.json()["error"]["message"]


def test_stop_is_fast_idempotent_and_closes_keep_alive_connections(fake: FakeBatchesAPI, auth: dict) -> None:
    server = serve(fake)
    with requests.Session() as session:
        assert session.get(f"{server.base_url}/batches", headers=auth).status_code == 200
        started = time.monotonic()
        server.stop()
        server.stop()
        assert time.monotonic() - started < 1
        with pytest.raises(requests.ConnectionError):
            session.get(f"{server.base_url}/batches", headers=auth, timeout=2)
    assert "stopped" in repr(server)


def test_swapping_the_fake_serves_the_new_one(
    server: ServerHandle, session: requests.Session, auth: dict
) -> None:
    server.fake.seed_batch()
    server.fake = FakeBatchesAPI(clock=ManualClock())
    assert session.get(f"{server.base_url}/batches", headers=auth).json()["data"] == []


# ---------------------------------------------------------------- python -m fake_server


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "fake_server", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_module_prints_the_base_url_first_and_stops_cleanly(sig: signal.Signals) -> None:
    key = "sk-CANARY-module-key"
    proc = _start("--api-key", key, "--control", "--speed", "120")
    try:
        base_url = within(20, proc.stdout.readline).strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with requests.Session() as session:
            assert (
                session.get(f"{base_url}/batches", headers={"Authorization": f"Bearer {key}"}).status_code
                == 200
            )
            assert (
                session.get(f"{base_url}/batches", headers={"Authorization": "Bearer sk-other"}).status_code
                == 401
            )
            assert session.get(base_url.removesuffix("/v1") + "/__fake__/clock").status_code == 200
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err and key not in out + err
    assert out.strip() == ""  # nothing after the first line on stdout


def test_module_reports_a_busy_port_without_a_traceback(fake: FakeBatchesAPI) -> None:
    with serve(fake) as server:
        proc = _start("--port", str(server.port))
        out, err = proc.communicate(timeout=20)
    assert proc.returncode != 0 and "cannot listen" in err and "Traceback" not in err


def test_module_flags_set_models_limits_and_idempotency() -> None:
    proc = _start("--control", "--models", "any", "--enqueued-token-limit", "gpt-4o-mini=2",
                  "--batch-create-limit", "2", "--honour-idempotency-key", "--read-timeout", "5")
    try:
        base_url = within(20, proc.stdout.readline).strip()
        auth = {"Authorization": "Bearer sk-flags"}
        with requests.Session() as session:
            uploaded: dict[str, str] = {}

            def create(model: str, key: str | None = None) -> requests.Response:
                line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                        "body": {"model": model, "messages": [{"role": "user", "content": "one two three"}]}}
                if key is None or key not in uploaded:  # a keyed retry sends the same body
                    uploaded[key or ""] = session.post(
                        f"{base_url}/files", headers=auth, data={"purpose": "batch"},
                        files={"file": ("in.jsonl", json.dumps(line) + "\n")}).json()["id"]
                file_id = uploaded[key or ""]
                extra = {"Idempotency-Key": key} if key else {}
                return session.post(f"{base_url}/batches", headers={**auth, **extra}, json={
                    "input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"})

            made_up = create("made-up-model", key="k1").json()
            assert create("made-up-model", key="k1").json()["id"] == made_up["id"]  # replayed: one creation
            quota = create("gpt-4o-mini").json()
            assert create("gpt-4o-mini").status_code == 429  # the third creation in the hour
            session.post(base_url.removesuffix("/v1") + "/__fake__/clock", json={"advance": 60})
            states = {b: session.get(f"{base_url}/batches/{b}", headers=auth).json() for b in (made_up["id"],
                                                                                            quota["id"])}
            assert states[made_up["id"]]["status"] != "failed"  # --models any
            assert states[quota["id"]]["errors"]["data"][0]["code"] == "token_limit_exceeded"  # 3 tokens > 2
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_module_manual_clock_stands_still_until_the_control_plane_moves_it() -> None:
    proc = _start("--control", "--manual")
    try:
        clock = within(20, proc.stdout.readline).strip().removesuffix("/v1") + "/__fake__/clock"
        with requests.Session() as session:
            first = session.get(clock).json()["now"]
            assert session.get(clock).json()["now"] == first  # no wall-clock drift, however long this takes
            assert session.post(clock, json={"set": first + 3600}).json() == {"now": first + 3600}
            assert session.post(clock, json={"advance": 60}).json() == {"now": first + 3660}
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "manual clock" in err


@pytest.mark.parametrize("bad", [["--enqueued-token-limit", "gpt-4o-mini"], ["--batch-create-limit", "-1"],
                                 ["--read-timeout", "nan"], ["--speed", "inf"], ["--manual"]])
def test_module_refuses_bad_flags_without_a_traceback(bad: list[str]) -> None:
    proc = _start(*bad)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and "Traceback" not in err and "error:" in err
