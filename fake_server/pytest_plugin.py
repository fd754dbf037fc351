"""pytest fixtures for fake_server (loaded through the `pytest11` entry point).

fake_batches           a fresh FakeBatchesAPI on a ManualClock, per test
fake_batches_server    a loopback server (one per session) with a fresh fake per test: `.base_url`, `.fake`
fake_batches_session   a requests.Session wired in-process to `fake_batches`, sending `Authorization: Bearer sk-fake`
fake_openai_client     openai.OpenAI wired in-process to `fake_batches` (strict validation, no retries)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fake_server.fake import FakeBatchesAPI
    from fake_server.server import ServerHandle

__all__ = ["fake_batches", "fake_batches_server", "fake_batches_session", "fake_openai_client"]


def _new_fake() -> FakeBatchesAPI:
    from fake_server.clock import ManualClock
    from fake_server.fake import FakeBatchesAPI

    return FakeBatchesAPI(clock=ManualClock())


@pytest.fixture
def fake_batches() -> FakeBatchesAPI:
    """A fresh fake_server FakeBatchesAPI on a ManualClock (moves only with `.advance(s)`), per test."""
    return _new_fake()


@pytest.fixture(scope="session")
def _fake_batches_loopback() -> Iterator[ServerHandle]:
    from fake_server.server import serve

    with serve(_new_fake()) as server:
        yield server


@pytest.fixture
def fake_batches_server(_fake_batches_loopback: ServerHandle) -> ServerHandle:
    """A loopback fake_server (one port per session) with a fresh fake per test: `.base_url`, `.fake`."""
    _fake_batches_loopback.fake = _new_fake()  # same socket, nothing left over from other tests
    return _fake_batches_loopback


@pytest.fixture
def fake_batches_session(fake_batches: FakeBatchesAPI) -> Iterator[Any]:
    """A requests.Session wired in-process to `fake_batches`, sending `Authorization: Bearer sk-fake` by default."""
    from fake_server._door import DEFAULT_KEY

    with fake_batches.requests_session() as session:
        session.headers["Authorization"] = f"Bearer {DEFAULT_KEY}"
        yield session


@pytest.fixture
def fake_openai_client(fake_batches: FakeBatchesAPI) -> Any:
    """openai.OpenAI wired in-process to `fake_batches`: strict response validation, max_retries=0."""
    pytest.importorskip("openai", reason="fake_openai_client needs the openai package (pip install openai)")
    return fake_batches.openai_client(max_retries=0, _strict_response_validation=True)
