"""The view's worker: runs posted jobs in order on one daemon thread, so a button never makes the kernel wait on
HTTP.

The thread starts when a job is posted and ends when the queue is empty (an idle view has no thread). A job is
a plain callable; an exception it raises is handed to `on_error` (the view shows it on its message line) and
never printed. `stop()` drops what is queued and returns at once: a job stuck in a network call is not waited
for (the thread is a daemon, and the view ignores what it brings back once closed). `wait_idle(timeout)` blocks
until every job posted so far has run: what tests and scripts use after clicking a button.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

__all__ = ["Worker", "Job"]

Job = Callable[[], object]


class Worker:
    """One on-demand daemon thread running posted jobs first in, first out."""

    def __init__(self, name: str = "batches_ext-worker", on_error: Callable[[BaseException], None] | None = None
                 ) -> None:
        self.name = name
        self._on_error = on_error
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._running = False  # a job is executing right now
        self._stopped = False
        self.done = 0  # jobs run so far

    @property
    def busy(self) -> bool:
        """True while a job runs or waits in the queue."""
        with self._cond:
            return self._running or bool(self._jobs)

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def post(self, job: Job) -> bool:
        """Queue `job`; start the thread if none is running. False (and nothing queued) once stopped."""
        with self._cond:
            if self._stopped:
                return False
            self._jobs.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            return True

    def wait_idle(self, timeout: float | None = 10.0) -> bool:
        """Block until the queue is empty and no job runs; False if `timeout` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stopped or not (self._running or self._jobs), timeout)

    def stop(self, join: float = 0.0) -> None:
        """Drop queued jobs and let the thread end after its current job; join it for at most `join` seconds."""
        with self._cond:
            self._stopped = True
            self._jobs.clear()
            self._cond.notify_all()
            thread = self._thread
        if join > 0 and thread is not None and thread is not threading.current_thread():
            thread.join(join)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopped or not self._jobs:
                    self._running = False
                    self._thread = None if self._thread is threading.current_thread() else self._thread
                    self._cond.notify_all()
                    return
                job = self._jobs.popleft()
                self._running = True
            try:
                job()
            except Exception as exc:  # shown by the view, never printed from a thread
                if self._on_error is not None:
                    try:
                        self._on_error(exc)
                    except Exception:
                        pass
            finally:
                with self._cond:
                    self._running = False
                    self.done += 1
                    self._cond.notify_all()
