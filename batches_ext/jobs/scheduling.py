"""`advance`: one step of a job — see how its batches stand, then create the parts whose turn has come.

A job's parts are uploaded at submit (the Files API has no quota), but a part's batch is created only while the
job's enqueued tokens (the estimated input tokens of its parts whose batches have not ended, as the API counts
them) plus that part stay within the budget: `max_enqueued_tokens` for the job's model, and the budget the job
has learned from the API (below). The rest wait in the journal as `pending`. Nothing runs in the background:
`advance` is called by `submit` (the first step), by `wait()` on every poll, by a `BatchMonitor`'s refresh, and
by you (`job.advance(client)`).

What it does with what it sees:

* a batch that failed `token_limit_exceeded` ran nothing: its part goes back to `pending`, to be created again by
  itself, never alongside a twin. The tokens the job still had enqueued when that happened become the job's
  learned budget (it only shrinks), so the part is created again once enough of the batches ahead of it have
  ended; with nothing of the job's in flight it waits a backoff (1 min, doubling, at most 30 min) instead;
* a create answered 429 (the 2,000 batches per hour) puts the part back with `not_before` = the server's
  retry-after (else the backoff) and stops this step's creates;
* a create refused with another 4xx ends the part `refused` (its lines did not run; `results` says why);
* a create whose answer was lost (a connection error, a timeout or a 5xx after the client's retries) may have
  happened: the part is marked `uncertain`, waits 15 s, and the next step first looks for its batch on the server
  (by its `batches_ext_job` / `batches_ext_part` tags, among batches not already known as earlier attempts) and
  adopts it. A create claims its part in the journal first, so two kernels advancing one job never create a part
  twice; a claim older than `CLAIM_LEASE` (its kernel died), or one this process left when Ctrl-C interrupted
  its create, is taken over as uncertain.

Every part keeps count of its create `attempts`; a part is given up (left `failed`, for `retry` to pick up) after
`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import APIConnectionError, APIStatusError, BatchesError, RateLimitError
from ..models import Batch
from .planning import token_limit_for
from .state import JOB_KEY, PART_KEY, PENDING, REFUSED, SUBMITTING, TOKEN_LIMIT_CODE, JobPart

if TYPE_CHECKING:
    from ..client import BatchesAPI
    from .journal import Journal

__all__ = ["advance", "refresh", "Step", "CLAIM_LEASE", "MAX_ATTEMPTS", "BACKOFF", "BACKOFF_MAX", "LEARNED_BUDGET"]

CLAIM_LEASE = 900.0  # seconds a create may stay claimed before another kernel takes it over (looking first)
MAX_ATTEMPTS = 20
BACKOFF = 60.0
BACKOFF_MAX = 1800.0
LOOKUP_LIMIT = 500  # newest batches scanned for an uncertain create
LOOKUP_PAGE = 100
LOOKUP_SKEW = 300.0
#: The `options` key of the budget a job learned from `token_limit_exceeded` (tokens it had enqueued then).
LEARNED_BUDGET = "learned_budget"
_PROCESS = f"{socket.gethostname()}:{os.getpid()}"


_IN_FLIGHT: set[tuple[str, int]] = set()  # (job id, part) whose create this process is sending right now
_IN_FLIGHT_LOCK = threading.Lock()


def new_owner() -> str:
    """A claim owner for one Job object: this host and process, and a tag of its own."""
    return f"{_PROCESS}:{uuid.uuid4().hex[:8]}"


class Schedulable(Protocol):
    """What `advance` needs of a job (a `Job`)."""

    id: str
    parts: list[JobPart]
    endpoint: str | None
    model: str | None
    completion_window: str
    metadata: dict[str, str]
    options: dict[str, Any]
    journal: Journal | None
    batches: dict[str, Batch]
    lock: threading.RLock
    owner: str  # who claims this job's parts (`new_owner()`)


@dataclass
class Step:
    """What one `advance` did: the batches it fetched or created (latest state, by id), the parts it created
    and the parts that went back to pending (token limit, rate limit) or ended refused."""

    seen: dict[str, Batch] = field(default_factory=dict)
    created: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.returned or self.refused or self.ended)


def advance(client: BatchesAPI, job: Schedulable, *, clock: Callable[[], float] | None = None) -> Step:
    """One step of `job` (see the module docstring). A failed fetch raises (after the client's own retries; what
    was seen so far is recorded); a failed create is recorded on its part and tried again by a later step.
    `clock` is the time the step's waits are measured on (default the client's: the fake's clock offline; `wait`
    passes one that also counts its own pauses)."""
    now = clock or client.now
    with job.lock:
        step = Step()
        _sync(job)
        _refresh(client, job, step, now)
        _take_stale_claims(job, now)
        _create_due(client, job, step, now)
        return step


def refresh(client: BatchesAPI, job: Schedulable, *, clock: Callable[[], float] | None = None) -> Step:
    """The first half of `advance`: fetch the batches not known to have ended and record what they say (a part
    refused for the token quota goes back to pending), creating nothing."""
    with job.lock:
        step = Step()
        _sync(job)
        _refresh(client, job, step, clock or client.now)
        return step


# ---------------------------------------------------------------------------------------------- journal


def _sync(job: Schedulable) -> None:
    """Take the journal's view of the parts (another kernel may have moved them)."""
    if job.journal is not None:
        job.parts[:] = job.journal.parts(job.id) or job.parts


