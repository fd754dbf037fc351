"""Uploads: oversized, lying or cut bodies and conflicting lengths are refused without filling memory or disk and
without hanging anyone.
"""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
import requests

from fake_server import FakeBatchesAPI, ManualClock
from tests.reliability.conftest import bounded_or_long
from tests.reliability.security.probes import (
    FILE_FIRST,
    HEAD,
    KEY,
    LINE,
    MULTIPART,
    PURPOSE_LAST,
    raw_request,
    stream_upload,
)


@pytest.mark.parametrize("megabytes", bounded_or_long(210, 600))
@pytest.mark.parametrize("order", ["purpose-first", "purpose-last"])
def test_an_oversized_upload_is_refused_in_constant_memory(megabytes: int, order: str, spill, report) -> None:
    """A body over the real 200 MB batch limit, streamed from a generator: a 400 "File is too large." in the
    envelope, nothing stored, no spill file left, and a small peak of Python memory (client + fake, in-process).
    With purpose sent last the fake cannot know the limit until the end: it spills to disk, then refuses."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    chunk = (json.dumps(LINE).encode() + b"\n") * (1024 * 1024 // 120)

    def body():
        yield HEAD if order == "purpose-first" else FILE_FIRST
        for _ in range(megabytes * 1024 * 1024 // len(chunk) + 1):
            yield chunk
        yield b"\r\n--bnd--\r\n" if order == "purpose-first" else PURPOSE_LAST

    with fake.serve() as server:
        answer, elapsed, peak = stream_upload(server, body())
        after = requests.get(server.base_url + "/files", headers=MULTIPART)  # still serving, nothing listed
    assert answer.status_code == 400 and answer.json() == {"error": {
        "message": "File is too large.", "type": "invalid_request_error", "param": "file", "code": None}}
    assert after.json()["data"] == [] and fake.files() == [] and spill["left"]() == []
    # purpose first: refused at 200 MB, after spilling the first 8 MB; purpose last: all of it spilled, then refused
    assert spill["made"] == 1
    report.add("security", f"oversized upload ({order}, {megabytes} MB) refused in", elapsed, "s")
    report.add("security", f"oversized upload peak memory ({order})", peak, "MB")
    assert peak < 32


def test_an_oversized_text_field_is_refused_in_constant_memory(report) -> None:
    """A 24 MB `purpose` field (a text part, no filename): refused with a small 400, in small memory."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])

    def body():
        yield b'--bnd\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
        for _ in range(24):
            yield b"b" * (1 << 20)
        yield b"\r\n--bnd--\r\n"

    with fake.serve() as server:
        answer, _, peak = stream_upload(server, body())
    report.add("security", "oversized text field peak memory", peak, "MB")
    assert answer.status_code == 400 and fake.files() == []
    assert peak < 32, peak
    assert len(answer.content) < 64 * 1024, len(answer.content)  # and the field is not echoed back whole


def test_lying_and_truncated_uploads_store_nothing_and_hang_no_one(spill, report) -> None:
    """A Content-Length larger than the body, a huge declared length, a chunk cut short, a missing last chunk,
    a bad chunk size, a Content-Length shorter than the body, a negative one: each is answered with a 4xx or a
    closed connection well within the socket timeout, stores nothing and leaves no spill file; a client that
    sends half a body and then stalls blocks no one else."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    partial = HEAD + json.dumps(LINE).encode()
    whole = HEAD + json.dumps(LINE).encode() + b"\n\r\n--bnd--\r\n"
    cases = {
        "length larger than body": (b"Content-Length: 100000\r\n", partial),
        "length of 10 GB": (b"Content-Length: 10000000000\r\n", partial),
        "chunk cut short": (b"Transfer-Encoding: chunked\r\n", f"{len(partial) + 500:x}\r\n".encode() + partial),
        "no last chunk": (b"Transfer-Encoding: chunked\r\n", f"{len(whole):x}\r\n".encode() + whole + b"\r\n"),
        "bad chunk size": (b"Transfer-Encoding: chunked\r\n", b"zz\r\n" + whole),
        "length shorter than body": (f"Content-Length: {len(whole) - 20}\r\n".encode(), whole),
        "negative length": (b"Content-Length: -5\r\n", whole),
    }
    with fake.serve() as server:
        stalled = socket.create_connection((server.host, server.port), timeout=5)
        stalled.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                        b"\r\nContent-Type: multipart/form-data; boundary=bnd\r\nContent-Length: 100000\r\n\r\n" +
                        partial)
        for name, (head, body) in cases.items():
            started = time.perf_counter()
            reply = raw_request(server, head, body)
            assert time.perf_counter() - started < 3, name
            assert reply == b"" or re.match(rb"HTTP/1\.1 4\d\d ", reply), (name, reply[:200])
            if reply:
                assert b'"error"' in reply, name
        # the stalled client still holds its connection: everyone else is served
        listed = requests.get(server.base_url + "/files", headers=MULTIPART, timeout=5)
        assert listed.status_code == 200 and listed.json()["data"] == []
        stalled.close()
    assert fake.files() == [] and spill["left"]() == []
    report.add("security", "truncated / lying uploads refused", len(cases) + 1)


def test_conflicting_content_lengths_are_refused() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    whole = HEAD + json.dumps(LINE).encode() + b"\n\r\n--bnd--\r\n"
    with fake.serve() as server:
        reply = raw_request(server, f"Content-Length: 5\r\nContent-Length: {len(whole)}\r\n".encode(), whole)
    assert reply.startswith(b"HTTP/1.1 400 ") and fake.files() == []
