"""`BatchesAPI`: what jobs, magics and widgets call on a client, as a `typing.Protocol`.

`BatchesClient` satisfies it; so can a test double. Typing the other wings against this protocol (and not
`Any`) lets mypy check every call they make on a client, without them importing requests at run time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from ..models import Batch, FileObject, Page

__all__ = ["BatchesAPI"]


class BatchesAPI(Protocol):
    """The client surface the rest of batches_ext relies on."""

    sleep: Callable[[float], Any]

    @property
    def is_offline(self) -> bool: ...

    def now(self) -> float: ...

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str = ...,
        completion_window: str = ...,
        metadata: dict[str, str] | None = None,
        *,
        output_expires_after: dict[str, Any] | None = None,
    ) -> Batch: ...

    def retrieve_batch(self, batch_id: str) -> Batch: ...

    def cancel_batch(self, batch_id: str) -> Batch: ...

    def list_batches(self, limit: int = ..., after: str | None = None) -> Page[Batch]: ...

    def iter_batches(self, page_size: int = ..., after: str | None = None) -> Iterator[Batch]: ...

    def upload_file(
        self,
        file: Any,
        purpose: str = ...,
        filename: str | None = None,
        *,
        expires_after: dict[str, Any] | None = None,
    ) -> FileObject: ...

    def retrieve_file(self, file_id: str) -> FileObject: ...

    def file_content(self, file_id: str, chunk_size: int = ...) -> Iterator[bytes]: ...

    def iter_file_lines(self, file_id: str, chunk_size: int = ...) -> Iterator[str]: ...

    def save_file(self, file_id: str, dest: str | os.PathLike) -> Path: ...