def _save(job: Schedulable, old: JobPart, new: JobPart) -> bool:
    """Write `new` over `old` (compare-and-set in the journal); on a lost race take the journal's part."""
    i = job.parts.index(old)
    if job.journal is not None and not job.journal.save_part(job.id, new, expect=old):
        fresh = {p.index: p for p in job.journal.parts(job.id)}
        job.parts[i] = fresh.get(old.index, old)
        return False
    job.parts[i] = new
    return True


# ---------------------------------------------------------------------------------------------- refresh


def _refresh(client: BatchesAPI, job: Schedulable, step: Step, clock: Callable[[], float]) -> None:
    """Fetch every batch not known to have ended; then send the parts refused for the token quota back."""
    limited: list[JobPart] = []
    for part in list(job.parts):
        if part.batch_id is None or (part.final and part.batch_id in job.batches):
            continue
        batch = client.retrieve_batch(part.batch_id)
        job.batches[batch.id] = batch
        step.seen[batch.id] = batch
        if batch.is_terminal and not part.final:
            step.ended.append(part.index)
        new = _observed(part, batch)
        if new != part and not _save(job, part, new):
            continue
        if _token_limited(batch) and part.attempts < MAX_ATTEMPTS:
            limited.append(new)
    now = clock()
    for part in limited:
        failed = job.batches[str(part.batch_id)]
        fit = _enqueued_at(job, failed.created_at)
        if fit:
            _learn(job, fit)
        delay = 0.0 if fit else _backoff(part.attempts)
        if _save(job, part, replace(part, batch_id=None, state=PENDING, earlier=[*part.earlier, failed.id],
                                    not_before=now + delay if delay else None, usage=None, counts=None)):
            step.returned.append(part.index)


def _enqueued_at(job: Schedulable, moment: int | None) -> int:
    """The estimated tokens of the job's other batches that were enqueued (created, not ended) at `moment`:
    what fitted under the quota when a batch was refused for it."""
    if moment is None:
        return 0
    total = 0
    for part in job.parts:
        batch = job.batches.get(part.batch_id) if part.batch_id else None
        if batch is None or _token_limited(batch) or batch.created_at is None or batch.created_at > moment:
            continue
        if batch.finished_at is None or batch.finished_at > moment:
            total += part.tokens
    return total


def _observed(part: JobPart, batch: Batch) -> JobPart:
    c = batch.request_counts
    return replace(part, state=batch.status, counts=(c.completed, c.failed, c.total), model=batch.model or part.model,
                   usage=batch.usage if batch.is_terminal else part.usage,
                   last_error=_error_text(batch) if batch.status == "failed" else part.last_error)


def _token_limited(batch: Batch) -> bool:
    return batch.status == "failed" and any(e.code == TOKEN_LIMIT_CODE for e in batch.errors or [])


def _error_text(batch: Batch) -> str | None:
    first = next(iter(batch.errors or []), None)
    return f"{first.code}: {first.message}" if first is not None else None


def _learn(job: Schedulable, tokens: int) -> None:
    known = job.options.get(LEARNED_BUDGET)
    if isinstance(known, int) and known <= tokens:
        return
    job.options[LEARNED_BUDGET] = tokens
    if job.journal is not None:
        job.journal.update_job(job.id, options=job.options)


def _backoff(attempts: int) -> float:
    return min(BACKOFF_MAX, BACKOFF * 2 ** max(0, attempts - 1))


# ---------------------------------------------------------------------------------------------- create


def _take_stale_claims(job: Schedulable, clock: Callable[[], float]) -> None:
    """A part left `submitting` longer than the lease by a kernel that died, or by this process when a create was
    interrupted (Ctrl-C: no create of that part is on the wire here now): take it over, as uncertain."""
    now = clock()
    for part in list(job.parts):
        if part.state != SUBMITTING:
            continue
        if _interrupted_here(job, part) or part.claimed_at is None or part.claimed_at < now - CLAIM_LEASE:
            claimed = _claim(job, part, now, takeover=True)
            if claimed is not None:
                _save(job, claimed, replace(claimed, state=PENDING, uncertain=True, claimed_by=None,
                                        attempted_at=part.claimed_at))


def _claim(job: Schedulable, part: JobPart, now: float, *, takeover: bool = False) -> JobPart | None:
    if job.journal is None:
        if part.state not in (PENDING, SUBMITTING):
            return None
        mine = replace(part, state=SUBMITTING, claimed_at=now, claimed_by=job.owner,
                       uncertain=part.uncertain or part.state == SUBMITTING)
        job.parts[job.parts.index(part)] = mine
        return mine
    stale = float("inf") if takeover and _interrupted_here(job, part) else now - CLAIM_LEASE
    claimed = job.journal.claim(job.id, part.index, job.owner, now, stale_before=stale)
    fresh = {p.index: p for p in job.journal.parts(job.id)}
    job.parts[job.parts.index(part)] = fresh.get(part.index, part)
    return claimed


