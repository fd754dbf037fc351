"""Every exception batches_ext raises, in one tree.

    BatchesError                          root: `except BatchesError` catches everything below
    ├── ConfigError                       bad or missing settings (e.g. no API key)
    ├── MissingDependency (ImportError)   an optional extra is not installed (the message says what to install)
    ├── InputError (also a ValueError)    bad input: JSONL / preflight problems (.line 1-based, .problems:
    │                                     `Problem`s), a bad argument, a path that cannot be written
    ├── JobError                          a job helper could not finish (.job: the Job so far, if any)
    │   └── WaitTimeout                   wait(..., timeout=) ran out (.batch: last state seen)
    ├── BatchesWarning (UserWarning)      a warning, not raised: e.g. a job's inputs may expire before its
    │                                     last part can be created
    ├── APIConnectionError                no HTTP answer (DNS, refused, dropped) (.method, .url)
    │   └── APITimeoutError               connect or read timeout, or the call's deadline passed
    ├── APIResponseError                  a 2xx answer that is not what the API sends (not JSON, wrong shape or
    │                                     types) or a redirect that is not followed (.status_code, .request_id)
    └── APIStatusError                    the API answered 4xx/5xx (.status_code, .type, .code,
        │                                 .param, .request_id, .message)
        ├── BadRequestError               400
        ├── AuthenticationError           401
        ├── PermissionDeniedError         403
        ├── NotFoundError                 404
        ├── ConflictError                 409
        ├── UnprocessableEntityError      422
        ├── RateLimitError                429
        └── InternalServerError           >= 500

Every exception batches_ext raises on purpose is one of these (an `InputError` is also a `ValueError`, as
requests does for its value errors, so `except ValueError` keeps working); `Problem` is one broken input
rule, as `preflight` reports it.

`str(err)` of an API error is one line: ``404 Not Found: No such File object: file-x (request req_abc)``.
No exception here ever holds an API key, an Authorization header, or a `requests` object (whose
PreparedRequest would carry the header): only plain strings and numbers. Whatever a server sends back (the
message, `type`, `code`, `param`, the request id) passes through `redact` first, so a server that echoes the
key shows `sk-***`; each field is one line and bounded in length.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

__all__ = [
    "Problem",
    "BatchesError",
    "ConfigError",
    "MissingDependency",
    "InputError",
    "JobError",
    "WaitTimeout",
    "BatchesWarning",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "status_error",
    "redact",
]

_FIELD_CHARS = 200  # type, code, param, request id
_PIECE = 8  # the shortest run of the key's characters that is redacted on its own
_MESSAGE_CHARS = 1000



@dataclass(frozen=True)
class Problem:
    """One broken input rule: `line` is 1-based (None for the whole file); `code` follows the server's codes."""

    line: int | None
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


class BatchesError(Exception):
    """Root of every batches_ext exception."""


class ConfigError(BatchesError):
    """Settings are missing or invalid (for example no API key anywhere)."""


class MissingDependency(BatchesError, ImportError):  # noqa: N818 - reads as what it is, like requests' names
    """An optional extra is not installed (pandas for `to_pandas()`, ...); also an `ImportError`."""


