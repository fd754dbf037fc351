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
from typing import TYPE_CHECKING, TypedDict, TypeVar

import requests

from ..errors import InputError
from ..models import Batch, Page
from .batches_client import BatchesClient

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["create_batch", "retrieve_batch", "cancel_batch", "list_batches"]

T = TypeVar("T")


class CallSettings(TypedDict, total=False):
    """The per-call settings every module-level call takes as keyword arguments."""

    api_key: str | None
    base_url: str | None
    organization: str | None
    project: str | None
    client: BatchesClient | None
    session: requests.Session | None


@contextmanager
def _client(
    client: BatchesClient | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    session: requests.Session | None = None,
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


def _call(fn: Callable[[BatchesClient], T], settings: CallSettings) -> T:
    unknown = sorted(set(settings) - set(CallSettings.__annotations__))
    if unknown:
        raise InputError(f"unknown setting {unknown[0]!r}; the settings are {', '.join(CallSettings.__annotations__)}")
    with _client(**settings) as client:
        return fn(client)


def create_batch(
    input_file_id: str,
    endpoint: str = "/v1/chat/completions",
    completion_window: str = "24h",
    metadata: dict[str, str] | None = None,
    **settings: Unpack[CallSettings],
) -> Batch:
    """`POST /batches` (see `BatchesClient.create_batch`)."""
    return _call(lambda c: c.create_batch(input_file_id, endpoint, completion_window, metadata), settings)


def retrieve_batch(
    batch_id: str,
    **settings: Unpack[CallSettings],
) -> Batch:
    """`GET /batches/{id}`."""
    return _call(lambda c: c.retrieve_batch(batch_id), settings)


def cancel_batch(
    batch_id: str,
    **settings: Unpack[CallSettings],
) -> Batch:
    """`POST /batches/{id}/cancel` (a 409 for a finished batch raises ConflictError at once)."""
    return _call(lambda c: c.cancel_batch(batch_id), settings)


def list_batches(
    limit: int = 20,
    after: str | None = None,
    **settings: Unpack[CallSettings],
) -> Page[Batch]:
    """`GET /batches`: one page."""
    return _call(lambda c: c.list_batches(limit=limit, after=after), settings)
