"""Token counts of request bodies before they are sent: input tokens per line, and the output cap the line sets.

    counter = TokenCounter("gpt-4o-mini")
    counter.input_tokens(body, "/v1/chat/completions")     # 23
    output_cap(body, "/v1/chat/completions")               # max_completion_tokens (x n), or None: uncapped
    counter.exact                                          # True with an offline tokenizer installed

Exact when an offline tokenizer with the model's encoding is installed: `bpe-openai` (the `tokens` extra; it
ships the o200k and cl100k encodings, so it works with no network, where tiktoken would download them at first
use). Otherwise an estimate of one token per 4 characters of text (OpenAI's rule of thumb for English), which
`exact` says. Chat messages add OpenAI's documented framing (3 tokens per message, 1 per name, 3 to prime the
reply); tools and response formats are counted as their JSON text. Images in a prompt are not counted.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["TokenCounter", "output_cap", "ESTIMATE_CHARS_PER_TOKEN"]

ESTIMATE_CHARS_PER_TOKEN = 4
_PER_MESSAGE = 3
_PER_NAME = 1
_REPLY_PRIMING = 3


@lru_cache(maxsize=16)
def _encoder(model: str) -> Callable[[str], int] | None:
    """The exact token count function for `model`, or None when no offline tokenizer knows it."""
    with warnings.catch_warnings():  # bpe-openai loads its data with importlib.resources.open_binary (deprecated)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import bpe_openai
        except ImportError:
            return None
        try:
            encoding = bpe_openai.encoding_for_model(model)
        except Exception:  # an unknown model: fall back by family
            name = "cl100k_base" if model.startswith(("gpt-3.5", "gpt-4-", "text-embedding")) or model == "gpt-4" \
                else "o200k_base"
            try:
                encoding = bpe_openai.get_encoding(name)
            except Exception:
                return None
        encoding.encode("load")  # the ranks load on first use: here, under the filter
    return lambda text: len(encoding.encode(text))


class TokenCounter:
    """Counts a model's input tokens in request bodies (exactly when `exact`, else estimated)."""

    def __init__(self, model: str | None) -> None:
        self.model = model or ""
        count = _encoder(self.model) if self.model else None
        self.exact = count is not None
        self._count: Callable[[str], int] = count or _estimate

    def text(self, value: Any) -> int:
        """Tokens of a string, of a token array (its length), or of any other JSON value's text."""
        if isinstance(value, str):
            return self._count(value) if value else 0
        if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return len(value)
        if value is None:
            return 0
        return self._count(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def input_tokens(self, body: Mapping[str, Any], endpoint: str) -> int:
        """The prompt tokens one request line will be billed for (before caching)."""
        if endpoint == "/v1/chat/completions":
            total = self._messages(body.get("messages")) + _REPLY_PRIMING
        elif endpoint == "/v1/responses":
            value = body.get("input")
            total = self._messages(value) if isinstance(value, list) else self.text(value)
            total += self.text(body.get("instructions"))
        elif endpoint in ("/v1/embeddings", "/v1/moderations"):
            total = sum(self.text(item) for item in _inputs(body.get("input")))
        else:  # completions, images, videos: the prompt
            total = sum(self.text(item) for item in _inputs(body.get("prompt")))
        for extra in ("tools", "response_format", "text"):
            if isinstance(body.get(extra), (dict, list)):
                total += self.text(body[extra])
        return total

    def _messages(self, messages: Any) -> int:
        if not isinstance(messages, list):
            return self.text(messages)
        total = 0
        for message in messages:
            if not isinstance(message, Mapping):
                total += self.text(message)
                continue
            total += _PER_MESSAGE + self.text(_content_text(message.get("content")))
            total += _PER_NAME if message.get("name") else 0
        return total


def output_cap(body: Mapping[str, Any], endpoint: str) -> int | None:
    """The most output tokens a line may produce (0 for embeddings and moderations; None when uncapped)."""
    if endpoint in ("/v1/embeddings", "/v1/moderations"):
        return 0
    n_value = body.get("n")
    n = n_value if isinstance(n_value, int) and not isinstance(n_value, bool) and n_value > 0 else 1
    if endpoint == "/v1/responses":
        cap = body.get("max_output_tokens")
    elif endpoint == "/v1/chat/completions":
        cap = body.get("max_completion_tokens", body.get("max_tokens"))
    elif endpoint == "/v1/completions":
        cap = body.get("max_tokens", 16)  # the completions endpoint's documented default
    else:
        return None
    return cap * n if isinstance(cap, int) and not isinstance(cap, bool) else None


def _estimate(text: str) -> int:
    return max(1, -(-len(text) // ESTIMATE_CHARS_PER_TOKEN))


def _inputs(value: Any) -> list[Any]:
    """A string, one token array, or a list of them, as a list of inputs."""
    if isinstance(value, list) and value and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value
    return [] if value is None else [value]


def _content_text(content: Any) -> Any:
    """The text parts of a message's content (a string, or a list of typed parts)."""
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return content
