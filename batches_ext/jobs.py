"""Job helpers: submit (splitting past the limits), wait with backoff, results joined to inputs, retry.

    job = submit(client, build_requests(prompts, model="gpt-4o-mini"))   # preflight, upload, create
    wait(client, job, on_update=print)                                    # polls with gentle backoff
    res = results(client, job)                                            # rows in input order
    retry_failed(client, job)                                             # failed + expired lines again

A `Job` (batches_ext._job) is one or more batches tied by metadata ``batches_ext_job=<job id>`` and
``batches_ext_part="i/n"``; `results` lives in batches_ext._join. Input over 50,000 lines or 200 MB is split into parts that each fit,
streamed from the source (a path is copied range by range to a temporary file; bytes are uploaded as
slices), so the input is never held in memory twice. Every target argument takes a batch id, a
`Batch`, a `Job`, or a list of those.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ._job import JOB_KEY, PART_KEY, RETRY_KEY, Job, JobPart, Target, batch_ids, find_job
from ._join import results
from ._lines import _parse
from .errors import BatchesError, InputError, JobError, WaitTimeout
from .jsonl import (
    FAKE_ERROR_PREFIX,
    MAX_BYTES,
    MAX_EMBEDDING_INPUTS,
    MAX_LINES,
    build_requests,
    dumps_jsonl,
    embedding_inputs,
    iter_raw_lines,
    preflight,
)
from .models import Batch

__all__ = [
    "JOB_KEY",
    "PART_KEY",
    "RETRY_KEY",
    "Job",
    "JobPart",
    "submit",
    "wait",
    "results",
    "retry_failed",
    "find_job",
]

_MAX_METADATA = 16
_COPY_CHUNK = 1024 * 1024


# ---------------------------------------------------------------------------------------------- submit


def submit(
    client: Any,
    source: Any,
    *,
    endpoint: str | None = None,
    model: str | None = None,
    metadata: dict[str, str] | None = None,
    completion_window: str = "24h",
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    filename: str | None = None,
) -> Job:
    """Preflight `source`, upload it and create its batch(es); one `Job` either way.

    source: a JSONL path, JSONL bytes, or a list of request lines (a list of prompts / message lists /
        bodies is built with `build_requests(source, model=model, endpoint=endpoint)`).
    endpoint: the batch endpoint (None: inferred from the first line). model: when given, every line
        must use it. Input over `max_lines` / `max_bytes` (or 50,000 embedding inputs) becomes several
        batches, each within the limits, tagged `batches_ext_job` / `batches_ext_part` ("i/n").
    Raises InputError (before any upload) when a line breaks the Batch API's rules.
    """
    data, path = _materialise(source, endpoint, model)
    streamed: str | bytes = path if path is not None else (data or b"")
    unchecked = FAKE_ERROR_PREFIX if getattr(client, "is_offline", False) else None
    report = preflight(streamed, endpoint, max_lines=max_lines, max_bytes=max_bytes, unchecked_model_prefix=unchecked)
    report.raise_for_problems(allow_split=True)
    if model is not None and report.model not in (None, model):
        raise InputError(f"the input uses model {report.model!r}, not {model!r}")
    endpoint = report.endpoint or endpoint or "/v1/chat/completions"
    user_meta = _check_metadata(metadata, reserved=2)
    job_id = f"job_{uuid.uuid4().hex[:20]}"
    stem = _stem(filename or (Path(path).name if path is not None else None), job_id)
    if report.needs_split:
        plan = _plan_parts(streamed, endpoint, max_lines, max_bytes)
    else:
        plan = [(0, report.bytes, report.lines, 1)]
    job = Job(job_id, [], [], endpoint, dict(user_meta), retry_of=user_meta.get(RETRY_KEY))
    with tempfile.TemporaryDirectory(prefix="batches_ext_") as scratch:
        for index, (start, end, lines, first) in enumerate(plan, start=1):
            name = f"{stem}.jsonl" if len(plan) == 1 else f"{stem}.part{index}of{len(plan)}.jsonl"
            meta = {**user_meta, JOB_KEY: job_id, PART_KEY: f"{index}/{len(plan)}"}
            try:
                upload = _part_source(data, path, start, end, len(plan) == 1, scratch, name)
                file = client.upload_file(upload, purpose="batch", filename=name)
                _discard(upload, path)
                batch = client.create_batch(file.id, endpoint=endpoint, completion_window=completion_window,
                                            metadata=meta)
            except BatchesError as exc:
                if not job.batch_ids:
                    raise
                err = JobError(f"part {index}/{len(plan)} of job {job_id} could not be submitted ({exc}); "
                               f"already created: {', '.join(job.batch_ids)}")
                err.job = job  # type: ignore[attr-defined]
                raise err from exc
            job.batch_ids.append(batch.id)
            job.parts.append(JobPart(index, batch.id, file.id, lines, end - start, first))
    return job


def _materialise(source: Any, endpoint: str | None, model: str | None) -> tuple[bytes | None, str | None]:
    """(bytes, None) or (None, path) for the source; request lists are serialised once."""
    if isinstance(source, (str, os.PathLike)):
        if not os.path.isfile(source):
            raise InputError(f"no such file: {os.fspath(source)!r}")
        return None, os.fspath(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    items = list(source)
    if items and not all(isinstance(i, dict) and "custom_id" in i for i in items):
        items = build_requests(items, model=model, endpoint=endpoint or "/v1/chat/completions")
    return dumps_jsonl(items), None


def _stem(name: str | None, job_id: str) -> str:
    if not name:
        return f"batches_ext_{job_id}"
    return name[: -len(".jsonl")] if name.lower().endswith(".jsonl") else Path(name).stem or name


def _check_metadata(metadata: dict[str, str] | None, reserved: int) -> dict[str, str]:
    meta = dict(metadata or {})
    for key in (JOB_KEY, PART_KEY):
        if key in meta:
            raise InputError(f"metadata key {key!r} is set by batches_ext")
    if len(meta) + reserved > _MAX_METADATA:
        raise InputError(f"metadata: at most {_MAX_METADATA - reserved} keys (batches_ext adds {reserved})")
    bad = [k for k, v in meta.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise InputError(f"metadata values must be strings (check {bad[0]!r})")
    return meta


def _plan_parts(source: str | bytes, endpoint: str, max_lines: int, max_bytes: int) -> list[tuple[int, int, int, int]]:
    """Byte ranges (start, end, lines, first_line) of consecutive parts, each within the limits."""
    parts: list[tuple[int, int, int, int]] = []
    start = offset = lines = inputs = 0
    first = 1
    embeddings = endpoint == "/v1/embeddings"
    for n, raw in enumerate(iter_raw_lines(source), start=1):
        size = len(raw) + 1
        weight = embedding_inputs(_body_input(raw)) if embeddings else 0
        if size > max_bytes:
            raise InputError(f"line {n}: {size:,} bytes, more than {max_bytes:,} per batch: cannot split", line=n)
        if lines and (lines + 1 > max_lines or offset + size - start > max_bytes
                      or inputs + weight > MAX_EMBEDDING_INPUTS):
            parts.append((start, offset, lines, first))
            start, lines, inputs, first = offset, 0, 0, n
        offset += size
        lines += 1
        inputs += weight
    if lines:
        total = os.path.getsize(source) if isinstance(source, str) else len(source)
        parts.append((start, min(offset, total), lines, first))
    return parts


def _body_input(raw: bytes) -> Any:
    obj = _parse(raw)
    body = obj.get("body") if isinstance(obj, dict) else None
    return body.get("input") if isinstance(body, dict) else None


def _part_source(data: bytes | None, path: str | None, start: int, end: int, whole: bool, scratch: str,
                 name: str) -> Any:
    if data is not None:
        return data if whole else memoryview(data)[start:end]
    assert path is not None
    if whole:
        return path
    part_path = os.path.join(scratch, name)
    with open(path, "rb") as src, open(part_path, "wb") as dst:
        src.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = src.read(min(_COPY_CHUNK, remaining))
            if not chunk:
                break
            dst.write(chunk)
            remaining -= len(chunk)
    return part_path


def _discard(upload: Any, path: str | None) -> None:
    """Delete a part's temporary copy as soon as it is uploaded (at most one part on disk at a time)."""
    if isinstance(upload, str) and upload != path:
        with contextlib.suppress(OSError):
            os.unlink(upload)


