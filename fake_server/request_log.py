"""The fake's request log: what each request was and how it was answered, bounded, never with credentials."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from .wire import Request

__all__ = ["RecordedRequest", "RequestLog", "SECRET_HEADERS"]

#: Headers the log never keeps.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received. The Authorization header is never kept."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int | None  # None: the connection was dropped before an answer
    request_id: str
    at: float


class RequestLog:
    """The last `max_recorded` requests, oldest first (thread-safe)."""

    def __init__(self, max_recorded: int = 100_000) -> None:
        self.max_recorded = max_recorded
        self._entries: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._lock = threading.Lock()

    def record(self, request: Request, status: int | None, request_id: str, at: float) -> None:
        headers = {k: v for k, v in request.headers.items() if k not in SECRET_HEADERS}
        entry = RecordedRequest(request.method, request.path, request.query, headers, status, request_id, at)
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"RequestLog({len(self)} of at most {self.max_recorded})"
