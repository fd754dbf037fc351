"""The Batch API's two limits, in simulated time: batch creations per hour, and a per-model enqueued-token quota.

`CreationRate` answers 429 (with `retry-after` seconds) once an organization has created
`limit_per_hour` batches in the last hour of the fake's clock, so a client waiting on a ManualClock
(`FakeBatchesAPI.sleep`) gets through as soon as its wait moves the clock past the oldest creation.
`TokenQuota` sums the prompt tokens of an organization's unfinished batches per model; a batch that
would pass the model's limit fails (`token_limit_exceeded`, reference §4.4) instead of running, and its
tokens are never counted. Both are helpers of `backend.Backend`, used under its lock.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping

from .errors import ApiError
from .spec import RATE_WINDOW_SECONDS
from .state import BatchRecord

__all__ = ["CreationRate", "TokenQuota", "quota_error"]

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$|-\d{4}$")


class CreationRate:
    """At most `limit_per_hour` batch creations per organization in any hour of simulated time (None: no limit)."""

    def __init__(self, limit_per_hour: int | None) -> None:
        if limit_per_hour is not None and (not isinstance(limit_per_hour, int) or limit_per_hour < 1):
            raise ValueError(f"batch_create_limit_per_hour must be a positive int or None, not {limit_per_hour!r}")
        self.limit = limit_per_hour
        self._created: dict[str, deque[float]] = {}

    def take(self, organization: str, now: float) -> None:
        """Count one creation now, or raise the API's 429 with `retry-after` (whole seconds, at least 1)."""
        if self.limit is None:
            return
        times = self._created.setdefault(organization, deque())
        while times and times[0] <= now - RATE_WINDOW_SECONDS:
            times.popleft()
        if len(times) >= self.limit:
            wait = max(1, math.ceil(times[0] + RATE_WINDOW_SECONDS - now))
            raise ApiError(
                429,
                f"Rate limit reached for batches per hour in organization {organization}: Limit {self.limit:,}, "
                f"Used {len(times):,}, Requested 1. Please try again in {wait}s.",
                type="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": str(wait)},
            )
        times.append(now)

    def clear(self) -> None:
        self._created.clear()


def quota_error(model: str, organization: str, limit: int) -> dict:
    """The `errors.data` entry of a batch refused by the enqueued-token quota (reference §4.4, observed)."""
    return {
        "code": "token_limit_exceeded",
        "message": (
            f"Enqueued token limit reached for {model} in organization {organization}. Limit: {limit:,} enqueued "
            "tokens. Please try again once some in_progress batches have been completed."
        ),
        "param": None,
        "line": None,
    }


class TokenQuota:
    """Per organization and model, the prompt tokens of the batches that have not ended yet."""

    def __init__(self, limits: Mapping[str, int] | None) -> None:
        self.limits = dict(limits or {})
        for model, limit in self.limits.items():
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise ValueError(f"enqueued token limit for {model!r} must be a non-negative int, not {limit!r}")
        self._active: dict[tuple[str, str], list[BatchRecord]] = {}

    def limit_for(self, model: str) -> tuple[str, int] | None:
        """(the limit's model name, its limit) for `model` or its undated name (gpt-4o-mini-2024-07-18)."""
        for name in (model, _SNAPSHOT.sub("", model)):
            if name in self.limits:
                return name, self.limits[name]
        return None

    def refusal(self, organization: str, model: str | None, tokens: int, now: float) -> dict | None:
        """The error that fails a batch of `tokens` prompt tokens for `model` when they would pass its limit."""
        if model is None or not tokens:
            return None
        found = self.limit_for(model)
        if found is None:
            return None
        name, limit = found
        active = self._active.setdefault((organization, name), [])
        active[:] = [b for b in active if b.prompt_tokens and b.schedule.terminal()[1] > now]  # finished: released
        if sum(b.prompt_tokens for b in active) + tokens > limit:
            return quota_error(model, organization, limit)
        return None

    def add(self, organization: str, record: BatchRecord) -> None:
        """Count an admitted batch's tokens until it ends."""
        if record.model is None or not record.prompt_tokens:
            return
        found = self.limit_for(record.model)
        if found is not None:
            self._active.setdefault((organization, found[0]), []).append(record)

    def enqueued(self, organization: str, model: str, now: float) -> int:
        """The tokens `organization` has enqueued for `model` (its limit's name) at `now`."""
        found = self.limit_for(model)
        key = (organization, found[0] if found else model)
        return sum(b.prompt_tokens for b in self._active.get(key, []) if b.schedule.terminal()[1] > now)

    def clear(self) -> None:
        self._active.clear()
