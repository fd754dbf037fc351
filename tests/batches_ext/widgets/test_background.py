"""The view's worker: jobs run in order on one on-demand daemon thread, errors go to on_error (never printed),
wait_idle() waits for what was posted, and stop() returns at once even while a job hangs."""

from __future__ import annotations

import threading
import time

from batches_ext.widgets import Worker


def test_jobs_run_in_order_on_one_daemon_thread_that_ends_when_idle():
    seen: list[tuple[int, str]] = []
    worker = Worker(name="w")
    for i in range(5):
        worker.post(lambda i=i: seen.append((i, threading.current_thread().name)))
    assert worker.wait_idle(5)
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4] and {name for _, name in seen} == {"w"}
    assert worker.done == 5 and not worker.busy
    thread = worker.thread
    assert thread is None or thread.daemon


def test_errors_go_to_on_error_and_the_next_job_still_runs(capsys):
    errors: list[BaseException] = []
    ran: list[int] = []
    worker = Worker(on_error=errors.append)
    worker.post(lambda: 1 / 0)
    worker.post(lambda: ran.append(1))
    assert worker.wait_idle(5)
    assert [type(e) for e in errors] == [ZeroDivisionError] and ran == [1]
    assert capsys.readouterr() == ("", "")


def test_stop_returns_at_once_while_a_job_hangs_and_drops_the_queue():
    release = threading.Event()
    ran: list[int] = []
    worker = Worker()
    worker.post(lambda: release.wait(30))
    worker.post(lambda: ran.append(1))
    started = time.monotonic()
    worker.stop(join=0.05)
    assert time.monotonic() - started < 1.0
    assert worker.post(lambda: ran.append(2)) is False  # nothing runs after stop
    release.set()
    worker.wait_idle(5)
    assert ran == []
