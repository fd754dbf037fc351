"""The requests door: `FakeAdapter`, a transport adapter that answers from the fake, and `mount`.

A request body (bytes, a file, a generator, a MultipartEncoder) is read in chunks; the answer is a
real `urllib3.HTTPResponse` over the fake's body stream, so `iter_content` streams. A dropped
connection becomes `requests.exceptions.ConnectionError`; a slow answer past the read timeout a
`ReadTimeout`. No sockets are opened.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter

from ._door import (
    CHUNK,
    DEFAULT_BASE_URL,
    api_path,
    base_path_of,
    bodiless_if_head,
    close_body,
    reason_phrase,
)
from .wire import DropConnection, Handles, Request

__all__ = ["FakeAdapter", "mount", "requests_session"]


class _ChunkReader:
    """A read-only file over an iterator of chunks, for `urllib3.HTTPResponse(body=...)`.

    `closed` turns True at EOF: urllib3's `stream()` loops until the fp looks closed, so without
    it `iter_content(None)` never ends (requests-mock #124).
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._source = chunks
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = b""
        self.closed = False

    def _next(self) -> bytes:
        for chunk in self._it:
            if chunk:
                return bytes(chunk)
        self.close()
        return b""

    def read(self, amt: int | None = None) -> bytes:
        if self.closed and not self._buf:
            return b""
        if amt is None or amt < 0:
            parts = [self._buf] if self._buf else []
            self._buf = b""
            while chunk := self._next():
                parts.append(chunk)
            return b"".join(parts)
        while len(self._buf) < amt and not self.closed:
            chunk = self._next()
            self._buf += chunk
        data, self._buf = self._buf[:amt], self._buf[amt:]
        if not self._buf and not self.closed:
            # Peek so a read that ends the stream also marks it closed.
            self._buf = self._next()
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            close = getattr(self._source, "close", None)
            if callable(close):
                close()


def _iter_request_body(body: Any) -> Iterator[bytes]:
    """A PreparedRequest body as chunks: None, bytes, str, a file (`.read(n)`), or an iterable."""
    if body is None:
        return
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        for i in range(0, len(data), CHUNK):
            yield data[i : i + CHUNK]
        return
    if hasattr(body, "read"):  # a file, or requests-toolbelt's MultipartEncoder
        while chunk := body.read(CHUNK):
            yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
        return
    for chunk in body:
        if chunk:
            yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)


def _str_headers(headers: Any) -> dict[str, str]:
    return {k: v.decode("latin-1") if isinstance(v, bytes) else str(v) for k, v in headers.items()}


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else timeout[0]
    return float(timeout) if isinstance(timeout, (int, float)) else None


class FakeAdapter(BaseAdapter):
    """A requests transport adapter that answers from `fake.handle` instead of the network."""

    def __init__(self, fake: Handles, base_path: str = "/v1") -> None:
        super().__init__()
        self.fake = fake
        self.base_path = base_path

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = _iter_request_body(request.body)
        wire = Request(
            request.method or "GET", api_path(url.path or "/", self.base_path), url.query,
            _str_headers(request.headers), body
        )
        started = time.monotonic()
        try:
            answer = bodiless_if_head(wire.method, self.fake.handle(wire))
        except DropConnection as err:
            for _ in body:  # the request was sent whole before the connection dropped
                pass
            reason = urllib3.exceptions.ProtocolError(
                "Connection aborted.",
                http.client.RemoteDisconnected(f"Remote end closed connection without response ({err})"),
            )
            raise requests.exceptions.ConnectionError(reason, request=request) from None
        else:
            if answer.status != 413:  # a body refused for its size is not read to its end
                for _ in body:  # drain what the handler left (requests-mock #19)
                    pass
        limit = _read_timeout(timeout)
        if limit is not None and time.monotonic() - started > limit:
            close_body(answer.body)
            raise requests.exceptions.ReadTimeout(f"Read timed out. (read timeout={limit})", request=request)
        raw = urllib3.HTTPResponse(
            body=_ChunkReader(answer.iter_body()),  # type: ignore[arg-type]
            headers=answer.headers,
            status=answer.status,
            reason=reason_phrase(answer.status),
            preload_content=False,
            decode_content=False,
            request_method=wire.method,
            request_url=request.url,
        )
        return HTTPAdapter.build_response(self, request, raw)  # type: ignore[arg-type]

    def close(self) -> None:
        pass


def mount(fake: Handles, session: requests.Session, base_url: str = DEFAULT_BASE_URL) -> requests.Session:
    """Mount a `FakeAdapter` on the scheme and host of `base_url` (e.g. ``https://api.openai.com/``)."""
    parts = urlsplit(base_url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"base_url needs a scheme and a host, not {base_url!r}")
    session.mount(f"{parts.scheme}://{parts.netloc}/", FakeAdapter(fake, base_path_of(base_url)))
    return session


def requests_session(fake: Handles, base_url: str = DEFAULT_BASE_URL) -> requests.Session:
    """A new `requests.Session` whose calls to `base_url`'s host go to `fake`."""
    return mount(fake, requests.Session(), base_url)
