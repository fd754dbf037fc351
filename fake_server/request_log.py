"""The fake's request log: what each request was and how it was answered, bounded, never with credentials.

Each entry keeps the method, path, query, status, request id, simulated time, processing time and the
headers of an allow-list (`KEPT_HEADERS`, plus the SDK's `x-stainless-*` telemetry): content-type,
content-length, transfer-encoding, accept, accept-encoding, user-agent, openai-organization, openai-project,
openai-beta, idempotency-key, x-stainless-*. Any other header is dropped, so no credential-bearing header
(Authorization, Proxy-Authorization, api-key, x-api-key, cookie, or one nobody foresaw) is ever kept. At most
`MAX_HEADERS` are kept, values cut at `MAX_HEADER_CHARS` (with an ellipsis). The log holds at most `max_recorded`
entries and at most `max_bytes` bytes of recorded text, dropping the oldest first, so a flood of requests
with huge or ever-new headers cannot grow the fake's memory.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from dataclasses import dataclass

from .wire import Request

__all__ = ["RecordedRequest", "RequestLog", "KEPT_HEADERS", "KEPT_HEADER_PREFIX", "MAX_HEADERS", "MAX_HEADER_CHARS"]

#: The only headers the log keeps (lower-case), besides those starting with `KEPT_HEADER_PREFIX`.
KEPT_HEADERS = frozenset({
    "content-type", "content-length", "transfer-encoding", "accept", "accept-encoding", "user-agent",
    "openai-organization", "openai-project", "openai-beta", "idempotency-key",
})
KEPT_HEADER_PREFIX = "x-stainless-"  # the official SDK's telemetry (x-stainless-retry-count, -lang, -os, ...)
MAX_HEADERS = 32
MAX_HEADER_CHARS = 256
_MAX_NAME_CHARS = 64
_MAX_PATH_CHARS = 2048
_ENTRY_OVERHEAD = 200  # bytes an entry costs beyond its text (objects, ids, numbers)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kept_headers(headers: dict[str, str]) -> tuple[dict[str, str], int]:
    """The headers the log keeps (interned where short: the same few values repeat) and their characters."""
    kept: dict[str, str] = {}
    chars = 0
    for name, value in headers.items():
        name = name.lower()
        if len(name) > _MAX_NAME_CHARS or not (name in KEPT_HEADERS or name.startswith(KEPT_HEADER_PREFIX)):
            continue
        if len(kept) >= MAX_HEADERS:
            break
        value = sys.intern(value) if len(value) <= 64 else _cut(value, MAX_HEADER_CHARS)
        kept[sys.intern(name)] = value
        chars += len(name) + len(value)
    return kept, chars


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, with only the allow-listed headers (never a credential)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int | None  # None: the connection was dropped before an answer
    request_id: str
    at: float  # simulated time (the fake's clock)
    ms: float = 0.0  # processing time, real milliseconds

    def size(self) -> int:
        """Roughly the bytes this entry holds."""
        text = len(self.path) + len(self.query) + sum(len(k) + len(v) for k, v in self.headers.items())
        return text + _ENTRY_OVERHEAD


class RequestLog:
    """The last `max_recorded` requests (and at most `max_bytes` of them), oldest first (thread-safe)."""

    def __init__(self, max_recorded: int = 10_000, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.max_recorded = max_recorded
        self.max_bytes = max_bytes
        self._entries: deque[tuple[RecordedRequest, int]] = deque()  # with each entry's size
        self._bytes = 0
        self._lock = threading.Lock()

    def record(self, request: Request, status: int | None, request_id: str, at: float, ms: float = 0.0) -> None:
        headers, chars = _kept_headers(request.headers)
        path, query = _cut(request.path, _MAX_PATH_CHARS), _cut(request.query, _MAX_PATH_CHARS)
        entry = RecordedRequest(request.method, path, query, headers, status, request_id, at, round(ms, 3))
        size = len(path) + len(query) + chars + _ENTRY_OVERHEAD
        with self._lock:
            self._entries.append((entry, size))
            self._bytes += size
            while self._entries and (len(self._entries) > self.max_recorded or self._bytes > self.max_bytes):
                self._bytes -= self._entries.popleft()[1]

    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return [entry for entry, _ in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        """The recorded text the log holds now (approximate, per entry)."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"RequestLog({len(self)} of at most {self.max_recorded}, {self.bytes:,} of {self.max_bytes:,} bytes)"
