"""Clocks the fake reads time from: `ManualClock` for tests, `SystemClock(speed)` for demos.

A batch's status is computed from its schedule and `clock.now()`; nothing ticks in the
background. Both clocks only move forward, which is what keeps every `*_at` stamp stable.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "DEFAULT_SPEED", "MANUAL_EPOCH"]

#: Simulated seconds per real second for `SystemClock()`: a 100-request batch takes ~10 real s.
DEFAULT_SPEED = 60.0
#: Where a `ManualClock` starts, so stamps repeat from run to run (2023-11-14T22:13:20Z).
MANUAL_EPOCH = 1_700_000_000.0


def _check_finite(value: float, what: str) -> None:
    """A clock holds a finite time: NaN or infinity would make every later stamp (and create) fail."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} needs a finite number of seconds, not {value!r}")


class Clock(Protocol):
    def now(self) -> float: ...


class ManualClock:
    """A clock that moves only when told: `advance(seconds)` or `set(t)` (never backwards)."""

    def __init__(self, start: float = MANUAL_EPOCH) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        _check_finite(seconds, "advance")
        if seconds < 0:
            raise ValueError(f"a ManualClock cannot go backwards (advance({seconds}))")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, t: float) -> float:
        _check_finite(t, "set")
        with self._lock:
            if t < self._now:
                raise ValueError(f"a ManualClock cannot go backwards (set({t}) < now {self._now})")
            self._now = float(t)
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now:.0f})"


class SystemClock:
    """Real time, sped up: `anchor + (monotonic elapsed) * speed`. `speed=1` is real time.

    `advance(seconds)` jumps simulated time forward (used by `%batches fake advance`).
    """

    def __init__(self, speed: float = DEFAULT_SPEED, start: float | None = None) -> None:
        _check_finite(speed, "speed")
        if speed <= 0:
            raise ValueError(f"speed must be > 0, not {speed}")
        self.speed = float(speed)
        self._anchor = time.time() if start is None else float(start)
        self._m0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        return self._anchor + (time.monotonic() - self._m0) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        _check_finite(seconds, "advance")
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance({seconds}))")
        self._offset += seconds
        return self.now()

    def __repr__(self) -> str:
        return f"SystemClock(speed={self.speed:g})"
