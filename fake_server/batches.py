"""Batch record operations: create, carry progress as the clock moves, view as the API would, settle
result files, seed and force a status.

Helpers of `backend.Backend`; no HTTP and no locking here. The backend calls `advance` and `settle` under
the batch's own lock (they compute answers, the heavy part) and everything that changes a schedule under
its global lock; `advance` works on a copy of the batch's progress that the backend publishes when done, so
a view that must not wait (a list page) shows the batch as last returned. A batch's status comes from `lifecycle.observe`; its counters, usage and result lines are
carried forward line by line as the clock passes each line's finish time (`advance`), so a view costs O(1)
however many lines the batch has; its output and error files are written the first time anything sees it
terminal, stamped with the terminal time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import sys
from collections.abc import Callable
from typing import Any

from . import responders
from .errors import envelope
from .lifecycle import AffineOrder, Schedule, Timings, View, observe
from .spec import ENDPOINTS, OUTPUT_FILE_SECONDS, OUTPUT_PURPOSE, TERMINAL
from .state import BatchRecord, BlobWriter, FileRecord, ParsedInput, Progress

__all__ = [
    "new_batch",
    "advance",
    "batch_dict",
    "settle",
    "usage_of",
    "sample_input",
    "seed",
    "seed_problem",
    "force",
    "entered_at",
]

_EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def _hex(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:32]


def new_batch(
    *,
    batch_id: str,
    seq: int,
    now: int,
    endpoint: str,
    input_file_id: str,
    completion_window: str,
    metadata: dict[str, str] | None,
    output_expires_seconds: int | None,
    timings: Timings,
    rng: random.Random,
    parsed: ParsedInput | None,
    errors: list[dict] | None,
) -> BatchRecord:
    """A batch over an input already checked (`parsed`, shared with every batch of that file); `errors`
    (whole-batch failures: validation, a missing file, the token quota) make it fail at the end of validation."""
    errors = errors or None
    n = 0 if errors or parsed is None else len(parsed.requests)
    schedule = Schedule(
        created_at=now,
        validated_at=now + timings.validation,
        expires_at=now + timings.window,
        n=n,
        errors=errors,
        finalizing_seconds=timings.finalizing,
        cancelling_seconds=timings.cancelling,
    )
    # output is deliberately not in input order (reference §9.4); the order costs O(1) memory
    schedule.plan_lines(schedule.validated_at, timings.processing_span(n), AffineOrder.shuffled(n, rng))
    return BatchRecord(
        id=batch_id,
        seq=seq,
        endpoint=sys.intern(endpoint),  # shared by every batch that names them: memory per batch stays small
        input_file_id=sys.intern(input_file_id),
        completion_window=sys.intern(completion_window),
        metadata=metadata,
        schedule=schedule,
        model=parsed.model if parsed is not None else None,
        parsed=parsed,
        prompt_tokens=parsed.prompt_tokens if parsed is not None and not errors else 0,
        output_expires_seconds=output_expires_seconds,
        shown=(now, schedule, None),
    )


# ---------------------------------------------------------------- progress: each line once, as time passes


def _answer(record: BatchRecord, rank: int, responder: Any) -> tuple[str, int, dict]:
    line = record.requests[record.schedule.order[rank]]
    custom_id = line["custom_id"]
    if rank < record.seeded_failures:  # the first lines to finish are the seeded failures
        return custom_id, 400, envelope("Seeded request failure.")
    status, body = responders.answer(record.endpoint, custom_id, line["body"], created=record.schedule.validated_at,
                                     responder=responder)
    return custom_id, status, body


def _result_line(record: BatchRecord, custom_id: str, response: dict | None, error: dict | None) -> bytes:
    line = {"id": f"batch_req_{_hex(record.id, custom_id)}", "custom_id": custom_id, "response": response,
            "error": error}
    return json.dumps(line, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def _answered_line(record: BatchRecord, custom_id: str, status: int, body: dict) -> tuple[int, dict, bytes]:
    """(status, body, result line) of one answered line; a body that is not JSON (a responder's NaN, an
    object) becomes a 500 line instead of a broken result file."""
    request_id = f"req_{_hex(record.id, custom_id, 'r')}"
    try:
        response = {"status_code": status, "request_id": request_id, "body": body}
        return status, body, _result_line(record, custom_id, response, None)
    except (ValueError, TypeError, RecursionError):
        body = envelope("The responder's answer is not valid JSON (a non-finite number or a non-JSON value).",
                        type="server_error")
        response = {"status_code": 500, "request_id": request_id, "body": body}
        return 500, body, _result_line(record, custom_id, response, None)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of(body: Any) -> tuple[int, int, int, int]:
    """(input, cached, output, reasoning) tokens of one answer, Responses-style or chat-style usage alike."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return 0, 0, 0, 0

    def detail(*names: str) -> int:
        for group, key in zip(names[::2], names[1::2], strict=True):
            details = usage.get(group)
            if isinstance(details, dict) and _int(details.get(key)):
                return _int(details.get(key))
        return 0

    inp = _int(usage.get("input_tokens")) or _int(usage.get("prompt_tokens"))
    out = _int(usage.get("output_tokens")) or _int(usage.get("completion_tokens"))
    cached = detail("input_tokens_details", "cached_tokens", "prompt_tokens_details", "cached_tokens")
    reasoning = detail("output_tokens_details", "reasoning_tokens", "completion_tokens_details", "reasoning_tokens")
    return inp, cached, out, reasoning