# ---------------------------------------------------------------------------------------------- wait


def wait(
    client: Any,
    target: Target,
    poll_interval: float = 5.0,
    timeout: float | None = None,
    on_update: Callable[[Batch], Any] | None = None,
    sleep: Callable[[float], Any] | None = None,
    max_interval: float = 60.0,
) -> Batch | list[Batch]:
    """Poll until every batch of `target` is terminal; the final Batch (a list, in part order, for a Job/list).

    The interval starts at `poll_interval` and grows x1.5 (up to `max_interval`) while no status changes;
    it resets when one does. `on_update(batch)` is called on the first sight of each batch and whenever its
    status or request counts change. `timeout` (seconds, counted as the larger of time slept and wall time)
    raises WaitTimeout with `.batch` the last state seen. `sleep` defaults to the client's own (`client.sleep`):
    `time.sleep`, or for an offline client on a ManualClock fake a jump of the fake's clock, so waiting on
    simulated time ends at once and the same way every run.
    """
    pause: Callable[[float], Any] = sleep if sleep is not None else getattr(client, "sleep", time.sleep)
    ids, single = batch_ids(target)
    if not ids:
        raise JobError("nothing to wait for: the target has no batches")
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


def _state(batch: Batch) -> tuple[Any, ...]:
    c = batch.request_counts
    return batch.status, c.total, c.completed, c.failed


# ---------------------------------------------------------------------------------------------- retry


def retry_failed(
    client: Any,
    target: Target,
    *,
    statuses: Iterable[str] = ("error", "expired"),
    metadata: dict[str, str] | None = None,
    completion_window: str = "24h",
) -> Job:
    """A new job from the failed and expired lines of `target` (their original request lines, same custom_ids).

    Tagged `batches_ext_retry_of=<batch id>` (for several batches: the job id, or the ids joined by ",").
    Raises JobError when no line qualifies.
    """
    res = results(client, target)
    wanted = tuple(statuses)
    retry = [row.input for row in res.where(*wanted) if isinstance(row.input, dict)]
    if not retry:
        hint = ""
        if any(b.status == "failed" for b in res.batches):
            hint = " (a batch failed validation: fix its input and submit again)"
        raise JobError(f"nothing to retry: no {'/'.join(wanted)} lines in {res.summary()}{hint}")
    endpoint = res.batches[0].endpoint if res.batches else None
    meta = {**(metadata or {}), RETRY_KEY: _retry_of(target, res.batches)}
    return submit(client, retry, endpoint=endpoint, metadata=meta, completion_window=completion_window)


def _retry_of(target: Target, batches: list[Batch]) -> str:
    if len(batches) == 1:
        return batches[0].id
    if isinstance(target, Job):
        return target.id
    job_ids = {(b.metadata or {}).get(JOB_KEY) for b in batches}
    if len(job_ids) == 1 and None not in job_ids:
        return str(job_ids.pop())
    joined = ",".join(b.id for b in batches)
    return joined if len(joined) <= 512 else joined[:509] + "..."

