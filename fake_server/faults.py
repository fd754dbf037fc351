"""Deterministic fault injection: an ordered list of rules matched against each incoming request.

    fake.faults.fail_next(429, times=2, retry_after=1)       # the next 2 requests get a 429
    fake.faults.drop_next(path=r"/batches$", method="POST", after_commit=True)
    fake.faults.delay(0.2, path=r"/files")                  # every files call sleeps 0.2 s
    fake.faults.fail_rate(0.1, status=503)                  # 10 % of calls, seeded: reproducible

`FaultPlan.match(method, path)` returns the first active rule that matches (method equal,
case-insensitive; path regex found with `re.search`) and consumes one of its `times`; a rule
that runs out drops out of the plan. One request gets at most one rule. A `rate` rule draws
from the plan's own `random.Random(seed)` only when its method and path match, so the same
sequence of requests fires the same faults on every run. The handler applies the rule:
`delay` (sleep), then `drop` ("before": no work done, connection dropped; "after": the work
is done and committed, then the connection is dropped), else `status` (an error, 400-599:
`FAULT_STATUSES`) with `error_body()` / `error_headers()`.

A rule's numbers are checked by `check_field` with the bounds in `FIELD_BOUNDS`, the same for a rule made here
(ValueError at the call) and one posted to the control plane (a 400): finite, `retry_after` 0–86,400 s,
`retry_after_ms` 0–86,400,000, `delay` 0–30 s (a real sleep), `rate` 0–1, `times` 0–1,000,000 or None.
"""

from __future__ import annotations

import copy
import math
import random
import re
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from .errors import INVALID_REQUEST, SERVER_ERROR, envelope

__all__ = ["Fault", "FaultPlan", "FAULT_STATUSES", "FIELD_BOUNDS", "MAX_DELAY_SECONDS", "check_field",
           "field_rule"]

#: What a fault's `status` may be: an error (4xx or 5xx). A 1xx is not a final answer (the client would wait
#: for one to its read timeout), and a 2xx/3xx with an error body breaks clients instead of testing them.
FAULT_STATUSES = range(400, 600)

MAX_DELAY_SECONDS = 30.0  # a fault's real sleep: longer would only hang the server's threads

#: A fault's numeric fields: (low, high, integer?). Shared by `Fault` and the control plane.
FIELD_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "times": (0, 1_000_000, True),
    "rate": (0.0, 1.0, False),
    "retry_after": (0.0, 86_400.0, False),
    "retry_after_ms": (0, 86_400_000, True),
    "delay": (0.0, MAX_DELAY_SECONDS, False),
}


def field_rule(name: str) -> str:
    """What `name` must be, in words: "a finite number between 0 and 86400", "an integer between 0 and 1,000"."""
    low, high, integer = FIELD_BOUNDS[name]
    if integer:
        return f"an integer between {int(low):,} and {int(high):,}"
    return f"a finite number between {low:g} and {high:g}"


def check_field(name: str, value: object) -> None:
    """ValueError unless `value` is what the fault field `name` takes (see FIELD_BOUNDS): the one check for
    `Fault` and the control plane."""
    low, high, integer = FIELD_BOUNDS[name]
    number = isinstance(value, int) if integer else isinstance(value, (int, float))
    if not isinstance(value, (int, float)) or not number or isinstance(value, bool) or not math.isfinite(value) \
            or not low <= value <= high:
        raise ValueError(f"{name} must be {field_rule(name)}, not {value!r}")


_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"
_MESSAGES = {
    429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
    500: (_SERVER_ERROR, SERVER_ERROR, None),
    502: ("Bad gateway.", SERVER_ERROR, None),
    503: ("The engine is currently overloaded, please try again later.", SERVER_ERROR, None),
}
_DROPS = (None, "before", "after")