def advance(record: BatchRecord, count: int, responder: Any) -> Progress | None:
    """The batch's progress carried up to `count` finished lines (ranks 0..count-1), not yet published.

    Each line is answered once, in the order lines finish; its result line goes to the output or error
    writer that becomes the result file when the batch ends. The published `record.progress_` is left as it
    is: the lines are carried on a copy (returned), so a reader that does not wait sees a consistent earlier
    state; when nothing new finished the published progress itself is returned. Call under the batch's lock.
    """
    current = record.progress_
    if count <= (current.rank if current is not None else 0):
        return current
    p = dataclasses.replace(current) if current is not None else Progress()
    for rank in range(p.rank, min(count, record.schedule.n)):
        status, body, line = _answered_line(record, *_answer(record, rank, responder))
        if status < 400:
            p.completed += 1
            p.output = p.output or BlobWriter()
            p.output.write(line)
        else:
            p.failed += 1
            p.errors = p.errors or BlobWriter()
            p.errors.write(line)
        inp, cached, out, reasoning = usage_of(body)
        p.input_tokens += inp
        p.cached_tokens += cached
        p.output_tokens += out
        p.reasoning_tokens += reasoning
        p.rank = rank + 1
    return p


def settle(record: BatchRecord, p: Progress, view: View, new_file_id: Callable[[], str]) -> list[FileRecord]:
    """The output and error files of a batch seen terminal (once; stamped at the terminal time).

    Call under the batch's lock with the progress `advance` carried to the terminal count; the caller adds
    the files to the tenant and then publishes `p`. Lines an expiry left unfinished go to the error file as
    `batch_expired`.
    """
    if record.settled or view.terminal_at is None:
        return []
    record.settled = True
    if view.status == "failed" or not view.counts_total:  # never ran: no result files (reference §4.4)
        for writer in (p.output, p.errors):
            if writer is not None:
                writer.abort()
        p.output = p.errors = None
        return []
    if view.status == "expired":
        p.errors = p.errors or BlobWriter()
        order = record.schedule.order
        for rank in range(p.rank, record.schedule.n):
            custom_id = record.requests[order[rank]]["custom_id"]
            p.errors.write(_result_line(record, custom_id, None, _EXPIRED_ERROR))
    at = view.terminal_at
    keep = record.output_expires_seconds or OUTPUT_FILE_SECONDS
    made: list[FileRecord] = []
    for writer, suffix, attr in ((p.output, "output", "output_file_id"), (p.errors, "error", "error_file_id")):
        if writer is None:
            continue
        if not writer.size:
            writer.abort()
            continue
        file_id = new_file_id()
        made.append(FileRecord(
            id=file_id,
            filename=f"batch_{record.id.removeprefix('batch_')}_{suffix}.jsonl",
            purpose=OUTPUT_PURPOSE,
            created_at=at,
            blob=writer.finish(),
            expires_at=at + keep,
        ))
        setattr(record, attr, file_id)
    p.output = p.errors = None
    return made


