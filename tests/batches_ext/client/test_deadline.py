"""The call's budget (sleeps charged as booked, upload time excluded) and the watchdog that cuts a socket."""

from __future__ import annotations

import socket
import threading

from batches_ext.client import deadline_for
from batches_ext.client.deadline import Budget, Watch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_default_deadline_is_every_timeout_plus_the_backoff():
    assert deadline_for(60, 2) == 181.5
    assert deadline_for(2, 2) == 7.5
    assert deadline_for(10, 0) == 10
    assert deadline_for(1, 6) == 7 + 0.5 + 1 + 2 + 4 + 8 + 8


def test_sleeps_are_charged_as_booked_and_uploads_not_at_all():
    clock = Clock()
    budget = Budget(10, clock)
    clock.now += 2  # an attempt
    budget.sleep(3, lambda s: None)  # a sleep that moves a fake clock, not this one: still 3 s spent
    assert budget.spent() == 5 and budget.remaining() == 5

    def real_sleep(seconds: float) -> None:
        clock.now += seconds + 0.25  # a real sleep that overslept

    budget.sleep(1, real_sleep)
    assert budget.spent() == 6
    clock.now += 4  # sending a big body that kept making progress
    budget.exclude(4)
    assert budget.spent() == 6 and budget.remaining() == 4


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


def test_a_watch_cuts_its_connection_when_due_and_not_when_paused_or_finished():
    left, right = socket.socketpair()
    try:
        watch = Watch()
        watch.attach(_Connection(left))
        watch.arm(0.05)
        left.settimeout(30)
        assert left.recv(10) == b""  # blocked in recv until the watchdog shut the socket down
        assert watch.fired and watch.finish()
    finally:
        left.close()
        right.close()

    left, right = socket.socketpair()
    try:
        quiet = Watch()
        quiet.attach(_Connection(left))
        quiet.arm(0.05)
        quiet.pause()
        done = threading.Event()
        late = Watch()  # a second watch due later proves the watchdog ran past the first one's time
        late.arm(0.2)
        late.attach(type("C", (), {"sock": None})())
        threading.Timer(0.4, done.set).start()
        done.wait(5)
        right.sendall(b"hi")
        left.settimeout(5)
        assert left.recv(10) == b"hi" and not quiet.fired and not quiet.finish()
    finally:
        left.close()
        right.close()


def test_re_arming_earlier_takes_effect():
    left, right = socket.socketpair()
    try:
        watch = Watch()
        watch.attach(_Connection(left))
        watch.arm(60)
        watch.arm(0.05)  # earlier than the entry already scheduled
        left.settimeout(30)
        assert left.recv(10) == b"" and watch.fired
    finally:
        left.close()
        right.close()
