"""Idempotency-Key replay: the answers to keyed POSTs, and a claim per key in flight so twins never both run.

    store = IdempotencyStore()
    claim = store.claim(tenant, key, route)      # waits while a twin with the same key and route runs
    if claim.answer is not None: ...             # a twin finished first: answer with what it answered
    else:
        try: answer = do_the_work()
        finally: store.release(claim, answer)    # keep it (None: keep nothing), wake the waiting twins

An answer is kept per (tenant, key) together with its route and replayed only for that same route; a
key reused on another route runs again and replaces the kept answer, as the fake always did. The store
has its own small lock, held only to look up or record, never while the work runs.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

__all__ = ["IdempotencyStore", "Claim"]


@dataclass
class Claim:
    """The right to run one keyed request (`answer` is None), or the answer a twin already gave."""

    scope: Hashable
    key: str
    route: str
    answer: tuple[int, Any] | None = None
    _done: threading.Event | None = None


class IdempotencyStore:
    """Answers to keyed requests by (scope, key) with their route, and the keys whose work is in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[tuple[Hashable, str], tuple[str, tuple[int, Any]]] = {}
        self._in_flight: dict[tuple[Hashable, str, str], threading.Event] = {}

    def answer(self, scope: Hashable, key: str, route: str) -> tuple[int, Any] | None:
        """The kept answer for `key` on `route`, if any (does not wait for a twin in flight)."""
        with self._lock:
            kept = self._answers.get((scope, key))
        return kept[1] if kept is not None and kept[0] == route else None

    def claim(self, scope: Hashable, key: str, route: str) -> Claim:
        """A claim to run the request, or (once any twin in flight has finished) the answer it kept."""
        while True:
            with self._lock:
                kept = self._answers.get((scope, key))
                if kept is not None and kept[0] == route:
                    return Claim(scope, key, route, answer=kept[1])
                pending = self._in_flight.get((scope, key, route))
                if pending is None:
                    done = self._in_flight[(scope, key, route)] = threading.Event()
                    return Claim(scope, key, route, _done=done)
            pending.wait()  # the twin keeps its answer (then it is replayed above) or gives up (then we run)

    def release(self, claim: Claim, answer: tuple[int, Any] | None) -> None:
        """End a claim that ran: keep `answer` for replay (unless None) and wake any waiting twin."""
        if claim._done is None:
            return
        with self._lock:
            if answer is not None:
                self._answers[(claim.scope, claim.key)] = (claim.route, answer)
            self._in_flight.pop((claim.scope, claim.key, claim.route), None)
        claim._done.set()

    def clear(self) -> None:
        """Forget every kept answer (claims in flight finish normally)."""
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)
