"""Idempotency-Key replay: the answers to keyed POSTs, and a claim per key in flight so twins never both run.

    store = IdempotencyStore()
    claim = store.claim(tenant, key, route)      # waits while a twin with the same key and route runs
    if claim.answer is not None: ...             # a twin finished first: answer with what it answered
    else:
        try: answer = do_the_work()
        finally: store.release(claim, answer)    # keep it (None: keep nothing), wake the waiting twins

An answer is kept per (tenant, key) together with its route and replayed only for that same route; a
key reused on another route runs again and replaces the kept answer, as the fake always did. Answers are
kept for `ttl` seconds of the fake's clock (24 h) and at most `max_keys` of them (the oldest go first), so
a client that sends a new key with every request cannot grow the fake's memory. The store has its own
small lock, held only to look up or record, never while the work runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from .spec import IDEMPOTENCY_MAX_KEYS, IDEMPOTENCY_SECONDS

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

    def __init__(self, ttl: float = IDEMPOTENCY_SECONDS, max_keys: int = IDEMPOTENCY_MAX_KEYS) -> None:
        self.ttl, self.max_keys = ttl, max_keys
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[Hashable, str], tuple[str, tuple[int, Any], float]] = OrderedDict()
        self._in_flight: dict[tuple[Hashable, str, str], threading.Event] = {}

    def _forget_old(self, now: float) -> None:
        """Drop answers older than `ttl` (kept in the order they were recorded). Under the lock."""
        while self._answers:
            key, (_, _, at) = next(iter(self._answers.items()))
            if at > now - self.ttl:
                break
            del self._answers[key]

    def answer(self, scope: Hashable, key: str, route: str, now: float = 0.0) -> tuple[int, Any] | None:
        """The kept answer for `key` on `route`, if any (does not wait for a twin in flight)."""
        with self._lock:
            self._forget_old(now)
            kept = self._answers.get((scope, key))
        return kept[1] if kept is not None and kept[0] == route else None

    def claim(self, scope: Hashable, key: str, route: str, now: float = 0.0) -> Claim:
        """A claim to run the request, or (once any twin in flight has finished) the answer it kept."""
        while True:
            with self._lock:
                self._forget_old(now)
                kept = self._answers.get((scope, key))
                if kept is not None and kept[0] == route:
                    return Claim(scope, key, route, answer=kept[1])
                pending = self._in_flight.get((scope, key, route))
                if pending is None:
                    done = self._in_flight[(scope, key, route)] = threading.Event()
                    return Claim(scope, key, route, _done=done)
            pending.wait()  # the twin keeps its answer (then it is replayed above) or gives up (then we run)

    def release(self, claim: Claim, answer: tuple[int, Any] | None, now: float = 0.0) -> None:
        """End a claim that ran: keep `answer` for replay (unless None) and wake any waiting twin."""
        if claim._done is None:
            return
        with self._lock:
            if answer is not None:
                self._answers.pop((claim.scope, claim.key), None)  # re-recorded: now the newest
                self._answers[(claim.scope, claim.key)] = (claim.route, answer, now)
                while len(self._answers) > self.max_keys:
                    self._answers.popitem(last=False)
            self._in_flight.pop((claim.scope, claim.key, claim.route), None)
        claim._done.set()

    def clear(self) -> None:
        """Forget every kept answer (claims in flight finish normally)."""
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)
