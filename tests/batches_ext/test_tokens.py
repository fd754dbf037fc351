"""Token counts before sending: exact with the offline tokenizer, an estimate (and said so) without it, chat
framing, every endpoint's prompt, and the output cap each line sets."""

from __future__ import annotations

import sys

import pytest

from batches_ext import tokens
from batches_ext.tokens import TokenCounter, output_cap

CHAT = "/v1/chat/completions"


def test_exact_counts_with_bpe_openai_match_the_model_encoding() -> None:
    bpe = pytest.importorskip("bpe_openai", reason="the tokens extra (bpe-openai) is not installed")
    counter = TokenCounter("gpt-4o-mini-2024-07-18")
    assert counter.exact
    text = "Name a colour. Answer in one word."
    assert counter.text(text) == len(bpe.encoding_for_model("gpt-4o-mini").encode(text))
    body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "One word."},
                                                 {"role": "user", "content": text, "name": "ann"}]}
    expected = 3 + counter.text("One word.") + 3 + counter.text(text) + 1 + 3
    assert counter.input_tokens(body, CHAT) == expected
    assert TokenCounter("text-embedding-3-small").input_tokens({"input": ["a b", [1, 2, 3]]}, "/v1/embeddings") == \
        counter.text("a b") + 3


def test_without_a_tokenizer_the_estimate_is_four_characters_a_token_and_says_so(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "bpe_openai", None)
    tokens._encoder.cache_clear()
    try:
        counter = TokenCounter("gpt-4o-mini")
        assert not counter.exact
        assert counter.text("x" * 41) == 11
        assert counter.input_tokens({"input": "x" * 8, "instructions": "y" * 4}, "/v1/responses") == 3
    finally:
        tokens._encoder.cache_clear()


def test_the_output_cap_of_each_endpoint() -> None:
    assert output_cap({"max_completion_tokens": 50, "n": 3}, CHAT) == 150
    assert output_cap({"max_tokens": 20}, CHAT) == 20
    assert output_cap({}, CHAT) is None
    assert output_cap({"max_output_tokens": 7}, "/v1/responses") == 7
    assert output_cap({}, "/v1/completions") == 16
    assert output_cap({"input": "x"}, "/v1/embeddings") == 0
