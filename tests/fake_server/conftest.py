"""Shared helpers for the fake_server door tests: a small JSONL batch input and an auth header.

(`pytester` is enabled in test_pytest_plugin.py: pytest refuses `pytest_plugins` in a non-root conftest.)
"""

from __future__ import annotations

import json

import pytest

KEY = "sk-doors-test"


def batch_input(n: int = 3, pad: int = 0) -> bytes:
    """`n` chat-completion request lines as JSONL bytes (each padded by `pad` characters)."""
    lines = [
        {
            "custom_id": f"request-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": f"Say {i}" + "." * pad}],
            },
        }
        for i in range(1, n + 1)
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}
