"""`retry_failed`: a new job from what did not succeed in finished batches — the failed and expired lines, and
the lines of failed parts (a batch refused for the enqueued-token quota, a part the API refused to create) —
with the same custom_ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BatchesError, JobError
from ..models import Batch
from ..render import plural, utc_text
from .job import Job, Target, backend_of
from .join import inputs_hint, results, unsent_note
from .journal import Journal, default_journal
from .resultset import Results
from .state import JOB_KEY, RETRY_KEY, TOKEN_LIMIT_CODE
from .submission import submit

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["retry_failed", "FAILED_PART_CODES"]

#: `not_run` rows with these codes belong to a part that failed as a whole and may succeed when sent again.
FAILED_PART_CODES = frozenset({TOKEN_LIMIT_CODE, "create_refused"})
_UNSET: Any = object()


def retry_failed(
    client: BatchesAPI,
    target: Target,
    *,
    statuses: Iterable[str] = ("error", "expired"),
    metadata: dict[str, str] | None = None,
    completion_window: str = "24h",
    batch_size: int | None = _UNSET,
    max_enqueued_tokens: int | Mapping[str, int] | None = _UNSET,
    expires_after: int | Mapping[str, Any] | None = _UNSET,
    output_expires_after: int | Mapping[str, Any] | None = _UNSET,
    journal: Journal | bool | None = None,
    inputs: Any = None,
    again: bool = False,
) -> Job:
    """A new job from the failed and expired lines of `target`, and every line of its failed parts (a batch the
    API failed for `token_limit_exceeded`, a part it refused to create): their original request lines, same
    custom_ids. Tagged `batches_ext_retry_of=<batch id>` (for several batches: the job id, or the ids joined
    by ","). For a Job, `batch_size`, `max_enqueued_tokens` and the expiries default to the job's own.

    inputs: the request lines `target` was submitted with (a list, or a JSONL path or bytes), as
        `results(..., inputs=)` takes them: needed when the input files have expired, and to run the lines of
        parts whose input was never uploaded (a submit interrupted mid-way: their lines are retried with the
        failed parts'). `target` may also be a `Results` (from `results(client, job, inputs=...)`).
    again: send the lines even though the journal holds a retry of `target` already. Without it, a second
        retry of the same target (a notebook cell run twice) is a JobError naming the first retry: those lines
        ran, or are running, there; retry that job if they failed again.
    Raises JobError when no line qualifies, when a job has lines only `inputs` can give, or when `target` was
    retried before (see `again`).
    """
    if isinstance(target, Results):
        res = target
        target = res.job if res.job is not None else list(res.batches)
    else:
        if inputs is None and isinstance(target, Job) and target.parts:
            target.refresh(client)
            note = unsent_note(target)
            if note:
                raise JobError(f"{note}; {inputs_hint(target.id)}", job=target)
        res = results(client, target, inputs=inputs)
    wanted = tuple(statuses)
    retry = [row.input for row in res if isinstance(row.input, dict)
             and (row.status in wanted or (row.status == "not_run" and row.error_code in FAILED_PART_CODES))]
    if not retry:
        hint = ""
        if any(b.status == "failed" for b in res.batches):
            hint = " (a batch failed validation: fix its input and submit again)"
        raise JobError(f"nothing to retry: no {'/'.join(wanted)} lines and no failed part in {res.summary()}{hint}")
    endpoint = res.batches[0].endpoint if res.batches else getattr(target, "endpoint", None)
    retry_of = _retry_of(target, res.batches)
    if not again:
        _refuse_a_second_retry(retry_of, client, journal)
    meta = {**(metadata or {}), RETRY_KEY: retry_of}
    own = target.options if isinstance(target, Job) else {}

    def option(value: Any, name: str) -> Any:
        return own.get(name) if value is _UNSET else value

    return submit(client, retry, endpoint=endpoint, metadata=meta, completion_window=completion_window,
                  batch_size=option(batch_size, "batch_size"),
                  max_enqueued_tokens=option(max_enqueued_tokens, "max_enqueued_tokens"),
                  expires_after=option(expires_after, "expires_after"),
                  output_expires_after=option(output_expires_after, "output_expires_after"), journal=journal)


def _retry_of(target: Target, batches: list[Batch]) -> str:
    if isinstance(target, Job):
        return target.id if len(target.parts) > 1 or len(batches) != 1 else batches[0].id
    if len(batches) == 1:
        return batches[0].id
    job_ids = {(b.metadata or {}).get(JOB_KEY) for b in batches}
    if len(job_ids) == 1 and None not in job_ids:
        return str(job_ids.pop())
    joined = ",".join(b.id for b in batches)
    return joined if len(joined) <= 512 else joined[:509] + "..."


def _refuse_a_second_retry(retry_of: str, client: BatchesAPI, journal: Journal | bool | None) -> None:
    """JobError when the journal holds a job of this backend that already retried `retry_of`."""
    if journal is False:
        return
    try:
        keep = journal if isinstance(journal, Journal) else default_journal()
    except BatchesError:  # no journal to ask: `submit` warns about it once
        return
    backend = backend_of(client).key
    earlier = next((r for r in keep.records() if r.retry_of == retry_of and r.backend == backend), None)
    if earlier is not None:
        lines = sum(p.lines for p in earlier.parts)
        raise JobError(f"{retry_of} was already retried by {earlier.id} ({plural(lines, 'line')}, created "
                       f"{utc_text(earlier.created_at)}): its lines ran or are running there. Retry "
                       f"{earlier.id} if they failed again, or send them once more with again=True "
                       f"(%batches retry ID --again)")
