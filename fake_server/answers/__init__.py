"""The default answer of each endpoint: a well-formed synchronous response body that fits the request.

One builder per endpoint, `(body, digest, created) -> dict`, pure functions of their input (the digest is
the line's hash, so answers repeat per custom_id). Every body validates against the official SDK's models in
strict mode and against the spec's response schemas (tests/fake_server/test_answers.py holds them to both).

* chat completions: the last user message echoed (``"Echo: <first 200 chars>"``); `response_format`
  `json_schema` -> content that is JSON satisfying the schema (fake_server.structured), `json_object` -> a JSON
  object; `tools` with `tool_choice` `required`, a named function or `allowed_tools` in required mode ->
  `tool_calls` whose arguments satisfy the function's `parameters` (finish_reason `tool_calls`); `n` choices;
  `max_tokens` / `max_completion_tokens` bound the completion tokens (echoed text is cut and ends with
  finish_reason `length`; structured content is kept whole and only its counted tokens are capped);
  `logprobs` / `top_logprobs` give per-token logprobs. Reasoning models (o-series, gpt-5) report 16 reasoning
  tokens per choice within the completion tokens.
* responses: the same for `input`, `text.format` and function `tools`; `max_output_tokens` cuts the text and
  marks the response `incomplete` (reason `max_output_tokens`).
* embeddings: unit vectors seeded from each input's hash (8 dimensions unless `dimensions`; `encoding_format:
  "base64"` gives little-endian float32 base64 like the real API).
* completions: the prompt echoed, `n` choices per prompt, `max_tokens` honoured.
* moderations flag nothing; images return one 1x1 PNG per image; videos a finished video job.

Tokens are words (fake_server.tokens), the same count create-time validation charges to the token quota.
"""

from __future__ import annotations

from collections.abc import Callable

from .other_endpoints import embeddings, images, moderations, videos
from .shared import ECHO_CHARS, REASONING_TOKENS, BuilderError
from .text import chat, completions, responses

__all__ = ["RESPONSE_BUILDERS", "BuilderError", "ECHO_CHARS", "REASONING_TOKENS"]

#: endpoint url -> (body, digest, created) -> response object; one entry per `spec.ENDPOINTS` url.
RESPONSE_BUILDERS: dict[str, Callable[[dict, str, int], dict]] = {
    "/v1/chat/completions": chat,
    "/v1/responses": responses,
    "/v1/embeddings": embeddings,
    "/v1/completions": completions,
    "/v1/moderations": moderations,
    "/v1/images/generations": images,
    "/v1/images/edits": images,
    "/v1/videos": videos,
}
