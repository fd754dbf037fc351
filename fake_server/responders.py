"""What each request line of a batch gets back: a deterministic default, or a user's responder.

`answer(endpoint, custom_id, body, created=...)` returns ``(status_code, body)`` for one line:
200 and a well-formed synchronous response object (with `usage`), or a non-2xx status and
the API's error envelope ``{"error": {"message", "type", "param", "code"}}``. It never raises.

In order: a reserved model (below) decides first; then the body is checked against its endpoint's
request schema like the real endpoint does (fake_server.line_schemas: a malformed body, or an unknown
parameter, is a 400 for that line); then a user's responder, else the default answer of
fake_server.answers, which fits the request (structured outputs, tool calls, `n`, token limits) and is
a pure function of its input (hashes, never module-level random state).

Reserved models make a line fail from the input file alone (the line goes to the error file
with its `response` filled and `error: null`):

* ``fake-error-400`` -> 400, type ``invalid_request_error``, code ``invalid_request``;
* ``fake-error-429`` -> 429, type ``requests``, code ``rate_limit_exceeded``;
* ``fake-error-500`` -> 500, type ``server_error``;
* any other ``fake-error-<4xx|5xx>`` -> that status (type ``invalid_request_error`` below 500,
  ``server_error`` from 500).

A user responder is called as ``responder(RequestLine(custom_id, endpoint, body))`` and may
return a dict (200 with that body), a ``(status_code, dict)`` tuple, ``None`` (use the
default), or raise `LineError`. Any other exception becomes a 500 ``server_error`` naming it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import line_schemas, spec
from .answers import RESPONSE_BUILDERS, BuilderError
from .errors import INVALID_REQUEST, SERVER_ERROR, envelope

__all__ = ["LineError", "RequestLine", "answer", "default_response", "RESPONSE_BUILDERS"]

_RESERVED = re.compile(re.escape(spec.RESERVED_MODEL_PREFIX) + r"([45]\d\d)")


class LineError(Exception):
    """Raised (by a responder) to give one request line a non-2xx answer with the API's envelope."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 400,
        type: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.type = type
        self.code = code
        self.param = param

    def envelope(self) -> dict:
        return envelope(self.message, type=self.type, param=self.param, code=self.code)


@dataclass(frozen=True)
class RequestLine:
    """One input line as a responder sees it."""

    custom_id: str
    endpoint: str
    body: dict

    @property
    def model(self) -> Any:
        return self.body.get("model") if isinstance(self.body, dict) else None


def answer(
    endpoint: str,
    custom_id: str,
    body: dict,
    *,
    created: int,
    responder: Callable[[RequestLine], Any] | None = None,
) -> tuple[int, dict]:
    """The (status_code, body) one line gets. Never raises (except BaseExceptions like KeyboardInterrupt)."""
    try:
        model = body.get("model") if isinstance(body, dict) else None
        if isinstance(model, str):
            _raise_if_reserved(model)
        line_schemas.check_body(endpoint, body)
        if responder is not None:
            result = responder(RequestLine(custom_id, endpoint, body))
            if result is not None:
                return _coerce(result)
        return 200, default_response(endpoint, body, custom_id, created=created)
    except LineError as err:
        return err.status_code, err.envelope()
    except (line_schemas.BodyError, BuilderError) as err:
        return 400, envelope(err.message, param=err.param, code=err.code)
    except Exception as exc:  # a user's responder must never break the fake
        return 500, _server_error(f"The responder raised {type(exc).__name__}: {str(exc)[:200]}")


def default_response(endpoint: str, body: dict, custom_id: str, *, created: int = 1_700_000_000) -> dict:
    """A deterministic, well-formed synchronous response for `endpoint`, or `LineError` (reserved models)."""
    if not isinstance(body, dict):
        raise LineError("The request body must be a JSON object.", param="body", code="invalid_type")
    model = body.get("model")
    if isinstance(model, str):
        _raise_if_reserved(model)
    builder = RESPONSE_BUILDERS.get(endpoint)
    if builder is None:
        raise LineError(f"Invalid URL (POST {endpoint})", status_code=404)
    try:
        return builder(body, _digest(endpoint, custom_id, body), created)
    except BuilderError as err:
        raise LineError(err.message, param=err.param, code=err.code) from None


def _coerce(result: Any) -> tuple[int, dict]:
    if isinstance(result, dict):
        return 200, result
    if (
        isinstance(result, tuple)
        and len(result) == 2
        and isinstance(result[0], int)
        and not isinstance(result[0], bool)
        and 100 <= result[0] <= 599
        and isinstance(result[1], dict)
    ):
        return result[0], result[1]
    return 500, _server_error(
        f"The responder returned {type(result).__name__}; expected a dict, a (status_code, dict) tuple or None."
    )


def _server_error(message: str) -> dict:
    return envelope(message, type=SERVER_ERROR)


def _raise_if_reserved(model: str) -> None:
    match = _RESERVED.fullmatch(model)
    if match is None:
        return
    status = int(match.group(1))
    message = f"{model}: this request was rejected by the fake"
    if status == 429:
        raise LineError(message, status_code=429, type="requests", code="rate_limit_exceeded")
    if status >= 500:
        raise LineError(message, status_code=status, type=SERVER_ERROR)
    raise LineError(message, status_code=status, code="invalid_request" if status == 400 else None)


def _digest(*parts: Any) -> str:
    try:
        text = json.dumps(parts, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):  # mixed key types, circular data: fall back to repr
        text = repr(parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
