"""`retry_failed`: a new job from the failed and expired lines of finished batches, same custom_ids."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import JobError
from ..models import Batch
from .job import JOB_KEY, RETRY_KEY, Job, Target
from .join import results
from .submission import submit

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["retry_failed"]



def retry_failed(
    client: BatchesAPI,
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
