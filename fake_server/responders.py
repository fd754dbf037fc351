"""What each request line of a batch gets back: a deterministic default, or a user's responder.

`answer(endpoint, custom_id, body, created=...)` returns ``(status_code, body)`` for one line:
200 and a well-formed synchronous response object (with `usage`), or a non-2xx status and
the API's error envelope ``{"error": {"message", "type", "param", "code"}}``. It never raises.

The default answers are pure functions of their input (hashes, never module-level random
state): chat completions and responses echo the last user message (``"Echo: <first 200
chars>"``) with token counts equal to word counts; embeddings are unit vectors seeded from
each input's hash (8 dimensions unless ``body["dimensions"]``; ``encoding_format: "base64"``
gives little-endian float32 base64 like the real API); completions echo the prompt;
moderations flag nothing; image endpoints return one 1x1 PNG per image.

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

import base64
import hashlib
import json
import math
import random
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import spec
from .errors import INVALID_REQUEST, SERVER_ERROR, envelope

__all__ = ["LineError", "RequestLine", "answer", "default_response", "RESPONSE_BUILDERS"]

_RESERVED = re.compile(re.escape(spec.RESERVED_MODEL_PREFIX) + r"([45]\d\d)")
_DEFAULT_DIMENSIONS = 8
_MAX_DIMENSIONS = 4096
_ECHO_CHARS = 200
_MODERATION_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
# A valid 1x1 transparent PNG.
_PNG_1X1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


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
        if responder is not None:
            result = responder(RequestLine(custom_id, endpoint, body))
            if result is not None:
                return _coerce(result)
        return 200, default_response(endpoint, body, custom_id, created=created)
    except LineError as err:
        return err.status_code, err.envelope()
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
    return builder(body, _digest(endpoint, custom_id, body), created)


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


# ----------------------------------------------------------------------------------------------
# Text helpers


def _digest(*parts: Any) -> str:
    try:
        text = json.dumps(parts, sort_keys=True, default=repr)
    except (TypeError, ValueError):  # mixed key types, circular data: fall back to repr
        text = repr(parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _tokens(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return " ".join(parts)
    return ""


def _messages_text(messages: Any) -> tuple[str, str]:
    """(all text, last user text) of a list of chat messages or Responses input items."""
    if isinstance(messages, str):
        return messages, messages
    everything, last_user = [], ""
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        text = _text_of(message.get("content"))
        everything.append(text)
        if message.get("role", "user") == "user":
            last_user = text
    return " ".join(everything), last_user


def _echo(text: str) -> str:
    return f"Echo: {text[:_ECHO_CHARS]}"


def _as_list(value: Any) -> list:
    """Embedding/completion/moderation inputs as a list: one token array counts as one input."""
    if value is None:
        return []
    if isinstance(value, list) and value and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value
    return [value]


def _input_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=repr)


def _unit_vector(seed_text: str, dimensions: int) -> list[float]:
    rng = random.Random(hashlib.sha256(seed_text.encode("utf-8", "surrogatepass")).digest())
    values = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 8) for v in values]


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


# ----------------------------------------------------------------------------------------------
# One builder per endpoint: (body, digest, created) -> response object


def _chat(body: dict, digest: str, created: int) -> dict:
    if not isinstance(body.get("messages"), list):
        raise LineError("Invalid type for 'messages': expected an array.", param="messages", code="invalid_type")
    everything, last_user = _messages_text(body["messages"])
    content = _echo(last_user)
    return {
        "id": f"chatcmpl-{digest[:29]}",
        "object": "chat.completion",
        "created": created,
        "model": body.get("model"),
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": _usage(max(1, _tokens(everything)), _tokens(content)),
        "service_tier": "default",
        "system_fingerprint": f"fp_{digest[29:39]}",
    }


def _responses(body: dict, digest: str, created: int) -> dict:
    everything, last_user = _messages_text(body.get("input"))
    instructions = body.get("instructions")
    text = _echo(last_user)
    input_tokens = max(1, _tokens(everything) + (_tokens(instructions) if isinstance(instructions, str) else 0))
    output_tokens = _tokens(text)
    return {
        "id": f"resp_{digest[:48]}",
        "object": "response",
        "created_at": created,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": instructions,
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model"),
        "output": [{
            "type": "message",
            "id": f"msg_{digest[16:64]}",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "temperature": body.get("temperature", 1.0),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_p": body.get("top_p", 1.0),
        "metadata": body.get("metadata") or {},
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
    }


def _embeddings(body: dict, digest: str, created: int) -> dict:
    dimensions = body.get("dimensions", _DEFAULT_DIMENSIONS)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= _MAX_DIMENSIONS:
        raise LineError(
            f"Invalid value for 'dimensions': expected an integer between 1 and {_MAX_DIMENSIONS}.",
            param="dimensions", code="invalid_value",
        )
    inputs = _as_list(body.get("input"))
    as_base64 = body.get("encoding_format") == "base64"
    data, tokens = [], 0
    for index, item in enumerate(inputs):
        text = _input_text(item)
        tokens += len(item) if isinstance(item, list) else max(1, _tokens(text))
        vector: Any = _unit_vector(text, dimensions)
        if as_base64:
            vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {"object": "list", "data": data, "model": body.get("model"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _completions(body: dict, digest: str, created: int) -> dict:
    prompts = _as_list(body.get("prompt"))
    choices, prompt_tokens, completion_tokens = [], 0, 0
    for index, prompt in enumerate(prompts):
        text = _echo(_input_text(prompt))
        prompt_tokens += len(prompt) if isinstance(prompt, list) else max(1, _tokens(_input_text(prompt)))
        completion_tokens += _tokens(text)
        choices.append({"text": text, "index": index, "logprobs": None, "finish_reason": "stop"})
    return {
        "id": f"cmpl-{digest[:29]}",
        "object": "text_completion",
        "created": created,
        "model": body.get("model"),
        "choices": choices,
        "usage": _usage(prompt_tokens, completion_tokens),
        "system_fingerprint": f"fp_{digest[29:39]}",
    }


def _moderations(body: dict, digest: str, created: int) -> dict:
    value = body.get("input")
    # A list of content-part objects (text + images) is one multimodal input; a list of strings is many.
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        inputs: list = [value]
    else:
        inputs = _as_list(value)
    results = []
    for item in inputs:
        rng = random.Random(_digest("moderation", item))
        results.append({
            "flagged": False,
            "categories": dict.fromkeys(_MODERATION_CATEGORIES, False),
            "category_scores": {name: round(rng.uniform(0.0, 0.001), 8) for name in _MODERATION_CATEGORIES},
            "category_applied_input_types": {name: ["text"] for name in _MODERATION_CATEGORIES},
        })
    return {"id": f"modr-{digest[:32]}", "model": body.get("model") or "omni-moderation-latest", "results": results}


def _images(body: dict, digest: str, created: int) -> dict:
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        raise LineError("Invalid value for 'n': expected an integer between 1 and 10.", param="n", code="invalid_value")
    prompt_tokens = max(1, _tokens(_input_text(body.get("prompt", ""))))
    return {
        "created": created,
        "data": [{"b64_json": _PNG_1X1} for _ in range(n)],
        "usage": {
            "input_tokens": prompt_tokens,
            "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": 0},
            "output_tokens": 16 * n,
            "total_tokens": prompt_tokens + 16 * n,
        },
    }


def _videos(body: dict, digest: str, created: int) -> dict:
    """A finished video job (the spec's VideoResource); the fake renders no video."""
    prompt, size, seconds = body.get("prompt"), body.get("size"), body.get("seconds")
    return {
        "id": f"video_{digest[:32]}",
        "object": "video",
        "model": body.get("model") or "sora-2",
        "status": "completed",
        "progress": 100,
        "created_at": created,
        "completed_at": created,
        "expires_at": None,
        "prompt": prompt if isinstance(prompt, str) else None,
        "size": size if isinstance(size, str) else "720x1280",
        "seconds": seconds if isinstance(seconds, str) else "4",
        "remixed_from_video_id": None,
        "error": None,
    }


#: endpoint url -> (body, digest, created) -> response object; one entry per `spec.ENDPOINTS` url.
RESPONSE_BUILDERS: dict[str, Callable[[dict, str, int], dict]] = {
    "/v1/chat/completions": _chat,
    "/v1/responses": _responses,
    "/v1/embeddings": _embeddings,
    "/v1/completions": _completions,
    "/v1/moderations": _moderations,
    "/v1/images/generations": _images,
    "/v1/images/edits": _images,
    "/v1/videos": _videos,
}