_NO_PROGRESS = Progress()


def batch_dict(record: BatchRecord, view: View, progress: Progress | None) -> dict[str, Any]:
    """The Batch object exactly as the API returns it: every key, null when unset. O(1): reads the counters
    `advance` carried to this view's instant (`progress`). Result file ids only once the view is terminal
    (a view of an earlier instant never shows files written since)."""
    p = progress or _NO_PROGRESS
    terminal = view.terminal_at is not None
    counts = {"total": view.counts_total, "completed": 0, "failed": 0}
    usage = None
    if view.counts_total:
        counts["completed"], counts["failed"] = p.completed, p.failed
        if view.status == "expired":
            counts["failed"] = view.counts_total - p.completed
        usage = p.usage()
    errors = None
    if view.status == "failed":
        data = record.schedule.errors or record.schedule.fail_errors or [
            {"code": "failed", "message": "The batch failed.", "param": None, "line": None}
        ]
        errors = {"object": "list", "data": data}
    return {
        "id": record.id,
        "object": "batch",
        "endpoint": record.endpoint,
        "model": record.model,
        "errors": errors,
        "input_file_id": record.input_file_id,
        "completion_window": record.completion_window,
        "status": view.status,
        "output_file_id": record.output_file_id if terminal else None,
        "error_file_id": record.error_file_id if terminal else None,
        "created_at": view.stamps["created_at"],
        "in_progress_at": view.stamps["in_progress_at"],
        "expires_at": view.stamps["expires_at"],
        "finalizing_at": view.stamps["finalizing_at"],
        "completed_at": view.stamps["completed_at"],
        "failed_at": view.stamps["failed_at"],
        "expired_at": view.stamps["expired_at"],
        "cancelling_at": view.stamps["cancelling_at"],
        "cancelled_at": view.stamps["cancelled_at"],
        "request_counts": counts,
        "usage": usage,
        "metadata": record.metadata,
    }


# ---------------------------------------------------------------- test-author steering


