"""The fake's own HTTP vocabulary: `Request`, `Response` and `DropConnection`.

Every door (requests adapter, httpx/httpx2 transport, loopback server) translates its
library's request into a `Request`, calls `FakeBatchesAPI.handle`, and translates the
`Response` back. Nothing here imports requests, httpx or httpx2, so the handler cannot
drift with a client library.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from .errors import ApiError

__all__ = ["Request", "Response", "DropConnection", "CappedBody", "too_large", "json_response", "Handles"]


class DropConnection(Exception):
    """Raised by the handler to make a door drop the connection with no response.

    `after_commit` is True when the request *was* carried out (the batch exists) and only
    the response is lost: the fault that proves a client's Idempotency-Key handling.
    Doors turn it into their library's connection error (requests.ConnectionError,
    httpx.RemoteProtocolError) or, on the loopback server, a closed socket.
    """

    def __init__(self, after_commit: bool = False) -> None:
        super().__init__("connection dropped by fault injection" + (" after commit" if after_commit else ""))
        self.after_commit = after_commit


@dataclass
class Request:
    """An incoming request. `path` is the URL path (e.g. ``/v1/batches``); `query` the raw query string.

    `headers` keys are lower-cased. `body` is bytes or an iterable of byte chunks (streamed uploads);
    call `read()` for all of it or `iter_body()` to stream it.
    """

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {k.lower(): v for k, v in self.headers.items()}

    @property
    def params(self) -> dict[str, str]:
        """Query parameters; the last value wins for a repeated name."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def iter_body(self, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        if isinstance(self.body, (bytes, bytearray, memoryview)):
            data = bytes(self.body)
            for i in range(0, len(data), chunk_size):
                yield data[i : i + chunk_size]
            return
        for chunk in self.body:
            if chunk:
                yield chunk.encode() if isinstance(chunk, str) else bytes(chunk)

    def read(self) -> bytes:
        if isinstance(self.body, (bytes, bytearray, memoryview)):
            return bytes(self.body)
        self.body = b"".join(self.iter_body())
        return self.body


class CappedBody:
    """A request body that may not pass `limit` bytes: iterating it past the limit raises a 413 `ApiError`.

    `finished` is True once the whole body was read; a door must close a connection whose body was left
    unread (a refused 10 GB upload is never drained). Errors from the underlying source (a 408 read
    timeout from the loopback door) pass through unchanged.
    """

    def __init__(self, source: bytes | Iterable[bytes], limit: int, what: str) -> None:
        self._source = source
        self.limit, self.what = limit, what
        self.received = 0
        self.finished = False

    def __iter__(self) -> Iterator[bytes]:
        source = self._source
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = [bytes(source)]
        for chunk in source:
            if not chunk:
                continue
            data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
            self.received += len(data)
            if self.received > self.limit:
                raise too_large(self.what, self.received, self.limit, at_least=True)
            yield data
        self.finished = True


def too_large(what: str, size: int, limit: int, *, at_least: bool = False) -> ApiError:
    """The 413 of a request body past its route's limit."""
    more = "more than " if at_least else ""
    return ApiError(413, f"Request body too large for {what}: {more}{size:,} bytes; the limit is {limit:,} bytes.",
                    code="request_too_large")


@dataclass
class Response:
    """What the handler answers. `body` is bytes, or an iterable of chunks for file downloads.

    `close`: the request body was not read to its end (refused before or while reading it), so a door
    must close the connection instead of draining the rest.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    close: bool = False

    def iter_body(self) -> Iterator[bytes]:
        if isinstance(self.body, (bytes, bytearray)):
            if self.body:
                yield bytes(self.body)
            return
        yield from self.body

    def read(self) -> bytes:
        if not isinstance(self.body, (bytes, bytearray)):
            self.body = b"".join(self.iter_body())
        return bytes(self.body)

    def json(self) -> Any:
        return json.loads(self.read())


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    all_headers = {"content-type": "application/json", "content-length": str(len(body))}
    all_headers.update(headers or {})
    return Response(status, all_headers, body)


class Handles(Protocol):
    """What a door serves: anything with `handle(Request) -> Response` (a FakeBatchesAPI, or its App)."""

    def handle(self, request: Request) -> Response: ...
