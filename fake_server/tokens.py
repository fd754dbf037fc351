"""The fake's tokenizer and the text of a request: one token per whitespace-separated word.

Shared by the answers (`usage` of every line) and by create-time validation (the prompt tokens a batch
enqueues against its model's token quota), so the two always agree: a batch's `usage.input_tokens` once
it has run equals the tokens it counted against the quota.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["count", "text_of", "messages_text", "as_list", "input_text", "prompt_tokens"]


def count(text: str) -> int:
    """Tokens in `text`: its whitespace-separated words."""
    return len(text.split())


def text_of(content: Any) -> str:
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


def messages_text(messages: Any) -> tuple[str, str]:
    """(all text, last user text) of a list of chat messages or Responses input items (or a string)."""
    if isinstance(messages, str):
        return messages, messages
    everything, last_user = [], ""
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        text = text_of(message.get("content"))
        everything.append(text)
        if message.get("role", "user") == "user":
            last_user = text
    return " ".join(everything), last_user


def as_list(value: Any) -> list:
    """Embedding/completion/moderation inputs as a list: one token array counts as one input."""
    if value is None:
        return []
    if isinstance(value, list) and value and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value
    return [value]


def input_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=repr)
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:1000]


def _inputs_tokens(value: Any) -> int:
    return sum(len(item) if isinstance(item, list) else max(1, count(input_text(item))) for item in as_list(value))


def prompt_tokens(endpoint: str, body: Any) -> int:
    """The prompt tokens of one request body, as its answer's `usage` reports them."""
    if not isinstance(body, dict):
        return 0
    if endpoint == "/v1/chat/completions":
        return max(1, count(messages_text(body.get("messages"))[0]))
    if endpoint == "/v1/responses":
        instructions = body.get("instructions")
        extra = count(instructions) if isinstance(instructions, str) else 0
        return max(1, count(messages_text(body.get("input"))[0]) + extra)
    if endpoint in ("/v1/embeddings", "/v1/completions"):
        return _inputs_tokens(body.get("input" if endpoint == "/v1/embeddings" else "prompt"))
    if endpoint == "/v1/moderations":
        return _inputs_tokens(body.get("input"))
    return max(1, count(input_text(body.get("prompt", ""))))
