"""Download streams: lines split exactly as the text says however the chunks fall (and in time linear in the
data: see bench/bench_client_lines.py for the figure), and the progress rule that cuts a stalled download but
lets a slow, steady one run past the call's deadline.
"""

from __future__ import annotations

import random

import pytest

from batches_ext.client import BatchesClient
from batches_ext.client.streams import iter_lines
from batches_ext.errors import APITimeoutError, InputError

from ..conftest import CANARY
from .hostile_server import hostile_server


def expected_lines(data: bytes) -> list[str]:
    """What the lines of `data` are: split on \\n, one trailing \\r dropped, no empty last line."""
    lines = data.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def chunked(data: bytes, rng: random.Random, most: int) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, most)
        out.append(data[i:i + n])
        i += n
    return out


SAMPLES = [
    b"",
    b"one",
    b"one\n",
    b"\n\n\n",
    b"a\r\nb\r\n\r\nlast\r",
    '{"é":1}\r\n{"b":"ü😀"}\n\nend'.encode(),
    b"x" * 70_000 + b"\n" + b"y" * 3 + b"\r\n" + b"z" * 200_000,
    "\r\n".join("ligne " + "ß" * i for i in range(200)).encode(),
]


@pytest.mark.parametrize("data", SAMPLES, ids=range(len(SAMPLES)))
def test_lines_are_the_same_however_the_chunks_fall(data):
    rng = random.Random(7)
    want = expected_lines(data)
    for most in (1, 2, 3, 7, 64, 4096, 65_536):
        if len(data) / most > 20_000:  # byte-sized chunks of the big samples: slow, and nothing new
            continue
        for _ in range(5 if most < 64 else 1):
            assert list(iter_lines(iter(chunked(data, rng, most)))) == want


def test_one_long_line_arriving_in_many_chunks_is_one_line():
    line = b'{"custom_id":"big","pad":"' + b"p" * (8 * 1024 * 1024) + b'"}'
    chunks = [line[i:i + 65536] for i in range(0, len(line), 65536)] + [b"\n", b"tail"]
    assert [len(x) for x in iter_lines(iter(chunks))] == [len(line), 4]


@pytest.mark.parametrize("most", [1, 3, 64])
def test_invalid_utf8_names_the_same_line_however_the_chunks_fall(most):
    data = b"ok\n" * 40 + "é\n".encode() + b"bad \xc3( here\nafter\n"
    rng = random.Random(most)
    for _ in range(10):
        with pytest.raises(InputError, match=r"file f-1 is not valid UTF-8 \(line 42\)") as caught:
            list(iter_lines(iter(chunked(data, rng, most)), "f-1"))
        assert caught.value.line == 42


def test_lines_before_the_bad_byte_are_yielded_first():
    seen = []
    with pytest.raises(InputError, match=r"line 3"):
        for line in iter_lines(iter([b"a\nb\n", b"\xff\n"])):
            seen.append(line)
    assert seen == ["a", "b"]


# ------------------------------------------------------------------ the progress rule on a real socket


def test_a_stalled_download_is_cut_after_timeout_without_progress():
    with hostile_server() as server:
        client = BatchesClient(api_key=CANARY, base_url=server.url("trickle"), timeout=0.5, max_retries=0,
                               deadline=60)
        chunks = client.file_content("file-1")  # the headers come at once: the call itself succeeds
        with pytest.raises(APITimeoutError, match=r"the download stalled \(65,536 bytes did not arrive within 0\.5 s"):
            list(chunks)


def test_a_slow_but_steady_download_may_outlast_the_deadline():
    """30 blocks of 64 KiB, one every 0.1 s (3 s in all), on a call whose deadline is 1 s: each block comes
    well within the 5 s timeout, so the download completes."""
    with hostile_server() as server:
        client = BatchesClient(api_key=CANARY, base_url=server.url("drip/30"), timeout=5, max_retries=0,
                               deadline=1.0)
        lines = list(client.iter_file_lines("file-1"))
    assert len(lines) == 30 and all(line.startswith('{"custom_id":"x"}') for line in lines)


def test_time_spent_by_the_reader_between_chunks_does_not_count():
    with hostile_server() as server:
        client = BatchesClient(api_key=CANARY, base_url=server.url("drip/2"), timeout=1.0, max_retries=0,
                               deadline=30)
        got = 0
        for chunk in client.file_content("file-1"):
            got += len(chunk)
            server.stopping.wait(1.3)  # longer than the timeout, while the client holds the chunk: not a stall
    assert got == 2 * 64 * 1024
