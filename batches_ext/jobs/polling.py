"""`wait`: poll a job's batches until every one is terminal, with a gentle backoff while nothing changes, and a
text progress bar when someone is watching. Waiting on a `Job` also advances it: each poll creates the parts
whose turn has come (as earlier batches end, a 429's retry-after passes, or a part refused for the token quota
can go again), so a job larger than its token budget finishes with no other step."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import BatchesWarning, JobError, WaitTimeout
from ..models import Batch
from .job import Job, Target, batch_ids
from .join import inputs_hint, unsent_note
from .progress import TextProgress, is_interactive

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["wait"]



def wait(
    client: BatchesAPI,
    target: Target,
    poll_interval: float = 5.0,
    timeout: float | None = None,
    on_update: Callable[[Batch], Any] | None = None,
    sleep: Callable[[float], Any] | None = None,
    max_interval: float = 60.0,
    progress: bool | None = None,
    progress_file: Any = None,
) -> Batch | list[Batch]:
    """Poll until every batch of `target` is terminal; the final Batch (a list, in part order, for a Job/list).

    The interval starts at `poll_interval` and grows x1.5 (up to `max_interval`) while no status changes;
    it resets when one does. `on_update(batch)` is called on the first sight of each batch and whenever its
    status or request counts change. `timeout` (seconds, counted as the larger of time slept and wall time)
    raises WaitTimeout with `.batch` the last state seen. `sleep` defaults to the client's own (`client.sleep`):
    `time.sleep`, or for an offline client on a ManualClock fake a jump of the fake's clock, so waiting on
    simulated time ends at once and the same way every run.

    progress: show a text progress bar (tqdm's, on stderr or `progress_file`) until every batch is terminal;
    None (the default) shows it when someone is probably watching (`jobs.is_interactive()`: stderr is a terminal
    or an IPython shell / Jupyter kernel is running; `BATCHES_EXT_PROGRESS=0/1` forces it). Its elapsed time and
    ETA are measured on the client's clock (the fake's in fake mode).

    A `Job` is advanced on every poll (`job.advance(client)`): its pending parts are created as their turn comes,
    and the wait ends when every part is over; it returns the final Batch of each part that has one.
    """
    pause: Callable[[float], Any] = sleep if sleep is not None else getattr(client, "sleep", time.sleep)
    if isinstance(target, Job) and target.parts:
        return _wait_job(client, target, poll_interval, timeout, on_update, pause, max_interval, progress,
                         progress_file)
    ids, single = batch_ids(target)
    if not ids:
        raise JobError("nothing to wait for: the target has no batches")
    bar = None
    if progress if progress is not None else is_interactive():
        bar = TextProgress(ids, getattr(client, "now", time.time), file=progress_file)
    try:
        return _poll(client, ids, single, poll_interval, timeout, on_update, pause, max_interval, bar)
    finally:
        if bar is not None:
            bar.close()


def _poll(client: BatchesAPI, ids: list[str], single: bool, poll_interval: float, timeout: float | None,
          on_update: Callable[[Batch], Any] | None, pause: Callable[[float], Any], max_interval: float,
          bar: TextProgress | None) -> Batch | list[Batch]:
    latest: dict[str, Batch] = {}
    started, slept = time.monotonic(), 0.0
    delay: float | None = None
    ceiling = max(max_interval, poll_interval)
    while True:
        status_changed = False
        for batch_id in ids:
            previous = latest.get(batch_id)
            if previous is not None and previous.is_terminal:
                continue
            batch = client.retrieve_batch(batch_id)
            latest[batch_id] = batch
            if previous is None or previous.status != batch.status:
                status_changed = True
            if on_update is not None and (previous is None or _state(previous) != _state(batch)):
                on_update(batch)
        if bar is not None:
            bar.show([latest.get(b) for b in ids])
        if all(latest[b].is_terminal for b in ids):
            final = [latest[b] for b in ids]
            return final[0] if single else final
        delay = poll_interval if delay is None or status_changed else min(delay * 1.5, ceiling)
        elapsed = max(slept, time.monotonic() - started)
        if timeout is not None:
            remaining = timeout - elapsed
            if remaining <= 0:
                pending = [latest[b] for b in ids if not latest[b].is_terminal]
                states = ", ".join(f"{b.id} {b.status}" for b in pending[:5])
                last: Any = latest[ids[0]] if single else [latest[b] for b in ids]
                raise WaitTimeout(f"gave up after {timeout:g}s: {states} not finished", batch=last)
            delay = min(delay, remaining)
        pause(delay)
        slept += delay


def _wait_job(client: BatchesAPI, job: Job, poll_interval: float, timeout: float | None,
              on_update: Callable[[Batch], Any] | None, pause: Callable[[float], Any], max_interval: float,
              progress: bool | None, progress_file: Any) -> list[Batch]:
    job.check_client(client)
    bar = None
    if progress if progress is not None else is_interactive():
        labels = [p.batch_id or f"{job.id} part {p.index}" for p in job.parts]
        bar = TextProgress(labels, getattr(client, "now", time.time), file=progress_file, unit="part")
    latest: dict[str, Batch] = {}
    started, slept = time.monotonic(), 0.0
    delay: float | None = None
    ceiling = max(max_interval, poll_interval)
    base = client.now()

    def clock() -> float:  # the client's clock, or the time this wait has paused, whichever went further
        return max(client.now(), base + max(slept, time.monotonic() - started))

    try:
        while True:
            step = job.advance(client, clock=clock)
            changed = step.changed
            for batch_id, batch in step.seen.items():
                previous = latest.get(batch_id)
                latest[batch_id] = batch
                changed = changed or previous is None or previous.status != batch.status
                if on_update is not None and (previous is None or _state(previous) != _state(batch)):
                    on_update(batch)
            if bar is not None:
                bar.show([job.batches.get(p.batch_id) if p.batch_id else None for p in job.parts], lines=job.lines,
                         pending=[p.index for p in job.pending])
            if job.finished:
                note = unsent_note(job)
                if note:  # never silently: the lines of parts a submit never uploaded did not run
                    warnings.warn(f"{note}; {inputs_hint(job.id)}", BatchesWarning, stacklevel=3)
                return [job.batches.get(b) or client.retrieve_batch(b) for b in job.batch_ids]
            delay = poll_interval if delay is None or changed else min(delay * 1.5, ceiling)
            due = [p.not_before for p in job.parts if p.pending and p.not_before is not None]
            if due and not any(p.enqueued for p in job.parts):  # nothing to poll: sleep until the next is due
                delay = max(delay, min(due) - clock())
            elapsed = max(slept, time.monotonic() - started)
            if timeout is not None:
                remaining = timeout - elapsed
                if remaining <= 0:
                    waiting = [p for p in job.parts if not p.final]
                    states = ", ".join(f"part {p.index} {p.state}" for p in waiting[:5])
                    raise WaitTimeout(f"gave up after {timeout:g}s: {job.id} {states} not finished",
                                      batch=[job.batches.get(b) for b in job.batch_ids])
                delay = min(delay, remaining)
            pause(delay)
            slept += delay
    finally:
        if bar is not None:
            bar.close()


def _state(batch: Batch) -> tuple[Any, ...]:
    c = batch.request_counts
    return batch.status, c.total, c.completed, c.failed
