"""Plain, cheap models of the API's objects: `Batch`, `RequestCounts`, `BatchError`, `FileObject`, `Page`.

Built once from the decoded JSON (`from_dict`), no validation library: listing thousands of
batches must cost little more than decoding them. Unknown fields are kept in `.raw`, unknown
statuses are kept as plain strings and are never treated as terminal or cancellable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar, overload

from . import spec

__all__ = ["Status", "RequestCounts", "BatchError", "Batch", "FileObject", "Page"]

T = TypeVar("T")


class Status:
    """Batch status strings, and the sets that matter to clients (reference 2.3)."""

    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    ALL = frozenset(spec.STATUSES)
    TERMINAL = spec.TERMINAL
    CANCELLABLE = spec.CANCELLABLE


def _dt(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


@dataclass(slots=True)
class RequestCounts:
    total: int = 0
    completed: int = 0
    failed: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RequestCounts:
        if not d:
            return cls()
        return cls(d.get("total") or 0, d.get("completed") or 0, d.get("failed") or 0)


@dataclass(slots=True)
class BatchError:
    """A whole-batch validation error; `line` is 1-based (None when not tied to a line)."""

    code: str | None
    message: str | None
    param: str | None = None
    line: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BatchError:
        return cls(d.get("code"), d.get("message"), d.get("param"), d.get("line"))


@dataclass(slots=True, repr=False)
class Batch:
    """A batch as the API returned it (reference 2.2). Timestamps are int Unix seconds.

    `repr()` is one line for logs; `str()` (and terminal IPython's display) is a readable card; notebooks show
    HTML. All three come from `batches_ext.render`."""

    id: str
    status: str
    endpoint: str | None = None
    input_file_id: str | None = None
    completion_window: str | None = None
    created_at: int | None = None
    object: str = "batch"
    model: str | None = None
    errors: list[BatchError] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts = field(default_factory=RequestCounts)
    usage: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None  # x-request-id of the call that returned it (single-object calls)
    offline: bool = False  # came from the offline fake: every view of it says so

    @classmethod
    def from_dict(cls, d: dict[str, Any], request_id: str | None = None) -> Batch:
        g = d.get
        errs = g("errors")
        data = errs.get("data") if isinstance(errs, dict) else errs
        counts = g("request_counts")
        return cls(
            d["id"],
            g("status") or "",
            g("endpoint"),
            g("input_file_id"),
            g("completion_window"),
            g("created_at"),
            g("object") or "batch",
            g("model"),
            [BatchError.from_dict(e) for e in data] if data else [],
            g("output_file_id"),
            g("error_file_id"),
            g("in_progress_at"),
            g("expires_at"),
            g("finalizing_at"),
            g("completed_at"),
            g("failed_at"),
            g("expired_at"),
            g("cancelling_at"),
            g("cancelled_at"),
            RequestCounts(counts.get("total") or 0, counts.get("completed") or 0, counts.get("failed") or 0)
            if counts
            else RequestCounts(),
            g("usage"),
            g("metadata"),
            d,
            request_id,
        )

    def to_dict(self) -> dict[str, Any]:
        """The object as the API sent it (unknown fields included)."""
        return dict(self.raw)

    @property
    def is_terminal(self) -> bool:
        return self.status in Status.TERMINAL

    @property
    def is_cancellable(self) -> bool:
        return self.status in Status.CANCELLABLE

    @property
    def progress(self) -> float:
        """Finished share of the requests, 0..1 (1.0 for a completed batch with no counts)."""
        c = self.request_counts
        if c.total:
            return min(1.0, (c.completed + c.failed) / c.total)
        return 1.0 if self.status == Status.COMPLETED else 0.0

    @property
    def created(self) -> datetime | None:
        return _dt(self.created_at)

    @property
    def expires(self) -> datetime | None:
        return _dt(self.expires_at)

    @property
    def finished_at(self) -> int | None:
        """The terminal timestamp (completed/failed/expired/cancelled), if any."""
        return self.completed_at or self.failed_at or self.expired_at or self.cancelled_at

    @property
    def finished(self) -> datetime | None:
        return _dt(self.finished_at)

    def __repr__(self) -> str:
        """One line for logs: `<Batch batch_abc completed: 40/40 done, 3 failed; created 2026-01-05T10:00:00Z>`."""
        from .render import batch_repr

        return batch_repr(self)

    def __str__(self) -> str:
        """The readable card (what `print(batch)` and terminal IPython show): status, progress, ISO times,
        files, metadata and validation errors."""
        from .render import batch_text

        return batch_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .render import pretty

        pretty(self, printer, cycle)

    def _repr_html_(self) -> str:
        from .render import batch_html

        return batch_html(self)


@dataclass(slots=True)
class FileObject:
    """A file of the Files API (reference 6). `bytes` is the size."""

    id: str
    bytes: int | None = None
    created_at: int | None = None
    filename: str | None = None
    purpose: str | None = None
    status: str | None = None
    expires_at: int | None = None
    object: str = "file"
    status_details: Any = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    request_id: str | None = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any], request_id: str | None = None) -> FileObject:
        g = d.get
        return cls(
            d["id"],
            g("bytes"),
            g("created_at"),
            g("filename"),
            g("purpose"),
            g("status"),
            g("expires_at"),
            g("object") or "file",
            g("status_details"),
            d,
            request_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)

    @property
    def created(self) -> datetime | None:
        return _dt(self.created_at)


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a list call; behaves like a list of its `data`.

    `next_after` is the cursor for the following page under the SDK's rule
    (last id of this page), or None when this is the last page.
    """

    data: list[T]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self.data[index]

    def __bool__(self) -> bool:
        return bool(self.data)

    @property
    def next_after(self) -> str | None:
        if not self.has_more or not self.data:
            return None
        return getattr(self.data[-1], "id", None)
