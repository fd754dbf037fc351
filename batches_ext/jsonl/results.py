"""The batch result-line format: parse one line of an output or error file, over both error shapes.

Output and error files share one line format with two error shapes (reference 4.2, 4.3):

* success: ``{"custom_id", "response": {"status_code": 200, "body": {...}}, "error": null}``
* the request ran and the endpoint answered non-2xx: ``response`` filled (``body`` is the API's
  ``{"error": {...}}`` envelope), ``error: null``;
* the request never ran: ``response: null``, ``error: {"code", "message"}`` (``batch_expired``, cancel).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..spec import ENDPOINTS

__all__ = ["ResultLine", "parse_result_line", "prompt_text", "response_text", "usage_tokens"]


@dataclass(frozen=True, slots=True)
class ResultLine:
    """One line of a batch output or error file, normalised over both error shapes."""

    custom_id: str
    status_code: int | None  # None when the request never ran
    body: Any  # the response body (the error envelope for non-2xx), None when it never ran
    error_code: str | None
    error_message: str | None
    request_id: str | None = None
    id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and self.error_code is None

    @property
    def status(self) -> str:
        """"ok", "expired" (batch_expired), "cancelled" (batch_cancelled) or "error"."""
        if self.ok:
            return "ok"
        if self.error_code == "batch_expired":
            return "expired"
        if self.error_code == "batch_cancelled":
            return "cancelled"
        return "error"


def parse_result_line(text: str | bytes, line: int | None = None) -> ResultLine:
    """Parse one output/error line (either error shape). InputError (naming `line`) for anything else."""
    where = f"line {line}: " if line is not None else ""
    try:
        obj = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        raise InputError(f"{where}not a valid batch result line (not JSON)", line=line) from None
    if not isinstance(obj, dict):
        raise InputError(f"{where}not a valid batch result line (not a JSON object)", line=line)
    custom_id = obj.get("custom_id")
    if not isinstance(custom_id, str):
        raise InputError(f"{where}not a valid batch result line (no custom_id)", line=line)
    response, error = obj.get("response"), obj.get("error")
    status_code = body = request_id = code = message = None
    if isinstance(response, dict):
        raw_status = response.get("status_code")
        status_code = raw_status if isinstance(raw_status, int) and not isinstance(raw_status, bool) else None
        body = response.get("body")
        request_id = _str_or_none(response.get("request_id"))
        if status_code is None or not 200 <= status_code < 300:
            inner = body.get("error") if isinstance(body, dict) else None
            if isinstance(inner, dict):
                code, message = _str_or_none(inner.get("code")), _str_or_none(inner.get("message"))
            elif isinstance(inner, str):
                message = inner
            if code is None:
                code = f"http_{status_code}" if status_code is not None else "invalid_response"
    elif response is not None:
        raise InputError(f"{where}not a valid batch result line ('response' is not an object)", line=line)
    if isinstance(error, dict):
        code = _str_or_none(error.get("code")) or code or "error"
        message = _str_or_none(error.get("message")) or message
    elif error is not None:
        code, message = code or "error", str(error)
    if response is None and error is None:
        raise InputError(f"{where}not a valid batch result line (neither 'response' nor 'error')", line=line)
    return ResultLine(custom_id, status_code, body, code, message, request_id, _str_or_none(obj.get("id")))


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def response_text(body: Any) -> str | None:
    """The generated text of a response body (chat, completions, responses), or None."""
    if not isinstance(body, dict):
        return None
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        first = choices[0]
        message = first.get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            return message["content"]
        if isinstance(first.get("text"), str):
            return first["text"]
    if isinstance(body.get("output_text"), str):
        return body["output_text"]
    output = body.get("output")
    if isinstance(output, list):
        parts = [
            str(c["text"])
            for item in output if isinstance(item, dict) and isinstance(item.get("content"), list)
            for c in item["content"] if isinstance(c, dict) and isinstance(c.get("text"), str)
        ]
        if parts:
            return "".join(parts)
    return None


def usage_tokens(body: Any) -> int | None:
    """`usage.total_tokens` of a response body (chat, completions, responses, embeddings), or None."""
    usage = body.get("usage") if isinstance(body, dict) else None
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def prompt_text(request: Any) -> str | None:
    """What a person calls the prompt of a request line: the last user message of `messages` (or of a
    responses `input` list), else the endpoint's prompt field (`input`, `prompt`) as text; None when there is none.

    Content parts are joined by their text; a list of strings (embeddings) is joined with " | "; a token array
    reads "[N tokens]"."""
    body = request.get("body") if isinstance(request, dict) else None
    if not isinstance(body, dict):
        return None
    endpoint = ENDPOINTS.get(str(request.get("url")))
    keys = [endpoint.prompt_key] if endpoint is not None else []
    keys += [k for k in ("messages", "input", "prompt") if k not in keys]
    for key in keys:
        value = body.get(key)
        if value is not None:
            return _as_prompt(value)
    return None


def _as_prompt(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):  # messages
            users = [m for m in value if m.get("role") == "user"]
            return _content_text((users or value)[-1].get("content"))
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return f"[{len(value)} tokens]"
        texts = [t for t in (_as_prompt(v) for v in value) if t]
        return " | ".join(texts) if texts else None
    if isinstance(value, dict):
        return _content_text(value.get("content", value.get("text")))
    return None if value is None else str(value)


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [str(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return " ".join(texts) if texts else None
    return None
