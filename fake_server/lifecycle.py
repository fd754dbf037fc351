"""Where a batch is at time t: a pure function of its schedule and the clock.

A `Schedule` is fixed when the batch is created (validation end, when each request line
finishes, finalizing length, expiry) and changed only by events that happen *now* and so
only affect the future: a cancel, or a test author's `complete` / `fail` / `expire`.
`observe(schedule, t)` derives status, every `*_at` stamp and `request_counts` from it;
nothing ticks in the background, and since clocks only move forward, a stamp once seen
never changes.

Choices where the reference is silent (documented in the README too):

* cancel is accepted while `validating`, `in_progress` or `finalizing`; processing stops at
  `cancelling_at`, lines finished before it are kept, and the batch is `cancelled`
  `Timings.cancelling` seconds later (0 gives an immediate `cancelled`);
* lines a cancel drops are *not* written to the error file (counts stay what ran);
* `expired` can happen from `validating`, `in_progress` or `finalizing` once `expires_at` passes
  (a batch already `cancelling` ends `cancelled`); every unfinished line then goes to the error
  file as `batch_expired` and counts as failed.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from .spec import TERMINAL, WINDOW_SECONDS

__all__ = ["Timings", "Schedule", "View", "observe"]

_INF = math.inf


@dataclass(frozen=True)
class Timings:
    """Simulated durations in seconds. Defaults: a 100-request batch takes 560 s, ~9 s at speed 60."""

    validation: int = 30
    per_request: float = 5.0
    max_processing: int = 3600
    finalizing: int = 30
    cancelling: int = 30
    window: int = WINDOW_SECONDS

    def processing_span(self, n: int) -> float:
        return min(n * self.per_request, float(self.max_processing))


@dataclass
class Schedule:
    """The plan of one batch. Times are absolute integer seconds."""

    created_at: int
    validated_at: int
    expires_at: int
    n: int
    errors: list[dict] | None = None  # whole-batch validation errors -> failed at validated_at
    done_at: list[int] = field(default_factory=list)  # per input index
    finalizing_seconds: int = 30
    cancelling_seconds: int = 30
    cancelling_at: int | None = None
    forced_complete_at: int | None = None
    forced_fail_at: int | None = None
    fail_errors: list[dict] | None = None  # errors.data of a forced failure
    forced_expire_at: int | None = None
    _order: list[int] = field(default_factory=list, repr=False)  # input indexes sorted by done_at
    _sorted_done: list[int] = field(default_factory=list, repr=False)

    def plan_lines(self, start: int, span: float, order: list[int]) -> None:
        """Finish the k-th line of `order` at start + ceil((k+1) * span / n)."""
        n = max(self.n, 1)
        self.done_at = [0] * self.n
        for k, index in enumerate(order):
            self.done_at[index] = start + math.ceil((k + 1) * span / n)
        self._index()

    def finish_all_by(self, t: int) -> None:
        self.set_done([min(d, t) for d in self.done_at])

    def set_done(self, done_at: list[int]) -> None:
        self.done_at = list(done_at)
        self._index()

    def _index(self) -> None:
        self._order = sorted(range(self.n), key=lambda i: (self.done_at[i], i))
        self._sorted_done = [self.done_at[i] for i in self._order]

    @property
    def finalizing_at(self) -> int:
        if self.forced_complete_at is not None:
            return self.forced_complete_at
        return max(self.done_at, default=self.validated_at)

    @property
    def completed_at(self) -> int:
        if self.forced_complete_at is not None:
            return self.forced_complete_at
        return self.finalizing_at + self.finalizing_seconds

    @property
    def cancelled_at(self) -> int | None:
        return None if self.cancelling_at is None else self.cancelling_at + self.cancelling_seconds

    def terminal(self) -> tuple[str, int]:
        """The planned terminal status and when it happens (ties: failed, completed, cancelled, expired)."""
        candidates: list[tuple[float, int, str]] = []
        cancelled_first = self.cancelling_at is not None and self.cancelling_at < self.validated_at
        if self.errors is not None and not cancelled_first:
            candidates.append((self.validated_at, 0, "failed"))
        if self.forced_fail_at is not None:
            candidates.append((self.forced_fail_at, 0, "failed"))
        if self.errors is None and self.cancelling_at is None:
            candidates.append((self.completed_at, 1, "completed"))
        if self.cancelled_at is not None:
            candidates.append((self.cancelled_at, 2, "cancelled"))
        expiry = self.forced_expire_at if self.forced_expire_at is not None else self.expires_at
        if self.cancelling_at is None or expiry < self.cancelling_at:  # a cancelling batch ends cancelled
            candidates.append((expiry, 3, "expired"))
        at, _, status = min(candidates)
        return status, int(at)

    def done_indexes(self, until: float) -> list[int]:
        """Input indexes of the lines finished by `until`, in the order they finished."""
        k = bisect.bisect_right(self._sorted_done, until)
        return self._order[:k]


@dataclass
class View:
    """A batch as seen at one instant."""

    status: str
    stamps: dict[str, int | None]
    processed_until: float  # lines with done_at <= this have run (-inf: none)
    counts_total: int
    terminal_at: int | None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


_STAMPS = (
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def observe(s: Schedule, t: float) -> View:
    """Status, stamps and how far processing got for schedule `s` at time `t`."""
    final_status, final_at = s.terminal()
    terminal = final_at <= t
    stamps: dict[str, int | None] = dict.fromkeys(_STAMPS)
    stamps["created_at"] = s.created_at
    stamps["expires_at"] = s.expires_at

    # Processing stops at the first of: a cancel, a forced fail, expiry (or now).
    stop: float = t
    if s.cancelling_at is not None:
        stop = min(stop, s.cancelling_at)
    if final_status in ("failed", "expired"):
        stop = min(stop, final_at)

    validated = s.errors is None and s.validated_at <= stop
    if validated:
        stamps["in_progress_at"] = s.validated_at
        if s.finalizing_at <= stop:
            stamps["finalizing_at"] = s.finalizing_at
    if s.cancelling_at is not None and s.cancelling_at <= t:
        stamps["cancelling_at"] = s.cancelling_at
    if terminal:
        stamps[f"{final_status}_at"] = final_at

    if terminal:
        status = final_status
    elif s.cancelling_at is not None and s.cancelling_at <= t:
        status = "cancelling"
    elif not validated:
        status = "validating"
    elif stamps["finalizing_at"] is None:
        status = "in_progress"
    else:
        status = "finalizing"

    processed_until = stop if validated else -_INF
    return View(
        status=status,
        stamps=stamps,
        processed_until=processed_until,
        counts_total=s.n if validated else 0,
        terminal_at=final_at if terminal else None,
    )