@dataclass
class Fault:
    """One rule: which requests it matches, how many times, and what happens to them."""

    method: str | None = None
    path: str | None = None
    times: int | None = 1
    rate: float | None = None
    status: int | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    body: dict | None = None
    delay: float = 0.0
    drop: str | None = None
    remaining: int | None = field(init=False, default=None)
    hits: int = field(init=False, default=0)
    _regex: re.Pattern[str] | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method is not None:
            self.method = self.method.upper()
        for name in FIELD_BOUNDS:
            if getattr(self, name) is not None:
                check_field(name, getattr(self, name))
        if self.status is not None and (not isinstance(self.status, int) or isinstance(self.status, bool)
                                        or not FAULT_STATUSES.start <= self.status < FAULT_STATUSES.stop):
            raise ValueError(f"status must be an HTTP error status, 400-599, not {self.status!r}")
        if self.drop not in _DROPS:
            raise ValueError(f"drop must be 'before', 'after' or None, not {self.drop!r}")
        if self.body is not None and self.status is None:
            raise ValueError("a fault with a body needs a status")
        if self.status is None and self.drop is None and not self.delay:
            raise ValueError("a fault needs an action: status, drop or delay")
        try:
            self._regex = re.compile(self.path) if self.path is not None else None
        except re.error as err:
            raise ValueError(f"path is not a valid regular expression: {err}") from None
        self.remaining = self.times

    @property
    def active(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def matches(self, method: str, path: str) -> bool:
        """Does this rule's method/path filter accept the request? (Ignores `times` and `rate`.)"""
        if self.method is not None and self.method != method.upper():
            return False
        return self._regex is None or self._regex.search(path) is not None

    def error_body(self) -> dict:
        """The response body for `status`: the API's error envelope, or the custom `body`."""
        if self.body is not None:
            return copy.deepcopy(self.body)
        status = self.status or 500
        known = _MESSAGES.get(status)
        if known is not None:
            message, kind, code = known
        else:
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            message = f"{phrase}."
            kind, code = (SERVER_ERROR if status >= 500 else INVALID_REQUEST), None
        return envelope(message, type=kind, code=code)

    def error_headers(self) -> dict[str, str]:
        """`retry-after` (seconds) and/or `retry-after-ms` headers, when the rule sets them."""
        headers = {}
        if self.retry_after is not None:
            value = self.retry_after
            headers["retry-after"] = str(int(value)) if float(value).is_integer() else str(value)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(int(self.retry_after_ms))
        return headers


class FaultPlan:
    """An ordered, thread-safe list of `Fault` rules with a seeded RNG for `rate` rules."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self.fired = 0

    # -- building ---------------------------------------------------------------------------------

    def add(self, **fields: Any) -> Fault:
        """Append a rule built from `Fault` fields; returns it (its `remaining` and `hits` stay live)."""
        fault = Fault(**fields)
        with self._lock:
            if fault.active:
                self._rules.append(fault)
        return fault

    def fail_next(
        self,
        status: int = 500,
        times: int | None = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
    ) -> Fault:
        """The next `times` matching requests get `status` with the API's error envelope."""
        return self.add(status=status, times=times, method=method, path=path,
                        retry_after=retry_after, retry_after_ms=retry_after_ms)

    def rate_limit(
        self, times: int | None = 1, retry_after: float | None = 1, *, method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """The next `times` matching requests get a 429 with `retry-after: <retry_after>`."""
        return self.add(status=429, times=times, retry_after=retry_after, method=method, path=path)

    def drop_next(
        self, times: int | None = 1, *, method: str | None = None, path: str | None = None,
        after_commit: bool = False,
    ) -> Fault:
        """Drop the connection of the next `times` matching requests, before or after doing the work."""
        return self.add(drop="after" if after_commit else "before", times=times, method=method, path=path)

    def delay(
        self, seconds: float, *, method: str | None = None, path: str | None = None, times: int | None = None,
    ) -> Fault:
        """Matching requests (all of them unless `times`) are answered `seconds` late."""
        return self.add(delay=seconds, times=times, method=method, path=path)

    def fail_rate(
        self, rate: float, status: int = 500, *, method: str | None = None, path: str | None = None,
    ) -> Fault:
        """Each matching request fails with `status` with probability `rate` (seeded, reproducible)."""
        return self.add(rate=rate, status=status, times=None, method=method, path=path)

    # -- using ------------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Fault | None:
        """The first active rule matching this request, with one of its `times` consumed; else None."""
        with self._lock:
            for fault in self._rules:
                if not fault.matches(method, path):
                    continue
                if fault.rate is not None and self._rng.random() >= fault.rate:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._rules.remove(fault)
                fault.hits += 1
                self.fired += 1
                return fault
        return None

    def clear(self) -> None:
        """Forget every rule, zero `fired` and reseed the RNG (a reset plan replays identically)."""
        with self._lock:
            self._rules.clear()
            self.fired = 0
            self._rng = random.Random(self.seed)

    @property
    def rules(self) -> list[Fault]:
        """A snapshot of the active rules, in matching order."""
        with self._lock:
            return list(self._rules)

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)

    def __repr__(self) -> str:
        return f"FaultPlan(seed={self.seed}, rules={len(self)}, fired={self.fired})"
