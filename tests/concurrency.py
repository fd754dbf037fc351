"""Test helpers for code that runs on other threads: wait for a condition, or run callables at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any


def until(predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
    """Poll `predicate` (set by another, real thread) until it holds or `timeout` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return bool(predicate())


def run_concurrently(workers: Iterable[Callable[[], Any]], timeout: float = 60.0) -> None:
    """Run each callable on its own daemon thread, all at once; fail if one is still running after `timeout`
    seconds (a hang), and re-raise the first exception any of them raised."""
    errors: list[BaseException] = []

    def guarded(work: Callable[[], Any]) -> None:
        try:
            work()
        except BaseException as err:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(work,), daemon=True) for work in workers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), f"still running after {timeout:g} s (a hang)"
    if errors:
        raise errors[0]


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """`fn()` run on a daemon thread: its value, or its exception; fail (not hang) after `seconds`."""
    box: dict[str, Any] = {}
    run_concurrently([lambda: box.update(value=fn())], timeout=seconds)
    return box.get("value")
