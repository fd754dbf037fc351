"""Idempotency-Key replay: the answers to keyed POSTs with a digest of their request, and a claim per key in
flight so twins never both run.

    store = IdempotencyStore()
    digest = request_digest("POST", "/v1/batches", body)   # or upload_digest(...) for a multipart upload
    claim = store.claim(tenant, key, digest)     # waits while a twin with the same key runs
    if claim.answer is not None: ...             # the kept answer (same request) or the 422 (another request)
    else:
        try: answer = do_the_work()
        finally: store.release(claim, answer)    # keep it (None: keep nothing), wake the waiting twins

An answer is kept per (tenant, key) with the digest of the request that earned it (method, route and the
parsed JSON body; for an upload its filename, fields and the file's SHA-256, since a retried multipart body
has a new boundary). The same key with the same request replays the answer; with any other request (another
body, another route) it is a 422 "Keys for idempotent requests can only be used with the same parameters they
were first used with." — Stripe's behaviour and the IETF draft's (draft-ietf-httpapi-idempotency-key-header);
the real OpenAI API's is unknown. Only what the App chooses to keep is kept (2xx answers: a 4xx such as a
validation error is not, so a corrected request with the same key runs). Answers are kept for `ttl` seconds
of the fake's clock (24 h) and at most `max_keys` of them (the oldest go first), so a client that sends a new
key with every request cannot grow the fake's memory. The store has its own small lock, held only to look up
or record, never while the work runs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from . import strict_json
from .errors import envelope
from .spec import IDEMPOTENCY_MAX_KEYS, IDEMPOTENCY_SECONDS

__all__ = ["IdempotencyStore", "Claim", "request_digest", "upload_digest", "KEY_REUSED"]

KEY_REUSED = "Keys for idempotent requests can only be used with the same parameters they were first used with."


def _hex(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()


def request_digest(method: str, path: str, body: bytes) -> str:
    """What identifies a JSON request: method, path and its body parsed (key order and spacing do not count;
    a body that does not parse counts as its bytes)."""
    try:
        canonical = json.dumps(strict_json.loads(body), sort_keys=True, separators=(",", ":")) if body else ""
    except ValueError:
        canonical = "raw:" + hashlib.sha256(body).hexdigest()
    return _hex(method, path, canonical)


def upload_digest(method: str, path: str, filename: str, fields: Mapping[str, str], content_sha256: str) -> str:
    """What identifies a multipart upload: the file's content, its filename and the text fields (purpose,
    expires_after[...]), never the boundary."""
    return _hex(method, path, filename, json.dumps(sorted(fields.items())), content_sha256)


def key_reused() -> tuple[int, dict[str, Any]]:
    """The 422 answer to a key reused with another request."""
    return 422, envelope(KEY_REUSED)


@dataclass
class Claim:
    """The right to run one keyed request (`answer` is None), or the answer to give instead: a twin's (same
    request) or the 422 (another request)."""

    scope: Hashable
    key: str
    digest: str
    answer: tuple[int, Any] | None = None
    _done: threading.Event | None = None


class IdempotencyStore:
    """Answers to keyed requests by (scope, key) with their request's digest, and the keys whose work is in flight."""

    def __init__(self, ttl: float = IDEMPOTENCY_SECONDS, max_keys: int = IDEMPOTENCY_MAX_KEYS) -> None:
        self.ttl, self.max_keys = ttl, max_keys
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[Hashable, str], tuple[str, tuple[int, Any], float]] = OrderedDict()
        self._in_flight: dict[tuple[Hashable, str], threading.Event] = {}

    def _forget_old(self, now: float) -> None:
        """Drop answers older than `ttl` (kept in the order they were recorded). Under the lock."""
        while self._answers:
            key, (_, _, at) = next(iter(self._answers.items()))
            if at > now - self.ttl:
                break
            del self._answers[key]

    def answer(self, scope: Hashable, key: str, digest: str, now: float = 0.0) -> tuple[int, Any] | None:
        """What a request with `key` and `digest` would be answered without running: the kept answer, the 422
        for another request, or None (does not wait for a twin in flight)."""
        with self._lock:
            self._forget_old(now)
            kept = self._answers.get((scope, key))
        if kept is None:
            return None
        return kept[1] if kept[0] == digest else key_reused()

    def claim(self, scope: Hashable, key: str, digest: str, now: float = 0.0) -> Claim:
        """A claim to run the request, or (once any twin in flight has finished) the answer to give instead."""
        while True:
            with self._lock:
                self._forget_old(now)
                kept = self._answers.get((scope, key))
                if kept is not None:
                    return Claim(scope, key, digest, answer=kept[1] if kept[0] == digest else key_reused())
                pending = self._in_flight.get((scope, key))
                if pending is None:
                    done = self._in_flight[(scope, key)] = threading.Event()
                    return Claim(scope, key, digest, _done=done)
            pending.wait()  # the twin keeps its answer (then it is compared above) or gives up (then we run)

    def release(self, claim: Claim, answer: tuple[int, Any] | None, now: float = 0.0) -> None:
        """End a claim that ran: keep `answer` for replay (unless None) and wake any waiting twin."""
        if claim._done is None:
            return
        with self._lock:
            if answer is not None:
                self._answers.pop((claim.scope, claim.key), None)  # re-recorded: now the newest
                self._answers[(claim.scope, claim.key)] = (claim.digest, answer, now)
                while len(self._answers) > self.max_keys:
                    self._answers.popitem(last=False)
            self._in_flight.pop((claim.scope, claim.key), None)
        claim._done.set()

    def clear(self) -> None:
        """Forget every kept answer (claims in flight finish normally)."""
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)
