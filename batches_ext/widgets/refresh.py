"""The background refresher: one daemon thread per view, waking every `interval`, backing off on errors.

The thread only calls the view's tick function, which sets widget values; it never prints or displays
(output from threads lands in whichever cell ran last). The tick returns `True` (success: next wake
after `interval`), `False` (failure: the client's exponential backoff from `interval`, capped at
`max_interval`, with jitter) or
`None` (nothing left to watch: the thread ends). The tick is held by a weak reference when it is a
bound method, so a forgotten view does not keep its thread alive.
"""

from __future__ import annotations

import random
import threading
import weakref
from collections.abc import Callable

from ..client import backoff_delay
from ..errors import InputError

__all__ = ["Refresher", "Tick"]

Tick = Callable[[], "bool | None"]


class Refresher:
    """Runs `tick` on a daemon thread every `interval` seconds until stopped, the tick returns None, or
    the object owning the tick is garbage-collected.

    `start()` is idempotent (at most one thread per refresher); `stop()` sets the stop flag and joins
    briefly, or not at all with `join=0` (never joins from the refresher's own thread). `on_backoff(delay, failures)` is called,
    on the thread, after each failure with the delay before the next attempt.
    """

    def __init__(
        self,
        tick: Tick,
        interval: float = 5.0,
        *,
        max_interval: float = 300.0,
        jitter: float = 0.1,
        on_backoff: Callable[[float, int], None] | None = None,
        name: str = "batches_ext-refresh",
        rng: random.Random | None = None,
    ) -> None:
        if interval <= 0:
            raise InputError("interval must be > 0")
        self._tick_ref = _weak(tick)
        self._on_backoff_ref = _weak(on_backoff) if on_backoff is not None else None
        self.interval = float(interval)
        self.max_interval = max(float(max_interval), self.interval)
        self.jitter = jitter
        self.name = name
        self.failures = 0
        self.ticks = 0
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        with self._lock:
            if self.alive and not self._stop.is_set():
                return
            self._stop = threading.Event()
            self.failures = 0
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name=self.name, daemon=True)
            self._thread.start()

    def stop(self, join: float = 1.0) -> None:
        """Set the stop flag and join the thread for at most `join` seconds (0: do not wait; a tick stuck in a
        network call then ends alone, and the thread with it)."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        if join > 0 and thread is not None and thread is not threading.current_thread():
            thread.join(join)

    def next_delay(self) -> float:
        """`interval` after a success; after `failures` failures in a row the interval doubled per failure,
        capped at `max_interval`, times a jitter in (1 - jitter, 1] so many kernels do not retry in lockstep."""
        if not self.failures:
            return self.interval
        return backoff_delay(self.failures, initial=self.interval, maximum=self.max_interval, jitter=self.jitter,
                             rand=self._rng.random)

    def _run(self, stop: threading.Event) -> None:
        delay = self.interval
        while not stop.wait(delay):
            tick = self._tick_ref()
            if tick is None:
                return
            try:
                outcome = tick()
            except Exception:  # the tick reports its own errors on screen; never print from here
                outcome = False
            del tick
            self.ticks += 1
            if outcome is None or stop.is_set():
                return
            self.failures = 0 if outcome else self.failures + 1
            delay = self.next_delay()
            callback = self._on_backoff_ref() if self._on_backoff_ref is not None else None
            if not outcome and callback is not None:
                try:
                    callback(delay, self.failures)
                except Exception:
                    pass


def _weak(fn: Callable[..., object]) -> Callable[[], Callable[..., object] | None]:
    """A weak reference to a bound method (so the thread does not keep its view alive); others strongly."""
    if hasattr(fn, "__self__") and hasattr(fn, "__func__"):
        return weakref.WeakMethod(fn)  # type: ignore[arg-type]
    return lambda: fn
