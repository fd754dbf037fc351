"""Retry policy, modelled on openai-python 3.x (reference section 8), as pure functions.

* Retried: connection errors and timeouts; HTTP 408, 429 and >= 500.
* A `Retry-After` / `retry-after-ms` above `RETRY_AFTER_CAP` (120 s, like SDK 3.x) means **do not retry**: the
  error is raised at once and says how long the server asked to wait. It wins over everything below.
* An `x-should-retry: true|false` response header wins over the status rules.
* **409 is final** (the SDK retries it; we do not): the only 409 of the Batch API is cancelling a
  completed/failed batch, which no retry can change, so retrying only costs time and requests.
* Delay: `retry-after-ms` (milliseconds), else `retry-after` (seconds, float, or an HTTP date),
  used as-is when 0 < value <= 120 s; otherwise (absent, zero, negative, unparseable, not finite: `inf`, `1e400`
  and `nan` are invalid, and a valid sibling header is used instead)
  exponential backoff `min(0.5 * 2**n, 8)` seconds times a jitter in (0.75, 1], n = retries taken.
* The deadline of one call (`deadline_for`): `timeout * (max_retries + 1)` plus the longest backoff the retries
  can take, `sum(min(0.5 * 2**n, 8) for n < max_retries)`; defaults 60 s and 2 retries give 181.5 s.

`backoff_delay` is the package's one exponential backoff: the live views' refresher uses it too, with its
own interval, ceiling and jitter.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping

__all__ = [
    "INITIAL_DELAY",
    "MAX_DELAY",
    "RETRY_AFTER_CAP",
    "should_retry_status",
    "retry_after_seconds",
    "retry_after_too_long",
    "backoff_delay",
    "retry_delay",
    "deadline_for",
]

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
RETRY_AFTER_CAP = 120.0
_RETRY_STATUSES = frozenset({408, 429})


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an error response is worth another attempt. `headers` is case-insensitive."""
    if retry_after_too_long(headers) is not None:
        return False
    override = headers.get("x-should-retry")
    if override is not None:
        flag = override.strip().lower()
        if flag == "true":
            return True
        if flag == "false":
            return False
    return status in _RETRY_STATUSES or status >= 500


def retry_after_seconds(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """The server's requested delay in seconds, or None when it gave none we can read (absent, unparseable).
    A non-finite value (`inf`, `1e400`, `nan`) is invalid: ignored in favour of a valid sibling header."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return seconds
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return float(email.utils.mktime_tz(parsed)) - now()
    except (TypeError, ValueError, OverflowError):
        return None


def retry_after_too_long(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """The requested delay when it is above `RETRY_AFTER_CAP` (the call is then not retried), else None."""
    wanted = retry_after_seconds(headers, now)
    return wanted if wanted is not None and wanted > RETRY_AFTER_CAP else None


def backoff_delay(
    attempt: int,
    *,
    initial: float = INITIAL_DELAY,
    maximum: float = MAX_DELAY,
    jitter: float = 0.25,
    rand: Callable[[], float] = random.random,
) -> float:
    """`min(initial * 2**attempt, maximum)` times a jitter factor in (1 - jitter, 1] (SDK: 0.5 s, 8 s, 0.25)."""
    base = min(initial * (2.0 ** min(max(attempt, 0), 1000)), maximum)
    return base * (1.0 - jitter * rand())


def retry_delay(
    retries_taken: int,
    headers: Mapping[str, str] | None = None,
    *,
    rand: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """Seconds to sleep before the next attempt (headers may be None after a connection error)."""
    if headers is not None:
        wanted = retry_after_seconds(headers, now)
        if wanted is not None and 0 < wanted <= RETRY_AFTER_CAP:
            return wanted
    return backoff_delay(retries_taken, rand=rand)


def deadline_for(timeout: float, max_retries: int) -> float:
    """The default deadline of one call: every attempt's read timeout plus the backoff between them."""
    backoff = sum(min(INITIAL_DELAY * 2.0**n, MAX_DELAY) for n in range(min(max_retries, 1000)))
    return timeout * (max_retries + 1) + backoff
