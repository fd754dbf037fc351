"""`submit`: preflight, plan the parts, upload every part's input file, record the job in the journal, and create
the batches whose turn has come.

Input over 50,000 lines or 200 MB (or 50,000 embedding inputs), over `batch_size` lines, or over the token budget
per part is split into parts (`planning`), streamed from the source (a path is copied range by range to a
temporary file; bytes are uploaded as slices), so the input is never held in memory twice. Every part's file is
uploaded at submit (the Files API has no quota); batches are created by `advance` (`scheduling`) while the job's
enqueued tokens stay within `max_enqueued_tokens`, the rest waiting in the journal. Every batch carries
``batches_ext_job=<job id>`` and ``batches_ext_part="i/n"`` in its metadata, and the client adds
``batches_ext_intent`` to every create: the user's metadata may hold 13 pairs of the API's 16.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BatchesError, BatchesWarning, ConfigError, InputError, JobError
from ..render import span_text
from ..spec import (
    BATCH_CREATES_PER_HOUR,
    DEFAULT_ENDPOINT,
    EXPIRY_MAX_SECONDS,
    EXPIRY_MIN_SECONDS,
    FILE_LIFETIME_SECONDS,
    INTENT_KEY,
    MAX_BYTES,
    MAX_LINES,
    METADATA_MAX_PAIRS,
)
from .job import Job, backend_of
from .journal import Journal, default_journal
from .planning import JobPlan, PlannedPart, materialise, plan_source, token_limit_for
from .state import JOB_KEY, PART_KEY, PENDING, RETRY_KEY, JobPart

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["submit", "expiry", "open_journal", "JobPlan", "PlannedPart"]

_COPY_CHUNK = 1024 * 1024
_WINDOW_SECONDS = 24 * 3600


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
    batch_size: int | None = None,
    max_enqueued_tokens: int | Mapping[str, int] | None = None,
    expires_after: int | Mapping[str, Any] | None = None,
    output_expires_after: int | Mapping[str, Any] | None = None,
    journal: Journal | bool | None = None,
) -> Job:
    """Preflight `source`, upload it and create its batch(es) as the budget allows; one `Job` either way.

    source: a JSONL path, JSONL bytes, or a list of request lines (a list of prompts / message lists /
        bodies is built with `build_requests(source, model=model, endpoint=endpoint)`).
    endpoint: the batch endpoint (None: inferred from the first line). model: when given, every line
        must use it. Input over `max_lines` / `max_bytes` (or 50,000 embedding inputs), or over `batch_size`
        lines, becomes several parts, each its own batch, tagged `batches_ext_job` / `batches_ext_part` ("i/n").
    max_enqueued_tokens: the job's budget of enqueued input tokens (an int, or per model: {"gpt-4o-mini":
        2_000_000}): parts are created while the estimated tokens of its unfinished batches plus the next part
        stay within it; the rest wait as `pending` until `wait()`, a monitor or `job.advance(client)` finds room.
        Set it a little under your organization's enqueued-token limit for the model.
    expires_after / output_expires_after: seconds (3,600 to 2,592,000) after which the input files / the
        output and error files expire (or the API's `{"anchor": "created_at", "seconds": N}`).
    journal: where the job is kept so another kernel can resume it (default: the user's journal; False: not
        kept). Raises InputError (before any upload) when a line breaks the Batch API's rules, and JobError
        when an upload fails (the files already uploaded are deleted) or the first create fails for a reason a
        later try may not have (the job is kept: `wait()` resumes it).
    """
    data, path = materialise(source, endpoint, model)
    plan = plan_source(data, path, endpoint, model, max_lines, max_bytes, batch_size, max_enqueued_tokens,
                 client.is_offline)
    endpoint = plan.report.endpoint or endpoint or DEFAULT_ENDPOINT
    user_meta = _check_metadata(metadata, reserved=3)
    inputs_expire = expiry(expires_after, "expires_after")
    outputs_expire = expiry(output_expires_after, "output_expires_after")
    token_limit_for(max_enqueued_tokens, plan.report.model)  # a bad budget fails before any upload
    keep = open_journal(journal)
    job_id = f"job_{uuid.uuid4().hex[:20]}"
    parts = [JobPart(p.index, None, None, p.lines, p.bytes, p.first_line, tokens=p.tokens,
                     output_cap=p.output_cap, state=PENDING) for p in plan.parts]
    options = {"batch_size": batch_size, "max_enqueued_tokens": _plain(max_enqueued_tokens),
               "expires_after": inputs_expire, "output_expires_after": outputs_expire}
    job = Job(job_id, None, parts, endpoint, dict(user_meta), retry_of=user_meta.get(RETRY_KEY),
              offline=client.is_offline, model=plan.report.model, completion_window=completion_window,
              options=options, estimate=plan.estimate.to_dict() if plan.estimate else None,
              name=filename or (Path(path).name if path is not None else None), created_at=client.now(),
              backend=backend_of(client), journal=keep)
    job.warnings = expiry_warnings(plan, job, inputs_expire)
    if keep is not None:
        keep.add(job.to_record())
    _upload(client, job, plan, data, path, _stem(job.name, job_id), inputs_expire)
    for text in job.warnings:
        warnings.warn(text, BatchesWarning, stacklevel=2)
    step = job.advance(client)  # a failure here keeps the job: wait() / %batches watch resume it
    if not job.batch_ids and step.refused:
        refused = job.parts[step.refused[0] - 1]
        raise JobError(f"the API refused to create part {refused.index}/{len(job.parts)} of {job_id}: "
                       f"{refused.last_error}", job=job)
    return job


def open_journal(journal: Journal | bool | None) -> Journal | None:
    """The journal to keep a job in: `journal` itself, the default one (None / True), or none (False). When the
    default one cannot be opened the job is not kept, with a warning (it still runs)."""
    if isinstance(journal, Journal):
        return journal
    if journal is False:
        return None
    try:
        return default_journal()
    except ConfigError as err:
        warnings.warn(f"{err}: this job will not be resumable after a restart", BatchesWarning, stacklevel=3)
        return None


def expiry(value: int | Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    """`expires_after` / `output_expires_after` as the API takes it: {"anchor": "created_at", "seconds": N}."""
    if value is None:
        return None
    seconds = value.get("seconds") if isinstance(value, Mapping) else value
    anchor = value.get("anchor", "created_at") if isinstance(value, Mapping) else "created_at"
    if isinstance(seconds, float) and seconds.is_integer():
        seconds = int(seconds)
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not (
            EXPIRY_MIN_SECONDS <= seconds <= EXPIRY_MAX_SECONDS) or anchor != "created_at":
        raise InputError(f"{name}: expected seconds from {EXPIRY_MIN_SECONDS:,} (1 hour) to {EXPIRY_MAX_SECONDS:,} "
                         f"(30 days) after creation, got {value!r}")
    return {"anchor": "created_at", "seconds": seconds}


def expiry_warnings(plan: JobPlan, job: Job, inputs_expire: dict[str, Any] | None) -> list[str]:
    """A warning when the input files may expire before the last part can be created: with a token budget the
    parts run in waves (each up to the 24 h window), and 2,000 creates per hour bound the rest."""
    lifetime = int(inputs_expire["seconds"]) if inputs_expire else FILE_LIFETIME_SECONDS
    budget = token_limit_for(job.options.get("max_enqueued_tokens"), job.model)
    waves, room = 1, budget
    for part in plan.parts:
        if budget is not None and room is not None and part.tokens > room:
            waves, room = waves + 1, budget
        room = None if room is None else room - part.tokens
    hours = math.ceil(len(plan.parts) / BATCH_CREATES_PER_HOUR) - 1
    last = (waves - 1) * _WINDOW_SECONDS + hours * 3600
    if last <= lifetime:
        return []
    why = (f"with max_enqueued_tokens {budget:,} its {len(plan.parts):,} parts run in {waves} waves of up to 24 h"
           if waves > 1 else f"at {BATCH_CREATES_PER_HOUR:,} batches an hour its {len(plan.parts):,} parts take "
           f"{hours + 1} hours to create")
    return [f"the input files expire {span_text(lifetime)} after upload, but {why}: the last part may not be "
            f"created before its input expires (up to {span_text(last)} from now). Raise expires_after (up to 30 "
            f"days) or max_enqueued_tokens, or submit fewer parts at a time."]


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _upload(client: BatchesAPI, job: Job, plan: JobPlan, data: bytes | None, path: str | None, stem: str,
            inputs_expire: dict[str, Any] | None) -> None:
    """Upload every part's input file and record it; on a failure delete what was uploaded and forget the job."""
    n = len(plan.parts)
    uploaded: list[str] = []
    with tempfile.TemporaryDirectory(prefix="batches_ext_") as scratch:
        for planned in plan.parts:
            name = f"{stem}.jsonl" if n == 1 else f"{stem}.part{planned.index}of{n}.jsonl"
            try:
                upload = _part_source(data, path, planned.start, planned.end, n == 1, scratch, name)
                file = client.upload_file(upload, purpose="batch", filename=name, expires_after=inputs_expire)
                _discard(upload, path)
            except BatchesError as exc:
                _abandon(client, job, uploaded)
                if planned.index == 1:
                    raise
                raise JobError(f"part {planned.index}/{n} of {job.id} could not be uploaded ({exc}); nothing was "
                               f"created (the {len(uploaded)} input files already uploaded were deleted)") from exc
            uploaded.append(file.id)
            part = job.parts[planned.index - 1]
            updated = replace(part, input_file_id=file.id)
            if job.journal is not None:
                job.journal.save_part(job.id, updated)
            job.parts[planned.index - 1] = updated


def _abandon(client: BatchesAPI, job: Job, uploaded: list[str]) -> None:
    delete = getattr(client, "delete_file", None)
    for file_id in uploaded:
        with contextlib.suppress(BatchesError):
            if delete is not None:
                delete(file_id)
    if job.journal is not None:
        job.journal.forget(job.id)


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
