"""Reading a file download: the response body as byte chunks, and those chunks as text lines.

Both stream (nothing is held whole). A connection lost mid-body is an APIConnectionError; content that is
not UTF-8 is an InputError naming its line.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import requests

from ..errors import APIConnectionError, InputError

__all__ = ["iter_chunks", "iter_lines"]


def iter_chunks(response: requests.Response, chunk_size: int) -> Iterator[bytes]:
    """The body of a streamed response, chunk by chunk; the response is closed at the end or on error."""
    try:
        failed = False
        try:
            for chunk in response.iter_content(chunk_size):
                if chunk:
                    yield chunk
        except requests.RequestException as exc:
            failed, name = True, type(exc).__name__
        if failed:
            raise APIConnectionError(f"Connection lost while downloading {response.url} ({name})") from None
    finally:
        response.close()


def iter_lines(chunks: Iterator[bytes], file_id: str = "") -> Iterator[str]:
    """UTF-8 text lines of the chunks, without their line endings (\n or \r\n), as the chunks arrive."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending, done = "", 0
    for chunk in chunks:
        pending += _decode(decoder, chunk, file_id, done + pending.count("\n"))
        if "\n" in pending:
            *complete, pending = pending.split("\n")
            for line in complete:
                done += 1
                yield line[:-1] if line.endswith("\r") else line
    pending += _decode(decoder, b"", file_id, done + pending.count("\n"), final=True)
    if pending:
        yield pending[:-1] if pending.endswith("\r") else pending


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, file_id: str, before: int, final: bool = False) -> str:
    """Decode one chunk; invalid UTF-8 is an InputError naming its line (`before`: lines already complete)."""
    try:
        return decoder.decode(chunk, final)
    except UnicodeDecodeError as err:
        line = before + chunk[: max(err.start, 0)].count(b"\n") + 1
        where = f"{file_id} " if file_id else ""
        raise InputError(f"file {where}is not valid UTF-8 (line {line})", line=line) from None