def _interrupted_here(job: Schedulable, part: JobPart) -> bool:
    """A claim this process made whose create is no longer running (it was interrupted)."""
    mine = str(part.claimed_by or "").startswith(_PROCESS + ":")
    with _IN_FLIGHT_LOCK:
        return mine and (job.id, part.index) not in _IN_FLIGHT


def _budget(job: Schedulable) -> int | None:
    limits = [token_limit_for(job.options.get("max_enqueued_tokens"), job.model), job.options.get(LEARNED_BUDGET)]
    known = [x for x in limits if isinstance(x, int)]
    return min(known) if known else None


def _create_due(client: BatchesAPI, job: Schedulable, step: Step, clock: Callable[[], float]) -> None:
    budget = _budget(job)
    enqueued = sum(p.tokens for p in job.parts if p.enqueued)
    for part in sorted((p for p in job.parts if p.state == PENDING), key=lambda p: p.index):
        now = clock()
        if part.attempts >= MAX_ATTEMPTS:
            _save(job, part, replace(part, state=REFUSED, last_error=f"gave up after {part.attempts} attempts "
                                                                     f"(the last: {part.last_error})"))
            step.refused.append(part.index)
            continue
        if part.not_before is not None and now < part.not_before:
            break  # in order: a part waiting out a 429 or a backoff holds the ones after it
        if budget is not None and enqueued and enqueued + part.tokens > budget:
            break  # in order: the next part waits for the batches ahead of it
        if part.input_file_id is None:
            _save(job, part, replace(part, state=REFUSED, last_error="its input was never uploaded"))
            step.refused.append(part.index)
            continue
        claimed = _claim(job, part, now)
        if claimed is None:
            continue  # another kernel has it
        outcome = _create(client, job, claimed, now, step)
        if isinstance(outcome, Batch):
            enqueued += claimed.tokens
        elif outcome is not None:
            break  # a 429 holds for every part; server trouble: the next step tries again


def _create(client: BatchesAPI, job: Schedulable, part: JobPart, now: float,
            step: Step) -> Batch | BatchesError | None:
    n = len(job.parts)
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.add((job.id, part.index))
    try:
        batch = _find_created(client, job, part) if part.uncertain else None
        if batch is None:
            meta = {**job.metadata, JOB_KEY: job.id, PART_KEY: f"{part.index}/{n}"}
            assert part.input_file_id is not None
            batch = client.create_batch(part.input_file_id, endpoint=job.endpoint or "/v1/chat/completions",
                                        completion_window=job.completion_window, metadata=meta,
                                        output_expires_after=job.options.get("output_expires_after"))
    except RateLimitError as err:
        wait = err.retry_after if err.retry_after else _backoff(part.attempts + 1)
        _save(job, part, replace(part, state=PENDING, attempts=part.attempts + 1, not_before=now + wait,
                                 claimed_by=None, last_error=f"429: {err.message}"))
        step.returned.append(part.index)
        return err
    except APIStatusError as err:
        if err.status_code >= 500 or err.status_code == 408:
            return _uncertain(job, part, now, err)
        _save(job, part, replace(part, state=REFUSED, attempts=part.attempts + 1, claimed_by=None,
                                 last_error=str(err)))
        step.refused.append(part.index)
        return None
    except (APIConnectionError, BatchesError) as err:
        return _uncertain(job, part, now, err)
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard((job.id, part.index))
    job.batches[batch.id] = batch
    step.seen[batch.id] = batch
    step.created.append(part.index)
    _save(job, part, replace(part, batch_id=batch.id, state=batch.status, attempts=part.attempts + 1,
                             not_before=None, uncertain=False, claimed_by=None, model=batch.model or part.model,
                             last_error=part.last_error))
    return batch


def _uncertain(job: Schedulable, part: JobPart, now: float, err: BatchesError) -> BatchesError:
    """A create that may have happened: back to pending, to be looked for before any new create."""
    since = part.attempted_at if part.uncertain and part.attempted_at is not None else part.claimed_at
    _save(job, part, replace(part, state=PENDING, uncertain=True, attempts=part.attempts + 1, claimed_by=None,
                             not_before=now + _backoff(1) / 4, last_error=str(err), attempted_at=since))
    return err


def _find_created(client: BatchesAPI, job: Schedulable, part: JobPart) -> Batch | None:
    """The batch an uncertain create made, if any: the newest batch tagged with the job and this part that is
    not one of the part's known earlier attempts (the newest batches first, back to the claim's time)."""
    tag = f"{part.index}/{len(job.parts)}"
    since = part.attempted_at
    for n, batch in enumerate(client.iter_batches()):
        meta = batch.metadata or {}
        if meta.get(JOB_KEY) == job.id and meta.get(PART_KEY) == tag and batch.id not in part.earlier:
            return batch
        too_old = since is not None and batch.created_at is not None and batch.created_at < since - LOOKUP_SKEW
        if (too_old and n + 1 >= LOOKUP_PAGE) or n + 1 >= LOOKUP_LIMIT:  # the newest page is always read whole
            return None
    return None