class InputError(BatchesError, ValueError):
    """The input breaks a rule: JSONL lines or request bodies against the Batch API's, or a bad argument.

    `line` is the 1-based line of the first problem (None when not tied to a line);
    `problems` lists every `Problem` found.
    """

    def __init__(self, message: str, *, line: int | None = None, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.problems: list[Problem] = list(problems or [])


class JobError(BatchesError):
    """A job helper (submit / wait / results / retry_failed) could not finish; `job` is the Job as far as it
    got (e.g. the parts already created when a later part failed), or None; `unfinished` the batches that are
    not terminal yet when that is the reason (so a caller such as the magics can say what to run next)."""

    def __init__(self, message: str, *, job: Any = None, unfinished: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.job = job
        self.unfinished: list[Any] = list(unfinished or [])


class WaitTimeout(JobError):
    """`wait()` gave up before the batch (or job) reached a terminal status; `.batch` is the last state seen."""

    def __init__(self, message: str, *, batch: Any = None) -> None:
        super().__init__(message)
        self.batch = batch


class BatchesWarning(BatchesError, UserWarning):
    """What batches_ext warns about (`warnings.warn`, never raised): e.g. `submit` when a job's input files may
    expire before its last part can be created. Filter with `warnings.simplefilter("ignore", BatchesWarning)`."""


class APIConnectionError(BatchesError):
    """No HTTP answer: connection refused or dropped, DNS failure, TLS error..."""

    def __init__(self, message: str = "Connection error.", *, method: str | None = None, url: str | None = None):
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APITimeoutError(APIConnectionError):
    """The connect or read timeout expired."""

    def __init__(self, message: str = "Request timed out.", *, method: str | None = None, url: str | None = None):
        super().__init__(message, method=method, url=url)


class APIResponseError(BatchesError):
    """A 2xx answer that is not what the API sends: not JSON, not an object, a field missing or of the wrong type
    (`[]`, `null`, `"id": 5` ...), or a redirect answering a POST or DELETE (not followed: it would replay the
    request elsewhere). `str(err)` names the call, the status, the request id and what was wrong."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.message = " ".join(str(message).split())
        self.status_code = status_code
        self.request_id = request_id
        self.method = method
        self.url = url
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = dict(status_code=self.status_code, request_id=self.request_id, method=self.method, url=self.url)
        return (_rebuild_response_error, (self.message, kwargs))


def _rebuild_response_error(message: str, kwargs: dict[str, Any]) -> APIResponseError:
    return APIResponseError(message, **kwargs)


class APIStatusError(BatchesError):
    """The API answered with an error status; the `{"error": {...}}` envelope is unwrapped.

    `retry_after` is the delay in seconds the server asked for (Retry-After / retry-after-ms) when the error was
    not retried because of it (above 120 s, or past the call's deadline); `str(err)` then says when to try again.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        type: str | None = None,  # noqa: A002 - mirrors the envelope key
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = int(status_code)
        self.message = " ".join(str(message).split())  # one line
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(self._line())

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status_code).phrase
        except ValueError:
            return "Error"

    def _line(self) -> str:
        text = f"{self.status_code} {self.reason}: {self.message}"
        if self.retry_after is not None:
            text += f" (not retried: the server asks to wait {_seconds(self.retry_after)}; try again after that)"
        return f"{text} (request {self.request_id})" if self.request_id else text

    def __str__(self) -> str:
        return self._line()

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.status_code, self.message, self.type, self.code, self.param, self.request_id, self.retry_after)
        return (type(self), args)


class BadRequestError(APIStatusError):
    """400: the request is malformed (bad endpoint, completion_window, metadata, file format...)."""


class AuthenticationError(APIStatusError):
    """401: missing or invalid API key, or organization/project mismatch."""


class PermissionDeniedError(APIStatusError):
    """403: the key or project may not do this."""


class NotFoundError(APIStatusError):
    """404: unknown batch or file id, or unknown path."""


class ConflictError(APIStatusError):
    """409: e.g. cancelling a completed or failed batch. Never retried by batches_ext."""


class UnprocessableEntityError(APIStatusError):
    """422."""


class RateLimitError(APIStatusError):
    """429: rate limited (retried with Retry-After before this is raised)."""


class InternalServerError(APIStatusError):
    """>= 500: server trouble (retried before this is raised)."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(
    status_code: int,
    payload: Any,
    *,
    request_id: str | None = None,
    fallback: str | None = None,
    redact: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the right `APIStatusError` subclass from a status and a parsed body.

    `payload` is the decoded JSON body (the `{"error": {...}}` envelope, or anything else);
    `fallback` is the message when the body has none (e.g. the raw text or the reason phrase);
    `redact` is a secret (the API key) that must not survive into any field (message, type, code, param,
    request id); `retry_after`: see `APIStatusError`.
    """
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = error.get("message") or fallback or ""
        etype, code, param = error.get("type"), error.get("code"), error.get("param")
    elif isinstance(error, str):  # some proxies answer {"error": "text"}
        message, etype, code, param = error, None, None, None
    else:
        message = fallback or ""
        etype = code = param = None
    message = _field(message, redact, _MESSAGE_CHARS) or ""
    if not message:
        try:
            message = HTTPStatus(status_code).phrase
        except ValueError:
            message = "Unknown error"
    cls = _BY_STATUS.get(status_code) or (InternalServerError if status_code >= 500 else APIStatusError)
    return cls(
        status_code,
        message,
        type=_field(etype, redact),
        code=_field(code, redact),
        param=_field(param, redact),
        request_id=_field(request_id, redact),
        retry_after=retry_after,
    )


def redact(text: str, secret: str | None) -> str:
    """`text` with the `secret` (the API key) replaced by `sk-***`, and any other run of 8 or more of its
    characters (a server echoing part of the key) by `***`."""
    if not secret:
        return text
    text = text.replace(secret, "sk-***")
    if len(secret) < _PIECE or len(text) < _PIECE:
        return text
    covered = bytearray(len(text))
    for piece in {secret[i:i + _PIECE] for i in range(len(secret) - _PIECE + 1)}:
        start = text.find(piece)
        while start != -1:
            covered[start:start + _PIECE] = b"\x01" * _PIECE
            start = text.find(piece, start + 1)
    if not any(covered):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append("***")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _field(value: Any, secret: str | None, limit: int = _FIELD_CHARS) -> str | None:
    """A server-sent value as one redacted line of at most `limit` characters (None stays None)."""
    if value is None:
        return None
    text = redact(" ".join(str(value).split()), secret)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"
