"""The in-process doors: requests (FakeAdapter), httpx / httpx2 (MockTransport), respx (mock_httpx)."""

from __future__ import annotations

import asyncio
import importlib
import io

import httpx
import httpx2
import pytest
import requests
from requests_toolbelt import MultipartEncoder

from fake_server import transports
from fake_server.clock import ManualClock
from fake_server.fake import FakeBatchesAPI
from tests.concurrency import within
from tests.fake_server.conftest import KEY, batch_input

API = "https://api.openai.com/v1"


@pytest.fixture
def session(fake: FakeBatchesAPI) -> requests.Session:
    return transports.requests_session(fake)


def _upload(session: requests.Session, auth: dict, content: bytes) -> dict:
    response = session.post(
        f"{API}/files", headers=auth, files={"file": ("in.jsonl", content)}, data={"purpose": "batch"}
    )
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- requests


def test_requests_door_round_trips_json(fake: FakeBatchesAPI, session: requests.Session, auth: dict) -> None:
    file = _upload(session, auth, batch_input(3))
    created = session.post(
        f"{API}/batches",
        headers=auth,
        json={"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    )
    assert created.status_code == 200 and created.reason == "OK"
    batch = created.json()
    fake.advance(3600)
    again = session.get(f"{API}/batches/{batch['id']}", headers=auth)
    assert again.json()["status"] == "completed"
    assert again.headers["x-request-id"].startswith("req_")
    missing = session.get(f"{API}/batches/batch_nope", headers=auth)
    assert missing.status_code == 404 and set(missing.json()["error"]) == {"message", "type", "param", "code"}
    assert (
        session.get(f"{API}/batches", headers=auth, params={"limit": 1}).json()["data"][0]["id"]
        == batch["id"]
    )
    assert fake.requests[-1].query == "limit=1"


def test_mount_covers_only_the_base_url_host(fake: FakeBatchesAPI, auth: dict) -> None:
    session = fake.mount(requests.Session(), "http://fake.test:9999/v1")
    assert isinstance(session.get_adapter("http://fake.test:9999/v1/batches"), transports.FakeAdapter)
    assert not isinstance(session.get_adapter("https://api.openai.com/v1/batches"), transports.FakeAdapter)
    assert session.get("http://fake.test:9999/v1/batches", headers=auth).status_code == 200
    with pytest.raises(ValueError, match="scheme"):
        transports.mount(fake, requests.Session(), "api.openai.com/v1")


def test_streamed_download_ends_with_iter_content_none_and_iter_lines(
    session: requests.Session, auth: dict
) -> None:
    content = batch_input(3000, pad=50)  # ~0.5 MB: several chunks
    file = _upload(session, auth, content)
    url = f"{API}/files/{file['id']}/content"

    def whole() -> bytes:
        with session.get(url, headers=auth, stream=True) as response:
            return b"".join(response.iter_content(None))

    def lines() -> list[bytes]:
        with session.get(url, headers=auth, stream=True) as response:
            return list(response.iter_lines())

    def small_chunks() -> list[bytes]:
        with session.get(url, headers=auth, stream=True) as response:
            return list(response.iter_content(10_000))

    assert within(5, whole) == content
    assert within(5, lines) == content.splitlines()
    chunks = within(5, small_chunks)
    assert b"".join(chunks) == content and max(map(len, chunks)) == 10_000
    assert session.get(url, headers=auth).content == content  # stream=False reads it all


def test_generator_upload_body_is_streamed_and_drained(session: requests.Session, auth: dict) -> None:
    body, ctype = _multipart(batch_input(5))
    sent: list[int] = []

    def gen():
        for i in range(0, len(body), 100):
            sent.append(i)
            yield body[i : i + 100]

    response = session.post(f"{API}/files", headers={**auth, "Content-Type": ctype}, data=gen())
    assert response.status_code == 200 and response.json()["bytes"] == len(batch_input(5))
    assert len(sent) == -(-len(body) // 100)

    # Drained even when the fake answers without reading it (unknown route).
    sent.clear()
    assert session.post(f"{API}/nowhere", headers=auth, data=gen()).status_code == 404
    assert len(sent) == -(-len(body) // 100)


def test_multipart_encoder_and_file_bodies_are_read_in_chunks(session: requests.Session, auth: dict) -> None:
    content = batch_input(2000, pad=40)
    encoder = MultipartEncoder(
        {"purpose": "batch", "file": ("in.jsonl", io.BytesIO(content), "application/jsonl")}
    )
    response = session.post(
        f"{API}/files", headers={**auth, "Content-Type": encoder.content_type}, data=encoder
    )
    assert response.status_code == 200 and response.json()["bytes"] == len(content)

    body, ctype = _multipart(content)
    response = session.post(f"{API}/files", headers={**auth, "Content-Type": ctype}, data=io.BytesIO(body))
    assert response.json()["bytes"] == len(content)


def test_dropped_connection_is_a_requests_connection_error(
    fake: FakeBatchesAPI, session: requests.Session, auth: dict
) -> None:
    file = _upload(session, auth, batch_input(1))
    fake.faults.drop_next(path=r"/batches$", method="POST", after_commit=True)
    with pytest.raises(requests.ConnectionError, match="Remote end closed connection"):
        session.post(
            f"{API}/batches",
            headers=auth,
            json={
                "input_file_id": file["id"],
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
        )
    assert len(fake.batches()) == 1  # committed, only the answer was lost
    assert session.get(f"{API}/batches", headers=auth).status_code == 200


def test_a_reply_slower_than_the_read_timeout_is_a_read_timeout(
    fake: FakeBatchesAPI, session: requests.Session, auth: dict
) -> None:
    fake.faults.delay(0.05, path="/batches", times=1)
    with pytest.raises(requests.ReadTimeout):
        session.get(f"{API}/batches", headers=auth, timeout=(1, 0.01))
    assert session.get(f"{API}/batches", headers=auth, timeout=1).status_code == 200


# ---------------------------------------------------------------- httpx / httpx2


@pytest.mark.parametrize("lib", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_httpx_transport_round_trips_json_and_streams_downloads(
    fake: FakeBatchesAPI, lib, auth: dict
) -> None:
    content = batch_input(2000, pad=40)
    with lib.Client(transport=transports.httpx_transport(fake, lib), headers=auth) as client:
        body, ctype = _multipart(content)
        file = client.post(f"{API}/files", content=body, headers={"content-type": ctype}).json()
        listed = client.get(f"{API}/files", params={"purpose": "batch"})
        assert isinstance(listed, lib.Response) and listed.json()["data"][0]["id"] == file["id"]
        with client.stream("GET", f"{API}/files/{file['id']}/content") as response:
            chunks = list(response.iter_bytes())
        assert b"".join(chunks) == content and len(chunks) > 1
        fake.faults.drop_next()
        with pytest.raises(lib.RemoteProtocolError):
            client.get(f"{API}/batches")


@pytest.mark.parametrize("lib", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_async_httpx_transport(fake: FakeBatchesAPI, lib, auth: dict) -> None:
    file = fake.upload(batch_input(3))

    async def main() -> tuple[dict, bytes]:
        transport = transports.async_httpx_transport(fake, lib.__name__)
        async with lib.AsyncClient(transport=transport, headers=auth) as client:
            info = (await client.get(f"{API}/files/{file['id']}")).json()
            async with client.stream("GET", f"{API}/files/{file['id']}/content") as response:
                data = b"".join([chunk async for chunk in response.aiter_bytes()])
            fake.faults.drop_next()
            with pytest.raises(lib.RemoteProtocolError):
                await client.get(f"{API}/batches")
            return info, data

    info, data = asyncio.run(main())
    assert info["bytes"] == len(data) and data == batch_input(3)


def test_a_head_answer_has_no_body_on_every_door(fake: FakeBatchesAPI, server, auth: dict) -> None:
    """The loopback server sends a HEAD answer's headers only; the in-process doors sent the JSON body too."""
    over_loopback = requests.head(f"{server.base_url}/batches", headers=auth, timeout=10)
    answers = {"loopback": over_loopback, "mount": transports.mount(fake, requests.Session()).head(
        f"{API}/batches", headers=auth)}
    for lib in (httpx, httpx2):
        with lib.Client(transport=transports.httpx_transport(fake, lib), headers=auth) as client:
            answers[lib.__name__] = client.head(f"{API}/batches")

    async def head_async() -> object:
        async with httpx2.AsyncClient(transport=transports.async_httpx_transport(fake, httpx2), headers=auth) as c:
            return await c.head(f"{API}/batches")

    answers["async"] = asyncio.run(head_async())
    for door, answer in answers.items():
        assert (answer.status_code, answer.content) == (404, b""), door  # HEAD is no API route: the 404's headers
        assert answer.headers["content-type"] == "application/json" and "x-request-id" in answer.headers, door


def test_a_custom_base_path_is_the_api_and_a_path_outside_it_is_a_404(fake: FakeBatchesAPI, auth: dict) -> None:
    gateway = "https://gw.example.com/openai/v1"
    session = fake.mount(requests.Session(), base_url=gateway)
    assert session.get(f"{gateway}/batches", headers=auth).status_code == 200
    outside = session.get("https://gw.example.com/v1/batches", headers=auth)
    assert outside.status_code == 404
    assert outside.json()["error"]["message"] == (
        "Invalid URL (GET /v1/batches (outside the base path /openai/v1))")
    with httpx2.Client(transport=transports.httpx_transport(fake, httpx2, "/openai/v1"), headers=auth) as client:
        assert client.get(f"{gateway}/files").status_code == 200
        assert client.get("https://gw.example.com/v1/files").status_code == 404
        assert client.get("https://gw.example.com/openai/v1/files/file-x").status_code == 404  # no such file
        assert client.get("https://gw.example.com/v1/files/file-x").json()["error"]["message"].startswith(
            "Invalid URL")
    openai = pytest.importorskip("openai")
    sdk = fake.openai_client(base_url=gateway)
    assert sdk.batches.list().data == []
    with pytest.raises(openai.NotFoundError):
        fake.openai_client(base_url="https://gw.example.com/elsewhere/v1").with_options(
            base_url="https://gw.example.com/v1").batches.list()


def test_sdk_http_module_follows_the_installed_openai() -> None:
    openai = pytest.importorskip("openai")
    expected = "httpx2" if int(openai.__version__.split(".")[0]) >= 3 else "httpx"
    assert transports.sdk_http_module().__name__ == expected
    assert type(transports.httpx_transport(FakeBatchesAPI(clock=ManualClock()))).__module__.startswith(
        expected
    )


# ---------------------------------------------------------------- respx


@pytest.mark.parametrize("using", [None, "httpx"])
def test_mock_httpx_intercepts_default_clients_and_lets_user_routes_win(
    fake: FakeBatchesAPI, using, auth: dict
) -> None:
    lib = transports.sdk_http_module() if using is None else importlib.import_module(using)
    with fake.mock_httpx(using=using) as router:
        router.get("/batches/batch_teapot").respond(418, json={"error": "teapot"})
        with lib.Client(headers=auth) as client:  # a plain client: no transport passed
            assert client.get(f"{API}/batches").json()["object"] == "list"
            assert client.get(f"{API}/batches/batch_teapot").status_code == 418
            assert client.get(f"{API}/batches/batch_other").status_code == 404
            fake.faults.drop_next()
            with pytest.raises(Exception, match="Server disconnected"):
                client.get(f"{API}/batches")
        assert router[transports.FAKE_ROUTE].call_count == 3
    assert len(fake.requests) == 3


def _multipart(content: bytes) -> tuple[bytes, str]:
    boundary = "doorsboundary42"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_keys_are_not_needed_but_configured_keys_are_used(auth: dict) -> None:
    pytest.importorskip("openai")
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={KEY})
    assert fake.openai_client(max_retries=0).batches.list().data == []
