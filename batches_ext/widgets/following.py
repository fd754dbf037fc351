"""What a `BatchMonitor` does with a `Job`: each refresh advances the job (creating its pending parts as their
turn comes), takes each part's latest batch into its row, and finds a row by the batch it holds now; and the
spend line of the monitor's header (the job's, or its batches', at the dated batch prices).

A mixin of `BatchMonitor`: it uses the monitor's `_job`, `_ids`, `_batches` and its refresh endings. The job's own
lock, never the view's, is held across the job's HTTP calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..render import usd

__all__ = ["JobFollowing"]


class JobFollowing:
    """The Job half of `BatchMonitor` (see the module docstring)."""

    _job: Any
    _ids: list[str]
    _batches: dict[str, Any]
    client: Any

    if TYPE_CHECKING:  # provided by BatchMonitor
        def _refresh_failed(self, take: Callable[[], None], exc: BaseException) -> bool: ...
        def _refresh_done(self, take: Callable[[], None]) -> bool: ...

    def _refresh_job(self) -> bool:
        job = self._job
        assert job is not None
        try:
            job.advance(self.client)  # the job's own lock, never the view's, is held across HTTP
        except Exception as exc:
            return self._refresh_failed(self._take_job, exc)
        return self._refresh_done(self._take_job)

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

        unpriced = 0
        if self._job is not None:
            total = self._job.spend
        else:
            values = [spend_usd(b) for b in self._batches.values() if b is not None]
            known = [v for v in values if v is not None]
            unpriced = len(values) - len(known)
            total = sum(known) if known else None
        if total is None:
            return ""
        gap = f" + {unpriced} without a known price" if unpriced else ""  # the others still add up
        return (f" · <span class='bx-spend' title='at the batch prices of {PRICES_AS_OF}'>spent {usd(total)}{gap}"
                f"</span>")
