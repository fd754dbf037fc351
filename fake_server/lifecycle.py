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

import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

from .spec import TERMINAL, WINDOW_SECONDS

__all__ = ["Timings", "Schedule", "AffineOrder", "View", "observe"]

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


class AffineOrder(Sequence[int]):
    """The order a batch's lines finish in, in O(1) memory: rank r runs input line ``(a * r + b) % n``.

    `a` is coprime with `n`, so every line appears exactly once; `shuffled(n, rng)` picks `a` and `b`
    from the fake's seeded RNG, so output order differs from input order (reference §9.4) and repeats.
    """

    __slots__ = ("n", "a", "b")

    def __init__(self, n: int, a: int = 1, b: int = 0) -> None:
        self.n, self.a, self.b = n, a, b

    @classmethod
    def shuffled(cls, n: int, rng: random.Random) -> AffineOrder:
        if n < 2:
            return cls(n)
        coprimes = [a for a in range(2, n) if math.gcd(a, n) == 1] if n <= 64 else []
        if n > 64:
            while True:  # a random coprime step: at most a few draws
                a = rng.randrange(2, n)
                if math.gcd(a, n) == 1:
                    break
        else:
            a = rng.choice(coprimes) if coprimes else 1
        b = rng.randrange(n)
        if a == 1 and b == 0:
            b = 1  # never the identity (n == 2: the swap)
        return cls(n, a, b)

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, rank: int) -> int: ...

    @overload
    def __getitem__(self, rank: slice) -> list[int]: ...

    def __getitem__(self, rank: int | slice) -> int | list[int]:
        if isinstance(rank, slice):
            return [self[r] for r in range(*rank.indices(self.n))]
        if not -self.n <= rank < self.n:
            raise IndexError(rank)
        return (self.a * (rank % self.n) + self.b) % self.n

    def __repr__(self) -> str:
        return f"AffineOrder(n={self.n}, a={self.a}, b={self.b})"


@dataclass(slots=True)
class Schedule:
    """The plan of one batch. Times are absolute integer seconds.

    Line k of `order` (its *rank*) finishes at ``start + ceil((k + 1) * span / n)``, or earlier: at
    `forced_complete_at` (a test author's `complete`) or, for the first `head_count` ranks, at `head_at`
    (a seeded partial batch). Every question (how many lines are done at t, when the last one is) is
    arithmetic on these few numbers, never a walk over the lines.
    """

    created_at: int
    validated_at: int
    expires_at: int
    n: int
    errors: list[dict] | None = None  # whole-batch validation errors -> failed at validated_at
    finalizing_seconds: int = 30
    cancelling_seconds: int = 30
    cancelling_at: int | None = None
    forced_complete_at: int | None = None
    forced_fail_at: int | None = None
    fail_errors: list[dict] | None = None  # errors.data of a forced failure
    forced_expire_at: int | None = None
    start: int = 0
    span: float = 0.0
    order: Sequence[int] = ()
    head_count: int = 0
    head_at: int | None = None

    def copy(self) -> Schedule:
        """A copy to change: a schedule a view has seen is never changed in place (see `BatchRecord.shown`)."""
        return dataclasses.replace(self)

    def plan_lines(self, start: int, span: float, order: Sequence[int]) -> None:
        """Finish the k-th line of `order` at start + ceil((k+1) * span / n)."""
        self.start, self.span, self.order = start, float(span), order
        self.head_count, self.head_at = 0, None

    def finish_head(self, count: int, at: int) -> None:
        """The first `count` ranks finish at `at` (the others keep their plan, which must end after `at`)."""
        self.head_count, self.head_at = min(count, self.n), at

    def _planned(self, rank: int) -> int:
        return self.start + math.ceil((rank + 1) * self.span / max(self.n, 1))

    def line_done_at(self, rank: int) -> int:
        """When the line of rank `rank` finishes."""
        at = self._planned(rank)
        if self.head_at is not None and rank < self.head_count:
            at = min(at, self.head_at)
        if self.forced_complete_at is not None:
            at = min(at, self.forced_complete_at)
        return at

    def done_count(self, until: float) -> int:
        """How many lines (ranks 0 .. k-1) have finished by `until`."""
        if self.n == 0 or until == -_INF:
            return 0
        if self.forced_complete_at is not None and until >= self.forced_complete_at:
            return self.n
        k = self._planned_count(until)
        if self.head_at is not None and until >= self.head_at:
            k = max(k, self.head_count)
        return k

    def _planned_count(self, until: float) -> int:
        elapsed = math.floor(until - self.start)
        if elapsed < 0:
            return 0
        if self.span <= 0:
            return self.n
        k = max(0, min(self.n, int(elapsed * self.n / self.span)))
        while k < self.n and self._planned(k) <= until:  # float rounding: settle on the exact count
            k += 1
        while k > 0 and self._planned(k - 1) > until:
            k -= 1
        return k

    def done_indexes(self, until: float) -> list[int]:
        """Input indexes of the lines finished by `until`, in the order they finished."""
        return [self.order[rank] for rank in range(self.done_count(until))]

    @property
    def finalizing_at(self) -> int:
        if self.forced_complete_at is not None:
            return self.forced_complete_at
        return self.line_done_at(self.n - 1) if self.n else self.validated_at

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
