"""What the headless view tests share: a fake on a ManualClock (nothing moves unless a test moves it) and an
offline client on it that does not retry, so a fault shows on the first refresh."""

from __future__ import annotations

import pytest

from batches_ext.client import BatchesClient
from fake_server import FakeBatchesAPI, ManualClock


@pytest.fixture
def fake() -> FakeBatchesAPI:
    return FakeBatchesAPI(clock=ManualClock())


@pytest.fixture
def client(fake: FakeBatchesAPI) -> BatchesClient:
    return BatchesClient.offline(fake, max_retries=0)
