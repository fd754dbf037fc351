"""Shared helpers for the fake_server door tests: a small JSONL batch input, a hang guard, an auth header.

(`pytester` is enabled in test_pytest_plugin.py: pytest refuses `pytest_plugins` in a non-root conftest.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

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


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """Run `fn` in a daemon thread; fail (instead of hanging the suite) if it takes longer than `seconds`."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (hang)"
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}