def sample_input(endpoint: str, model: str, n: int) -> bytes:
    """`n` valid request lines for `endpoint` as JSONL (a chat body for an endpoint the API lacks)."""
    shape = ENDPOINTS.get(endpoint, ENDPOINTS["/v1/chat/completions"])
    lines = [
        {"custom_id": f"request-{i + 1}", "method": "POST", "url": endpoint,
         "body": shape.sample_body(model, f"Prompt {i + 1}")}
        for i in range(n)
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


#: The statuses whose lines have all or partly run at the instant of a seed (so `completed` means something).
_SEED_COUNTED = ("finalizing", "completed", "expired", "cancelling", "cancelled")


def seed_problem(status: str, requests: int, failed: int, completed: int | None,
                 errors: list[dict] | None) -> tuple[str, str] | None:
    """(field, why) when a seed's values contradict each other or do not apply to `status`; None when fine.

    `failed`: lines that answer with an error (the first to finish); none run in a `validating` or `failed`
    batch. `completed`: lines that answered successfully (request_counts.completed): only where lines have
    run by now (finalizing, completed, expired, cancelling, cancelled); in a finalizing or completed batch
    completed + failed is every line. `errors`: the validation errors of a `failed` batch only.
    """
    if failed and status in ("validating", "failed"):
        return "failed", f"a {status} batch has run no line: 'failed' must be 0"
    if completed is not None and status not in _SEED_COUNTED:
        return "completed", (f"'completed' applies to a batch whose lines have run ({', '.join(_SEED_COUNTED)}), "
                             f"not to a {status} one")
    if errors is not None and status != "failed":
        return "errors", f"'errors' are the validation errors of a failed batch, not of a {status} one"
    if failed > requests:
        return "failed", f"'failed' ({failed}) is more than 'requests' ({requests})"
    if completed is not None and completed + failed > requests:
        return "completed", f"'completed' + 'failed' ({completed} + {failed}) is more than 'requests' ({requests})"
    if completed is not None and status in ("finalizing", "completed") and completed + failed != requests:
        return "completed", (f"every line of a {status} batch has run: 'completed' + 'failed' "
                             f"({completed} + {failed}) must be 'requests' ({requests})")
    return None


def seed(record: BatchRecord, status: str, now: int, timings: Timings, *, failed: int,
         completed: int | None, errors: list[dict] | None) -> None:
    """Reschedule a batch created at `now` so that it is in `status` at `now` (values checked by `seed_problem`).

    The first `failed` lines to finish answer with an error; for expired / cancelling / cancelled,
    `completed` + `failed` lines finished before the end (default: half the lines, at least `failed`);
    `errors` are the validation errors of a failed batch.
    """
    s = record.schedule = record.schedule.copy()
    if status == "failed":
        s.errors = errors or [{"code": "invalid_request", "message": "Seeded failure.", "param": None, "line": None}]
        s.validated_at = now
        record.prompt_tokens = 0
    elif status != "validating":
        s.validated_at = now
        record.seeded_failures = min(failed, s.n)
        if status in ("finalizing", "completed"):
            s.plan_lines(now, 0, s.order)
        elif status in ("expired", "cancelling", "cancelled"):
            # the first k lines finished at `now`; the rest would only start after it, and never will
            finished = max(s.n // 2, failed) if completed is None else completed + failed
            s.plan_lines(now + 1, timings.processing_span(s.n), s.order)
            s.finish_head(min(finished, s.n), now)
        else:
            s.plan_lines(now, timings.processing_span(s.n), s.order)
        if status == "completed":
            s.forced_complete_at = now
        elif status == "expired":
            s.forced_expire_at = now
        elif status in ("cancelling", "cancelled"):
            s.cancelling_at = now
            if status == "cancelled":
                s.cancelling_seconds = 0


def force(record: BatchRecord, action: str, status: str, now: int, errors: list[dict] | None = None) -> None:
    """A test author's `complete`, `fail` or `expire` of a batch in `status`, taking effect at `now`.

    Raises ValueError when the batch cannot get there (already finished; invalid input cannot complete;
    a cancelling batch can only end cancelled).
    """
    s = record.schedule.copy()
    if status in TERMINAL:
        raise ValueError(f"batch {record.id} is already {status!r}")
    if action == "complete":
        if s.errors is not None:
            raise ValueError(f"batch {record.id} has invalid input and can only fail")
        if s.cancelling_at is not None:
            raise ValueError(f"batch {record.id} is cancelling")
        s.validated_at = min(s.validated_at, now)
        s.forced_complete_at = now
    elif action == "fail":
        if status == "validating":
            s.validated_at = now
            s.errors = errors or [{"code": "failed", "message": "Failed by the test.", "param": None, "line": None}]
        else:
            s.forced_fail_at = now
            s.fail_errors = errors
    elif action == "expire":
        if status == "cancelling":
            raise ValueError(f"batch {record.id} is cancelling: it can only end cancelled")
        s.forced_expire_at = now
    else:
        raise ValueError(f"unknown action {action!r}")
    record.schedule = s


def entered_at(record: BatchRecord, status: str) -> int | None:
    """The instant the batch enters `status`, or None if it never will."""
    s = record.schedule
    final, final_at = s.terminal()
    starts: dict[str, int | None] = {
        "validating": s.created_at,
        "in_progress": s.validated_at,
        "finalizing": s.finalizing_at,
        "cancelling": s.cancelling_at,
        final: final_at,
    }
    at = starts.get(status)
    if at is None or observe(s, at).status != status:
        return None
    return at
