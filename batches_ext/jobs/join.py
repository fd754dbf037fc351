"""`results`: every input's outcome, joined to its result line by custom_id, in input order.

Output and error files are streamed line by line; inputs come from the caller (`inputs=`) or from each
batch's input file. An input with no result line is "cancelled" in a cancelled batch and "not_run"
otherwise, carrying the batch's validation error for its line when there is one (a part refused for the
enqueued-token quota: `token_limit_exceeded`). A part that never had a batch (the API refused to create it, or
the job was cancelled first) reads its lines from its input file. A file that has expired is said to have
expired instead of a bare 404, and when only if the batch's output lifetime is known (the job's
`output_expires_after`, from the job given or the journal's job named in the batch's metadata); a batch made
elsewhere reads "gone (expired or deleted)", without a date.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import BatchesError, BatchesWarning, JobError, NotFoundError
from ..jsonl import ResultLine, iter_jsonl, parse_json_line, parse_result_line
from ..models import Batch
from ..render import plural, span_text, utc_text
from ..spec import FILE_LIFETIME_SECONDS
from .job import Job, Target, batch_ids
from .journal import default_journal
from .resultset import ResultRow, Results
from .state import JOB_KEY, REFUSED, WITHDRAWN, JobPart

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["results", "unsent_note", "inputs_hint"]


def results(client: BatchesAPI, target: Target, inputs: Any = None) -> Results:
    """Every input's outcome, joined by custom_id, in input order (across a Job's parts).

    Output and error files are streamed line by line (both error shapes). `inputs` (request lines, or a
    JSONL path/bytes, in the order submitted) saves re-reading each batch's input file. Inputs with no
    result line are "cancelled" in a cancelled batch and "not_run" otherwise (e.g. a failed batch, whose
    validation errors are attached by line). The lines of a job's part whose input never reached the server (a
    submit interrupted during its uploads) are known only from `inputs`: without it they have no rows, and a
    BatchesWarning says how many are missing and why. Raises JobError if a batch is not finished yet, or a job
    has parts not created yet, or a file the join needs has expired (saying when).
    """
    job = target if isinstance(target, Job) and target.parts else None
    if job is not None:
        job.refresh(client)
        _require_created(job)
        note = None if inputs is not None else unsent_note(job)
        if note:
            warnings.warn(f"{note}; {inputs_hint(job.id)} (they are not_run rows then)", BatchesWarning,
                          stacklevel=2)
    ids, _ = batch_ids(target)
    batches = [_fresh(client, job, b) for b in ids]
    pending = [b for b in batches if not b.is_terminal]
    if pending:
        from ..render import progress_text

        first = pending[0]
        others = f" (and {plural(len(pending) - 1, 'other batch', 'other batches')})" if len(pending) > 1 else ""
        raise JobError(f"batch {first.id} is still {first.status} ({progress_text(first)}){others}: "
                       f"wait(client, {first.id!r}) follows it to the end", unfinished=pending)
    found: dict[tuple[str | None, str], tuple[ResultLine, str]] = {}
    flat = inputs is not None
    for batch in batches:
        for kind, file_id in (("output", batch.output_file_id), ("error", batch.error_file_id)):
            if file_id:
                gone = _expired_output(batch, kind, _output_lifetime(batch, job))
                for n, text in enumerate(_file_lines(client, file_id, gone), 1):
                    if text.strip():
                        line = parse_result_line(text, n)
                        found[(None if flat else batch.id, line.custom_id)] = (line, batch.id)
    owners: list[tuple[Any, Batch | JobPart | None]]
    if flat:
        owners = _owners(_load_inputs(inputs), batches, target)
    elif job is not None:
        by_id = {b.id: b for b in batches}
        owners = []
        for part in job.parts:
            source: Batch | JobPart = by_id[part.batch_id] if part.batch_id in by_id else part
            owners.extend((line, source) for line in _input_lines(client, source, job))
    else:
        owners = [(line, batch) for batch in batches for line in _input_lines(client, batch, None)]
    rows: list[ResultRow] = []
    line_no, previous = 0, None
    for request, owner in owners:
        line_no = line_no + 1 if owner is previous else 1  # 1-based line within its batch's input file
        previous = owner
        custom_id = request.get("custom_id") if isinstance(request, dict) else None
        hit = None
        if isinstance(custom_id, str) and not isinstance(owner, JobPart):
            hit = found.pop((None if flat or owner is None else owner.id, custom_id), None)
        if hit is not None:
            rows.append(ResultRow.from_line(hit[0], request, hit[1]))
        else:
            rows.append(_missing_row(str(custom_id), request, owner, line_no))
    for line, batch_id in found.values():  # result lines whose input we do not know
        rows.append(ResultRow.from_line(line, None, batch_id))
    return Results(rows, batches, job=job)


def unsent_note(job: Job) -> str | None:
    """`job_…: 2 lines (part 5/5) are missing: their input was never uploaded (...)` when some of the job's parts
    have neither a batch nor an input file (only the caller's request lines can give them); None otherwise."""
    unsent = [p for p in job.parts if p.never_uploaded]
    if not unsent:
        return None
    n = len(job.parts)
    which = (f"part {unsent[0].index}/{n}" if len(unsent) == 1 else
             f"parts {', '.join(str(p.index) for p in unsent[:6])}{', …' if len(unsent) > 6 else ''} of {n}")
    return (f"{job.id}: {plural(sum(p.lines for p in unsent), 'line')} ({which}) are missing: their input was "
            f"never uploaded (the submit was interrupted)")


def inputs_hint(job_id: str | None) -> str:
    """What to do when only the caller's request lines can say what a job held."""
    where = "job" if job_id else "target"
    magic = ("; %batches retry cannot read them: " +
             (f"in Python, job = Job.load({job_id!r}) first" if job_id else "call retry_failed in Python"))
    return (f"pass the request lines you submitted (a list, or their JSONL path) as inputs=: "
            f"results(client, {where}, inputs=...) or retry_failed(client, {where}, inputs=...){magic}")


def _require_created(job: Job) -> None:
    """A job with parts still to create is not finished (its running batches are checked like any batch)."""
    waiting = [p for p in job.parts if not p.final]
    if all(p.batch_id for p in waiting):
        return
    unfinished = [job.batches[p.batch_id] for p in waiting if p.batch_id in job.batches]
    states: dict[str, int] = {}
    for part in waiting:
        states[part.state] = states.get(part.state, 0) + 1
    how = ", ".join(f"{n} {state}" for state, n in states.items())
    raise JobError(f"{job.id} is not finished ({plural(len(waiting), 'part')} of {len(job.parts)}: {how}): "
                   f"wait(client, job) follows it to the end, creating the parts still to come",
                   job=job, unfinished=unfinished)


def _fresh(client: BatchesAPI, job: Job | None, batch_id: str) -> Batch:
    known = job.batches.get(batch_id) if job is not None else None
    return known if known is not None and known.is_terminal else client.retrieve_batch(batch_id)


def _lifetime(job: Job | None, option: str) -> int:
    value = job.options.get(option) if job is not None else None
    seconds = value.get("seconds") if isinstance(value, dict) else None
    return int(seconds) if isinstance(seconds, int) else FILE_LIFETIME_SECONDS


def _output_lifetime(batch: Batch, job: Job | None) -> int | None:
    """Seconds the batch's output files are kept, when known: from the batch itself if the API says, else from
    the options of its job (the job given, or the journal's job named in the batch's metadata: a job created
    without `output_expires_after` has the API's default); None when nothing says how the batch was created."""
    own = batch.raw.get("output_expires_after") if isinstance(batch.raw, dict) else None
    if isinstance(own, dict) and isinstance(own.get("seconds"), int):
        return int(own["seconds"])
    options = job.options if job is not None and "output_expires_after" in job.options else _journal_options(batch)
    if options is None or "output_expires_after" not in options:
        return None
    return _lifetime_of(options.get("output_expires_after"))


def _journal_options(batch: Batch) -> dict[str, Any] | None:
    job_id = (batch.metadata or {}).get(JOB_KEY)
    if not job_id:
        return None
    try:
        record = default_journal().get(job_id)
    except BatchesError:
        return None
    return record.options if record is not None else None


def _lifetime_of(value: Any) -> int:
    seconds = value.get("seconds") if isinstance(value, dict) else value
    return int(seconds) if isinstance(seconds, int) and not isinstance(seconds, bool) else FILE_LIFETIME_SECONDS


def _file_lines(client: BatchesAPI, file_id: str, gone: str) -> Iterator[str]:
    try:
        yield from client.iter_file_lines(file_id)
    except NotFoundError:
        raise JobError(gone) from None


def _expired_output(batch: Batch, kind: str, lifetime: int | None) -> str:
    """Why a batch's output or error file is gone: when it expired if its lifetime is known, else no date."""
    file_id = batch.output_file_id if kind == "output" else batch.error_file_id
    ended = batch.finished_at
    if ended is None or lifetime is None:
        return (f"the {kind} file {file_id} of {batch.id} is gone (expired or deleted); its results are gone "
                f"with it")
    expires = ended + lifetime
    return (f"the {kind} file {file_id} of {batch.id} has expired: {kind} files are kept {span_text(lifetime)} "
            f"after the batch ends, so it expired at {utc_text(expires)} (or was deleted); its results are gone "
            f"with it")


def _load_inputs(inputs: Any) -> list[Any]:
    if isinstance(inputs, (str, os.PathLike, bytes, bytearray, memoryview)):
        return list(iter_jsonl(inputs))
    return list(inputs)


def _owners(lines: list[Any], batches: list[Batch], target: Target) -> list[tuple[Any, Batch | JobPart | None]]:
    """Pair each explicit input line with its batch: by the Job's part sizes, or the only batch."""
    if len(batches) == 1 and not (isinstance(target, Job) and len(target.parts) > 1):
        return [(line, batches[0]) for line in lines]
    by_id = {b.id: b for b in batches}
    if isinstance(target, Job) and target.parts and target.lines == len(lines):
        out: list[tuple[Any, Batch | JobPart | None]] = []
        for part in target.parts:
            start = part.first_line - 1
            owner: Batch | JobPart | None = by_id.get(part.batch_id) if part.batch_id else part
            out.extend((line, owner) for line in lines[start:start + part.lines])
        return out
    return [(line, None) for line in lines]


def _input_lines(client: BatchesAPI, owner: Batch | JobPart, job: Job | None) -> Iterable[Any]:
    """The request lines of a batch's (or an uncreated part's) input file (unparseable lines come back as None)."""
    file_id = owner.input_file_id
    if not file_id:
        return []
    try:
        return [_parse_or_none(text) for text in client.iter_file_lines(file_id)]
    except NotFoundError as exc:
        whose = owner.id if isinstance(owner, Batch) else f"part {owner.index} of {job.id if job else 'the job'}"
        when = ""
        if job is not None and job.created_at:
            lifetime = _lifetime(job, "expires_after")
            expired = utc_text(job.created_at + lifetime)
            when = f" (input files are kept {span_text(lifetime)}: it expired at {expired})"
        raise JobError(f"the input file {file_id} of {whose} has expired or was deleted{when}; "
                       f"{inputs_hint(job.id if job is not None else None)}") from exc


def _parse_or_none(text: str) -> Any:
    value = parse_json_line(text)
    return value if isinstance(value, dict) else None


def _missing_row(custom_id: str, request: Any, owner: Batch | JobPart | None, line: int) -> ResultRow:
    if owner is None:
        return ResultRow(custom_id, "not_run", input=request)
    if isinstance(owner, JobPart):
        if owner.state == WITHDRAWN:
            return ResultRow(custom_id, "cancelled", input=request, error_code="batch_cancelled",
                             error_message="The job was cancelled before this part's batch was created.")
        why = "create_refused" if owner.state == REFUSED else owner.state
        return ResultRow(custom_id, "not_run", input=request, error_code=why, error_message=owner.last_error)
    batch = owner
    if batch.status == "cancelled":
        return ResultRow(custom_id, "cancelled", input=request, batch_id=batch.id, error_code="batch_cancelled",
                         error_message="The batch was cancelled before this request ran.")
    code: str | None = None
    message: str | None = None
    if batch.errors:
        match = next((e for e in batch.errors if e.line == line), None) or next(
            (e for e in batch.errors if e.line is None), None)
        if match is not None:
            code, message = match.code, match.message
    return ResultRow(custom_id, "not_run", input=request, batch_id=batch.id, error_code=code, error_message=message)
