"""Bounding a call: its time `Budget` (the deadline) and the `Watch` that cuts its socket when time is up.

A read timeout bounds each `recv`, not a call: a server that trickles one byte a second never trips it. So
every call has a budget (`deadline` seconds: connect, read, retries and backoff together), and while an attempt
is on the wire a `Watch` holds its connection; one daemon thread (the watchdog) shuts that socket down when the
watch's time comes, which ends the blocked read at once. The connection is attached by the client's transport
adapter (`http.WatchedAdapter`) through `watching(watch)`, a thread-local, so no socket is ever passed around.

Two rules set a watch's time:

* the deadline: an attempt may run until the budget is spent (JSON answers, error bodies, uploads' answers);
* progress, for bodies that may legitimately outlast the deadline (a 200 MB upload or download): the transfer
  may take as long as it needs while 64 KiB (or the end) move at least every `timeout` seconds; the time spent
  sending an upload's body is not charged to the budget.

Sleeps between attempts are charged as *booked* (the delay asked for), not as measured, so a client whose
`sleep` moves a fake clock instead of waiting sees the same budget as one that really waits.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Budget", "Watch", "watching", "current_watch", "PROGRESS_BYTES"]

PROGRESS_BYTES = 64 * 1024  # a transfer must move this much (or end) every `timeout` seconds


class Budget:
    """The time one call may take: `seconds` of wall time, minus body transfers, with sleeps as booked."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._start = clock()
        self._credit = 0.0  # measured time not charged (real sleeps, upload bodies)
        self._booked = 0.0  # sleeps as asked for

    def spent(self) -> float:
        return self._clock() - self._start - self._credit + self._booked

    def remaining(self) -> float:
        return self.seconds - self.spent()

    def sleep(self, seconds: float, sleep: Callable[[float], Any]) -> None:
        """Sleep through `sleep` (the client's), charging exactly `seconds`."""
        started = self._clock()
        try:
            sleep(seconds)
        finally:
            self._credit += self._clock() - started
            self._booked += seconds

    def exclude(self, seconds: float) -> None:
        """Do not charge `seconds` already measured (an upload body that kept making progress)."""
        self._credit += max(seconds, 0.0)


class Watch:
    """One call's watch over the connection it is using; `fired` tells that it cut the connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: Any = None
        self._due: float | None = None  # when to cut (None: not armed)
        self._scheduled: float | None = None  # the watchdog's live entry for this watch
        self.fired = False

    def attach(self, connection: Any) -> None:
        """Watch `connection` (a urllib3 connection: its `sock` is shut down when the time comes)."""
        with self._lock:
            self._connection = connection

    def arm(self, seconds: float) -> None:
        """Cut the connection `seconds` from now unless re-armed, paused or finished before."""
        due = time.monotonic() + max(seconds, 0.0)
        with self._lock:
            self._due = due
            push = self._scheduled is None or due < self._scheduled
            if push:
                self._scheduled = due
        if push:
            _WATCHDOG.schedule(self, due)

    def pause(self) -> None:
        """Stop the clock (while the caller, not the network, holds things up)."""
        with self._lock:
            self._due = None

    def finish(self) -> bool:
        """Stop watching and let go of the connection (before it returns to the pool); True if it was cut."""
        with self._lock:
            self._due = None
            self._connection = None
            return self.fired

    def keep(self, entry: float) -> bool:
        """Whether the watchdog must keep its entry at time `entry` (else the entry is forgotten here too)."""
        with self._lock:
            if self._scheduled != entry:
                return False
            if self._due is None:
                self._scheduled = None
                return False
            return True

    def check(self, entry: float, now: float) -> float | None:
        """Called by the watchdog for its entry at `entry`: cut when due; else when to look again (or None)."""
        with self._lock:
            if self._scheduled != entry:
                return None  # superseded by an earlier entry
            self._scheduled = None
            if self._due is None:
                return None
            if now < self._due:
                self._scheduled = self._due
                return self._due
            self._due = None
            sock = getattr(self._connection, "sock", None)
            if sock is None:
                return None
            self.fired = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return None


class _Watchdog:
    """One daemon thread for the whole process: a heap of (due, order, watch); started on first use."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, watch: Watch, due: float) -> None:
        with self._wake:
            entry = (due, next(self._order), watch)
            heapq.heappush(self._heap, entry)
            if len(self._heap) > 4096:  # finished calls' entries: drop them rather than wait for their time
                self._heap = [e for e in self._heap if e[2].keep(e[0])]
                heapq.heapify(self._heap)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="batches_ext-watchdog", daemon=True)
                self._thread.start()
            if self._heap and self._heap[0] is entry:  # the thread sleeps until the earliest entry: wake it
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                entry, _, watch = heapq.heappop(self._heap)
            later = watch.check(entry, time.monotonic())
            if later is not None:
                with self._wake:
                    heapq.heappush(self._heap, (later, next(self._order), watch))


_WATCHDOG = _Watchdog()
_CURRENT = threading.local()


@contextlib.contextmanager
def watching(watch: Watch) -> Iterator[Watch]:
    """Make `watch` the one this thread's next connections attach to (see `http.WatchedAdapter`)."""
    previous = getattr(_CURRENT, "watch", None)
    _CURRENT.watch = watch
    try:
        yield watch
    finally:
        _CURRENT.watch = previous


def current_watch() -> Watch | None:
    return getattr(_CURRENT, "watch", None)
