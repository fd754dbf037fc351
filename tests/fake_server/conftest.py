"""Shared helpers for the fake_server tests: a small JSONL batch input, an auth header, a fake on a ManualClock,
that fake served on loopback with its control plane, and a requests session.

(`pytester` is enabled in test_pytest_plugin.py: pytest refuses `pytest_plugins` in a non-root conftest.)
"""

from __future__ import annotations

import json

import pytest
import requests

from fake_server.clock import ManualClock
from fake_server.fake import FakeBatchesAPI
from fake_server.server import serve

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


@pytest.fixture
def fake() -> FakeBatchesAPI:
    """A fresh fake whose clock moves only when a test moves it."""
    return FakeBatchesAPI(clock=ManualClock())


@pytest.fixture
def server(fake: FakeBatchesAPI):
    """`fake` served on a loopback port, with the /__fake__/ control plane."""
    with serve(fake, control=True) as handle:
        yield handle


@pytest.fixture
def session():
    with requests.Session() as s:
        yield s
