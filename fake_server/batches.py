"""Batch record operations: create, view as the API would, settle result files, seed and force a status.

Helpers of `backend.Backend`, always called under its lock; no HTTP, no locking here. A batch's
status comes from `lifecycle.observe`; its output and error files are written the first time
anything sees it terminal, stamped with the terminal time.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from typing import Any

from . import responders, validation
from .errors import envelope
from .lifecycle import Schedule, Timings, View, observe
from .spec import ENDPOINTS, OUTPUT_FILE_SECONDS, OUTPUT_PURPOSE, TERMINAL
from .state import BatchRecord, Blob, FileRecord, Tenant

__all__ = [
    "new_batch",
    "batch_view",
    "batch_dict",
    "settle",
    "ensure_answers",
    "sample_input",
    "seed",
    "force",
    "entered_at",
]


def _hex(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:32]


def new_batch(
    tenant: Tenant,
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
    is_supported_model: Callable[[str], bool] | None,
) -> BatchRecord:
    """Validate the input file now and fix the batch's schedule; the outcome is revealed later."""
    source = tenant.files.get(input_file_id)
    model = None
    requests: list[dict] = []
    if source is None:
        errors: list[dict] | None = [validation.missing_file_error(input_file_id, tenant.organization)]
    else:
        result = validation.validate_input(
            source.blob.iter_lines(), endpoint, is_supported_model=is_supported_model
        )
        errors = result.errors or None
        requests = [] if errors else result.requests
        model = result.model
    n = len(requests)
    schedule = Schedule(
        created_at=now,
        validated_at=now + timings.validation,
        expires_at=now + timings.window,
        n=n,
        errors=errors,
        finalizing_seconds=timings.finalizing,
        cancelling_seconds=timings.cancelling,
    )
    order = list(range(n))
    rng.shuffle(order)  # output is deliberately not in input order (reference §9.4)
    schedule.plan_lines(schedule.validated_at, timings.processing_span(n), order)
    record = BatchRecord(
        id=batch_id,
        seq=seq,
        endpoint=endpoint,
        input_file_id=input_file_id,
        completion_window=completion_window,
        metadata=metadata,
        schedule=schedule,
        model=model,
        requests=requests,
        output_expires_seconds=output_expires_seconds,
    )
    tenant.batches[batch_id] = record
    tenant.batch_ids.append(batch_id)
    return record


def ensure_answers(record: BatchRecord, responder: Any) -> list[tuple[int, dict]]:
    """Every line's (status_code, body), computed once, the first time anything needs it."""
    if record.answers is None:
        created = record.schedule.validated_at
        record.answers = [
            responders.answer(record.endpoint, line["custom_id"], line["body"], created=created, responder=responder)
            for line in record.requests
        ]
    return record.answers


def batch_view(record: BatchRecord, now: float) -> View:
    return observe(record.schedule, now)


def _usage_of(body: dict) -> tuple[int, int, int, int]:
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return 0, 0, 0, 0
    inp = usage.get("input_tokens", usage.get("prompt_tokens", 0)) or 0
    out = usage.get("output_tokens", usage.get("completion_tokens", 0)) or 0
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens", 0) or 0
    reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0) or 0
    return int(inp), int(out), int(cached), int(reasoning)


def batch_dict(record: BatchRecord, view: View, responder: Any) -> dict[str, Any]:
    """The Batch object exactly as the API returns it: every key, null when unset."""
    counts = {"total": view.counts_total, "completed": 0, "failed": 0}
    usage = None
    if view.counts_total:
        answers = ensure_answers(record, responder)
        totals = [0, 0, 0, 0]
        for index in record.schedule.done_indexes(view.processed_until):
            status_code, body = answers[index]
            counts["completed" if status_code < 400 else "failed"] += 1
            for i, value in enumerate(_usage_of(body)):
                totals[i] += value
        if view.status == "expired":
            counts["failed"] = view.counts_total - counts["completed"]
        usage = {
            "input_tokens": totals[0],
            "input_tokens_details": {"cached_tokens": totals[2]},
            "output_tokens": totals[1],
            "output_tokens_details": {"reasoning_tokens": totals[3]},
            "total_tokens": totals[0] + totals[1],
        }
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
        "output_file_id": record.output_file_id,
        "error_file_id": record.error_file_id,
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


_EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def settle(tenant: Tenant, record: BatchRecord, view: View, responder: Any, new_file_id: Callable[[], str]) -> None:
    """Write the output and error files of a batch seen terminal (once; stamped at the terminal time)."""
    if record.settled or view.terminal_at is None:
        return
    record.settled = True
    if view.status == "failed" or not view.counts_total:
        return
    answers = ensure_answers(record, responder)
    out: list[bytes] = []
    err: list[bytes] = []
    done = record.schedule.done_indexes(view.processed_until)
    for index in done:
        status_code, body = answers[index]
        custom_id = record.requests[index]["custom_id"]
        line = {
            "id": f"batch_req_{_hex(record.id, custom_id)}",
            "custom_id": custom_id,
            "response": {"status_code": status_code, "request_id": f"req_{_hex(record.id, custom_id, 'r')}", "body": body},
            "error": None,
        }
        (out if status_code < 400 else err).append(json.dumps(line, separators=(",", ":")).encode())
    if view.status == "expired":
        finished = set(done)
        for index, line_in in enumerate(record.requests):
            if index not in finished:
                custom_id = line_in["custom_id"]
                line = {
                    "id": f"batch_req_{_hex(record.id, custom_id)}",
                    "custom_id": custom_id,
                    "response": None,
                    "error": _EXPIRED_ERROR,
                }
                err.append(json.dumps(line, separators=(",", ":")).encode())
    at = view.terminal_at
    keep = record.output_expires_seconds or OUTPUT_FILE_SECONDS
    for lines, suffix, attr in ((out, "output", "output_file_id"), (err, "error", "error_file_id")):
        if not lines:
            continue
        file_id = new_file_id()
        tenant.files[file_id] = FileRecord(
            id=file_id,
            filename=f"batch_{record.id.removeprefix('batch_')}_{suffix}.jsonl",
            purpose=OUTPUT_PURPOSE,
            created_at=at,
            blob=Blob.from_bytes(b"\n".join(lines) + b"\n"),
            expires_at=at + keep,
        )
        setattr(record, attr, file_id)


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


def seed(record: BatchRecord, status: str, now: int, timings: Timings, responder: Any, *, failed: int,
         completed: int | None, errors: list[dict] | None) -> None:
    """Reschedule a batch created at `now` so that it is in `status` at `now`.

    `failed` lines answer with an error; for expired / cancelling / cancelled, `completed` lines (default
    half) finished before the end; `errors` are the validation errors of a failed batch.
    """
    s = record.schedule
    if status == "failed":
        s.errors = errors or [{"code": "invalid_request", "message": "Seeded failure.", "param": None, "line": None}]
        s.validated_at = now
    elif status != "validating":
        s.validated_at = now
        span = 0 if status in ("finalizing", "completed") else timings.processing_span(s.n)
        order = sorted(range(s.n), key=lambda i: s.done_at[i])
        s.plan_lines(now, span, order)
        if failed:
            answers = ensure_answers(record, responder)
            for index in range(min(failed, s.n)):
                answers[index] = (400, envelope("Seeded request failure."))
        if status == "completed":
            s.forced_complete_at = now
        elif status in ("expired", "cancelling", "cancelled"):
            k = s.n // 2 if completed is None else min(completed, s.n)
            s.set_done([now if rank < k else now + 1 + rank for rank in _ranks(s.done_at)])
            if status == "expired":
                s.forced_expire_at = now
            else:
                s.cancelling_at = now
                if status == "cancelled":
                    s.cancelling_seconds = 0


def force(record: BatchRecord, action: str, status: str, now: int, errors: list[dict] | None = None) -> None:
    """A test author's `complete`, `fail` or `expire` of a batch in `status`, taking effect at `now`.

    Raises ValueError when the batch cannot get there (already finished; invalid input cannot complete;
    a cancelling batch can only end cancelled).
    """
    s = record.schedule
    if status in TERMINAL:
        raise ValueError(f"batch {record.id} is already {status!r}")
    if action == "complete":
        if s.errors is not None:
            raise ValueError(f"batch {record.id} has invalid input and can only fail")
        if s.cancelling_at is not None:
            raise ValueError(f"batch {record.id} is cancelling")
        s.validated_at = min(s.validated_at, now)
        s.finish_all_by(now)
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


def _ranks(values: list[int]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    ranks = [0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = rank
    return ranks
