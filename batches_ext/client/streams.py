"""Reading a file download: the response body as byte chunks, and those chunks as text lines.

Both stream (nothing is held whole). A connection lost mid-body is an APIConnectionError; a download that
stops making progress (no chunk within `stall` seconds) is cut by its watch and is an APITimeoutError; content
that is not UTF-8 is an InputError naming its line. Splitting lines costs time linear in the data, however long
a line is (a 32 MB line is scanned once, not once per chunk).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import requests

from ..errors import APIConnectionError, APITimeoutError, InputError
from .deadline import Watch

__all__ = ["iter_chunks", "iter_lines"]


def iter_chunks(response: requests.Response, chunk_size: int, *, watch: Watch | None = None,
                stall: float | None = None, what: str = "the download") -> Iterator[bytes]:
    """The body of a streamed response, chunk by chunk; the response is closed at the end or on error.

    With a `watch`, each chunk must arrive within `stall` seconds (the clock stops while the caller holds a
    chunk); otherwise the connection is cut and APITimeoutError raised.
    """
    chunks = response.iter_content(chunk_size)
    failed: str | None = None
    try:
        while True:
            if watch is not None and stall is not None:
                watch.arm(stall)
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except requests.RequestException:
                failed = "the connection broke off mid-download"
                break
            finally:
                if watch is not None:
                    watch.pause()
            if chunk:
                yield chunk
        if watch is not None and watch.fired:
            raise APITimeoutError(f"{what}: the download stalled ({chunk_size:,} bytes did not arrive within "
                                  f"{stall:g} s)")
        if failed is not None:
            raise APIConnectionError(f"{what}: {failed}")
    finally:
        if watch is not None:
            watch.finish()
        response.close()


def iter_lines(chunks: Iterator[bytes], file_id: str = "") -> Iterator[str]:
    """UTF-8 text lines of the chunks, without their line endings (\\n or \\r\\n), as the chunks arrive."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    partial: list[str] = []  # pieces of the line not yet ended, joined once when it ends
    done = 0
    for chunk in chunks:
        text = _decode(decoder, chunk, file_id, done)
        start = 0
        while (end := text.find("\n", start)) != -1:
            partial.append(text[start:end])
            line = "".join(partial)
            partial.clear()
            done += 1
            yield line[:-1] if line.endswith("\r") else line
            start = end + 1
        if start < len(text):
            partial.append(text[start:])
    partial.append(_decode(decoder, b"", file_id, done, final=True))
    last = "".join(partial)
    if last:
        yield last[:-1] if last.endswith("\r") else last


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, file_id: str, before: int, final: bool = False) -> str:
    """Decode one chunk; invalid UTF-8 is an InputError naming its line (`before`: lines already complete)."""
    try:
        return decoder.decode(chunk, final)
    except UnicodeDecodeError as err:
        line = before + chunk[: max(err.start, 0)].count(b"\n") + 1
        where = f"{file_id} " if file_id else ""
        raise InputError(f"file {where}is not valid UTF-8 (line {line})", line=line) from None
