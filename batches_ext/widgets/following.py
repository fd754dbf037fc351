"""What a `BatchMonitor` does with a `Job`: each refresh advances the job (creating its pending parts as their
turn comes), takes each part's latest batch into its row, and finds a row by the batch it holds now; and the
spend line of the monitor's header (the job's, or its batches', at the dated batch prices).

A mixin of `BatchMonitor`: it uses the monitor's `_job`, `_ids`, `_batches`, lock and rendering. The job's own
lock, never the view's, is held across the job's HTTP calls."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..render import usd

__all__ = ["JobFollowing"]


class JobFollowing:
    """The Job half of `BatchMonitor` (see the module docstring)."""

    _job: Any
    _ids: list[str]
    _batches: dict[str, Any]
    _lock: Any
    _closed: bool
    _notified: bool
    client: Any

    if TYPE_CHECKING:  # provided by LiveView and BatchMonitor
        @property
        def done(self) -> bool: ...
        def _render(self) -> None: ...
        def _record_ok(self) -> None: ...
        def _record_error(self, exc: BaseException) -> None: ...
        def _settle_cancel_note(self, batches: Iterable[Any]) -> None: ...
        def _notify_done(self) -> None: ...

    def _refresh_job(self) -> bool:
        job = self._job
        assert job is not None
        try:
            job.advance(self.client)  # the job's own lock, never the view's, is held across HTTP
        except Exception as exc:
            with self._lock:
                if not self._closed:
                    self._take_job()
                    self._record_error(exc)
                    self._render()
            return False
        with self._lock:
            if self._closed:
                return False
            self._take_job()
            self._record_ok()
            self._settle_cancel_note(self._batches.values())
            self._render()
            finished = self.done and not self._notified
            self._notified = self._notified or finished
        if finished:
            self._notify_done()
        return True

    def _take_job(self) -> None:
        """Each part's latest batch (None while it has none) into the rows."""
        job = self._job
        assert job is not None
        for key, part in zip(self._ids, job.parts, strict=False):
            self._batches[key] = job.batches.get(part.batch_id) if part.batch_id else None

    def _key(self, batch_id: str) -> str | None:
        """The row of `batch_id` (its own id, or a job's part whose batch it is)."""
        if batch_id in self._batches:
            return batch_id
        return next((k for k, b in self._batches.items() if b is not None and b.id == batch_id), None)

    def _spend_text(self) -> str:
        """` · spent $0.0012` (the job's, or the batches' so far, at the dated batch prices) when known."""
        from ..pricing import PRICES_AS_OF
        from ..render import spend_usd

        if self._job is not None:
            total = self._job.spend
        else:
            seen = [b for b in self._batches.values() if b is not None]
            values = [spend_usd(b) for b in seen]
            total = None if not seen or any(v is None for v in values) else sum(v for v in values if v is not None)
        if total is None:
            return ""
        return f" · <span class='bx-spend' title='at the batch prices of {PRICES_AS_OF}'>spent {usd(total)}</span>"
