"""Module-level calls with per-call overrides, mirroring the seed library (ExOpenAI.Batches).

    batches_ext.create_batch("file-abc", endpoint="/v1/chat/completions")
    batches_ext.list_batches(limit=5, api_key="sk-...", base_url="https://proxy/v1")

Each call resolves its settings afresh (argument > environment > default), so the overrides
`api_key`, `base_url`, `organization`, `project` apply to that call only. Pass `client=` to
reuse a `BatchesClient`, or `session=` to send through a given `requests.Session`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import requests

from ..errors import InputError
from ..models import Batch, Page
from .batches_client import BatchesClient

__all__ = ["create_batch", "retrieve_batch", "cancel_batch", "list_batches"]

T = TypeVar("T")


@contextmanager
def _client(
    client: BatchesClient | None,
    api_key: str | None,
    base_url: str | None,
    organization: str | None,
    project: str | None,
    session: requests.Session | None,
) -> Iterator[BatchesClient]:
    if client is not None:
        if any(v is not None for v in (api_key, base_url, organization, project, session)):
            raise InputError("pass either client= or per-call settings (api_key, base_url, ...), not both")
        yield client
        return
    made = BatchesClient(
        api_key=api_key, base_url=base_url, organization=organization, project=project, session=session
    )
    try:
        yield made
    finally:
        made.close()


def _call(fn: Callable[[BatchesClient], T], overrides: dict[str, Any]) -> T:
    with _client(**overrides) as client:
        return fn(client)


def create_batch(
    input_file_id: str,
    endpoint: str = "/v1/chat/completions",
    completion_window: str = "24h",
    metadata: dict[str, str] | None = None,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    client: BatchesClient | None = None,
    session: requests.Session | None = None,
) -> Batch:
    """`POST /batches` (see `BatchesClient.create_batch`)."""
    overrides = dict(client=client, api_key=api_key, base_url=base_url, organization=organization,
                     project=project, session=session)
    return _call(lambda c: c.create_batch(input_file_id, endpoint, completion_window, metadata), overrides)


def retrieve_batch(
    batch_id: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    client: BatchesClient | None = None,
    session: requests.Session | None = None,
) -> Batch:
    """`GET /batches/{id}`."""
    overrides = dict(client=client, api_key=api_key, base_url=base_url, organization=organization,
                     project=project, session=session)
    return _call(lambda c: c.retrieve_batch(batch_id), overrides)


def cancel_batch(
    batch_id: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    client: BatchesClient | None = None,
    session: requests.Session | None = None,
) -> Batch:
    """`POST /batches/{id}/cancel` (a 409 for a finished batch raises ConflictError at once)."""
    overrides = dict(client=client, api_key=api_key, base_url=base_url, organization=organization,
                     project=project, session=session)
    return _call(lambda c: c.cancel_batch(batch_id), overrides)


def list_batches(
    limit: int = 20,
    after: str | None = None,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    client: BatchesClient | None = None,
    session: requests.Session | None = None,
) -> Page[Batch]:
    """`GET /batches`: one page."""
    overrides = dict(client=client, api_key=api_key, base_url=base_url, organization=organization,
                     project=project, session=session)
    return _call(lambda c: c.list_batches(limit=limit, after=after), overrides)
