"""What the job tests share: an offline fake on a ManualClock that fails two known lines, a client on it, and
helpers that build prompts and read custom ids.
"""

from __future__ import annotations

from typing import Any

import pytest

from batches_ext.client import BatchesClient
from batches_ext.jsonl import build_requests
from fake_server import FakeBatchesAPI, LineError, ManualClock

FAIL_IDS = {"request-2", "request-5"}


def failing_responder(line: Any) -> Any:
    """Fails the lines in FAIL_IDS with a 400 in the error file; every other line gets the fake's answer."""
    if line.custom_id in FAIL_IDS:
        raise LineError("This request is bad.", code="invalid_request", param="messages")
    return None


@pytest.fixture
def fake() -> FakeBatchesAPI:
    return FakeBatchesAPI(clock=ManualClock(), responder=failing_responder)


@pytest.fixture
def client(fake: FakeBatchesAPI) -> BatchesClient:
    return BatchesClient.offline(fake)


def prompts(n: int, model: str = "gpt-4o-mini") -> list[dict]:
    """n chat requests "Prompt 1" ... "Prompt n", ids request-1 ... request-n."""
    return build_requests([f"Prompt {i}" for i in range(1, n + 1)], model=model)


def ids(res: Any) -> list[str]:
    return [r.custom_id for r in res]
