"""Uploads: streamed multipart bodies from a path, bytes or a file object, re-created for every retry.
"""

from __future__ import annotations

import io
import re

import pytest
import requests
from requests_toolbelt import MultipartEncoder

from batches_ext.errors import (
    APIConnectionError,
    InputError,
)

from ..conftest import error_payload

# ------------------------------------------------------------------ retry policy (pure)


def _parts(body: bytes, content_type: str) -> dict[str, bytes]:
    boundary = content_type.split("boundary=")[1].encode()
    out = {}
    for part in body.split(b"--" + boundary)[1:-1]:
        head, _, value = part.partition(b"\r\n\r\n")
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        if b'filename="' in head:
            out["filename"] = head.split(b'filename="')[1].split(b'"')[0]
        out[name] = value[:-2]
    return out


FILE = {"id": "file-1", "object": "file", "bytes": 3, "created_at": 1, "filename": "in.jsonl", "purpose": "batch",
        "status": "processed", "expires_at": None}
EMPTY = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}  # the intent lookup


def _posts(adapter) -> list[dict[str, bytes]]:
    return [_parts(s.body, s.headers["Content-Type"]) for s in adapter.seen if s.method == "POST"]


def _named(filename: bytes, stem: str) -> bool:
    """The server-side name: the stem, 8 random hex digits, the suffix (so a lost upload can be found again)."""
    return re.fullmatch(rb"%s\.[0-9a-f]{8}\.jsonl" % re.escape(stem.encode()), filename) is not None


def test_upload_bytes_is_multipart_with_purpose_and_default_filename(scripted, adapter):
    adapter.queue(200, FILE)
    f = scripted.upload_file(b'{"a":1}\n')
    seen = adapter.seen[0]
    parts = _parts(seen.body, seen.headers["Content-Type"])
    assert parts["purpose"] == b"batch" and parts["file"] == b'{"a":1}\n' and _named(parts["filename"], "input")
    assert "Idempotency-Key" in seen.headers and f.id == "file-1"


def test_upload_is_streamed_by_an_encoder(scripted, monkeypatch, tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"x\n" * 10)
    bodies = []

    def fake_request(method, url, data=None, **kw):
        if method == "POST":
            bodies.append(data)
        raise requests.ConnectionError("stop")

    monkeypatch.setattr(scripted._session, "request", fake_request)
    with pytest.raises(APIConnectionError):
        scripted.upload_file(path)
    # one attempt; then each retry's lookup for the lost upload fails too, so nothing is sent twice
    assert len(bodies) == 1 and not isinstance(bodies[0], (bytes, bytearray))
    first = bodies[0].read(10)
    assert hasattr(bodies[0], "read") and len(first) == 10  # read piece by piece, never held whole


def test_an_upload_body_comes_from_a_fresh_encoder_per_attempt(scripted, monkeypatch, tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"x\n" * 10)
    made = []
    real = MultipartEncoder.__init__

    def counting(self, *a, **kw):
        made.append(self)
        real(self, *a, **kw)

    monkeypatch.setattr(MultipartEncoder, "__init__", counting)
    monkeypatch.setattr(scripted._session, "request", lambda *a, **kw: (_ for _ in ()).throw(
        requests.ConnectTimeout("connect timed out")))  # never sent: retried without a lookup
    with pytest.raises(APIConnectionError, match="cannot connect to https://api.test/v1: connection timed out"):
        scripted.upload_file(path)
    assert len(made) == 3


def test_upload_path_is_reopened_for_each_retry(scripted, adapter, tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_bytes(b'{"n":1}\n')
    adapter.queue(500, error_payload("boom")).queue(200, EMPTY).queue(200, FILE)
    scripted.upload_file(path, purpose="batch")
    bodies = _posts(adapter)
    assert [b["file"] for b in bodies] == [b'{"n":1}\n'] * 2 and _named(bodies[1]["filename"], "mine")
    assert bodies[0]["filename"] == bodies[1]["filename"]  # one intent for the whole call
    lookup = adapter.seen[1]
    assert lookup.method == "GET" and "/files?" in lookup.url and "order=desc" in lookup.url
    assert "purpose=batch" in lookup.url
    keys = {s.headers["Idempotency-Key"] for s in adapter.seen if s.method == "POST"}
    assert len(keys) == 1


def test_upload_seekable_file_is_rewound_and_named(scripted, adapter):
    fileobj = io.BytesIO(b"HEAD" + b'{"k":2}\n')
    fileobj.read(4)  # the caller's position is where the upload starts
    adapter.queue(503, b"").queue(200, EMPTY).queue(200, FILE)
    scripted.upload_file(fileobj, filename="named.jsonl")
    bodies = _posts(adapter)
    assert [b["file"] for b in bodies] == [b'{"k":2}\n'] * 2 and _named(bodies[0]["filename"], "named")


class _Pipe(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seekable(self) -> bool:
        return False


def test_upload_unseekable_stream_is_spooled_then_retried(scripted, adapter):
    adapter.queue(500, error_payload("boom")).queue(200, EMPTY).queue(200, FILE)
    scripted.upload_file(_Pipe(b'{"a":1}\n'))
    bodies = _posts(adapter)
    assert [b["file"] for b in bodies] == [b'{"a":1}\n'] * 2 and _named(bodies[0]["filename"], "input")


def test_upload_real_file_object_resumes_from_its_position(scripted, adapter, tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"skip\n" + b'{"z":0}\n')
    adapter.queue(500, error_payload("boom")).queue(200, EMPTY).queue(200, FILE)
    with open(path, "rb") as fileobj:
        fileobj.readline()
        scripted.upload_file(fileobj)
        assert not fileobj.closed
    bodies = _posts(adapter)
    assert [b["file"] for b in bodies] == [b'{"z":0}\n'] * 2 and _named(bodies[0]["filename"], "f")


def test_upload_rejects_text_mode_and_missing_paths(scripted, adapter, tmp_path):
    with pytest.raises(InputError, match="'rb'"):
        scripted.upload_file(io.StringIO("x"))
    with pytest.raises(InputError, match="no such file"):
        scripted.upload_file(tmp_path / "absent.jsonl")
    assert adapter.seen == []


def test_a_path_may_start_with_the_home_folder(scripted, adapter, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "home.jsonl").write_bytes(b'{"h":1}\n')
    adapter.queue(200, FILE)
    scripted.upload_file("~/home.jsonl")
    [body] = _posts(adapter)
    assert body["file"] == b'{"h":1}\n' and _named(body["filename"], "home")
