"""The API's error answers: `ApiError` (an HTTP status plus the envelope fields) and the one `envelope` builder.

Every error body the fake produces, on the wire or inside a result file, is
``{"error": {"message", "type", "param", "code"}}`` with all four keys present (reference §5, §9.14);
`envelope` is the only place that shape is written.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "envelope", "INVALID_REQUEST", "SERVER_ERROR"]

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"


def envelope(message: str, *, type: str = INVALID_REQUEST, param: str | None = None,
             code: str | None = None) -> dict[str, Any]:
    """The API's 4-key error body; `param` and `code` are explicit nulls when unset."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class ApiError(Exception):
    """An error answer of the API: `status` plus the envelope fields (and extra headers, e.g. `retry-after`).
    Raised by the backend and the handler."""

    def __init__(self, status: int, message: str, *, type: str = INVALID_REQUEST, param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = dict(headers or {})  # extra response headers, e.g. retry-after on a 429

    def envelope(self) -> dict[str, Any]:
        return envelope(self.message, type=self.type, param=self.param, code=self.code)

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.message!r}, type={self.type!r}, param={self.param!r}, code={self.code!r})"
