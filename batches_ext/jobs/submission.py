"""`submit`: preflight, upload and create a job's batches, splitting input past the per-batch limits.

Input over 50,000 lines or 200 MB (or 50,000 embedding inputs) is split into parts that each fit, streamed
from the source (a path is copied range by range to a temporary file; bytes are uploaded as slices), so the
input is never held in memory twice. Every part carries ``batches_ext_job=<job id>`` and
``batches_ext_part="i/n"`` in its metadata, and the client adds ``batches_ext_intent`` to every create: the
user's metadata may hold 13 pairs of the API's 16.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BatchesError, InputError, JobError
from ..jsonl import (
    Preflight,
    build_requests,
    dumps_jsonl,
    embedding_inputs,
    iter_raw_lines,
    parse_json_line,
    preflight,
)
from ..spec import (
    DEFAULT_ENDPOINT,
    FAKE_ERROR_PREFIX,
    INTENT_KEY,
    MAX_BYTES,
    MAX_EMBEDDING_INPUTS,
    MAX_LINES,
    METADATA_MAX_PAIRS,
)
from .job import JOB_KEY, PART_KEY, RETRY_KEY, Job, JobPart

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["submit", "plan_job", "JobPlan", "PlannedPart"]

_COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PlannedPart:
    """One batch `submit` would create: its 1-based `index`, `lines`, `bytes` and first input line (1-based)."""

    index: int
    lines: int
    bytes: int
    first_line: int


@dataclass
class JobPlan:
    """What `submit` would do with an input, without doing it: the preflight `report` and the `parts` (one per
    batch; more than one when the input is over the per-batch limits)."""

    report: Preflight
    parts: list[PlannedPart] = field(default_factory=list)


def plan_job(
    source: Any,
    *,
    endpoint: str | None = None,
    model: str | None = None,
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    offline: bool = False,
) -> JobPlan:
    """Preflight `source` as `submit` would and plan its split ("2 batches: 50,000 + 10,000 lines"); uploads
    and creates nothing. Raises InputError for a line that breaks the Batch API's rules (as `submit` would)."""
    data, path = _materialise(source, endpoint, model)
    streamed: str | bytes = path if path is not None else (data or b"")
    report = preflight(streamed, endpoint, max_lines=max_lines, max_bytes=max_bytes,
                       unchecked_model_prefix=FAKE_ERROR_PREFIX if offline else None)
    report.raise_for_problems(allow_split=True)
    if not report.needs_split:
        return JobPlan(report, [PlannedPart(1, report.lines, report.bytes, 1)])
    spans = _plan_parts(streamed, report.endpoint or endpoint or DEFAULT_ENDPOINT, max_lines, max_bytes)
    return JobPlan(report, [PlannedPart(i, lines, end - start, first)
                            for i, (start, end, lines, first) in enumerate(spans, start=1)])



def submit(
    client: BatchesAPI,
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
    unchecked = FAKE_ERROR_PREFIX if client.is_offline else None
    report = preflight(streamed, endpoint, max_lines=max_lines, max_bytes=max_bytes, unchecked_model_prefix=unchecked)
    report.raise_for_problems(allow_split=True)
    if model is not None and report.model not in (None, model):
        raise InputError(f"the input uses model {report.model!r}, not {model!r}")
    endpoint = report.endpoint or endpoint or DEFAULT_ENDPOINT
    user_meta = _check_metadata(metadata, reserved=3)
    job_id = f"job_{uuid.uuid4().hex[:20]}"
    stem = _stem(filename or (Path(path).name if path is not None else None), job_id)
    if report.needs_split:
        plan = _plan_parts(streamed, endpoint, max_lines, max_bytes)
    else:
        plan = [(0, report.bytes, report.lines, 1)]
    job = Job(job_id, [], [], endpoint, dict(user_meta), retry_of=user_meta.get(RETRY_KEY),
              offline=client.is_offline)
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
                raise JobError(f"part {index}/{len(plan)} of job {job_id} could not be submitted ({exc}); "
                               f"already created: {', '.join(job.batch_ids)}", job=job) from exc
            job.batch_ids.append(batch.id)
            job.parts.append(JobPart(index, batch.id, file.id, lines, end - start, first))
    return job


def _materialise(source: Any, endpoint: str | None, model: str | None) -> tuple[bytes | None, str | None]:
    """(bytes, None) or (None, path) for the source; request lists are serialised once."""
    if isinstance(source, (str, os.PathLike)):
        path = os.path.expanduser(os.fspath(source))
        if not os.path.isfile(path):
            raise InputError(f"no such file: {os.fspath(source)!r}")
        return None, path
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    items = list(source)
    if items and not all(isinstance(i, dict) and "custom_id" in i for i in items):
        items = build_requests(items, model=model, endpoint=endpoint or DEFAULT_ENDPOINT)
    return dumps_jsonl(items), None


def _stem(name: str | None, job_id: str) -> str:
    if not name:
        return f"batches_ext_{job_id}"
    return name[: -len(".jsonl")] if name.lower().endswith(".jsonl") else Path(name).stem or name


def _check_metadata(metadata: dict[str, str] | None, reserved: int) -> dict[str, str]:
    meta = dict(metadata or {})
    for key in (JOB_KEY, PART_KEY, INTENT_KEY):  # the client adds INTENT_KEY to every create
        if key in meta:
            raise InputError(f"metadata key {key!r} is set by batches_ext")
    if len(meta) + reserved > METADATA_MAX_PAIRS:
        raise InputError(f"metadata: at most {METADATA_MAX_PAIRS - reserved} keys (batches_ext adds {reserved})")
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
    obj = parse_json_line(raw)
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
